#include "cli_explain.h"

#include "analyses/explain.h"
#include "explain/explain_renderer.h"
#include "heatmap_export.h"

#include <QJsonDocument>
#include <QSaveFile>
#include <cmath>
#include <cstdio>

namespace attnscope {

namespace {

struct Explained {
    std::shared_ptr<const Analysis> analysis;
    std::shared_ptr<const Explanation> explanation;
};

// token -1: the last token.
Result<Explained> explain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                          int token) {
    const ModelConfig& c = model.config();
    if (layer < 0 || layer >= c.layers)
        return Error{QStringLiteral("--layer must be 0..%1").arg(c.layers - 1)};
    if (head < 0 || head >= c.heads)
        return Error{QStringLiteral("--head must be 0..%1").arg(c.heads - 1)};
    request.keep = explainKeepOptions();
    auto analysis = model.analyze(request);
    if (!analysis) return analysis.error();
    const int T = analysis->tokenCount();
    if (T == 0) return Error{QStringLiteral("the input has no tokens")};
    if (analysis->truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n", T,
                     analysis->truncatedTokens);
    if (token == -1) token = T - 1;
    if (token < 0 || token >= T)
        return Error{QStringLiteral("--token must be 0..%1 (the input has %2 tokens)")
                         .arg(T - 1)
                         .arg(T)};
    auto weights = model.attentionWeights(layer);
    if (!weights) return weights.error();
    auto explanation = explainHead(*analysis, *weights, c.causal, layer, head, token);
    if (!explanation) return explanation.error();
    return Explained{std::make_shared<const Analysis>(std::move(*analysis)),
                     std::make_shared<const Explanation>(std::move(*explanation))};
}

} // namespace

Status runExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                  int token, const QString& outPath) {
    if (token < 0) return Error{QStringLiteral("--token must be 0 or more")};
    auto e = explain(model, std::move(request), layer, head, token);
    if (!e) return e.error();
    const QByteArray json =
        QJsonDocument(explanationJson(*e->explanation, *e->analysis))
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

Status exportExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                     int token, const QString& outPath, int width, const ViewState& theme,
                     int scale, const FigureOptions& options) {
    auto e = explain(model, std::move(request), layer, head, token);
    if (!e) return e.error();
    ExplainRenderer renderer;
    renderer.setChrome(theme.chrome());
    renderer.setFigure(
        explainFigure(*e->analysis, model.config(), e->explanation, model.displayName()));
    FigureFrame frame;
    frame.title = options.title;
    frame.chrome = theme.chrome();
    if (options.caption == CaptionMode::Auto)
        frame.caption = autoCaption(model.displayName(), renderer.title(), e->analysis->text);
    else if (options.caption == CaptionMode::Text)
        frame.caption = options.captionText;
    QSize size(width, int(std::ceil(renderer.preferredHeight(width))));
    if (!frame.isEmpty()) { // the explanation keeps its height; title and caption come on top
        const QRectF content = figureFrameLayout(frame, QSizeF(size)).content;
        size.rheight() += size.height() - int(std::floor(content.height()));
    }
    const PaintFunction paint =
        framedPainting(frame, [&](QPainter& p, const QRectF& area, bool vectorOutput) {
            renderer.paint(p, area, vectorOutput);
        });
    return exportPainting(paint, options.title.isEmpty() ? renderer.title() : options.title,
                          outPath, size, scale, QString(), theme.transparent);
}

} // namespace attnscope
