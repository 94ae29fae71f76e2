#pragma once
// Building blocks shared by every family's forward pass. Shapes in comments:
// T tokens, D hidden, H query heads, KV key/value heads, d head_dim.
#include "config.h"
#include "head_weights.h"
#include "trace.h"
#include "weights.h"

namespace attnscope {

// y = x W^T + b with W stored [out, in] (nn.Linear), or y = x W + b with W stored [in, out]
// (GPT-2's Conv1D). Weights stay memory-mapped; F16/BF16 ones stay 16-bit and are widened to
// float32 a block of output features at a time inside the product (bit-exact with a product on
// a widened copy: each output's dot product keeps its order). One to four rows (an edit at the
// end) against [out, in] 16-bit weights widen in registers instead (AVX-512 builds): the same
// products summed in another order, within a few float32 roundings of the widened copy's. More
// rows against [out, in] BF16 weights go through the CPU's tile unit where it has one
// (split_product.h): float32 sums of the exact products, in another order too.
struct Linear {
    WeightTensor weight;
    FloatTensor bias;        // empty when the layer has none
    bool inputMajor = false; // true for Conv1D layout [in, out]

    int inFeatures() const { return int(inputMajor ? weight.rows() : weight.cols()); }
    int outFeatures() const { return int(inputMajor ? weight.cols() : weight.rows()); }
    Mat operator()(const Mat& x) const; // [T, in] -> [T, out]

    // Copies in input-major orientation whatever the storage: outputs [begin, begin+n) as
    // [in, n] (a head's W_Q, W_K or W_V), inputs [begin, begin+n) as [n, out] (its W_O rows),
    // and bias entries [begin, begin+n) (zeros when the layer has no bias).
    Mat outputColumns(int begin, int n) const;
    Mat inputRows(int begin, int n) const;
    Vec biasSlice(int begin, int n) const;

private:
    // y[:, begin, begin+n) = x W[begin, begin+n)^T for 16-bit weights, widening `block` output
    // features at a time (the last block takes the remainder); `parallelWiden` spreads the
    // widening of each block over the cores (when the product itself runs on all of them).
    void widenedProduct(const Mat& x, Eigen::Index begin, Eigen::Index n, Eigen::Index block,
                        bool parallelWiden, Mat& y) const;
    // y[:, begin, begin+n) = x W[begin, begin+n)^T for x of 1 to kFewRows rows and 16-bit [out,
    // in] weights: each weight is read once and widened in registers. Returns false (nothing
    // written) where the build has no kernel for it.
    static constexpr Eigen::Index kFewRows = 4;
    bool fewRowsProduct(const Mat& x, Eigen::Index begin, Eigen::Index n, Mat& y) const;
};

// How many float32 values a block of widened 16-bit weights holds, for inputs of under 128 rows
// (per thread; default 2^16) and longer ones (default 2^24); rounded to whole 96-feature groups.
// Tests shrink them to put many block edges into small products.
void setWidenBlockFloats(int64_t shortInputs, int64_t longInputs);

// One head's slices: its query columns start at qBegin of `q`, its key and value columns at
// kBegin and vBegin (the same Linear for fused layouts), its output-projection rows at oBegin.
HeadWeights sliceHead(const Linear& q, int qBegin, const Linear& k, int kBegin, const Linear& v,
                      int vBegin, const Linear& o, int oBegin, int headDim, int kvHead);

// Loads `name`.weight (shape [out, in]) and, when `withBias`, `name`.bias ([out]).
Result<Linear> loadLinear(const WeightStore& w, const QString& name, int in, int out,
                          bool withBias);
// GPT-2 Conv1D: weight [in, out].
Result<Linear> loadConv1D(const WeightStore& w, const QString& name, int in, int out);

struct LayerNorm {
    FloatTensor weight; // [D]
    FloatTensor bias;   // [D], empty for RMSNorm
    float eps = 1e-5f;
    bool rms = false;                   // RMSNorm: no mean subtraction, no bias (Llama, Qwen2)
    Mat operator()(const Mat& x) const; // [T, D] -> [T, D]
};
Result<LayerNorm> loadLayerNorm(const WeightStore& w, const QString& name, int dim, float eps);
Result<LayerNorm> loadRmsNorm(const WeightStore& w, const QString& name, int dim, float eps);

void applyActivation(Mat& x, Activation activation);
// Gated MLP (SwiGLU): gate = act(gate) * up element-wise, in place, rows over the cores.
// gate, up: [T, I]. The same operations as applyActivation then cwiseProduct, without the
// product's [T, I] temporary (134 MB at T = 4096 in a 1B-shape model) or its single thread.
void applyGatedActivation(Mat& gate, const Mat& up, Activation activation);

// Rotary position embedding (rotate-half layout, as HF applies it) on the first `rotaryDim`
// dimensions of each head of x [T, n*d], for positions firstPosition..firstPosition+T-1.
void applyRotary(Mat& x, int nHeads, int headDim, int rotaryDim, double theta,
                 int firstPosition = 0);

// Scaled dot-product attention for all heads. q [Tq, H*d] holds the last Tq of the T query
// positions, k and v [T, KV*d] all of them. Fills trace.attention (and trace.scores when kept)
// as full [T, T] matrices, taking the first T - Tq rows from `earlier`; returns the context
// [Tq, H*d] of the new rows.
Mat multiHeadAttention(const Mat& q, const Mat& k, const Mat& v, int heads, int kvHeads,
                       int headDim, bool causal, LayerTrace& trace, const KeepOptions& keep,
                       const LayerTrace* earlier = nullptr);

// The HeadSource of passes run with KeepOptions::lazyAttention: a head's [T, T] attention
// recomputed from the layer's kept Q and K by the code multiHeadAttention uses for kept heads.
std::shared_ptr<const HeadSource> recomputedHeads();

// Head `head`'s [T, T] probabilities from q [Tq, H*d] (the last Tq rows) and k [T, KV*d], by
// the code a pass uses for a kept head (the same bits); rows [0, T - Tq) are copied from
// `earlierAttention` (that head's [>= T - Tq, >= T - Tq] matrix of an earlier pass; null when
// Tq == T).
Mat headAttention(const Mat& q, const Mat& k, const AttentionGeometry& geometry, int head,
                  const Mat* earlierAttention);

// [earlier rows 0..P) ; rows] — the full matrix when a prefix was reused, else `rows` as is.
Mat withPrefix(const Mat* earlier, int prefixRows, Mat&& rows);

// Token embedding lookup: rows of table [V, D] -> [T, D] (widened when 16-bit). Ids must be
// checked first.
Mat gatherRows(const WeightTensor& table, const std::vector<int64_t>& ids);

// Cancellation check between layers.
inline bool reportProgress(const ProgressCallback& progress, int done, int total) {
    return !progress || progress(done, total);
}
inline Error cancelledError() {
    return Error{QStringLiteral("cancelled")};
}

// Stores the per-layer activations that the caller asked to keep. q and hidden hold the new
// rows only (completed from `earlier`), k and v all rows.
void keepLayer(LayerTrace& trace, const KeepOptions& keep, Mat&& q, Mat&& k, Mat&& v,
               const Mat& hidden, const LayerTrace* earlier = nullptr, int prefixRows = 0);

// With KeepOptions::attentionInputs, stores the layer's input, its normalised form (null where
// the family normalises after attention) and the queries before rotary (null without rotary);
// all hold the new rows only and are completed from `earlier`.
void keepAttentionInputs(LayerTrace& trace, const KeepOptions& keep, const Mat& input,
                         const Mat* normed, const Mat* qPreRotary,
                         const LayerTrace* earlier = nullptr, int prefixRows = 0);

} // namespace attnscope
