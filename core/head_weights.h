#pragma once
// One attention head's projections, in one orientation for every family: y = x W + b with
// W [in, out], whatever the checkpoint stores (GPT-2's fused Conv1D c_attn [D, 3D], nn.Linear
// [out, in], GPT-NeoX's query_key_value fused per head). D hidden, d head_dim; x is what the
// attention reads (after the pre-attention norm where the family has one).
#include "tensor.h"

#include <cmath>

namespace attnscope {

struct HeadWeights {
    int kvHead = 0; // the key/value head this query head reads (grouped-query attention)
    Mat wq;         // [D, d]: q = x W_Q,h + b_Q,h (before rotary positions)
    Mat wk;         // [D, d], of the key/value head (before rotary positions)
    Mat wv;         // [D, d], of the key/value head
    Vec bq, bk, bv; // [d] each; zeros where the family has no such bias
    // [d, D]: this head's rows of the output projection. The head's contribution to the
    // residual stream is o_h W_O,h; the projection's bias is shared by all heads, not part of it.
    Mat wo;
};

// The factor q·k is multiplied by before softmax (every supported family: 1/sqrt(d)).
inline float attentionScale(int headDim) {
    return 1.0f / std::sqrt(float(headDim));
}

} // namespace attnscope
