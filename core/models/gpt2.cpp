// GPT-2: learned token + position embeddings, pre-LayerNorm blocks, causal attention,
// tanh-GELU MLP, final LayerNorm. Conv1D weights are stored [in, out].
#include "../blocks.h"
#include "../model.h"

namespace attnscope {
namespace {

struct Gpt2Block {
    LayerNorm ln1;  // [D]
    Linear qkv;     // c_attn: [D, 3D]
    Linear attnOut; // c_proj: [D, D]
    LayerNorm ln2;  // [D]
    Linear fc;      // c_fc:  [D, 4D]
    Linear proj;    // c_proj: [4D, D]
};

class Gpt2Model final : public Model {
public:
    ModelConfig config;
    WeightTensor tokenEmbedding;    // wte: [V, D]
    WeightTensor positionEmbedding; // wpe: [P, D]
    std::vector<Gpt2Block> blocks;
    LayerNorm finalNorm; // ln_f: [D]

    Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                  const ProgressCallback& progress) const override {
        if (auto s = checkTokens(config, input); !s) return s.error();
        const int D = config.hidden, H = config.heads;
        const int T = int(input.ids.size()), P = input.prefix.rows; // rows [0, P) are reused
        ForwardResult result;
        // x [T-P, D] = wte[ids] + wpe[P..T)
        Mat x = gatherRows(tokenEmbedding, input.prefix.newIds(input.ids)) +
                positionEmbedding.rowBlock(P, T - P);
        if (keep.hiddenStates)
            result.embeddings = input.prefix.complete(&ForwardResult::embeddings, Mat(x));
        result.layers.resize(blocks.size());
        for (size_t l = 0; l < blocks.size(); ++l) {
            const Gpt2Block& b = blocks[l];
            LayerTrace& trace = result.layers[l];
            const LayerTrace* earlier = input.prefix.layer(l);
            const Mat normed = b.ln1(x);
            keepAttentionInputs(trace, keep, x, &normed, nullptr, earlier, P);
            const Mat qkv = b.qkv(normed); // [T-P, 3D] = [Q | K | V]
            Mat q = qkv.leftCols(D);
            Mat k = withPrefix(earlier ? &earlier->k : nullptr, P, qkv.middleCols(D, D)); // [T, D]
            Mat v = withPrefix(earlier ? &earlier->v : nullptr, P, qkv.rightCols(D));     // [T, D]
            const Mat context = multiHeadAttention(q, k, v, H, H, config.headDim, true, trace,
                                                   keep.forLayer(int(l)), earlier);
            x += b.attnOut(context);
            Mat hiddenMlp = b.fc(b.ln2(x)); // [T, 4D]
            applyActivation(hiddenMlp, config.activation);
            x += b.proj(hiddenMlp);
            keepLayer(trace, keep, std::move(q), std::move(k), std::move(v), x, earlier, P);
            if (!reportProgress(progress, int(l) + 1, int(blocks.size()))) return cancelledError();
        }
        result.lastHiddenState =
            input.prefix.complete(&ForwardResult::lastHiddenState, finalNorm(x));
        return result;
    }

    HeadWeights headWeights(int layer, int head) const override {
        const Gpt2Block& b = blocks[size_t(layer)];
        const int D = config.hidden, d = config.headDim;
        return sliceHead(b.qkv, head * d, b.qkv, D + head * d, b.qkv, 2 * D + head * d,
                         b.attnOut, head * d, d, head);
    }
};

} // namespace

Result<std::unique_ptr<Model>> createGpt2(const ModelConfig& c, const WeightStore& weightsIn) {
    WeightStore w = weightsIn;
    w.choosePrefix({QStringLiteral("transformer."), QString()}, QStringLiteral("wte.weight"));
    auto m = std::make_unique<Gpt2Model>();
    m->config = c;
    const int D = c.hidden;
    if (c.headDim * c.heads != D)
        return Error{QStringLiteral("GPT-2 needs head_dim x heads == hidden size")};
    ATTNSCOPE_ASSIGN_OR_RETURN(m->tokenEmbedding,
                               w.weight(QStringLiteral("wte.weight"), {c.vocab, D}));
    ATTNSCOPE_ASSIGN_OR_RETURN(m->positionEmbedding,
                               w.weight(QStringLiteral("wpe.weight"), {c.maxPositions, D}));
    for (int l = 0; l < c.layers; ++l) {
        const QString p = QStringLiteral("h.%1.").arg(l);
        Gpt2Block b;
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ln1,
                                   loadLayerNorm(w, p + QStringLiteral("ln_1"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.qkv,
                                   loadConv1D(w, p + QStringLiteral("attn.c_attn"), D, 3 * D));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.attnOut,
                                   loadConv1D(w, p + QStringLiteral("attn.c_proj"), D, D));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ln2,
                                   loadLayerNorm(w, p + QStringLiteral("ln_2"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.fc, loadConv1D(w, p + QStringLiteral("mlp.c_fc"), D, c.intermediate));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.proj, loadConv1D(w, p + QStringLiteral("mlp.c_proj"), c.intermediate, D));
        m->blocks.push_back(std::move(b));
    }
    ATTNSCOPE_ASSIGN_OR_RETURN(m->finalNorm,
                               loadLayerNorm(w, QStringLiteral("ln_f"), D, c.normEps));
    return std::unique_ptr<Model>(std::move(m));
}

} // namespace attnscope
