// Llama family (Llama, Mistral without sliding windows, Qwen2): RMSNorm pre-norm blocks,
// rotary positions on Q and K, grouped-query attention (KV <= H heads), SwiGLU MLP.
#include "../blocks.h"
#include "../model.h"

namespace attnscope {
namespace {

struct LlamaBlock {
    LayerNorm attnNorm; // input_layernorm, RMS [D]
    Linear q;           // [H*d, D]
    Linear k;           // [KV*d, D]
    Linear v;           // [KV*d, D]
    Linear o;           // [D, H*d]
    LayerNorm mlpNorm;  // post_attention_layernorm, RMS [D]
    Linear gate;        // [I, D]
    Linear up;          // [I, D]
    Linear down;        // [D, I]
};

class LlamaModel final : public Model {
public:
    ModelConfig config;
    WeightTensor tokenEmbedding; // [V, D]
    std::vector<LlamaBlock> blocks;
    LayerNorm finalNorm; // RMS [D]

    Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                  const ProgressCallback& progress) const override {
        if (auto s = checkTokens(config, input); !s) return s.error();
        const int H = config.heads, KV = config.kvHeads, d = config.headDim;
        const int P = input.prefix.rows; // rows [0, P) are reused from an earlier pass
        ForwardResult result;
        Mat x = gatherRows(tokenEmbedding, input.prefix.newIds(input.ids)); // [T-P, D]
        if (keep.hiddenStates)
            result.embeddings = input.prefix.complete(&ForwardResult::embeddings, Mat(x));
        result.layers.resize(blocks.size());
        for (size_t l = 0; l < blocks.size(); ++l) {
            const LlamaBlock& b = blocks[l];
            LayerTrace& trace = result.layers[l];
            const LayerTrace* earlier = input.prefix.layer(l);
            const Mat normed = b.attnNorm(x);
            Mat q = b.q(normed);    // [T-P, H*d]
            Mat kNew = b.k(normed); // [T-P, KV*d]
            keepAttentionInputs(trace, keep, x, &normed, &q, earlier, P);
            applyRotary(q, H, d, d, config.ropeTheta, P);
            applyRotary(kNew, KV, d, d, config.ropeTheta, P);
            Mat k = withPrefix(earlier ? &earlier->k : nullptr, P, std::move(kNew)); // [T, KV*d]
            Mat v = withPrefix(earlier ? &earlier->v : nullptr, P, b.v(normed));     // [T, KV*d]
            const Mat context =
                multiHeadAttention(q, k, v, H, KV, d, true, trace, keep.forLayer(int(l)), earlier);
            x += b.o(context);
            const Mat normed2 = b.mlpNorm(x);
            Mat gate = b.gate(normed2);                                   // [T, I]
            applyGatedActivation(gate, b.up(normed2), config.activation); // act(gate) * up
            x += b.down(gate);
            keepLayer(trace, keep, std::move(q), std::move(k), std::move(v), x, earlier, P);
            if (!reportProgress(progress, int(l) + 1, int(blocks.size()))) return cancelledError();
        }
        result.lastHiddenState =
            input.prefix.complete(&ForwardResult::lastHiddenState, finalNorm(x));
        return result;
    }

    HeadWeights headWeights(int layer, int head) const override {
        const LlamaBlock& b = blocks[size_t(layer)];
        const int d = config.headDim;
        const int kv = ForwardResult::kvHeadFor(head, config.heads, config.kvHeads);
        return sliceHead(b.q, head * d, b.k, kv * d, b.v, kv * d, b.o, head * d, d, kv);
    }
};

} // namespace

Result<std::unique_ptr<Model>> createLlamaFamily(const ModelConfig& c,
                                                 const WeightStore& weightsIn) {
    WeightStore w = weightsIn;
    w.choosePrefix({QStringLiteral("model."), QString()}, QStringLiteral("embed_tokens.weight"));
    const int D = c.hidden, I = c.intermediate, H = c.heads, KV = c.kvHeads, d = c.headDim;
    if (d % 2 != 0)
        return Error{QStringLiteral("rotary embeddings need an even head_dim, got %1").arg(d)};
    const bool qkvBias = c.attentionBias;
    const bool oBias = c.attentionBias && c.family != Family::Qwen2; // Qwen2: q/k/v biases only
    auto m = std::make_unique<LlamaModel>();
    m->config = c;
    ATTNSCOPE_ASSIGN_OR_RETURN(m->tokenEmbedding,
                               w.weight(QStringLiteral("embed_tokens.weight"), {c.vocab, D}));
    for (int l = 0; l < c.layers; ++l) {
        const QString p = QStringLiteral("layers.%1.").arg(l);
        LlamaBlock b;
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.attnNorm, loadRmsNorm(w, p + QStringLiteral("input_layernorm"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.q, loadLinear(w, p + QStringLiteral("self_attn.q_proj"), D, H * d, qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.k, loadLinear(w, p + QStringLiteral("self_attn.k_proj"), D, KV * d, qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.v, loadLinear(w, p + QStringLiteral("self_attn.v_proj"), D, KV * d, qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.o, loadLinear(w, p + QStringLiteral("self_attn.o_proj"), H * d, D, oBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.mlpNorm,
            loadRmsNorm(w, p + QStringLiteral("post_attention_layernorm"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.gate, loadLinear(w, p + QStringLiteral("mlp.gate_proj"), D, I, c.mlpBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.up, loadLinear(w, p + QStringLiteral("mlp.up_proj"), D, I, c.mlpBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.down, loadLinear(w, p + QStringLiteral("mlp.down_proj"), I, D, c.mlpBias));
        m->blocks.push_back(std::move(b));
    }
    ATTNSCOPE_ASSIGN_OR_RETURN(m->finalNorm, loadRmsNorm(w, QStringLiteral("norm"), D, c.normEps));
    return std::unique_ptr<Model>(std::move(m));
}

} // namespace attnscope
