#include "predict.h"

#include "session.h"
#include "weights.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnscope {

namespace {

// Where each family keeps its head. Names are full tensor names (no family prefix is added):
// the first name of a list that the file holds is used.
struct HeadNames {
    QStringList untiedWeight; // a separate output projection [V, D]
    QStringList embeddings;   // the input embeddings [V, D], used when tied
    QStringList bias;         // output bias [V] (masked-LM heads)
    QString transform;        // masked-LM dense [D, D] (empty for causal heads)
    QString transformNorm;    // masked-LM LayerNorm [D]
};

HeadNames headNames(Family family) {
    switch (family) {
    case Family::Gpt2:
        return {{"lm_head.weight"}, {"transformer.wte.weight", "wte.weight"}, {}, {}, {}};
    case Family::Llama:
    case Family::Qwen2:
        return {
            {"lm_head.weight"}, {"model.embed_tokens.weight", "embed_tokens.weight"}, {}, {}, {}};
    case Family::GptNeoX:
        return {{"embed_out.weight"}, {"gpt_neox.embed_in.weight", "embed_in.weight"}, {}, {}, {}};
    case Family::Bert:
        return {{"cls.predictions.decoder.weight"},
                {"bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"},
                {"cls.predictions.bias", "cls.predictions.decoder.bias"},
                "cls.predictions.transform.dense",
                "cls.predictions.transform.LayerNorm"};
    case Family::Roberta:
        return {{"lm_head.decoder.weight"},
                {"roberta.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"},
                {"lm_head.bias", "lm_head.decoder.bias"},
                "lm_head.dense",
                "lm_head.layer_norm"};
    case Family::DistilBert:
        return {
            {"vocab_projector.weight"},
            {"distilbert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"},
            {"vocab_projector.bias"},
            "vocab_transform",
            "vocab_layer_norm"};
    case Family::Vit:
        break;
    }
    return {};
}

QString firstPresent(const WeightStore& w, const QStringList& names) {
    for (const QString& n : names)
        if (w.has(n)) return n;
    return {};
}

} // namespace

Result<std::shared_ptr<const LanguageModelHead>>
LanguageModelHead::load(const ModelConfig& c, const WeightStore& weightsIn) {
    if (c.modality != Modality::Text)
        return Error{QStringLiteral("an image model has no vocabulary to predict")};
    WeightStore w = weightsIn;
    w.choosePrefix({QString()}, QString()); // names below are complete
    const HeadNames names = headNames(c.family);
    auto head = std::make_shared<LanguageModelHead>();
    const int D = c.hidden, V = c.vocab;
    head->m_kind = c.causal ? PredictionKind::NextToken : PredictionKind::MaskedToken;

    if (!names.transform.isEmpty()) {
        if (!w.has(names.transform + QStringLiteral(".weight")))
            return Error{QStringLiteral("the checkpoint has no masked-LM head (no %1.weight): it "
                                        "holds the encoder only, so it cannot predict masked "
                                        "tokens")
                             .arg(names.transform)};
        ATTNSCOPE_ASSIGN_OR_RETURN(head->m_transform, loadLinear(w, names.transform, D, D, true));
        ATTNSCOPE_ASSIGN_OR_RETURN(head->m_transformNorm,
                                   loadLayerNorm(w, names.transformNorm, D, c.normEps));
        head->m_hasTransform = true;
        // RoBERTa's head applies exact GELU whatever hidden_act says; BERT and DistilBERT use
        // the configured activation.
        head->m_activation = c.family == Family::Roberta ? Activation::GeluErf : c.activation;
    }

    const QString untied = firstPresent(w, names.untiedWeight);
    const QString embeddings = firstPresent(w, names.embeddings);
    head->m_tied = untied.isEmpty() || c.tieWordEmbeddings;
    const QString decoder = head->m_tied ? embeddings : untied;
    if (decoder.isEmpty())
        return Error{QStringLiteral("the checkpoint has no output projection (%1)")
                         .arg((names.untiedWeight + names.embeddings).join(QStringLiteral(", ")))};
    ATTNSCOPE_ASSIGN_OR_RETURN(head->m_decoder.weight, w.weight(decoder, {V, D}));
    const QString bias = firstPresent(w, names.bias);
    if (!bias.isEmpty()) ATTNSCOPE_ASSIGN_OR_RETURN(head->m_decoder.bias, w.get(bias, {V}));
    return std::shared_ptr<const LanguageModelHead>(std::move(head));
}

Mat LanguageModelHead::logits(const Mat& hidden) const {
    if (!m_hasTransform) return m_decoder(hidden); // [n, V]
    Mat x = m_transform(hidden);                   // [n, D]
    applyActivation(x, m_activation);
    return m_decoder(m_transformNorm(x)); // [n, V]
}

std::vector<double> softmaxWithTemperature(const float* logits, int count, double temperature) {
    std::vector<double> p(static_cast<size_t>(std::max(count, 0)));
    if (count <= 0) return p;
    const double maxLogit = *std::max_element(logits, logits + count);
    double sum = 0;
    for (int i = 0; i < count; ++i) {
        p[size_t(i)] = std::exp((double(logits[i]) - maxLogit) / temperature);
        sum += p[size_t(i)];
    }
    for (double& v : p)
        v /= sum;
    return p;
}

std::vector<int> maskPositions(const LoadedModel& model, const Analysis& analysis) {
    std::vector<int> positions;
    const Tokenizer* tokenizer = model.tokenizer();
    if (!tokenizer) return positions;
    std::optional<int64_t> mask = tokenizer->tokenToId(QStringLiteral("[MASK]"));
    if (!mask) mask = tokenizer->tokenToId(QStringLiteral("<mask>"));
    if (!mask) return positions;
    const std::vector<int64_t>& ids = analysis.encoding.ids;
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == *mask) positions.push_back(int(i));
    return positions;
}

Result<Prediction> predictTokens(const LoadedModel& model, const Analysis& analysis, int position,
                                 int topK, double temperature) {
    const LanguageModelHead* head = model.languageModelHead();
    if (!head)
        return Error{QStringLiteral("%1 cannot predict tokens: %2")
                         .arg(model.displayName(), model.languageModelHeadProblem())};
    if (analysis.producedBy != model.instanceId())
        return Error{QStringLiteral("the analysis was made by another model")};
    const Mat& states = analysis.forward.lastHiddenState; // [T, D]
    const int T = int(states.rows());
    if (position < 0 || position >= T)
        return Error{QStringLiteral("position %1 is outside the input's %2 tokens (0..%3)")
                         .arg(position)
                         .arg(T)
                         .arg(T - 1)};
    if (!(temperature > 0) || !std::isfinite(temperature))
        return Error{QStringLiteral("the temperature must be a positive number")};
    if (topK < 1) return Error{QStringLiteral("the number of tokens to list must be at least 1")};

    const Mat logits = head->logits(states.middleRows(position, 1)); // [1, V]
    const int V = int(logits.cols());
    const std::vector<double> p = softmaxWithTemperature(logits.data(), V, temperature);
    std::vector<int> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    const int k = std::min(topK, V);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
        return p[size_t(a)] != p[size_t(b)] ? p[size_t(a)] > p[size_t(b)] : a < b;
    });

    Prediction out;
    out.kind = head->kind();
    out.position = position;
    const Tokenizer* tokenizer = model.tokenizer();
    for (int i = 0; i < k; ++i) {
        TokenScore s;
        s.id = order[size_t(i)];
        s.logit = logits(0, order[size_t(i)]);
        s.probability = p[size_t(order[size_t(i)])];
        s.token = tokenizer ? tokenizer->idToToken(s.id) : QString();
        if (s.token.isEmpty()) s.token = QString::number(s.id);
        s.text = tokenizer ? tokenizer->displayToken(s.token) : s.token;
        out.top.push_back(std::move(s));
    }
    return out;
}

} // namespace attnscope
