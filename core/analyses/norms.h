#pragma once
// Norm-based attention (Kobayashi, Kuribayashi, Yokoi and Inui 2020, "Attention is Not Only a
// Weight: Analyzing Transformers with Vector Norms", EMNLP): a weight says how much of token j's
// transformed vector a query takes, not how large that vector is. Head h mixes
// f_h(x_j) = (x_j W_V,h + b_V,h) W_O,h, so what token j actually contributes to token i is
//     per head:  || alpha^h_ij f_h(x_j) ||
//     per layer: || sum_h alpha^h_ij f_h(x_j) ||
// (the output projection's bias is shared by every pair and left out, as in the paper).
#include "../session.h"

namespace attnscope {

struct NormAttention {
    Tensor perHead;  // [L, H, T, T]; row = query i, column = key j
    Tensor perLayer; // [L, T, T]
};

// What a forward pass must keep: the values (the attention is always kept).
inline KeepOptions normsKeepOptions() {
    KeepOptions keep;
    keep.scores = false;
    keep.qkv = true;
    keep.hiddenStates = false;
    return keep;
}

// From the analysis's own values and attention and the model's W_O slices.
Result<NormAttention> normBasedAttention(const Analysis& analysis, const LoadedModel& model);

} // namespace attnscope
