#pragma once
// Writes one layer/head heatmap of an analysis to a .png, .svg or .pdf file through HeatmapRenderer
// (the same painting code as the screen). Needs a QGuiApplication (fonts); when no
// QCoreApplication exists at all a temporary offscreen QGuiApplication is created.
#include "heatmap_renderer.h"
#include "result.h"
#include "session.h"

#include <QSize>
#include <QString>
#include <functional>

class QPainter;

namespace attnscope {

// Title used on screen and in exports, e.g. "Layer 0 · Head 3".
QString heatmapTitle(int layer, int head);

// Fills a renderer with analysis.attention(layer, head) and the display tokens. No checks.
void configureRenderer(HeatmapRenderer& renderer, const Analysis& analysis, int layer, int head);

// outPath ends in .png, .svg or .pdf (case-insensitive); written atomically. size: output size in
// pixels (SVG: in px units).
Status exportHeatmap(const Analysis& analysis, int layer, int head, const QString& outPath,
                     QSize size = QSize(1000, 900), const HeatmapOptions& options = {});

// Lower level: the renderer's current content to a file. scale (1..4) multiplies a PNG's pixels
// (the layout stays that of `size`, as on a HiDPI screen); vector formats ignore it.
Status exportRenderer(const HeatmapRenderer& renderer, const QString& outPath, QSize size,
                      int scale = 1, const QString& description = {});

// The text a figure shows, for the file's description (SVG <desc>, PDF subject): tokens alone
// do not say what was analysed ("do", "##g" for "dog"), so search and screen readers get it.
QString figureDescription(const Analysis& analysis);

// Any painting to a .png, .svg or .pdf file, written atomically. paint() gets the painter, the
// target area (origin 0, 0; `size` in logical pixels) and whether the output is a vector format.
using PaintFunction = std::function<void(QPainter&, const QRectF&, bool vectorOutput)>;
// description: the SVG's <desc> (default: "attnscope attention figure"). transparent: a PNG's
// untouched pixels stay alpha 0 (the painting must leave its background out too); refused for
// PDF, whose viewers and printers show pages on white anyway.
Status exportPainting(const PaintFunction& paint, const QString& title, const QString& outPath,
                      QSize size, int scale = 1, const QString& description = {},
                      bool transparent = false);

} // namespace attnscope
