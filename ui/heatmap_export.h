#pragma once
// Writes one layer/head heatmap of an analysis to a .png, .svg or .pdf file through HeatmapRenderer
// (the same painting code as the screen). Needs a QGuiApplication (fonts); when no
// QCoreApplication exists at all a temporary offscreen QGuiApplication is created.
#include "heatmap_renderer.h"
#include "result.h"
#include "session.h"

#include <QSize>
#include <QString>

namespace attnscope {

// Title used on screen and in exports, e.g. "Layer 0 · Head 3".
QString heatmapTitle(int layer, int head);

// Fills a renderer with analysis.attention(layer, head) and the display tokens. No checks.
void configureRenderer(HeatmapRenderer& renderer, const Analysis& analysis, int layer, int head);

// outPath ends in .png, .svg or .pdf (case-insensitive); written atomically. size: output size in pixels (SVG: in px units).
Status exportHeatmap(const Analysis& analysis, int layer, int head, const QString& outPath,
                     QSize size = QSize(1000, 900), const HeatmapOptions& options = {});

// Lower level: the renderer's current content to a file.
Status exportRenderer(const HeatmapRenderer& renderer, const QString& outPath, QSize size);

} // namespace attnscope
