#include "figure_export.h"

#include "figures.h"
#include "grid/grid_renderer.h"
#include "heatmap_export.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {

Result<FigureView> figureViewFromName(const QString& name) {
    if (name == QLatin1String("heatmap")) return FigureView::Heatmap;
    if (name == QLatin1String("links")) return FigureView::Links;
    if (name == QLatin1String("grid")) return FigureView::Grid;
    if (name == QLatin1String("compare")) return FigureView::Compare;
    if (name == QLatin1String("diff")) return FigureView::Difference;
    return Error{QStringLiteral("--view must be heatmap, links, grid, compare or diff (not \"%1\")")
                     .arg(name)};
}

namespace {

GridRenderer gridFigure(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    GridRenderer grid;
    grid.setAnalysis(std::move(analysis), state);
    grid.setChecked(state.checked);
    grid.setChrome(state.chrome());
    grid.setSelected(state.layer, state.head);
    grid.setTileSize(std::clamp(1600.0 / std::max(1, grid.heads()), 24.0, 96.0));
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

Status exportFigure(std::shared_ptr<const Analysis> analysis, const FigureRequest& request,
                    const QString& outPath) {
    if (!analysis || analysis->tokenCount() == 0)
        return makeError(QStringLiteral("the input has no tokens"));
    const ViewState& s = request.state;
    QSize size = request.size;
    const QString description = figureDescription(*analysis);
    switch (request.view) {
    case FigureView::Heatmap: {
        const ViewMatrix m = viewMatrix(*analysis, s);
        if (m.isEmpty()) return makeError(m.emptyReason);
        HeatmapRenderer r;
        configureHeatmap(r, m, s);
        return exportRenderer(r, outPath, size.isValid() ? size : QSize(1000, 900), request.scale,
                              description);
    }
    case FigureView::Difference: {
        auto figure = differenceFor(*analysis, request);
        if (!figure) return makeError(figure.message());
        return exportRenderer(*figure, outPath, size.isValid() ? size : QSize(1000, 900),
                              request.scale, description);
    }
    case FigureView::Links: {
        const LinksRenderer r = linksFigure(*analysis, s);
        if (r.isEmpty()) return makeError(viewMatrix(*analysis, s).emptyReason);
        if (!size.isValid())
            size = QSize(900, std::clamp(int(std::ceil(r.preferredHeight())), 300, 20000));
        return exportPainting([&](QPainter& p, const QRectF& area, bool) { r.paint(p, area); },
                              r.title(), outPath, size, request.scale, description);
    }
    case FigureView::Grid: {
        const GridRenderer grid = gridFigure(analysis, s);
        if (!size.isValid())
            size = QSize(200, 150)
                       .expandedTo(grid.preferredSize().toSize() + QSize(8, 8))
                       .boundedTo(QSize(20000, 20000));
        return exportPainting(
            [&](QPainter& p, const QRectF& area, bool) {
                p.fillRect(area, s.chrome().background);
                grid.paint(p, area);
            },
            QStringLiteral("All heads"), outPath, size, request.scale, description);
    }
    case FigureView::Compare: {
        if (request.panes.size() < 2 || request.panes.size() > 4)
            return makeError(
                QStringLiteral("compare needs --compare with 2 to 4 layer:head pairs"));
        // A pane that names a head this model lacks (e.g. a comparison written for a deeper
        // model) is drawn as a pane that says so; the others still make a figure.
        const auto missing = [&](const std::pair<int, int>& pane) {
            return !hasHead(*analysis, pane.first, std::max(0, pane.second));
        };
        if (std::all_of(request.panes.begin(), request.panes.end(), missing))
            return makeError(QStringLiteral("--compare: none of the panes is in this model (%1 "
                                            "layers × %2 heads)")
                                 .arg(analysis->layerCount())
                                 .arg(analysis->headCount()));
        const std::vector<HeatmapRenderer> panes = comparePanes(*analysis, s, request.panes);
        if (!size.isValid()) size = QSize(int(panes.size()) * 620, 640);
        return exportPainting(
            [&](QPainter& p, const QRectF& area, bool vectorOutput) {
                p.fillRect(area, s.chrome().background);
                const std::vector<QRectF> rects = paneRects(area.size(), int(panes.size()));
                for (size_t i = 0; i < panes.size(); ++i) {
                    const QRectF target = rects[i].translated(area.topLeft());
                    if (missing(request.panes[i])) {
                        paintMissingPane(p, target, request.panes[i], *analysis, s.chrome());
                        continue;
                    }
                    if (i < request.linkPanes.size() && request.linkPanes[i]) {
                        paneLinksFigure(*analysis, s, request.panes[i].first,
                                        request.panes[i].second)
                            .paint(p, target);
                        continue;
                    }
                    HeatmapRenderer r = panes[i];
                    HeatmapOptions o = r.options();
                    o.vectorCells = vectorOutput && r.matrix().size() <= 160 * 160;
                    r.setOptions(o);
                    r.paint(p, target);
                }
            },
            QStringLiteral("Side by side"), outPath, size, request.scale, description);
    }
    }
    return makeError(QStringLiteral("unknown view"));
}

} // namespace attnscope
