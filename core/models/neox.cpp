// GPT-NeoX / Pythia: fused query_key_value laid out per head ([H, 3, d] on the output axis),
// partial rotary (first rotary_pct of each head), parallel residual, LayerNorm pre-norm.
#include "../blocks.h"
#include "../model.h"

namespace attnscope {
namespace {

struct NeoXBlock {
    LayerNorm attnNorm; // input_layernorm [D]
    LayerNorm mlpNorm;  // post_attention_layernorm [D]
    Linear qkv;         // query_key_value [3D, D], output rows grouped per head as (q, k, v)
    Linear dense;       // [D, D]
    Linear fcIn;        // dense_h_to_4h [I, D]
    Linear fcOut;       // dense_4h_to_h [D, I]
};

class NeoXModel final : public Model {
public:
    ModelConfig config;
    WeightTensor tokenEmbedding; // embed_in [V, D]
    std::vector<NeoXBlock> blocks;
    LayerNorm finalNorm; // final_layer_norm [D]

    Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                  const ProgressCallback& progress) const override {
        if (auto s = checkTokens(config, input); !s) return s.error();
        const int H = config.heads, d = config.headDim;
        const int rotaryDim = int(double(d) * config.rotaryFraction);
        const int P = input.prefix.rows; // rows [0, P) are reused from an earlier pass
        ForwardResult result;
        Mat x = gatherRows(tokenEmbedding, input.prefix.newIds(input.ids)); // [T-P, D]
        if (keep.hiddenStates)
            result.embeddings = input.prefix.complete(&ForwardResult::embeddings, Mat(x));
        result.layers.resize(blocks.size());
        for (size_t l = 0; l < blocks.size(); ++l) {
            const NeoXBlock& b = blocks[l];
            LayerTrace& trace = result.layers[l];
            const LayerTrace* earlier = input.prefix.layer(l);
            const Mat normed = b.attnNorm(x);
            const Mat fused = b.qkv(normed); // [T-P, H*3*d]
            const Eigen::Index rows = fused.rows();
            Mat q(rows, H * d), k(rows, H * d), v(rows, H * d);
            for (int h = 0; h < H; ++h) { // split the per-head (q, k, v) groups
                q.middleCols(h * d, d) = fused.middleCols((3 * h + 0) * d, d);
                k.middleCols(h * d, d) = fused.middleCols((3 * h + 1) * d, d);
                v.middleCols(h * d, d) = fused.middleCols((3 * h + 2) * d, d);
            }
            keepAttentionInputs(trace, keep, x, &normed, &q, earlier, P);
            applyRotary(q, H, d, rotaryDim, config.ropeTheta, P);
            applyRotary(k, H, d, rotaryDim, config.ropeTheta, P);
            k = withPrefix(earlier ? &earlier->k : nullptr, P, std::move(k)); // [T, H*d]
            v = withPrefix(earlier ? &earlier->v : nullptr, P, std::move(v));
            const Mat context =
                multiHeadAttention(q, k, v, H, H, d, true, trace, keep.forLayer(int(l)), earlier);
            const Mat attnOut = b.dense(context);
            auto mlp = [&](const Mat& in) {
                Mat inner = b.fcIn(b.mlpNorm(in)); // [T, I]
                applyActivation(inner, config.activation);
                return b.fcOut(inner);
            };
            if (config.parallelResidual) { // x + attn(ln1(x)) + mlp(ln2(x))
                const Mat mlpOut = mlp(x);
                x += attnOut + mlpOut;
            } else { // sequential, as GPT-2
                x += attnOut;
                x += mlp(x);
            }
            keepLayer(trace, keep, std::move(q), std::move(k), std::move(v), x, earlier, P);
            if (!reportProgress(progress, int(l) + 1, int(blocks.size()))) return cancelledError();
        }
        result.lastHiddenState =
            input.prefix.complete(&ForwardResult::lastHiddenState, finalNorm(x));
        return result;
    }

    HeadWeights headWeights(int layer, int head) const override {
        const NeoXBlock& b = blocks[size_t(layer)];
        const int d = config.headDim; // query_key_value's outputs: per head (q, k, v)
        return sliceHead(b.qkv, 3 * head * d, b.qkv, (3 * head + 1) * d, b.qkv,
                         (3 * head + 2) * d, b.dense, head * d, d, head);
    }
};

} // namespace

Result<std::unique_ptr<Model>> createGptNeoX(const ModelConfig& c, const WeightStore& weightsIn) {
    WeightStore w = weightsIn;
    w.choosePrefix({QStringLiteral("gpt_neox."), QString()}, QStringLiteral("embed_in.weight"));
    const int D = c.hidden, I = c.intermediate;
    if (c.headDim * c.heads != D)
        return Error{QStringLiteral("GPT-NeoX needs head_dim x heads == hidden size")};
    if (int(double(c.headDim) * c.rotaryFraction) % 2 != 0)
        return Error{QStringLiteral("rotary dimensions must be even")};
    auto m = std::make_unique<NeoXModel>();
    m->config = c;
    ATTNSCOPE_ASSIGN_OR_RETURN(m->tokenEmbedding,
                               w.weight(QStringLiteral("embed_in.weight"), {c.vocab, D}));
    for (int l = 0; l < c.layers; ++l) {
        const QString p = QStringLiteral("layers.%1.").arg(l);
        NeoXBlock b;
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.attnNorm, loadLayerNorm(w, p + QStringLiteral("input_layernorm"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.mlpNorm,
            loadLayerNorm(w, p + QStringLiteral("post_attention_layernorm"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.qkv,
                                   loadLinear(w, p + QStringLiteral("attention.query_key_value"), D,
                                              3 * D, c.attentionBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.dense, loadLinear(w, p + QStringLiteral("attention.dense"), D, D, c.attentionBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.fcIn, loadLinear(w, p + QStringLiteral("mlp.dense_h_to_4h"), D, I, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.fcOut, loadLinear(w, p + QStringLiteral("mlp.dense_4h_to_h"), I, D, true));
        m->blocks.push_back(std::move(b));
    }
    ATTNSCOPE_ASSIGN_OR_RETURN(m->finalNorm,
                               loadLayerNorm(w, QStringLiteral("final_layer_norm"), D, c.normEps));
    return std::unique_ptr<Model>(std::move(m));
}

} // namespace attnscope
