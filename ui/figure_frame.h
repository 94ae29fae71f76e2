#pragma once
// The options a figure takes on top of its view, shared by `attnscope export` and the window's
// File → Export Figure… / Edit → Copy Figure: a title above the view, a caption below it, a
// colour bar (the view's own, or one drawn beside views that have none), and the theme, which
// lives in ViewState (dark, print, transparent) because every renderer reads its colours there.
// With every option at its default a figure is the view alone, pixel for pixel as before.
#include "colormap.h"
#include "heatmap_export.h"
#include "result.h"

#include <QFont>
#include <QRectF>
#include <QString>
#include <optional>
#include <vector>

namespace attnscope {

struct ViewState;

enum class CaptionMode {
    None, // no caption
    Auto, // model, view (layer, head or mean / max) and the analysed text, shortened
    Text, // FigureOptions::captionText as given
};

enum class ColorBarMode {
    ViewDefault, // heatmaps keep their bar; links and the all-heads grid have none
    On,          // a labelled bar with its scale (side by side: one bar for every pane)
    Off,         // no bar at all
};

struct FigureOptions {
    QString title; // drawn above the view (empty: none)
    CaptionMode caption = CaptionMode::None;
    QString captionText; // CaptionMode::Text
    QString modelName;   // for CaptionMode::Auto ("gpt2", "default", a folder's name)
    ColorBarMode colorBar = ColorBarMode::ViewDefault;
    std::vector<int> queryTokens; // token indices kept highlighted, as selected on screen
};

// "light", "dark" or "print" into the state's theme flags; an error naming the choices otherwise.
Status applyThemeName(ViewState& state, const QString& name);
QString themeName(const ViewState& state);
// "auto", "none" or any other text (taken as the caption itself).
void applyCaptionArgument(FigureOptions& options, const QString& argument);

// The auto caption: "gpt2 · Layer 1 · Head 2 · “The cat sat on the mat …”", the text cut at a
// word near 120 characters and its line breaks flattened.
QString autoCaption(const QString& modelName, const QString& viewName, const QString& text);

// A colour scale drawn by the frame. opacityOf valid: the bar runs from transparent to that
// colour (token links, whose line opacity is the weight); otherwise through the colour map.
struct ColorScale {
    ColorMap map = ColorMap::Viridis;
    double low = 0, high = 1;
    QString label;
    QColor opacityOf;
};

// What surrounds a view in a figure.
struct FigureFrame {
    QString title;
    QString caption;
    std::optional<ColorScale> colorBar;
    ChromePalette chrome;
    bool isEmpty() const { return title.isEmpty() && caption.isEmpty() && !colorBar; }
};

struct FigureFrameLayout {
    QRectF title, caption, content; // content: where the view goes
    QRectF colorBar;                // the bar itself (empty without one)
    QRectF colorBarLabel;           // rotated label's bounding box
    QFont titleFont, captionFont, tickFont;
    QString captionText; // wrapped to fit, at most four lines (elided)
};
FigureFrameLayout figureFrameLayout(const FigureFrame& frame, QSizeF size);

// Paints the frame (background, title, caption, colour bar) and the view inside it. An empty
// frame returns `view` itself, so the default figure is unchanged.
PaintFunction framedPainting(const FigureFrame& frame, PaintFunction view);

// Ticks for a colour scale: 0, 0.25 … or similar round steps, always both ends.
std::vector<double> colorScaleTicks(double low, double high);

} // namespace attnscope
