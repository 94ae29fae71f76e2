#pragma once
// Writes any view (heatmap, token links, all heads, side by side, difference) of an analysis to
// a .png, .svg or .pdf file through the same renderers as the window. Used by `attnscope export`.
#include "analyses/rollout.h"
#include "figure_frame.h"
#include "heatmap_export.h"
#include "matrix_export.h"
#include "result.h"
#include "view_state.h"

#include <QImage>

#include <QSize>
#include <QString>
#include <memory>
#include <vector>

namespace attnscope {

// Rollout, Flow, Norms: the Rollout and flow dock's heatmaps (output × input tokens).
enum class FigureView { Heatmap, Links, Grid, Compare, Difference, Rollout, Flow, Norms };

struct FigureRequest {
    FigureView view = FigureView::Heatmap;
    ViewState state;                         // layer, head / aggregate, heads, theme, ...
    std::vector<std::pair<int, int>> panes;  // compare: 2–4; difference: A, B (or empty)
    std::vector<bool> linkPanes;             // compare: panes drawn as token links
    std::shared_ptr<const Analysis> against; // difference of two inputs (same head)
    QSize size;                              // invalid: a size that suits the view
    int scale = 1;                           // PNG pixels per layout pixel (1..4)
    FigureOptions options;                   // title, caption, colour bar, highlighted queries
    RolloutOptions rollout;                  // rollout and flow: head fusion and discard
    // Norms: the matrix to draw, [T, T] (norm-based attention needs the model's weights, so the
    // caller computes it: core/analyses/norms.h), and its title.
    std::shared_ptr<const Mat> norms;
    QString normsTitle;
};

// A figure ready to paint on any painter: the window's preview and clipboard, and every file.
struct PreparedFigure {
    PaintFunction paint;
    QString title;       // the file's title (SVG <title>, PDF title)
    QString description; // SVG <desc>: the analysed text
    QSize size;          // layout size (PNG pixels at scale 1)
    bool transparent = false;
};

// Parses "heatmap", "links", "grid", "compare", "diff", "rollout", "flow", "norms".
Result<FigureView> figureViewFromName(const QString& name);
// request.size invalid: a size that suits the view (links grow with the tokens, the grid with
// layers and heads, side by side with the panes).
Status exportFigure(std::shared_ptr<const Analysis> analysis, const FigureRequest& request,
                    const QString& outPath);
Result<PreparedFigure> prepareFigure(std::shared_ptr<const Analysis> analysis,
                                     const FigureRequest& request);
// The figure as an image, request.scale pixels per layout pixel (as its PNG file holds it).
QImage figureImage(const PreparedFigure& figure, int scale);

// The numbers a heatmap-like view shows (heatmap, diff, rollout, flow, norms): exactly its
// matrix, after special tokens are hidden and rows renormalised, with its labels.
Result<LabelledMatrix> figureNumbers(const Analysis& analysis, const FigureRequest& request);
// figureNumbers written to .csv, .npy, .json or .safetensors (matrix_export.h).
Status exportNumbers(const Analysis& analysis, const FigureRequest& request,
                     const QString& outPath);

// The matrix of rollout or flow for the request's options (flow takes seconds on long texts).
Result<Mat> derivedMatrix(const Analysis& analysis, const FigureRequest& request);

} // namespace attnscope
