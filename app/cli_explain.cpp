#include "cli_explain.h"

#include "analyses/explain.h"

#include <QJsonDocument>
#include <QSaveFile>
#include <cstdio>

namespace attnscope {

Status runExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                  int token, const QString& outPath) {
    const ModelConfig& c = model.config();
    if (layer < 0 || layer >= c.layers)
        return Error{QStringLiteral("--layer must be 0..%1").arg(c.layers - 1)};
    if (head < 0 || head >= c.heads)
        return Error{QStringLiteral("--head must be 0..%1").arg(c.heads - 1)};
    request.keep = explainKeepOptions();
    auto analysis = model.analyze(request);
    if (!analysis) return analysis.error();
    if (analysis->tokenCount() == 0) return Error{QStringLiteral("the input has no tokens")};
    if (analysis->truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n",
                     analysis->tokenCount(), analysis->truncatedTokens);
    if (token < 0 || token >= analysis->tokenCount())
        return Error{QStringLiteral("--token must be 0..%1 (the input has %2 tokens)")
                         .arg(analysis->tokenCount() - 1)
                         .arg(analysis->tokenCount())};
    auto weights = model.attentionWeights(layer);
    if (!weights) return weights.error();
    auto explanation = explainHead(*analysis, *weights, c.causal, layer, head, token);
    if (!explanation) return explanation.error();
    const QByteArray json =
        QJsonDocument(explanationJson(*explanation, *analysis))
            .toJson(outPath.isEmpty() ? QJsonDocument::Indented : QJsonDocument::Compact);
    if (outPath.isEmpty()) {
        std::fwrite(json.constData(), 1, size_t(json.size()), stdout);
        return okStatus();
    }
    QSaveFile out(outPath);
    if (!out.open(QIODevice::WriteOnly) || out.write(json) != json.size() || !out.commit())
        return Error{QStringLiteral("cannot write %1: %2").arg(outPath, out.errorString())};
    return okStatus();
}

} // namespace attnscope
