// BERT, RoBERTa and DistilBERT: encoder-only, absolute learned positions, post-LayerNorm
// blocks (residual, then LayerNorm), bidirectional attention. They differ in tensor names,
// in token types, and in where RoBERTa's positions start.
#include "../blocks.h"
#include "../model.h"

namespace attnscope {
namespace {

// Tensor names of one layer, relative to the checkpoint's prefix.
struct EncoderNames {
    QString layer; // "encoder.layer.%1." or "transformer.layer.%1."
    QString q, k, v, attnOut, attnNorm, ffnIn, ffnOut, ffnNorm;
};

const EncoderNames kBertNames{
    QStringLiteral("encoder.layer.%1."),      QStringLiteral("attention.self.query"),
    QStringLiteral("attention.self.key"),     QStringLiteral("attention.self.value"),
    QStringLiteral("attention.output.dense"), QStringLiteral("attention.output.LayerNorm"),
    QStringLiteral("intermediate.dense"),     QStringLiteral("output.dense"),
    QStringLiteral("output.LayerNorm")};
const EncoderNames kDistilBertNames{QStringLiteral("transformer.layer.%1."),
                                    QStringLiteral("attention.q_lin"),
                                    QStringLiteral("attention.k_lin"),
                                    QStringLiteral("attention.v_lin"),
                                    QStringLiteral("attention.out_lin"),
                                    QStringLiteral("sa_layer_norm"),
                                    QStringLiteral("ffn.lin1"),
                                    QStringLiteral("ffn.lin2"),
                                    QStringLiteral("output_layer_norm")};

struct EncoderBlock {
    Linear q, k, v;     // [D, D] each
    Linear attnOut;     // [D, D]
    LayerNorm attnNorm; // [D]
    Linear ffnIn;       // [D, I]
    Linear ffnOut;      // [I, D]
    LayerNorm ffnNorm;  // [D]
};

class BertFamilyModel final : public Model {
public:
    ModelConfig config;
    WeightTensor wordEmbedding;     // [V, D]
    WeightTensor positionEmbedding; // [P, D]
    WeightTensor typeEmbedding;     // [types, D], empty for DistilBERT
    LayerNorm embeddingNorm;
    std::vector<EncoderBlock> blocks;

    // RoBERTa numbers positions from padding_idx + 1 and gives padding tokens padding_idx.
    std::vector<int64_t> positionIds(const std::vector<int64_t>& ids) const {
        std::vector<int64_t> positions(ids.size());
        int64_t next = config.family == Family::Roberta ? config.padTokenId + 1 : 0;
        for (size_t t = 0; t < ids.size(); ++t) {
            if (config.family == Family::Roberta && ids[t] == config.padTokenId)
                positions[t] = config.padTokenId;
            else
                positions[t] = next++;
        }
        return positions;
    }

    Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                  const ProgressCallback& progress) const override {
        if (auto s = checkTokens(config, input); !s) return s.error();
        const int H = config.heads;
        ForwardResult result;
        // x [T, D] = LayerNorm(word[ids] + position[pos] + type[typeIds])
        Mat x = gatherRows(wordEmbedding, input.ids) +
                gatherRows(positionEmbedding, positionIds(input.ids));
        if (!typeEmbedding.empty()) {
            const std::vector<int64_t> types =
                input.typeIds.empty() ? std::vector<int64_t>(input.ids.size(), 0) : input.typeIds;
            x += gatherRows(typeEmbedding, types);
        }
        x = embeddingNorm(x);
        if (keep.hiddenStates) result.embeddings = x;
        result.layers.resize(blocks.size());
        for (size_t l = 0; l < blocks.size(); ++l) {
            const EncoderBlock& b = blocks[l];
            LayerTrace& trace = result.layers[l];
            keepAttentionInputs(trace, keep, x, nullptr, nullptr); // post-LN: reads x as is
            Mat q = b.q(x), k = b.k(x), v = b.v(x);                // [T, D] each
            const Mat context = multiHeadAttention(q, k, v, H, H, config.headDim, false, trace,
                                                   keep.forLayer(int(l)));
            x = b.attnNorm(x + b.attnOut(context));
            Mat inner = b.ffnIn(x); // [T, I]
            applyActivation(inner, config.activation);
            x = b.ffnNorm(x + b.ffnOut(inner));
            keepLayer(trace, keep, std::move(q), std::move(k), std::move(v), x);
            if (!reportProgress(progress, int(l) + 1, int(blocks.size()))) return cancelledError();
        }
        result.lastHiddenState = x;
        return result;
    }

    HeadWeights headWeights(int layer, int head) const override {
        const EncoderBlock& b = blocks[size_t(layer)];
        const int d = config.headDim;
        return sliceHead(b.q, head * d, b.k, head * d, b.v, head * d, b.attnOut, head * d, d, head);
    }
};

} // namespace

Result<std::unique_ptr<Model>> createBertFamily(const ModelConfig& c,
                                                const WeightStore& weightsIn) {
    WeightStore w = weightsIn;
    const bool distil = c.family == Family::DistilBert;
    const QString familyPrefix = distil                        ? QStringLiteral("distilbert.")
                                 : c.family == Family::Roberta ? QStringLiteral("roberta.")
                                                               : QStringLiteral("bert.");
    w.choosePrefix({familyPrefix, QString()}, QStringLiteral("embeddings.word_embeddings.weight"));
    const EncoderNames& names = distil ? kDistilBertNames : kBertNames;
    const int D = c.hidden, I = c.intermediate;
    if (c.headDim * c.heads != D)
        return Error{QStringLiteral("%1 needs head_dim x heads == hidden size").arg(c.modelType)};

    auto m = std::make_unique<BertFamilyModel>();
    m->config = c;
    const int positionRows =
        c.family == Family::Roberta ? c.maxPositions + c.padTokenId + 1 : c.maxPositions;
    ATTNSCOPE_ASSIGN_OR_RETURN(
        m->wordEmbedding,
        w.weight(QStringLiteral("embeddings.word_embeddings.weight"), {c.vocab, D}));
    ATTNSCOPE_ASSIGN_OR_RETURN(
        m->positionEmbedding,
        w.weight(QStringLiteral("embeddings.position_embeddings.weight"), {positionRows, D}));
    if (!distil)
        ATTNSCOPE_ASSIGN_OR_RETURN(
            m->typeEmbedding,
            w.weight(QStringLiteral("embeddings.token_type_embeddings.weight"), {c.typeVocab, D}));
    ATTNSCOPE_ASSIGN_OR_RETURN(
        m->embeddingNorm, loadLayerNorm(w, QStringLiteral("embeddings.LayerNorm"), D, c.normEps));
    for (int l = 0; l < c.layers; ++l) {
        const QString p = names.layer.arg(l);
        EncoderBlock b;
        ATTNSCOPE_ASSIGN_OR_RETURN(b.q, loadLinear(w, p + names.q, D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.k, loadLinear(w, p + names.k, D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.v, loadLinear(w, p + names.v, D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.attnOut, loadLinear(w, p + names.attnOut, D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.attnNorm, loadLayerNorm(w, p + names.attnNorm, D, c.normEps));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ffnIn, loadLinear(w, p + names.ffnIn, D, I, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ffnOut, loadLinear(w, p + names.ffnOut, I, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(b.ffnNorm, loadLayerNorm(w, p + names.ffnNorm, D, c.normEps));
        m->blocks.push_back(std::move(b));
    }
    return std::unique_ptr<Model>(std::move(m));
}

} // namespace attnscope
