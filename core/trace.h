#pragma once
// Run state of one forward pass: what to keep, what each layer recorded, progress reports.
// The engine's low layers (model.h, blocks.h) need only these, not the session front door.
#include "tensor.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace attnscope {

// What to keep from a forward pass. Attention probabilities are always kept.
struct KeepOptions {
    bool scores = true;       // pre-softmax scaled scores (masked entries = -inf)
    bool qkv = true;          // Q, K, V per layer
    bool hiddenStates = true; // every layer's output
    // Attention of only these layers and heads (empty = all). The other heads still run (the
    // next layer needs their output) row block by row block, never as a [T, T] matrix, so one
    // head of a very long input fits in memory. Their LayerTrace::attention entries stay empty.
    std::vector<int> onlyLayers;
    std::vector<int> onlyHeads;
    int layer = -1; // the layer being computed (set by forLayer for multiHeadAttention)

    bool keepsAttention(int l, int h) const {
        auto has = [](const std::vector<int>& list, int x) {
            return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
        };
        return has(onlyLayers, l) && has(onlyHeads, h);
    }
    bool keepsAllAttention() const { return onlyLayers.empty() && onlyHeads.empty(); }
    // Attention (always kept) and nothing else: dumps, statistics, benchmarks.
    static KeepOptions attentionOnly() {
        KeepOptions keep;
        keep.scores = keep.qkv = keep.hiddenStates = false;
        return keep;
    }
    KeepOptions forLayer(int l) const {
        KeepOptions k = *this;
        k.layer = l;
        return k;
    }
    // What the explainer shows of each layer's attention step by step: the layer's input, its
    // normalised form and the queries before rotary positions. Off by default (2 x [T, D] plus
    // [T, H*d] per layer), so a window that never explains does not pay for it.
    bool attentionInputs = false;
};

// Per-layer record of one forward pass. Shapes: T tokens, H query heads, KV key/value heads,
// d = head_dim, D = hidden.
struct LayerTrace {
    std::vector<Mat> attention; // H x [T, T], softmax probabilities; row = query, column = key
    std::vector<Mat> scores;    // H x [T, T], before softmax (empty if not kept)
    Mat q;                      // [T, H*d]  (after rotary where the family has it)
    Mat k;                      // [T, KV*d]
    Mat v;                      // [T, KV*d]
    Mat hidden;                 // [T, D], this layer's output (empty if not kept)
    // Kept with KeepOptions::attentionInputs, else empty:
    Mat input;      // [T, D], the layer's input (the previous layer's output)
    Mat normed;     // [T, D], input after the pre-attention norm; empty where the family
                    // normalises after attention (BERT family): attention reads `input` there
    Mat qPreRotary; // [T, H*d], queries before rotary; empty in families without rotary
    const Mat& attentionInput() const { return normed.rows() ? normed : input; }
    const Mat& queriesBeforeRotary() const { return qPreRotary.rows() ? qPreRotary : q; }
};

struct ForwardResult {
    std::vector<LayerTrace> layers; // L entries
    Mat embeddings;                 // [T, D], input to the first layer (empty if not kept)
    Mat lastHiddenState;            // [T, D], after the final norm where the family has one

    // Which key/value head query head h reads (grouped-query attention).
    static int kvHeadFor(int h, int heads, int kvHeads) { return h / (heads / kvHeads); }
    // The layers and heads whose attention was kept (ascending): all, or those of
    // KeepOptions::onlyLayers / onlyHeads (the other heads' matrices are empty).
    struct KeptAttention {
        std::vector<int> layers, heads;
    };
    KeptAttention keptAttention() const;
    // The kept attention as one [L', H', T, T] tensor (for dumps), in keptAttention()'s order.
    Tensor attentionTensor() const;
};

// Called after each layer; return false to cancel (the analysis then returns an Error
// whose message is "cancelled").
using ProgressCallback = std::function<bool(int layersDone, int layersTotal)>;

} // namespace attnscope
