#pragma once
// Sequential colour maps for attention values (probabilities in [0, 1]).
#include <QColor>
#include <QString>
#include <QStringList>

namespace attnscope {

enum class ColorMap {
    Viridis, // perceptually uniform, dark purple (low) -> yellow (high); matplotlib's default
    Blues,   // white (low) -> dark blue (high); ColorBrewer "Blues"
    RedBlue, // diverging, for differences: blue (low) -> white (middle) -> red (high); "RdBu"
};

// t in [0, 1] (clamped; NaN maps to 0). Returns an opaque colour.
QColor colorAt(ColorMap map, double t);
QRgb rgbAt(ColorMap map, double t);

QString colorMapName(ColorMap map);
QStringList colorMapNames(); // the sequential maps offered for attention, in enum order
ColorMap colorMapFromIndex(int index);

// Colours of everything around the data (background, text, frames) for the light or dark theme.
struct ChromePalette {
    QColor background{Qt::white};
    QColor text{0x22, 0x22, 0x22};
    QColor muted{0x55, 0x55, 0x55};
    QColor frame{0x70, 0x70, 0x70};
    QColor highlightBack{0xff, 0xe0, 0x82};
    QColor masked{0xe6, 0xe6, 0xe6};
    QColor hatch{0xb4, 0xb4, 0xb4};
    static ChromePalette forTheme(bool dark);
    // Paper and greyscale photocopies: white background, black text and frames, masked cells a
    // light grey that stays distinct from every colour map's low end once photocopied.
    static ChromePalette forPrint();
};

// The index-th colour of a categorical, colour-blind-safe palette (Okabe–Ito), cycling.
QColor categoricalColor(int index);

} // namespace attnscope
