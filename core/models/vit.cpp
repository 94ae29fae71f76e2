// ViT (and DINO-style ViTModel checkpoints): image cut into p x p patches, each projected to D
// (a strided convolution), [CLS] prepended, learned positions added; pre-LayerNorm encoder.
// DeiT is the same with a learned distillation token after [CLS] (sequence [CLS], [DIST],
// patches), `deit.` as the weights' prefix.
#include "../blocks.h"
#include "../model.h"

namespace attnscope {
namespace {

struct VitBlock {
    LayerNorm before; // layernorm_before [D]
    Linear q, k, v;   // [D, D]
    Linear attnOut;   // [D, D]
    LayerNorm after;  // layernorm_after [D]
    Linear ffnIn;     // [I, D]
    Linear ffnOut;    // [D, I]
};

class VitModel final : public Model {
public:
    ModelConfig config;
    WeightTensor clsToken;          // [1, 1, D]
    WeightTensor distillationToken; // [1, 1, D], DeiT only
    WeightTensor positionEmbedding; // [1, N+prefix, D], prefix = 1 ([CLS]) or 2 (DeiT)
    Linear patchProjection;        // conv [D, C, p, p] viewed as [D, C*p*p]
    std::vector<VitBlock> blocks;
    LayerNorm finalNorm;

    Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                  const ProgressCallback& progress) const override {
        const Tensor* px = input.pixels;
        const int C = config.channels, p = config.patchSize, S = config.imageSize, H = config.heads;
        if (!px || px->shape.size() != 3 || px->shape[0] != C || px->shape[1] != S ||
            px->shape[2] != S)
            return Error{QStringLiteral("pixel values must be shaped [%1, %2, %2] for this model")
                             .arg(C)
                             .arg(S)};
        const int side = S / p, patches = side * side;
        // patches [N, C*p*p], each flattened in (channel, row, column) order like the conv kernel
        Mat patchPixels(patches, C * p * p);
        for (int py = 0; py < side; ++py)
            for (int pxl = 0; pxl < side; ++pxl) {
                float* dst = patchPixels.row(py * side + pxl).data();
                for (int c = 0; c < C; ++c)
                    for (int y = 0; y < p; ++y)
                        for (int x = 0; x < p; ++x)
                            *dst++ =
                                px->data[size_t((int64_t(c) * S + py * p + y) * S + pxl * p + x)];
            }
        const int D = config.hidden, prefix = config.prefixTokens();
        Mat x(patches + prefix, D); // [N+prefix, D]
        x.row(0) = clsToken.rowBlock(0, 1);
        if (config.distillationToken) x.row(1) = distillationToken.rowBlock(0, 1);
        x.bottomRows(patches) = patchProjection(patchPixels);
        Mat position(patches + prefix, D); // [N+prefix, D]
        positionEmbedding.widen(0, 1, 0, position.size(), position.data(), position.size());
        x += position;
        ForwardResult result;
        if (keep.hiddenStates) result.embeddings = x;
        result.layers.resize(blocks.size());
        for (size_t l = 0; l < blocks.size(); ++l) {
            const VitBlock& b = blocks[l];
            LayerTrace& trace = result.layers[l];
            const Mat normed = b.before(x);
            keepAttentionInputs(trace, keep, x, &normed, nullptr);
            Mat q = b.q(normed), k = b.k(normed), v = b.v(normed);
            const Mat context = multiHeadAttention(q, k, v, H, H, config.headDim, false, trace,
                                                   keep.forLayer(int(l)));
            x += b.attnOut(context);
            Mat inner = b.ffnIn(b.after(x));
            applyActivation(inner, config.activation);
            x += b.ffnOut(inner);
            keepLayer(trace, keep, std::move(q), std::move(k), std::move(v), x);
            if (!reportProgress(progress, int(l) + 1, int(blocks.size()))) return cancelledError();
        }
        result.lastHiddenState = finalNorm(x);
        return result;
    }

    HeadWeights headWeights(int layer, int head) const override {
        const VitBlock& b = blocks[size_t(layer)];
        const int d = config.headDim;
        return sliceHead(b.q, head * d, b.k, head * d, b.v, head * d, b.attnOut, head * d, d, head);
    }
};

} // namespace

Result<std::unique_ptr<Model>> createVit(const ModelConfig& c, const WeightStore& weightsIn) {
    WeightStore w = weightsIn;
    w.choosePrefix({QStringLiteral("vit."), QStringLiteral("deit."), QString()},
                   QStringLiteral("embeddings.cls_token"));
    const int D = c.hidden, I = c.intermediate, C = c.channels, p = c.patchSize;
    const int patches = (c.imageSize / p) * (c.imageSize / p);
    if (c.headDim * c.heads != D)
        return Error{QStringLiteral("ViT needs head_dim x heads == hidden size")};
    auto m = std::make_unique<VitModel>();
    m->config = c;
    ATTNSCOPE_ASSIGN_OR_RETURN(m->clsToken,
                               w.weight(QStringLiteral("embeddings.cls_token"), {1, 1, D}));
    if (c.distillationToken)
        ATTNSCOPE_ASSIGN_OR_RETURN(
            m->distillationToken,
            w.weight(QStringLiteral("embeddings.distillation_token"), {1, 1, D}));
    ATTNSCOPE_ASSIGN_OR_RETURN(m->positionEmbedding,
                               w.weight(QStringLiteral("embeddings.position_embeddings"),
                                        {1, patches + c.prefixTokens(), D}));
    ATTNSCOPE_ASSIGN_OR_RETURN(
        m->patchProjection.weight,
        w.weight(QStringLiteral("embeddings.patch_embeddings.projection.weight"), {D, C, p, p}));
    m->patchProjection.weight.shape = {D, int64_t(C) * p * p}; // same bytes, viewed as a matrix
    ATTNSCOPE_ASSIGN_OR_RETURN(
        m->patchProjection.bias,
        w.get(QStringLiteral("embeddings.patch_embeddings.projection.bias"), {D}));
    for (int l = 0; l < c.layers; ++l) {
        const QString pre = QStringLiteral("encoder.layer.%1.").arg(l);
        VitBlock b;
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.before, loadLayerNorm(w, pre + QStringLiteral("layernorm_before"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.q, loadLinear(w, pre + QStringLiteral("attention.attention.query"), D, D, c.qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.k, loadLinear(w, pre + QStringLiteral("attention.attention.key"), D, D, c.qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.v, loadLinear(w, pre + QStringLiteral("attention.attention.value"), D, D, c.qkvBias));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.attnOut, loadLinear(w, pre + QStringLiteral("attention.output.dense"), D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.after, loadLayerNorm(w, pre + QStringLiteral("layernorm_after"), D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(
            b.ffnIn, loadLinear(w, pre + QStringLiteral("intermediate.dense"), D, I, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ffnOut,
                                   loadLinear(w, pre + QStringLiteral("output.dense"), I, D, true));
        m->blocks.push_back(std::move(b));
    }
    ATTNSCOPE_ASSIGN_OR_RETURN(m->finalNorm,
                               loadLayerNorm(w, QStringLiteral("layernorm"), D, c.normEps));
    return std::unique_ptr<Model>(std::move(m));
}

} // namespace attnscope
