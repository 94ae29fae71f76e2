#pragma once
// Writes any view (heatmap, token links, all heads, side by side, difference) of an analysis to
// a .png, .svg or .pdf file through the same renderers as the window. Used by `attnscope export`.
#include "result.h"
#include "view_state.h"

#include <QSize>
#include <QString>
#include <memory>
#include <vector>

namespace attnscope {

enum class FigureView { Heatmap, Links, Grid, Compare, Difference };

struct FigureRequest {
    FigureView view = FigureView::Heatmap;
    ViewState state;                         // layer, head / aggregate, heads, theme, ...
    std::vector<std::pair<int, int>> panes;  // compare: 2–4; difference: A, B (or empty)
    std::vector<bool> linkPanes;             // compare: panes drawn as token links
    std::shared_ptr<const Analysis> against; // difference of two inputs (same head)
    QSize size;                              // invalid: a size that suits the view
    int scale = 1;                           // PNG pixels per layout pixel (1..4)
};

// Parses "heatmap", "links", "grid", "compare", "diff".
Result<FigureView> figureViewFromName(const QString& name);
// request.size invalid: a size that suits the view (links grow with the tokens, the grid with
// layers and heads, side by side with the panes).
Status exportFigure(std::shared_ptr<const Analysis> analysis, const FigureRequest& request,
                    const QString& outPath);

} // namespace attnscope
