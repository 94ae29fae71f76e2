#pragma once
// Builds every view's renderer from an analysis and a ViewState, so that the window and
// `attnscope export` draw the same figure from the same code.
#include "heatmap_renderer.h"
#include "links/links_renderer.h"
#include "result.h"
#include "view_state.h"

#include <QRectF>
#include <memory>
#include <vector>

class QPainter;

namespace attnscope {

// The heatmap of a view matrix (greyed tokens, theme, colours from the state).
void configureHeatmap(HeatmapRenderer& renderer, const ViewMatrix& matrix, const ViewState& state);

// Token links: the aggregate as one colour in Mean/Max mode; otherwise every checked head of the
// selected layer (the selected head alone when none of that layer's heads is checked), each in
// its head's Okabe–Ito colour. tokens (optional) receives visible index -> token index.
LinksRenderer linksFigure(const Analysis& analysis, const ViewState& state,
                          std::vector<int>* tokens = nullptr);

// Token links of one pane: head `head` of `layer` alone in its colour, or (kMeanOfLayer,
// kMaxOfLayer) the mean / max over that layer's checked heads.
LinksRenderer paneLinksFigure(const Analysis& analysis, const ViewState& state, int layer, int head,
                              std::vector<int>* tokens = nullptr);

// Side by side: one heatmap per (layer, head), sharing one colour range (0..1, or 0..the
// largest value of all panes when the state stretches colours).
std::vector<HeatmapRenderer> comparePanes(const Analysis& analysis, const ViewState& state,
                                          const std::vector<std::pair<int, int>>& panes);
void shareColorRange(std::vector<HeatmapRenderer>& panes, bool stretch);
// Where pane i goes in a target of this size: one row for 2–3 panes, 2 × 2 for 4 when that is
// closer to square; more panes (exported figures of chosen heads) fill a near-square grid.
std::vector<QRectF> paneRects(QSizeF size, int panes);
constexpr int kMaxComparePanes = 16; // exported figures; the window shows 2–4

// The Rollout and flow dock's heatmaps (rollout, flow, norms): each matrix to its own range,
// rows = output tokens, columns = input tokens.
HeatmapOptions derivedHeatmapOptions(const ViewState& state);

// Difference a − b on a diverging map centred on 0, as a heatmap.
Result<HeatmapRenderer> differenceFigure(const ViewMatrix& a, const ViewMatrix& b,
                                         const ViewState& state);

// The all-heads grid needs the analysis itself (it caches every head); see grid/grid_renderer.h.

} // namespace attnscope
