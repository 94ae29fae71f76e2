#include "figure_export.h"

#include "analyses/flow.h"
#include "figures.h"
#include "grid/grid_renderer.h"
#include "heatmap_export.h"

#include <QPainter>

#include <algorithm>
#include <cmath>
#include <optional>

namespace attnscope {

Result<FigureView> figureViewFromName(const QString& name) {
    if (name == QLatin1String("heatmap")) return FigureView::Heatmap;
    if (name == QLatin1String("links")) return FigureView::Links;
    if (name == QLatin1String("grid")) return FigureView::Grid;
    if (name == QLatin1String("compare")) return FigureView::Compare;
    if (name == QLatin1String("diff")) return FigureView::Difference;
    if (name == QLatin1String("rollout")) return FigureView::Rollout;
    if (name == QLatin1String("flow")) return FigureView::Flow;
    if (name == QLatin1String("norms")) return FigureView::Norms;
    return Error{QStringLiteral("--view must be heatmap, links, grid, compare, diff, rollout, flow "
                                "or norms (not \"%1\")")
                     .arg(name)};
}

namespace {

GridRenderer gridFigure(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    GridRenderer grid;
    grid.setAnalysis(analysis, state);
    grid.setChecked(state.checked);
    grid.setChrome(state.chrome());
    grid.setSelected(state.layer, state.head);
    grid.setTileSize(std::clamp(1600.0 / std::max(1, grid.heads()), 24.0, 96.0));
    // With lazy heads the window's grid colours tiles in the background; a figure has no
    // background to wait for, so its tiles are coloured here (the window prepares figures of
    // lazy analyses on a worker, see HeadRequests), with the same max-pooling as on screen.
    if (grid.usesBackgroundTiles())
        for (int layer = 0; layer < grid.layers(); ++layer)
            for (int head = 0; head < grid.heads(); ++head)
                grid.setThumbnail(layer, head,
                                  GridRenderer::colourTile(*analysis, state, layer, head));
    return grid;
}

Result<HeatmapRenderer> differenceFor(const Analysis& analysis, const FigureRequest& request) {
    const ViewState& s = request.state;
    if (request.against) {
        ViewMatrix a = headMatrix(analysis, s, s.layer, s.head);
        ViewMatrix b = headMatrix(*request.against, s, s.layer, s.head);
        a.title = QStringLiteral("“%1”").arg(analysis.text.left(40));
        b.title = QStringLiteral("“%1”").arg(request.against->text.left(40));
        auto figure = differenceFigure(a, b, s);
        if (figure)
            figure->setTitle(headTitle(s.layer, s.head) + QStringLiteral(": ") + figure->title());
        return figure;
    }
    if (request.panes.size() != 2)
        return Error{QStringLiteral("diff needs --compare A,B (two layer:head pairs) or --against "
                                    "TEXT")};
    return differenceFigure(
        paneMatrix(analysis, s, request.panes[0].first, request.panes[0].second),
        paneMatrix(analysis, s, request.panes[1].first, request.panes[1].second), s);
}

void paintMissingPane(QPainter& p, const QRectF& target, const std::pair<int, int>& pane,
                      const Analysis& analysis, const ChromePalette& chrome) {
    p.save();
    p.setPen(QPen(chrome.frame, 1, Qt::DashLine));
    p.drawRect(target.adjusted(8, 8, -8, -8));
    p.setPen(chrome.text);
    QFont font = p.font();
    font.setPixelSize(14);
    p.setFont(font);
    p.drawText(target.adjusted(24, 24, -24, -24), Qt::AlignCenter | Qt::TextWordWrap,
               QStringLiteral("Layer %1 · head %2 is not in this model (%3 layers × %4 heads, "
                              "numbered from 0).")
                   .arg(pane.first)
                   .arg(paneHeadName(pane.second))
                   .arg(analysis.layerCount())
                   .arg(analysis.headCount()));
    p.restore();
}

} // namespace

namespace {

// Visible index -> marked, for the query tokens the options keep highlighted.
std::vector<bool> markedRowsFor(const std::vector<int>& visibleTokens,
                                const std::vector<int>& queryTokens) {
    std::vector<bool> marked;
    if (queryTokens.empty()) return marked;
    marked.assign(visibleTokens.size(), false);
    for (size_t i = 0; i < visibleTokens.size(); ++i)
        marked[i] = std::find(queryTokens.begin(), queryTokens.end(), visibleTokens[i]) !=
                    queryTokens.end();
    return marked;
}

std::vector<int> identityTokens(int n) {
    std::vector<int> tokens(size_t(std::max(0, n)));
    for (int i = 0; i < n; ++i)
        tokens[size_t(i)] = i;
    return tokens;
}

// The colour-bar choice on a heatmap renderer: its own bar, labelled, or none.
void applyColorBar(HeatmapRenderer& r, ColorBarMode mode, const QString& label) {
    if (mode == ColorBarMode::ViewDefault) return;
    HeatmapOptions o = r.options();
    o.showColorBar = mode == ColorBarMode::On;
    o.colorBarLabel = mode == ColorBarMode::On ? label : QString();
    r.setOptions(o);
}

// Heatmaps paint cells as shapes in vector files while that keeps them a sane size.
PaintFunction heatmapPainting(HeatmapRenderer renderer) {
    return [renderer = std::move(renderer)](QPainter& p, const QRectF& area, bool vectorOutput) {
        if (!vectorOutput) return renderer.paint(p, area);
        HeatmapRenderer vector = renderer;
        HeatmapOptions o = vector.options();
        o.vectorCells = vector.matrix().size() <= 160 * 160;
        vector.setOptions(o);
        vector.paint(p, area);
    };
}

QString derivedTitle(const FigureRequest& request) {
    if (request.view == FigureView::Norms) return request.normsTitle;
    return QStringLiteral("Attention %1 (%2 of heads, discard %3)")
        .arg(request.view == FigureView::Flow ? QStringLiteral("flow") : QStringLiteral("rollout"))
        .arg(headFusionName(request.rollout.fusion))
        .arg(request.rollout.discard);
}

// A heatmap of the Rollout and flow dock, as the dock draws it.
Result<HeatmapRenderer> derivedFigure(const Analysis& analysis, const FigureRequest& request) {
    Mat matrix;
    if (request.view == FigureView::Norms) {
        if (!request.norms || request.norms->rows() != analysis.tokenCount())
            return Error{QStringLiteral("norm-based attention needs the model that made the "
                                        "analysis")};
        matrix = *request.norms;
    } else {
        ATTNSCOPE_ASSIGN_OR_RETURN(matrix, derivedMatrix(analysis, request));
    }
    HeatmapRenderer r;
    HeatmapOptions o = derivedHeatmapOptions(request.state);
    o.markedRows = markedRowsFor(identityTokens(int(matrix.rows())), request.options.queryTokens);
    r.setOptions(o);
    r.setMatrix(matrix);
    r.setLabels(analysis.displayTokens);
    r.setTitle(derivedTitle(request));
    return r;
}

QString colorBarLabelFor(FigureView view) {
    switch (view) {
    case FigureView::Difference:
        return QStringLiteral("difference of attention weights");
    case FigureView::Rollout:
        return QStringLiteral("rollout (share of the output)");
    case FigureView::Flow:
        return QStringLiteral("maximum flow");
    case FigureView::Norms:
        return QStringLiteral("norm ‖α f(x)‖");
    default:
        return QStringLiteral("attention weight");
    }
}

} // namespace

Result<Mat> derivedMatrix(const Analysis& analysis, const FigureRequest& request) {
    if (request.view == FigureView::Flow) return attentionFlow(analysis, request.rollout);
    return attentionRollout(analysis, request.rollout);
}

Result<PreparedFigure> prepareFigure(std::shared_ptr<const Analysis> analysis,
                                     const FigureRequest& request) {
    if (!analysis || analysis->tokenCount() == 0)
        return Error{QStringLiteral("the input has no tokens")};
    const ViewState& s = request.state;
    const FigureOptions& options = request.options;
    PreparedFigure figure;
    figure.description = figureDescription(*analysis);
    figure.transparent = s.transparent;
    QSize size = request.size;
    FigureFrame frame;
    frame.title = options.title;
    frame.chrome = s.chrome();
    QString viewName; // for the auto caption
    switch (request.view) {
    case FigureView::Heatmap: {
        const ViewMatrix m = viewMatrix(*analysis, s);
        if (m.isEmpty()) return Error{m.emptyReason};
        HeatmapRenderer r;
        configureHeatmap(r, m, s);
        HeatmapOptions o = r.options();
        if (!options.queryTokens.empty())
            o.markedRows = markedRowsFor(m.tokens, options.queryTokens);
        r.setOptions(o);
        applyColorBar(r, options.colorBar, colorBarLabelFor(request.view));
        viewName = figure.title = r.title();
        figure.paint = heatmapPainting(std::move(r));
        if (!size.isValid()) size = QSize(1000, 900);
        break;
    }
    case FigureView::Difference:
    case FigureView::Rollout:
    case FigureView::Flow:
    case FigureView::Norms: {
        auto r = request.view == FigureView::Difference ? differenceFor(*analysis, request)
                                                        : derivedFigure(*analysis, request);
        if (!r) return r.error();
        if (request.view == FigureView::Difference && !options.queryTokens.empty()) {
            HeatmapOptions o = r->options();
            o.markedRows = markedRowsFor(viewMatrix(*analysis, s).tokens, options.queryTokens);
            r->setOptions(o);
        }
        applyColorBar(*r, options.colorBar, colorBarLabelFor(request.view));
        viewName = figure.title = r->title();
        figure.paint = heatmapPainting(std::move(*r));
        if (!size.isValid()) size = QSize(1000, 900);
        break;
    }
    case FigureView::Links: {
        ViewState focused = s;
        if (!options.queryTokens.empty()) focused.hoveredToken = options.queryTokens.front();
        LinksRenderer r = linksFigure(*analysis, focused);
        if (r.isEmpty()) return Error{viewMatrix(*analysis, s).emptyReason};
        if (!size.isValid())
            size = QSize(900, std::clamp(int(std::ceil(r.preferredHeight())), 300, 20000));
        if (options.colorBar == ColorBarMode::On) // line opacity is the weight
            frame.colorBar = ColorScale{
                ColorMap::Viridis, 0.0, 1.0, QStringLiteral("line opacity = attention weight"),
                r.heads().size() == 1 ? r.heads().front().color : s.chrome().text};
        viewName = figure.title = r.title();
        figure.paint = [r = std::move(r)](QPainter& p, const QRectF& area, bool) {
            r.paint(p, area);
        };
        break;
    }
    case FigureView::Grid: {
        auto grid = std::make_shared<GridRenderer>(gridFigure(analysis, s));
        if (!size.isValid())
            size = QSize(200, 150)
                       .expandedTo(grid->preferredSize().toSize() + QSize(8, 8))
                       .boundedTo(QSize(20000, 20000));
        if (options.colorBar == ColorBarMode::On)
            frame.colorBar = ColorScale{s.colorMap, 0.0, 1.0,
                                        s.autoRange ? QStringLiteral("each tile: its minimum … "
                                                                     "maximum")
                                                    : QStringLiteral("attention weight (every "
                                                                     "tile)"),
                                        QColor()};
        figure.title = QStringLiteral("All heads");
        viewName = QStringLiteral("All heads (%1 layers × %2 heads)")
                       .arg(analysis->layerCount())
                       .arg(analysis->headCount());
        figure.paint = [grid, background = s.chrome().background](QPainter& p, const QRectF& area,
                                                                  bool) {
            p.fillRect(area, background);
            grid->paint(p, area);
        };
        break;
    }
    case FigureView::Compare: {
        const int count = int(request.panes.size());
        if (count < 2 || count > kMaxComparePanes)
            return Error{QStringLiteral("compare needs --compare with 2 to %1 layer:head pairs")
                             .arg(kMaxComparePanes)};
        // A pane that names a head this model lacks (e.g. a comparison written for a deeper
        // model) is drawn as a pane that says so; the others still make a figure.
        const auto missing = [analysis](const std::pair<int, int>& pane) {
            return !hasHead(*analysis, pane.first, std::max(0, pane.second));
        };
        if (std::all_of(request.panes.begin(), request.panes.end(), missing))
            return Error{QStringLiteral("--compare: none of the panes is in this model (%1 "
                                        "layers × %2 heads)")
                             .arg(analysis->layerCount())
                             .arg(analysis->headCount())};
        std::vector<HeatmapRenderer> panes = comparePanes(*analysis, s, request.panes);
        QStringList names;
        for (size_t i = 0; i < panes.size(); ++i) {
            HeatmapOptions o = panes[i].options();
            if (!options.queryTokens.empty())
                o.markedRows = markedRowsFor(
                    paneMatrix(*analysis, s, request.panes[i].first, request.panes[i].second)
                        .tokens,
                    options.queryTokens);
            // On: one bar beside all panes (they share one scale); Off: none at all.
            if (options.colorBar != ColorBarMode::ViewDefault) o.showColorBar = false;
            panes[i].setOptions(o);
            names << QStringLiteral("L%1 %2")
                         .arg(request.panes[i].first)
                         .arg(request.panes[i].second >= 0
                                  ? QStringLiteral("H%1").arg(request.panes[i].second)
                                  : paneHeadName(request.panes[i].second));
        }
        if (options.colorBar == ColorBarMode::On && !panes.empty())
            frame.colorBar =
                ColorScale{panes.front().options().colorMap, panes.front().valueRange().first,
                           panes.front().valueRange().second,
                           QStringLiteral("attention weight (every pane)"), QColor()};
        if (!size.isValid()) {
            // More than 4 panes: the near-square grid paneRects lays out.
            const int columns = int(std::ceil(std::sqrt(double(count))));
            const int rows = (count + columns - 1) / columns;
            size = count <= 4 ? QSize(count * 620, 640) : QSize(columns * 520, rows * 540);
        }
        figure.title = QStringLiteral("Side by side");
        viewName = names.join(QStringLiteral(" | "));
        // Token-links panes are built here, not while painting: their heads may be lazy
        // (lazy_heads.h), and the window paints previews on the GUI thread.
        std::vector<std::optional<LinksRenderer>> links(panes.size());
        for (size_t i = 0; i < panes.size(); ++i)
            if (i < request.linkPanes.size() && request.linkPanes[i] && !missing(request.panes[i]))
                links[i] =
                    paneLinksFigure(*analysis, s, request.panes[i].first, request.panes[i].second);
        figure.paint = [analysis, panes = std::move(panes), links = std::move(links), request,
                        missing](QPainter& p, const QRectF& area, bool vectorOutput) {
            const ViewState& s = request.state;
            p.fillRect(area, s.chrome().background);
            const std::vector<QRectF> rects = paneRects(area.size(), int(panes.size()));
            for (size_t i = 0; i < panes.size(); ++i) {
                const QRectF target = rects[i].translated(area.topLeft());
                if (missing(request.panes[i])) {
                    paintMissingPane(p, target, request.panes[i], *analysis, s.chrome());
                    continue;
                }
                if (links[i]) {
                    links[i]->paint(p, target);
                    continue;
                }
                HeatmapRenderer r = panes[i];
                HeatmapOptions o = r.options();
                o.vectorCells = vectorOutput && r.matrix().size() <= 160 * 160;
                r.setOptions(o);
                r.paint(p, target);
            }
        };
        break;
    }
    }
    if (!figure.paint) return Error{QStringLiteral("unknown view")};
    if (options.caption == CaptionMode::Auto)
        frame.caption = autoCaption(options.modelName, viewName, analysis->text);
    else if (options.caption == CaptionMode::Text)
        frame.caption = options.captionText;
    if (!frame.isEmpty() && !request.size.isValid()) {
        // A size that suits the view: the frame's title, caption and bar come on top of it.
        const FigureFrameLayout layout = figureFrameLayout(frame, QSizeF(size));
        size += QSize(int(std::ceil(size.width() - layout.content.width())),
                      int(std::ceil(size.height() - layout.content.height())));
        size = size.boundedTo(QSize(20000, 20000));
    }
    if (!options.title.isEmpty()) figure.title = options.title;
    figure.paint = framedPainting(frame, std::move(figure.paint));
    figure.size = size;
    return figure;
}

Status exportFigure(std::shared_ptr<const Analysis> analysis, const FigureRequest& request,
                    const QString& outPath) {
    auto figure = prepareFigure(std::move(analysis), request);
    if (!figure) return makeError(figure.message());
    return exportPainting(figure->paint, figure->title, outPath, figure->size, request.scale,
                          figure->description, figure->transparent);
}

QImage figureImage(const PreparedFigure& figure, int scale) {
    scale = std::clamp(scale, 1, 4);
    QImage image(figure.size * scale, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(scale);
    image.fill(figure.transparent ? Qt::transparent : Qt::white);
    QPainter painter(&image);
    figure.paint(painter, QRectF(QPointF(0, 0), QSizeF(figure.size)), false);
    painter.end();
    return image;
}

Result<LabelledMatrix> figureNumbers(const Analysis& analysis, const FigureRequest& request) {
    if (analysis.tokenCount() == 0) return Error{QStringLiteral("the input has no tokens")};
    LabelledMatrix out;
    const ViewState& s = request.state;
    switch (request.view) {
    case FigureView::Heatmap: {
        const ViewMatrix m = viewMatrix(analysis, s);
        if (m.isEmpty()) return Error{m.emptyReason};
        out.values = m.values;
        out.rowLabels = out.columnLabels = m.labels;
        out.rowTokens = out.columnTokens = m.tokens;
        out.title = m.title;
        return out;
    }
    case FigureView::Difference: {
        auto r = differenceFor(analysis, request);
        if (!r) return r.error();
        out.values = r->matrix();
        out.rowLabels = r->rowLabels();
        out.columnLabels = r->columnLabels();
        out.rowTokens = out.columnTokens = viewMatrix(analysis, s).tokens;
        if (out.rowTokens.size() != size_t(out.values.rows()))
            out.rowTokens = out.columnTokens = identityTokens(int(out.values.rows()));
        out.name = QStringLiteral("difference");
        out.title = r->title();
        return out;
    }
    case FigureView::Rollout:
    case FigureView::Flow:
    case FigureView::Norms: {
        auto r = derivedFigure(analysis, request);
        if (!r) return r.error();
        out.values = r->matrix();
        out.rowLabels = out.columnLabels = analysis.displayTokens;
        out.rowTokens = out.columnTokens = identityTokens(analysis.tokenCount());
        out.name = request.view == FigureView::Rollout ? QStringLiteral("rollout")
                   : request.view == FigureView::Flow  ? QStringLiteral("flow")
                                                       : QStringLiteral("norms");
        out.corner = QStringLiteral("output\\input");
        out.title = r->title();
        return out;
    }
    default:
        return Error{QStringLiteral("the numbers are written for --view heatmap, diff, rollout, "
                                    "flow or norms (one matrix); this view shows several")};
    }
}

Status exportNumbers(const Analysis& analysis, const FigureRequest& request,
                     const QString& outPath) {
    auto numbers = figureNumbers(analysis, request);
    if (!numbers) return makeError(numbers.message());
    return writeLabelledMatrix(outPath, *numbers);
}

} // namespace attnscope
