#pragma once
// Sequential colour maps for attention values (probabilities in [0, 1]).
#include <QColor>
#include <QString>
#include <QStringList>

namespace attnscope {

enum class ColorMap {
    Viridis, // perceptually uniform, dark purple (low) -> yellow (high); matplotlib's default
    Blues,   // white (low) -> dark blue (high); ColorBrewer "Blues"
};

// t in [0, 1] (clamped; NaN maps to 0). Returns an opaque colour.
QColor colorAt(ColorMap map, double t);
QRgb rgbAt(ColorMap map, double t);

QString colorMapName(ColorMap map);
QStringList colorMapNames(); // in enum order
ColorMap colorMapFromIndex(int index);

} // namespace attnscope
