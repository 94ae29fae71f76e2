#include "explain.h"

#include "../dump.h"

namespace attnscope {

Result<Explanation> explainHead(const Analysis& analysis,
                                const std::vector<HeadWeights>& layerWeights, bool causal,
                                int layer, int head, int token) {
    const int T = analysis.tokenCount(), H = analysis.headCount();
    if (layer < 0 || layer >= analysis.layerCount())
        return Error{
            QStringLiteral("layer %1 is outside 0..%2").arg(layer).arg(analysis.layerCount() - 1)};
    if (head < 0 || head >= H)
        return Error{QStringLiteral("head %1 is outside 0..%2").arg(head).arg(H - 1)};
    if (token < 0 || token >= T)
        return Error{QStringLiteral("token %1 is outside 0..%2").arg(token).arg(T - 1)};
    if (int(layerWeights.size()) != H)
        return Error{QStringLiteral("weights of %1 heads given for a layer of %2")
                         .arg(layerWeights.size())
                         .arg(H)};
    const LayerTrace& trace = analysis.forward.layers[size_t(layer)];
    if (trace.input.rows() != T || trace.q.rows() != T || trace.v.rows() != T)
        return Error{QStringLiteral("this analysis did not keep the attention inputs the "
                                    "explanation needs")};
    const int d = int(layerWeights[0].wq.cols());
    const auto& w = layerWeights[size_t(head)];
    Explanation e;
    e.layer = layer;
    e.head = head;
    e.token = token;
    e.kvHead = w.kvHead;
    e.causal = causal;
    e.scale = attentionScale(d);
    e.x = trace.input;
    e.xNorm = trace.attentionInput();
    e.qPreRotary = trace.queriesBeforeRotary().row(token).segment(head * d, d);
    e.q = trace.q.row(token).segment(head * d, d);
    e.k = trace.k.middleCols(e.kvHead * d, d);
    e.v = trace.v.middleCols(e.kvHead * d, d);
    e.scores = (e.k * e.q.transpose()).transpose();
    e.scaled = e.scores * e.scale;
    e.masked.resize(size_t(T));
    for (int j = 0; j < T; ++j)
        e.masked[size_t(j)] = causal && j > token;
    e.weights = analysis.attention(layer, head)->row(token);
    // Every head's output for this token through its own rows of W_O.
    e.contributions.resize(H, layerWeights[0].wo.cols());
    for (int h = 0; h < H; ++h) {
        const int kv = layerWeights[size_t(h)].kvHead;
        const Vec out =
            analysis.streamedAttention(layer, h)->row(token) * trace.v.middleCols(kv * d, d);
        if (h == head) e.output = out;
        e.contributions.row(h) = out * layerWeights[size_t(h)].wo;
    }
    e.projected = e.contributions.row(head);
    return e;
}

QJsonObject explanationJson(const Explanation& e, const Analysis& analysis) {
    QJsonArray masked;
    for (int j = 0; j < e.tokenCount(); ++j)
        masked.append(e.masked[size_t(j)] ? QJsonValue(QJsonValue::Null)
                                          : QJsonValue(double(e.scaled[j])));
    return QJsonObject{{"layer", e.layer},
                       {"head", e.head},
                       {"token", e.token},
                       {"kv_head", e.kvHead},
                       {"causal", e.causal},
                       {"scale", double(e.scale)},
                       {"tokens", encodingJson(analysis.encoding).value("tokens")},
                       {"x", matrixJson(e.x)},
                       {"x_norm", matrixJson(e.xNorm)},
                       {"q_pre_rotary", vectorJson(e.qPreRotary)},
                       {"q", vectorJson(e.q)},
                       {"k", matrixJson(e.k)},
                       {"v", matrixJson(e.v)},
                       {"scores", vectorJson(e.scores)},
                       {"scaled", vectorJson(e.scaled)},
                       {"masked", masked},
                       {"weights", vectorJson(e.weights)},
                       {"output", vectorJson(e.output)},
                       {"projected", vectorJson(e.projected)},
                       {"contributions", matrixJson(e.contributions)}};
}

} // namespace attnscope
