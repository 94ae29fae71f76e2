#pragma once
// Self-attention step by step for one head and one query token, with the numbers of a real
// forward pass: the layer's input, its normalised form, the query before and after rotary
// positions, every key and the dot products, the scaling and causal mask, the softmax weights
// (the heatmap's row), the values, their weighted sum and that sum through the head's slice of
// the output projection, next to the other heads' contributions.
#include "../head_weights.h"
#include "../session.h"

#include <QJsonObject>
#include <vector>

namespace attnscope {

// What a forward pass must keep for explainHead().
inline KeepOptions explainKeepOptions() {
    KeepOptions keep;
    keep.scores = false;
    keep.qkv = true;
    keep.hiddenStates = false;
    keep.attentionInputs = true;
    return keep;
}

// T tokens, D hidden, d head_dim, H query heads. Every value comes from the analysis's own
// forward pass (q, k, v, attention) except what the pass never forms for this head alone:
// the dot products q·k_j, their scaling, the weighted sum of values and its projection.
struct Explanation {
    int layer = 0, head = 0, token = 0;
    int kvHead = 0;           // the key/value head this query head reads
    bool causal = false;      // future keys (j > token) are masked
    float scale = 0;          // factor applied to q·k_j before softmax (1/sqrt(d))
    Mat x;                    // [T, D] the layer's input
    Mat xNorm;                // [T, D] what attention reads (= x where the norm comes after)
    Vec qPreRotary;           // [d] the token's query before rotary positions (= q without)
    Vec q;                    // [d] the query as compared with the keys
    Mat k;                    // [T, d] keys of the key/value head
    Mat v;                    // [T, d] values of the key/value head
    Vec scores;               // [T] q·k_j
    Vec scaled;               // [T] scores * scale
    std::vector<bool> masked; // [T] true where softmax never sees the key
    Vec weights;              // [T] softmax of the unmasked scaled scores: the heatmap's row
    Vec output;               // [d] sum_j weights_j v_j
    Vec projected;            // [D] output through this head's rows of W_O (no bias)
    Mat contributions;        // [H, D] every head's projected output for this token

    int tokenCount() const { return int(k.rows()); }
};

// `layerWeights` is LoadedModel::attentionWeights(layer); the analysis must have kept what
// explainKeepOptions() asks for.
Result<Explanation> explainHead(const Analysis& analysis,
                                const std::vector<HeadWeights>& layerWeights, bool causal,
                                int layer, int head, int token);

// The JSON of `attnscope explain`: tokens, x, x_norm, q_pre_rotary, q, k, v, scores, scaled,
// masked (null where masked), weights, output, projected, scale, plus layer, head, token,
// kv_head, causal and contributions.
QJsonObject explanationJson(const Explanation& e, const Analysis& analysis);

} // namespace attnscope
