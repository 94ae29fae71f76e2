#pragma once
// Sequential colour maps for attention values (probabilities in [0, 1]).
#include <QColor>
#include <QString>
#include <QStringList>

#include <vector>

namespace attnscope {

enum class ColorMap {
    Viridis, // perceptually uniform, dark purple (low) -> yellow (high); matplotlib's default
    Blues,   // white (low) -> dark blue (high); ColorBrewer "Blues"
    RedBlue, // diverging, for differences: blue (low) -> white (middle) -> red (high); "RdBu"
};

// t in [0, 1] (clamped; NaN maps to 0). Returns an opaque colour.
QColor colorAt(ColorMap map, double t);
QRgb rgbAt(ColorMap map, double t);

// rgbAt(map, t) through a table: the same colour for every t (tst_heatmap_renderer compares
// them), but one table read instead of an interpolation and three roundings for almost every
// t. Each of the 2^16 buckets [i, i + 1) / 2^16 holds its colour when that is the same over the
// whole bucket (each channel is monotone between two knots, so equal ends mean equal inside);
// the few buckets where a channel steps are marked and fall back to rgbAt.
class ColorLookup {
public:
    explicit ColorLookup(ColorMap map);
    QRgb operator()(double t) const {
        if (!(t > 0.0)) return m_low; // rgbAt clamps below 0, and NaN maps to 0
        if (t >= 1.0) return m_high;
        const QRgb c = m_table[size_t(t * kBuckets)]; // exact: a power of two, t < 1
        return qAlpha(c) != 0 ? c : rgbAt(m_map, t);
    }
    ColorMap map() const { return m_map; }
    static constexpr int kBuckets = 1 << 16;

private:
    ColorMap m_map;
    QRgb m_low = 0, m_high = 0;
    std::vector<QRgb> m_table; // kBuckets entries; alpha 0 = the colour changes in the bucket
};
// One table per map, built on first use (thread-safe).
const ColorLookup& colorLookup(ColorMap map);

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
