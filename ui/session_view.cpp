#include "session_view.h"

#include "attention_file.h"
#include "image/image_decode.h"

#include <QFileInfo>

namespace attnscope {

namespace {

// The selection must name layers, heads and tokens that exist: a session made on another model
// or text is refused as a whole rather than drawn half right.
Status checkSelectionFits(const SessionFile& s, const SessionContent& content) {
    const Analysis& a = *content.analysis;
    const int layers = a.layerCount(), heads = a.headCount(), tokens = a.tokenCount();
    const QString shape =
        QStringLiteral("%1 layers × %2 heads, numbered from 0").arg(layers).arg(heads);
    auto head = [&](const QString& what, int layer, int h) -> Status {
        if (layer >= layers || h >= heads)
            return makeError(
                QStringLiteral("the session's %1 (layer %2, head %3) is not in %4 (%5)")
                    .arg(what)
                    .arg(layer)
                    .arg(paneHeadName(h))
                    .arg(content.model ? content.model->displayName()
                                       : QStringLiteral("the attention file"))
                    .arg(shape));
        return okStatus();
    };
    if (auto st = head(QStringLiteral("selected head"), s.layer, s.head); !st) return st;
    for (const auto& [layer, h] : s.checkedHeads)
        if (auto st = head(QStringLiteral("checked head"), layer, h); !st) return st;
    for (const SessionPane& pane : s.comparePanes)
        if (auto st = head(QStringLiteral("side-by-side pane"), pane.layer, pane.head); !st)
            return st;
    if (s.view == QLatin1String("diff") && s.diffMode == QLatin1String("heads")) {
        if (auto st = head(QStringLiteral("difference head A"), s.diffA.layer, s.diffA.head); !st)
            return st;
        if (auto st = head(QStringLiteral("difference head B"), s.diffB.layer, s.diffB.head); !st)
            return st;
    }
    for (int token : s.queryTokens)
        if (token >= tokens)
            return makeError(QStringLiteral("the session selects query token %1, but its input "
                                            "has %2 tokens")
                                 .arg(token)
                                 .arg(tokens));
    if (content.model && content.model->config().modality == Modality::Image && s.patch >= 0) {
        const PatchLayout layout = patchLayoutFor(content.model->config(), tokens);
        if (s.patch >= layout.patches())
            return makeError(QStringLiteral("the session keeps patch %1, but the picture has %2 "
                                            "patches")
                                 .arg(s.patch)
                                 .arg(layout.patches()));
    }
    return okStatus();
}

} // namespace

Result<SessionContent> loadSessionContent(const SessionFile& s, const KeepOptions& keep) {
    SessionContent content;
    if (s.usesAttentionFile()) {
        auto file = openAttentionFile(s.attentionFile, s.tokensFile);
        if (!file) return file.error();
        content.analysis = std::make_shared<const Analysis>(std::move(*file));
    } else {
        auto model = LoadedModel::open(s.model);
        if (!model) return model.error();
        content.model = *model;
        const ModelConfig& c = content.model->config();
        AnalysisRequest request;
        request.keep = keep;
        if (c.modality == Modality::Image) {
            if (s.image.isEmpty())
                return makeError(QStringLiteral("%1 is an image model: the session names no "
                                                "picture (input.image)")
                                     .arg(content.model->displayName()));
            auto picture = decodeImageFile(s.image);
            if (!picture) return picture.error();
            content.picture = *picture;
            auto processor = imageProcessorFor(*content.model);
            if (!processor) return processor.error();
            content.processor = *processor;
            auto pixels = pixelValuesFor(content.picture, content.processor);
            if (!pixels) return pixels.error();
            request.pixelValues = std::move(*pixels);
        } else {
            if (s.view == QLatin1String("image"))
                return makeError(QStringLiteral("the session shows the image view, but %1 is a "
                                                "text model")
                                     .arg(content.model->displayName()));
            if (s.text.trimmed().isEmpty())
                return makeError(QStringLiteral("the session has no text to analyse (input.text)"));
            request.text = s.text;
            if (!s.pair.isEmpty()) request.pair = s.pair;
        }
        auto analysis = content.model->analyze(request);
        if (!analysis) return analysis.error();
        content.analysis = std::make_shared<const Analysis>(std::move(*analysis));
        if (!s.against.isEmpty() && c.modality == Modality::Text) {
            AnalysisRequest other = request;
            other.text = s.against;
            auto against = content.model->analyze(other);
            if (!against) return against.error();
            content.against = std::make_shared<const Analysis>(std::move(*against));
        }
    }
    if (content.analysis->tokenCount() == 0)
        return makeError(QStringLiteral("the session's input has no tokens"));
    if (auto st = checkSelectionFits(s, content); !st) return st.error();
    return content;
}

ViewState sessionViewState(const SessionFile& s, int layers, int heads) {
    ViewState state;
    state.layer = s.layer;
    state.head = s.head;
    state.aggregate = s.show == QLatin1String("mean")  ? Aggregate::Mean
                      : s.show == QLatin1String("max") ? Aggregate::Max
                                                       : Aggregate::SingleHead;
    state.checked.reset(layers, heads, s.allHeadsChecked);
    for (const auto& [layer, head] : s.checkedHeads)
        state.checked.setChecked(layer, head, true);
    state.specialTokens = s.specialTokens == QLatin1String("hide")
                              ? SpecialTokenMode::HideRenormalise
                          : s.specialTokens == QLatin1String("grey") ? SpecialTokenMode::Grey
                                                                     : SpecialTokenMode::Show;
    state.dark = s.theme == QLatin1String("dark");
    state.colorMap =
        colorMapFromIndex(int(std::max<qsizetype>(0, sessionColorMapNames().indexOf(s.colorMap))));
    state.autoRange = s.stretchColours;
    state.linkThreshold = s.linkThreshold;
    return state;
}

Result<FigureRequest> sessionFigureRequest(const SessionFile& s, const SessionContent& content) {
    const Analysis& a = *content.analysis;
    FigureRequest request;
    request.state = sessionViewState(s, a.layerCount(), a.headCount());
    const int view = int(sessionViewNames().indexOf(s.view));
    switch (view) {
    case 0:
        request.view = FigureView::Heatmap;
        break;
    case 1:
        request.view = FigureView::Links;
        break;
    case 2:
        request.view = FigureView::Grid;
        break;
    case 3:
        request.view = FigureView::Compare;
        if (s.comparePanes.empty())
            return makeError(QStringLiteral("the session shows side by side but lists no panes "
                                            "(view.compare)"));
        for (const SessionPane& pane : s.comparePanes) {
            request.panes.emplace_back(pane.layer, pane.head);
            request.linkPanes.push_back(pane.links);
        }
        break;
    case 4:
        request.view = FigureView::Difference;
        if (s.diffMode == QLatin1String("heads")) {
            request.panes = {{s.diffA.layer, s.diffA.head}, {s.diffB.layer, s.diffB.head}};
        } else { // this text minus the other, head A (as the window exports it)
            if (!content.against)
                return makeError(QStringLiteral("the session shows a difference of two texts but "
                                                "has no other text (input.against)"));
            request.against = content.against;
            request.state.layer = s.diffA.layer;
            request.state.head = std::max(0, s.diffA.head);
            request.state.aggregate = Aggregate::SingleHead;
        }
        break;
    default:
        return makeError(QStringLiteral("the session's view \"%1\" is not a figure of attention "
                                        "alone")
                             .arg(s.view));
    }
    return request;
}

ImageFigureRequest sessionImageRequest(const SessionFile& s, const SessionContent& content) {
    const Analysis& a = *content.analysis;
    ImageFigureRequest request;
    request.state = sessionViewState(s, a.layerCount(), a.headCount());
    const PatchLayout layout = patchLayoutFor(content.model->config(), a.tokenCount());
    request.queryToken = s.patch >= 0 ? layout.prefixTokens + s.patch : 0;
    request.overlay.opacity = s.imageOpacity;
    request.overlay.smooth = s.imageSmooth;
    request.overlay.topMass = s.imageTopMass;
    request.overlay.showGrid = s.imageGrid;
    request.overlay.colorMap = request.state.colorMap;
    request.overlay.dark = request.state.dark;
    return request;
}

Status exportSession(const QString& sessionPath, const SessionExportOptions& options,
                     const QString& outPath) {
    auto read = readSessionFile(sessionPath);
    if (!read) return read.error();
    const SessionFile session = read->resolvedAgainst(sessionPath);
    auto content = loadSessionContent(session, KeepOptions::attentionOnly());
    if (!content) return content.error();
    if (session.view == QLatin1String("image")) {
        ImageFigureRequest request = sessionImageRequest(session, *content);
        request.size = options.size;
        request.scale = options.scale;
        if (options.dark) request.state.dark = request.overlay.dark = *options.dark;
        return exportImageFigure(*content->analysis, content->picture, content->processor,
                                 content->model->config(), request, outPath);
    }
    auto request = sessionFigureRequest(session, *content);
    if (!request) return request.error();
    request->size = options.size;
    request->scale = options.scale;
    if (options.dark) request->state.dark = *options.dark;
    return exportFigure(content->analysis, *request, outPath);
}

} // namespace attnscope
