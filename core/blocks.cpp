#include "blocks.h"

#include "split_product.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <omp.h>
#include <sys/mman.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace attnscope {

using ConstVecMap = Eigen::Map<const Vec>;

static void applyActivationRow(float* p, Eigen::Index n, Activation activation);

namespace {
// Output features widened per block: multiples of 96 (= 2 threads x Eigen's 48-row AVX-512
// kernel), so every block starts where the float32 product's kernel groups start and each
// output goes through the same kernel with the same summation order as on a widened copy.
constexpr Eigen::Index kWidenGranule = 96;
// Short inputs: one block per thread stays in L2 (about 256 KB of float32). Long inputs: blocks
// of up to 64 MB (a whole 2048 x 8192 projection), so each block's product is as large as
// Eigen's threaded GEMM needs to run at the float32 product's rate (with 4 MB blocks, e.g. 96
// rows of 8192, it ran at a third of it; with 32 MB at 0.7-0.9 of it).
std::atomic<int64_t> smallBlockFloats{int64_t(1) << 16};
std::atomic<int64_t> largeBlockFloats{int64_t(1) << 24};

Eigen::Index blockFeatures(int64_t floats, Eigen::Index in) {
    return std::max<Eigen::Index>(1, floats / std::max<Eigen::Index>(in, 1) / kWidenGranule) *
           kWidenGranule;
}
} // namespace

void setWidenBlockFloats(int64_t shortInputs, int64_t longInputs) {
    smallBlockFloats = shortInputs;
    largeBlockFloats = longInputs;
}

// A fresh [T, T] attention matrix, its pages not touched yet: where the kernel allows it
// (transparent huge pages in "madvise" mode), ask for 2 MB pages for its 2 MB-aligned inside,
// so that filling it takes a fault per 2 MB instead of per 4 kB (a Llama-shape dump of 537 MB
// spent about a tenth of its time in page faults). Only a hint: the values are the same.
static void adviseHugePages(Mat& m) {
    constexpr uintptr_t huge = uintptr_t(2) << 20;
    const auto begin = reinterpret_cast<uintptr_t>(m.data());
    const uintptr_t end = begin + uintptr_t(m.size()) * sizeof(float);
    const uintptr_t first = (begin + huge - 1) & ~(huge - 1), last = end & ~(huge - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

Mat Linear::operator()(const Mat& x) const {
    const Eigen::Index out = outFeatures();
    Mat y(x.rows(), out); // [T, out]
    // Long inputs' outputs (e.g. [4096, 8192], 134 MB, three per layer of a 1B shape) are
    // fresh mappings: fault them in 2 MB at a time, as the attention matrices are.
    if (y.size() >= (Eigen::Index(1) << 21)) adviseHugePages(y);
    const bool manyRows = x.rows() >= 128;
    const auto product = [&](Eigen::Index begin, Eigen::Index n) {
        if (!weight.isFloat() && x.rows() <= kFewRows && fewRowsProduct(x, begin, n, y)) return;
        // BF16 [out, in] weights on more rows: the tile unit's split product where the CPU has
        // one (float32-exact products, several times the float32 GEMM's rate; all cores when
        // called outside a parallel region, the calling one inside).
        if (weight.dtype == DType::BF16 && !inputMajor && x.rows() > kFewRows &&
            splitBf16Product(x.data(), x.rows(), x.cols(), x.cols(),
                             static_cast<const uint16_t*>(weight.data), begin, n, y.data() + begin,
                             out))
            return;
        if (!weight.isFloat()) {
            widenedProduct(
                x, begin, n,
                blockFeatures(manyRows ? largeBlockFloats : smallBlockFloats, inFeatures()),
                manyRows, y);
            return;
        }
        const auto w = weight.matrix();
        if (inputMajor)
            y.middleCols(begin, n).noalias() = x * w.middleCols(begin, n); // [T, in] x [in, n]
        else
            y.middleCols(begin, n).noalias() =
                x * w.middleRows(begin, n).transpose(); // [T, in] x [in, n]
    };
    // Few rows (short inputs, or the new tokens of an edit): the product is bound by reading
    // the weights, and Eigen's own split (over rows, with shared packed blocks) either stays
    // on one core or stalls on synchronisation. Split the output columns over the cores.
    // (Not through an inactive `omp parallel if`: Eigen would then see a nested region and
    // use a single thread for the large products.)
    const int chunks = std::max(1, omp_get_max_threads());
    if (!manyRows && chunks > 1) {
#pragma omp parallel for
        for (int c = 0; c < chunks; ++c) {
            const Eigen::Index begin = out * c / chunks;
            product(begin, out * (c + 1) / chunks - begin);
        }
    } else {
        product(0, out);
    }
    if (bias.data) y.rowwise() += ConstVecMap(bias.data, bias.numel());
    return y;
}

void Linear::widenedProduct(const Mat& x, Eigen::Index begin, Eigen::Index n, Eigen::Index block,
                            bool parallelWiden, Mat& y) const {
    const Eigen::Index in = inFeatures();
    const Eigen::Index blocks = std::max<Eigen::Index>(1, n / block);
    // [in, nb] (input-major) or [nb, in]: the block's weights as float32. Kept per thread
    // between calls: a fresh 64 MB buffer would be mapped and page-faulted in on every product.
    // (A reference: inside the parallel region below, `threadBuffer` would name each worker's
    // own buffer.)
    thread_local Mat threadBuffer;
    Mat& widened = threadBuffer;
    for (Eigen::Index b = 0; b < blocks; ++b) {
        const Eigen::Index b0 = begin + b * block;
        const Eigen::Index nb = b + 1 == blocks ? begin + n - b0 : block;
        if (inputMajor)
            widened.resize(in, nb);
        else
            widened.resize(nb, in);
        const Eigen::Index rows = widened.rows();
        // Widening is memory-bound: rows in parallel when the caller runs on one thread.
#pragma omp parallel for schedule(static) if (parallelWiden && rows >= 64)
        for (Eigen::Index r = 0; r < rows; ++r) {
            if (inputMajor)
                weight.widen(r, 1, b0, nb, widened.row(r).data(), nb);
            else
                weight.widen(b0 + r, 1, 0, in, widened.row(r).data(), in);
        }
        if (inputMajor)
            y.middleCols(b0, nb).noalias() = x * widened; // [T, in] x [in, nb]
        else
            y.middleCols(b0, nb).noalias() = x * widened.transpose(); // [T, in] x [in, nb]
    }
}

#ifdef __AVX512F__
// 16 weights from `w` as float32 lanes: BF16 is the top half of a float32, F16 is converted by
// the hardware (exact, as widenHalfFloats).
static inline __m512 widen16(const uint16_t* w, DType dtype) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    if (dtype == DType::BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}
#endif

bool Linear::fewRowsProduct(const Mat& x, Eigen::Index begin, Eigen::Index n, Mat& y) const {
#ifdef __AVX512F__
    if (inputMajor || x.rows() < 1 || x.rows() > kFewRows) return false;
    // Bound by reading the weights: widening blocks into a buffer first (the general path) made
    // one-row products about twice as slow as on float32 weights.
    const Eigen::Index in = inFeatures(), rows = x.rows();
    const auto* weights = static_cast<const uint16_t*>(weight.data);
    for (Eigen::Index j = begin; j < begin + n; ++j) {
        const uint16_t* w = weights + j * in; // row j of [out, in]
        __m512 sum[kFewRows][2];
        for (Eigen::Index r = 0; r < rows; ++r)
            sum[r][0] = sum[r][1] = _mm512_setzero_ps();
        Eigen::Index k = 0;
        for (; k + 32 <= in; k += 32) { // two accumulators per row: FMA latency
            const __m512 w0 = widen16(w + k, weight.dtype), w1 = widen16(w + k + 16, weight.dtype);
            for (Eigen::Index r = 0; r < rows; ++r) {
                const float* xr = x.row(r).data() + k;
                sum[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, sum[r][0]);
                sum[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, sum[r][1]);
            }
        }
        for (; k + 16 <= in; k += 16) {
            const __m512 w0 = widen16(w + k, weight.dtype);
            for (Eigen::Index r = 0; r < rows; ++r)
                sum[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(x.row(r).data() + k), w0, sum[r][0]);
        }
        float tail[16];
        const Eigen::Index left = in - k;
        if (left > 0) widenHalfFloats(w + k, weight.dtype, tail, left);
        for (Eigen::Index r = 0; r < rows; ++r) {
            float total = _mm512_reduce_add_ps(_mm512_add_ps(sum[r][0], sum[r][1]));
            for (Eigen::Index i = 0; i < left; ++i)
                total += x(r, k + i) * tail[i];
            y(r, j) = total;
        }
    }
    return true;
#else
    (void)x, (void)begin, (void)n, (void)y;
    return false;
#endif
}

Mat Linear::outputColumns(int begin, int n) const {
    if (inputMajor) return weight.block(0, inFeatures(), begin, n); // [in, n]
    return weight.block(begin, n, 0, inFeatures()).transpose();     // [n, in] -> [in, n]
}

Mat Linear::inputRows(int begin, int n) const {
    if (inputMajor) return weight.block(begin, n, 0, outFeatures()); // [n, out]
    return weight.block(0, outFeatures(), begin, n).transpose();     // [out, n] -> [n, out]
}

Vec Linear::biasSlice(int begin, int n) const {
    if (!bias.data) return Vec::Zero(n);
    return ConstVecMap(bias.data + begin, n);
}

HeadWeights sliceHead(const Linear& q, int qBegin, const Linear& k, int kBegin, const Linear& v,
                      int vBegin, const Linear& o, int oBegin, int headDim, int kvHead) {
    HeadWeights w;
    w.kvHead = kvHead;
    w.wq = q.outputColumns(qBegin, headDim);
    w.wk = k.outputColumns(kBegin, headDim);
    w.wv = v.outputColumns(vBegin, headDim);
    w.bq = q.biasSlice(qBegin, headDim);
    w.bk = k.biasSlice(kBegin, headDim);
    w.bv = v.biasSlice(vBegin, headDim);
    w.wo = o.inputRows(oBegin, headDim);
    return w;
}

Result<Linear> loadLinear(const WeightStore& w, const QString& name, int in, int out,
                          bool withBias) {
    Linear layer;
    auto weight = w.weight(name + QStringLiteral(".weight"), {out, in});
    if (!weight) return weight.error();
    layer.weight = std::move(weight.value());
    if (withBias) {
        auto bias = w.get(name + QStringLiteral(".bias"), {out});
        if (!bias) return bias.error();
        layer.bias = std::move(bias.value());
    }
    w.markReadByEveryPass(layer.weight);
    return layer;
}

Result<Linear> loadConv1D(const WeightStore& w, const QString& name, int in, int out) {
    Linear layer;
    layer.inputMajor = true;
    auto weight = w.weight(name + QStringLiteral(".weight"), {in, out});
    if (!weight) return weight.error();
    auto bias = w.get(name + QStringLiteral(".bias"), {out});
    if (!bias) return bias.error();
    layer.weight = std::move(weight.value());
    layer.bias = std::move(bias.value());
    w.markReadByEveryPass(layer.weight);
    return layer;
}

Mat LayerNorm::operator()(const Mat& x) const {
    const Eigen::Index n = x.cols();
    Mat y(x.rows(), n);
    const ConstVecMap gamma(weight.data, n);
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        const auto row = x.row(t);
        if (rms) {
            const float meanSquare = row.squaredNorm() / float(n);
            y.row(t) = (row * (1.0f / std::sqrt(meanSquare + eps))).cwiseProduct(gamma);
        } else {
            const float mean = row.mean();
            const float variance = (row.array() - mean).square().sum() / float(n);
            const float inv = 1.0f / std::sqrt(variance + eps);
            y.row(t) = ((row.array() - mean) * inv).matrix().cwiseProduct(gamma) +
                       ConstVecMap(bias.data, n);
        }
    }
    return y;
}

Result<LayerNorm> loadLayerNorm(const WeightStore& w, const QString& name, int dim, float eps) {
    LayerNorm norm;
    norm.eps = eps;
    auto weight = w.get(name + QStringLiteral(".weight"), {dim});
    if (!weight) return weight.error();
    auto bias = w.get(name + QStringLiteral(".bias"), {dim});
    if (!bias) return bias.error();
    norm.weight = std::move(weight.value());
    norm.bias = std::move(bias.value());
    return norm;
}

Result<LayerNorm> loadRmsNorm(const WeightStore& w, const QString& name, int dim, float eps) {
    LayerNorm norm;
    norm.eps = eps;
    norm.rms = true;
    auto weight = w.get(name + QStringLiteral(".weight"), {dim});
    if (!weight) return weight.error();
    norm.weight = std::move(weight.value());
    return norm;
}

void applyActivation(Mat& x, Activation activation) {
    // Element-wise, so rows are split over the cores for long inputs.
#pragma omp parallel for if (x.rows() >= 64)
    for (Eigen::Index r = 0; r < x.rows(); ++r)
        applyActivationRow(x.row(r).data(), x.cols(), activation);
}

void applyGatedActivation(Mat& gate, const Mat& up, Activation activation) {
#pragma omp parallel for if (gate.rows() >= 64)
    for (Eigen::Index r = 0; r < gate.rows(); ++r) {
        applyActivationRow(gate.row(r).data(), gate.cols(), activation);
        gate.row(r).array() *= up.row(r).array();
    }
}

static void applyActivationRow(float* p, Eigen::Index n, Activation activation) {
    Eigen::Map<Eigen::ArrayXf> a(p, n); // Eigen's vectorised tanh/exp (within a few ulp)
    switch (activation) {
    case Activation::GeluTanh: {
        const float c = std::sqrt(2.0f / float(M_PI));
        a = 0.5f * a * (1.0f + (c * (a + 0.044715f * a.cube())).tanh());
        break;
    }
    case Activation::GeluErf:
        for (Eigen::Index i = 0; i < n; ++i)
            p[i] = 0.5f * p[i] * (1.0f + std::erf(p[i] * float(M_SQRT1_2)));
        break;
    case Activation::Silu:
        a = a / (1.0f + (-a).exp());
        break;
    case Activation::Relu:
        for (Eigen::Index i = 0; i < n; ++i)
            p[i] = std::max(p[i], 0.0f);
        break;
    case Activation::GeluQuick:
        for (Eigen::Index i = 0; i < n; ++i)
            p[i] = p[i] / (1.0f + std::exp(-1.702f * p[i]));
        break;
    }
}

void applyRotary(Mat& x, int nHeads, int headDim, int rotaryDim, double theta, int firstPosition) {
    const int half = rotaryDim / 2;
    // inv_freq[i] = theta^(-2i / rotaryDim), angle = position * inv_freq, in float32 as HF does.
    std::vector<float> invFreq(static_cast<size_t>(half));
    for (int i = 0; i < half; ++i)
        invFreq[size_t(i)] = float(1.0 / std::pow(theta, double(2 * i) / double(rotaryDim)));
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        for (int i = 0; i < half; ++i) {
            const float angle = float(t + firstPosition) * invFreq[size_t(i)];
            const float c = std::cos(angle), s = std::sin(angle);
            for (int h = 0; h < nHeads; ++h) {
                float* head = x.row(t).data() + h * headDim;
                const float x1 = head[i], x2 = head[i + half];
                head[i] = x1 * c - x2 * s;
                head[i + half] = x2 * c + x1 * s;
            }
        }
    }
}

// Rows [P, T) of one head's softmax probabilities into probs [T, T], from q [T - P, H*d] (the
// rows after P) and k [T, KV*d]; with `scores`, also its scaled scores [T, T] (-inf where
// masked). Without it the scores of one row block live in blockScores, a caller's [block, T]
// scratch with the row stride of a full [T, T] matrix, so the products are the same to the
// bit. The kept heads of a pass and the heads computed on demand (lazy_heads.h) both go
// through here, so their values agree to the bit. Every entry of rows [P, T) is written once
// (no zeroing first). Returns whether every probability of rows [P, T) is finite: a row's
// exponentials are at most 1 unless a score is NaN or infinite (then its sum is NaN), so a
// finite sum means a finite row.
static bool headAttentionRows(const Mat& q, const Mat& k, int h, int kvh, int headDim, bool causal,
                              Eigen::Index P, Mat* scores, Mat& blockScores, Mat& probs) {
    const Eigen::Index T = k.rows(), Tq = q.rows();
    const float scale = attentionScale(headDim);
    const float minusInf = -std::numeric_limits<float>::infinity();
    const auto qh = q.middleCols(h * headDim, headDim);   // [Tq, d]
    const auto kh = k.middleCols(kvh * headDim, headDim); // [T, d]
    // Query rows go in blocks; a causal block of rows [r0, r1) only sees keys [0, r1), so
    // the products skip (most of) the masked upper triangle.
    const Eigen::Index block = causal ? 128 : Tq;
    if (!scores) blockScores.resize(std::min(block, Tq), T);
    bool finite = true;
    for (Eigen::Index r0 = P; r0 < T; r0 += block) {
        const Eigen::Index n = std::min(block, T - r0), keys = causal ? r0 + n : T;
        auto s = scores ? scores->block(r0, 0, n, keys) : blockScores.topLeftCorner(n, keys);
        // A scalar on the left is Eigen's GEMM alpha: the product is written straight into
        // `s`, each entry rounded once from scale x sum, as (sum, then x scale) would give. On
        // the right it went through a column-major temporary and a strided scaling copy (7 % of
        // a 1B-shape pass at T = 4096).
        s.noalias() = scale * (qh.middleRows(r0 - P, n) * kh.topRows(keys).transpose());
        for (Eigen::Index i = 0; i < n; ++i) {
            const Eigen::Index row = r0 + i, visible = causal ? row + 1 : T;
            const float rowMax = s.row(i).head(visible).maxCoeff();
            auto p = probs.row(row).head(visible).array();
            p = (s.row(i).head(visible).array() - rowMax).exp(); // vectorised
            const float sum = p.sum();
            finite = finite && std::isfinite(sum);
            p *= 1.0f / sum;
            probs.row(row).tail(T - visible).setZero();
            if (scores) scores->row(row).tail(T - visible).setConstant(minusInf);
        }
    }
    return finite;
}

namespace {

// Heads of a lazy pass, recomputed from the layer's kept Q and K.
class RecomputedHeads final : public HeadSource {
public:
    Mat head(const ForwardResult& forward, int layer, int head) const override {
        const LayerTrace& trace = forward.layers[size_t(layer)];
        return headAttention(trace.q, trace.k, trace.geometry, head, nullptr);
    }
};

} // namespace

Mat headAttention(const Mat& q, const Mat& k, const AttentionGeometry& g, int head,
                  const Mat* earlierAttention) {
    const Eigen::Index T = k.rows(), P = T - q.rows(); // rows [0, P) from earlierAttention
    Mat blockScores, probs(T, T);                      // [block, T] scratch, [T, T]
    if (P > 0) {                                       // as multiHeadAttention does for a kept head
        probs.topLeftCorner(P, P) = earlierAttention->topLeftCorner(P, P);
        probs.topRightCorner(P, T - P).setZero();
    }
    const int kvh = ForwardResult::kvHeadFor(head, g.heads, g.kvHeads);
    // As in the pass: products of long inputs run on one thread (there, one thread per
    // head), so that Eigen splits nothing differently.
    if (T * T >= 1024) {
#pragma omp parallel num_threads(1)
        headAttentionRows(q, k, head, kvh, g.headDim, g.causal, P, nullptr, blockScores, probs);
    } else {
        headAttentionRows(q, k, head, kvh, g.headDim, g.causal, P, nullptr, blockScores, probs);
    }
    return probs;
}

std::shared_ptr<const HeadSource> recomputedHeads() {
    static const auto source = std::make_shared<const RecomputedHeads>();
    return source;
}

Mat multiHeadAttention(const Mat& q, const Mat& k, const Mat& v, int heads, int kvHeads,
                       int headDim, bool causal, LayerTrace& trace, const KeepOptions& keep,
                       const LayerTrace* earlier) {
    const Eigen::Index T = k.rows(), Tq = q.rows(), P = T - Tq; // P rows come from `earlier`
    const float scale = attentionScale(headDim);
    const float minusInf = -std::numeric_limits<float>::infinity();
    Mat context(Tq, Eigen::Index(heads) * headDim); // [Tq, H*d]
    trace.geometry = AttentionGeometry{heads, kvHeads, headDim, causal};
    if (keep.layerReady) // Q and K decide this layer's attention: views may show it already
        keep.layerReady(ReadyLayer{keep.layer, q, k, trace.geometry, P > 0 ? earlier : nullptr});
    trace.attention.resize(size_t(heads));
    trace.attentionFinite.assign(size_t(heads), 1); // heads computed below say otherwise
    if (keep.scores) trace.scores.resize(size_t(heads));
    if (!keep.keepsAllAttention()) {
        // Heads nobody asked for: row blocks of [n, T] scores -> softmax -> context, so no
        // [T, T] matrix exists. Heads asked for take the path below.
#pragma omp parallel for schedule(dynamic) if (Tq * T >= 1024)
        for (int h = 0; h < heads; ++h) {
            if (keep.keepsAttention(keep.layer, h)) continue;
            const int kvh = ForwardResult::kvHeadFor(h, heads, kvHeads);
            const auto qh = q.middleCols(h * headDim, headDim);   // [Tq, d]
            const auto kh = k.middleCols(kvh * headDim, headDim); // [T, d]
            const auto vh = v.middleCols(kvh * headDim, headDim); // [T, d]
            const Eigen::Index block = 128;
            // [block, T] with the stride of a full [T, T] matrix, so every row is laid out (and
            // summed) exactly as on the kept-head path below: the same numbers to the bit.
            Mat rows(std::min(block, Tq), T);
            bool finite = true;
            for (Eigen::Index r0 = P; r0 < T; r0 += block) {
                const Eigen::Index n = std::min(block, T - r0), keys = causal ? r0 + n : T;
                auto s = rows.topLeftCorner(n, keys); // scores, then probabilities
                s.noalias() = scale * (qh.middleRows(r0 - P, n) * kh.topRows(keys).transpose());
                for (Eigen::Index i = 0; i < n; ++i) {
                    const Eigen::Index visible = causal ? r0 + i + 1 : T;
                    const float rowMax = s.row(i).head(visible).maxCoeff();
                    auto row = s.row(i).head(visible).array();
                    row = (row - rowMax).exp();
                    const float sum = row.sum();
                    finite = finite && std::isfinite(sum);
                    row *= 1.0f / sum;
                    s.row(i).tail(keys - visible).setZero();
                }
                context.block(r0 - P, h * headDim, n, headDim).noalias() = s * vh.topRows(keys);
            }
            // Recorded for heads computed again on demand too: the same rows, the same verdict,
            // so the finiteness check never reads Q and K again.
            trace.attentionFinite[size_t(h)] = finite;
        }
    }
    // Heads are independent: one thread per head (Eigen's products inside then run serially),
    // which also spreads the softmax over all cores. Short inputs stay on one thread.
    // An edit at the end (Tq = 1) still copies P x P earlier rows per head: parallel too.
#pragma omp parallel if (Tq * T >= 1024 || P * P >= 65536)
    {
        Mat blockScores; // [block, T] scores of one row block when they are not kept
#pragma omp for schedule(dynamic)
        for (int h = 0; h < heads; ++h) {
            if (!keep.keepsAttention(keep.layer, h)) continue; // done above, row block by block
            const int kvh = ForwardResult::kvHeadFor(h, heads, kvHeads);
            const auto vh = v.middleCols(kvh * headDim, headDim); // [T, d]
            const Eigen::Index block = causal ? 128 : Tq;
            Mat probs(T, T); // [T, T] probabilities
            if (T >= 1024) adviseHugePages(probs);
            Mat scores; // [T, T] = Q_h K_h^T / sqrt(d) (masked = -inf), only when kept
            if (keep.scores) scores.resize(T, T);
            if (P > 0) { // rows [0, P) from the earlier pass
                probs.topLeftCorner(P, P) = earlier->attention[size_t(h)].topLeftCorner(P, P);
                probs.topRightCorner(P, T - P).setZero();
                if (keep.scores) {
                    if (!earlier->scores.empty()) {
                        scores.topLeftCorner(P, P) = earlier->scores[size_t(h)].topLeftCorner(P, P);
                        scores.topRightCorner(P, T - P).setConstant(minusInf);
                    } else {
                        scores.topRows(P).setConstant(minusInf);
                    }
                }
            }
            trace.attentionFinite[size_t(h)] =
                headAttentionRows(q, k, h, kvh, headDim, causal, P, keep.scores ? &scores : nullptr,
                                  blockScores, probs);
            for (Eigen::Index r0 = P; r0 < T; r0 += block) {
                const Eigen::Index n = std::min(block, T - r0), keys = causal ? r0 + n : T;
                context.block(r0 - P, h * headDim, n, headDim).noalias() =
                    probs.block(r0, 0, n, keys) * vh.topRows(keys);
            }
            trace.attention[size_t(h)] = std::move(probs);
            if (keep.scores) trace.scores[size_t(h)] = std::move(scores);
        }
    }
    if (keep.attentionDone) keep.attentionDone(keep.layer, trace); // e.g. written while l + 1 runs
    return context;
}

Mat withPrefix(const Mat* earlier, int prefixRows, Mat&& rows) {
    if (prefixRows <= 0 || !earlier) return std::move(rows);
    Mat full(prefixRows + rows.rows(), rows.cols());
    full.topRows(prefixRows) = earlier->topRows(prefixRows);
    full.bottomRows(rows.rows()) = rows;
    return full;
}

Mat gatherRows(const WeightTensor& table, const std::vector<int64_t>& ids) {
    const int64_t D = table.cols();
    Mat out(Eigen::Index(ids.size()), D); // [T, D]
    for (size_t t = 0; t < ids.size(); ++t)
        table.widen(ids[t], 1, 0, D, out.row(Eigen::Index(t)).data(), D);
    return out;
}

void keepLayer(LayerTrace& trace, const KeepOptions& keep, Mat&& q, Mat&& k, Mat&& v,
               const Mat& hidden, const LayerTrace* earlier, int prefixRows) {
    if (keep.qkv) {
        trace.q = withPrefix(earlier ? &earlier->q : nullptr, prefixRows, std::move(q));
        trace.k = std::move(k);
        trace.v = std::move(v);
    }
    if (keep.hiddenStates)
        trace.hidden = withPrefix(earlier ? &earlier->hidden : nullptr, prefixRows, Mat(hidden));
}

void keepAttentionInputs(LayerTrace& trace, const KeepOptions& keep, const Mat& input,
                         const Mat* normed, const Mat* qPreRotary, const LayerTrace* earlier,
                         int prefixRows) {
    if (!keep.attentionInputs) return;
    const auto complete = [&](Mat LayerTrace::*member, const Mat& rows) {
        trace.*member = withPrefix(earlier ? &(earlier->*member) : nullptr, prefixRows, Mat(rows));
    };
    complete(&LayerTrace::input, input);
    if (normed) complete(&LayerTrace::normed, *normed);
    if (qPreRotary) complete(&LayerTrace::qPreRotary, *qPreRotary);
}

} // namespace attnscope
