#include "figures.h"

#include "head_requests.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {

void configureHeatmap(HeatmapRenderer& renderer, const ViewMatrix& matrix, const ViewState& state) {
    HeatmapOptions o = state.heatmapOptions();
    o.greyedTokens = matrix.greyed;
    renderer.setOptions(o);
    renderer.setMatrix(matrix.values);
    renderer.setLabels(matrix.labels);
    renderer.setTitle(matrix.title);
}

LinksRenderer linksFigure(const Analysis& analysis, const ViewState& state,
                          std::vector<int>* tokens) {
    LinksRenderer r;
    r.setChrome(state.chrome());
    r.setThreshold(state.linkThreshold);
    // Each head is read (computed, for lazy heads), shaped and cut down to its links one at a
    // time: at most one dense [n, n] head of this figure is alive at once.
    const double floor = linksKeptFloor(state.linkThreshold);
    std::vector<LinkHead> heads;
    ViewMatrix shape;
    if (state.aggregate != Aggregate::SingleHead) {
        shape = viewMatrix(analysis, state);
        if (!shape.isEmpty())
            heads.push_back(
                {LinkWeights::above(shape.values, floor), categoricalColor(0), shape.title});
        shape.values = Mat();
        r.setTitle(shape.title);
    } else {
        std::vector<int> shown;
        for (int h = 0; h < analysis.headCount(); ++h)
            if (state.checked.isChecked(state.layer, h)) shown.push_back(h);
        if (shown.empty() && hasHead(analysis, state.layer, state.head))
            shown.push_back(state.head);
        for (int h : shown) {
            // A superseded request's figure is dropped: stop reading heads for it.
            if (HeadRequests::isCurrentWorkStale()) break;
            shape = headMatrix(analysis, state, state.layer, h);
            if (shape.isEmpty()) continue;
            heads.push_back({LinkWeights::above(shape.values, floor), categoricalColor(h),
                             QStringLiteral("H%1").arg(h)});
            shape.values = Mat(); // the labels and tokens stay for setTokens below
        }
        r.setTitle(shown.size() == 1
                       ? headTitle(state.layer, shown[0])
                       : QStringLiteral("Layer %1 · %2 heads").arg(state.layer).arg(heads.size()));
    }
    r.setTokens(shape.labels, shape.greyed);
    r.setHeads(std::move(heads));
    if (tokens) *tokens = shape.tokens;
    if (state.hoveredToken >= 0) r.setFocus(shape.visibleIndexOf(state.hoveredToken));
    return r;
}

LinksRenderer paneLinksFigure(const Analysis& analysis, const ViewState& state, int layer, int head,
                              std::vector<int>* tokens) {
    ViewState one = state;
    one.layer = layer;
    one.head = std::max(0, head);
    one.aggregate = head == kMeanOfLayer  ? Aggregate::Mean
                    : head == kMaxOfLayer ? Aggregate::Max
                                          : Aggregate::SingleHead;
    one.hoveredToken = -1;
    one.checked.reset(analysis.layerCount(), analysis.headCount(), false);
    for (int h = 0; h < analysis.headCount(); ++h)
        one.checked.setChecked(layer, h,
                               one.aggregate == Aggregate::SingleHead
                                   ? h == one.head
                                   : state.checked.isChecked(layer, h));
    return linksFigure(analysis, one, tokens);
}

void shareColorRange(std::vector<HeatmapRenderer>& panes, bool stretch) {
    double hi = 1.0;
    if (stretch) {
        hi = 0.0;
        for (const HeatmapRenderer& p : panes)
            if (!p.isEmpty()) hi = std::max(hi, double(p.matrix().maxCoeff()));
        if (!(hi > 0)) hi = 1.0;
    }
    for (HeatmapRenderer& p : panes) {
        HeatmapOptions o = p.options();
        o.autoRange = false;
        o.minValue = 0.0;
        o.maxValue = hi;
        p.setOptions(o);
    }
}

std::vector<HeatmapRenderer> comparePanes(const Analysis& analysis, const ViewState& state,
                                          const std::vector<std::pair<int, int>>& panes) {
    std::vector<HeatmapRenderer> out(panes.size());
    for (size_t i = 0; i < panes.size(); ++i) {
        const ViewMatrix m = paneMatrix(analysis, state, panes[i].first, panes[i].second);
        configureHeatmap(out[i], m, state);
        HeatmapOptions o = out[i].options();
        o.labelPixelSize = 11; // panes are narrower than the main heatmap
        o.showCellValues = false;
        out[i].setOptions(o);
    }
    shareColorRange(out, state.autoRange);
    return out;
}

std::vector<QRectF> paneRects(QSizeF size, int panes) {
    std::vector<QRectF> out;
    if (panes <= 0) return out;
    const bool square = panes == 4 && size.width() < 2.2 * size.height();
    int columns = square ? 2 : panes, rows = square ? 2 : 1;
    if (panes > 4) {
        columns = int(std::ceil(std::sqrt(double(panes))));
        rows = (panes + columns - 1) / columns;
    }
    const double w = size.width() / columns, h = size.height() / rows;
    for (int i = 0; i < panes; ++i)
        out.emplace_back(std::floor((i % columns) * w), std::floor((i / columns) * h),
                         std::floor(w), std::floor(h));
    return out;
}

HeatmapOptions derivedHeatmapOptions(const ViewState& state) {
    HeatmapOptions o = state.heatmapOptions();
    o.autoRange = true; // rollout spreads over many tokens: its own range shows more
    o.rowCaption = QStringLiteral("output token");
    o.columnCaption = QStringLiteral("input token");
    return o;
}

Result<HeatmapRenderer> differenceFigure(const ViewMatrix& a, const ViewMatrix& b,
                                         const ViewState& state) {
    auto diff = differenceMatrix(a, b);
    if (!diff) return Error{diff.message()};
    HeatmapRenderer r;
    configureHeatmap(r, *diff, state);
    HeatmapOptions o = differenceOptions(state, diff->values);
    o.greyedTokens = diff->greyed;
    r.setOptions(o);
    return r;
}

} // namespace attnscope
