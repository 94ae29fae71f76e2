#pragma once
// Building blocks shared by every family's forward pass. Shapes in comments:
// T tokens, D hidden, H query heads, KV key/value heads, d head_dim.
#include "config.h"
#include "session.h"
#include "weights.h"

namespace attnscope {

// y = x W^T + b with W stored [out, in] (nn.Linear), or y = x W + b with W stored [in, out]
// (GPT-2's Conv1D). Weights stay memory-mapped.
struct Linear {
    FloatTensor weight;
    FloatTensor bias; // empty when the layer has none
    bool inputMajor = false; // true for Conv1D layout [in, out]

    int inFeatures() const { return int(inputMajor ? weight.rows() : weight.cols()); }
    int outFeatures() const { return int(inputMajor ? weight.cols() : weight.rows()); }
    Mat operator()(const Mat& x) const; // [T, in] -> [T, out]
};

// Loads `name`.weight (shape [out, in]) and, when `withBias`, `name`.bias ([out]).
Result<Linear> loadLinear(const WeightStore& w, const QString& name, int in, int out, bool withBias);
// GPT-2 Conv1D: weight [in, out].
Result<Linear> loadConv1D(const WeightStore& w, const QString& name, int in, int out);

struct LayerNorm {
    FloatTensor weight; // [D]
    FloatTensor bias;   // [D], empty for RMSNorm
    float eps = 1e-5f;
    bool rms = false;   // RMSNorm: no mean subtraction, no bias (Llama, Qwen2)
    Mat operator()(const Mat& x) const; // [T, D] -> [T, D]
};
Result<LayerNorm> loadLayerNorm(const WeightStore& w, const QString& name, int dim, float eps);
Result<LayerNorm> loadRmsNorm(const WeightStore& w, const QString& name, int dim, float eps);

void applyActivation(Mat& x, Activation activation);

// Rotary position embedding (rotate-half layout, as HF applies it) on the first `rotaryDim`
// dimensions of each head of x [T, n*d], for positions 0..T-1.
void applyRotary(Mat& x, int nHeads, int headDim, int rotaryDim, double theta);

// Scaled dot-product attention for all heads. q [T, H*d], k and v [T, KV*d].
// Fills trace.attention (and trace.scores when kept); returns the context [T, H*d].
Mat multiHeadAttention(const Mat& q, const Mat& k, const Mat& v, int heads, int kvHeads,
                       int headDim, bool causal, LayerTrace& trace, const KeepOptions& keep);

// Token embedding lookup: rows of table [V, D] -> [T, D]. Ids must be checked first.
Mat gatherRows(const FloatTensor& table, const std::vector<int64_t>& ids);

// Cancellation check between layers.
inline bool reportProgress(const ProgressCallback& progress, int done, int total) {
    return !progress || progress(done, total);
}
inline Error cancelledError() { return Error{QStringLiteral("cancelled")}; }

// Stores the per-layer activations that the caller asked to keep.
void keepLayer(LayerTrace& trace, const KeepOptions& keep, Mat&& q, Mat&& k, Mat&& v,
               const Mat& hidden);

} // namespace attnscope
