#include "colormap.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace attnscope {
namespace {

struct Knot {
    double t;
    double r, g, b;
};

// matplotlib's viridis (CC0, by Stéfan van der Walt and Nathaniel Smith), sampled at entries
// 0, 16, 32, ..., 240, 255 of its 256-entry table; linear interpolation between these stays
// within about one 8-bit step of the full table.
constexpr std::array<Knot, 17> kViridis = {{
    {0.0 / 255, 0.267004, 0.004874, 0.329415},
    {16.0 / 255, 0.282327, 0.094955, 0.417331},
    {32.0 / 255, 0.278826, 0.175490, 0.483397},
    {48.0 / 255, 0.258965, 0.251537, 0.524736},
    {64.0 / 255, 0.229739, 0.322361, 0.545706},
    {80.0 / 255, 0.199430, 0.387607, 0.554642},
    {96.0 / 255, 0.172719, 0.448791, 0.557885},
    {112.0 / 255, 0.149039, 0.508051, 0.557250},
    {128.0 / 255, 0.127568, 0.566949, 0.550556},
    {144.0 / 255, 0.120638, 0.625828, 0.533488},
    {160.0 / 255, 0.157851, 0.683765, 0.501686},
    {176.0 / 255, 0.246070, 0.738910, 0.452024},
    {192.0 / 255, 0.369214, 0.788888, 0.382914},
    {208.0 / 255, 0.515992, 0.831158, 0.294279},
    {224.0 / 255, 0.678489, 0.863742, 0.189503},
    {240.0 / 255, 0.845561, 0.887322, 0.099702},
    {255.0 / 255, 0.993248, 0.906157, 0.143936},
}};

// ColorBrewer Blues, 9 classes (#f7fbff ... #08306b).
constexpr std::array<Knot, 9> kBlues = {{
    {0.0 / 8, 0xf7 / 255.0, 0xfb / 255.0, 0xff / 255.0},
    {1.0 / 8, 0xde / 255.0, 0xeb / 255.0, 0xf7 / 255.0},
    {2.0 / 8, 0xc6 / 255.0, 0xdb / 255.0, 0xef / 255.0},
    {3.0 / 8, 0x9e / 255.0, 0xca / 255.0, 0xe1 / 255.0},
    {4.0 / 8, 0x6b / 255.0, 0xae / 255.0, 0xd6 / 255.0},
    {5.0 / 8, 0x42 / 255.0, 0x92 / 255.0, 0xc6 / 255.0},
    {6.0 / 8, 0x21 / 255.0, 0x71 / 255.0, 0xb5 / 255.0},
    {7.0 / 8, 0x08 / 255.0, 0x51 / 255.0, 0x9c / 255.0},
    {8.0 / 8, 0x08 / 255.0, 0x30 / 255.0, 0x6b / 255.0},
}};

// ColorBrewer RdBu, 11 classes, reversed so that negative is blue, 0 is near-white and positive
// is red (#053061 ... #f7f7f7 ... #67001f); readable with the common colour-vision deficiencies.
constexpr std::array<Knot, 11> kRedBlue = {{
    {0.0 / 10, 0x05 / 255.0, 0x30 / 255.0, 0x61 / 255.0},
    {1.0 / 10, 0x21 / 255.0, 0x66 / 255.0, 0xac / 255.0},
    {2.0 / 10, 0x43 / 255.0, 0x93 / 255.0, 0xc3 / 255.0},
    {3.0 / 10, 0x92 / 255.0, 0xc5 / 255.0, 0xde / 255.0},
    {4.0 / 10, 0xd1 / 255.0, 0xe5 / 255.0, 0xf0 / 255.0},
    {5.0 / 10, 0xf7 / 255.0, 0xf7 / 255.0, 0xf7 / 255.0},
    {6.0 / 10, 0xfd / 255.0, 0xdb / 255.0, 0xc7 / 255.0},
    {7.0 / 10, 0xf4 / 255.0, 0xa5 / 255.0, 0x82 / 255.0},
    {8.0 / 10, 0xd6 / 255.0, 0x60 / 255.0, 0x4d / 255.0},
    {9.0 / 10, 0xb2 / 255.0, 0x18 / 255.0, 0x2b / 255.0},
    {10.0 / 10, 0x67 / 255.0, 0x00 / 255.0, 0x1f / 255.0},
}};

// The knot interval interpolate() uses for t (its upper knot's index).
template <size_t N> size_t knotInterval(const std::array<Knot, N>& knots, double t) {
    if (!(t > 0.0)) t = 0.0; // also catches NaN
    if (t > 1.0) t = 1.0;
    size_t i = 1;
    while (i < N - 1 && knots[i].t < t)
        ++i;
    return i;
}

template <size_t N> QRgb interpolate(const std::array<Knot, N>& knots, double t) {
    if (!(t > 0.0)) t = 0.0; // also catches NaN
    if (t > 1.0) t = 1.0;
    const size_t i = knotInterval(knots, t);
    const Knot& a = knots[i - 1];
    const Knot& b = knots[i];
    const double f = (b.t > a.t) ? (t - a.t) / (b.t - a.t) : 0.0;
    auto channel = [f](double x, double y) {
        return int(std::lround(std::clamp((x + (y - x) * f) * 255.0, 0.0, 255.0)));
    };
    return qRgb(channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b));
}

size_t knotIntervalOf(ColorMap map, double t) {
    switch (map) {
    case ColorMap::Blues:
        return knotInterval(kBlues, t);
    case ColorMap::RedBlue:
        return knotInterval(kRedBlue, t);
    case ColorMap::Viridis:
        break;
    }
    return knotInterval(kViridis, t);
}

} // namespace

ColorLookup::ColorLookup(ColorMap map)
    : m_map(map), m_low(rgbAt(map, 0.0)), m_high(rgbAt(map, 1.0)), m_table(size_t(kBuckets)) {
    // Bucket i holds t in [i / 2^16, (i + 1) / 2^16): its ends are that first value and the
    // largest double below the next bucket's first value.
    for (int i = 0; i < kBuckets; ++i) {
        const double first = double(i) / kBuckets;
        const double last = std::nextafter(double(i + 1) / kBuckets, 0.0);
        const QRgb a = rgbAt(map, first), b = rgbAt(map, last);
        const bool constant = a == b && knotIntervalOf(map, first) == knotIntervalOf(map, last);
        m_table[size_t(i)] = constant ? a : (a & 0x00ffffffu); // alpha 0: look it up exactly
    }
}

const ColorLookup& colorLookup(ColorMap map) {
    static const ColorLookup viridis(ColorMap::Viridis), blues(ColorMap::Blues),
        redBlue(ColorMap::RedBlue);
    switch (map) {
    case ColorMap::Blues:
        return blues;
    case ColorMap::RedBlue:
        return redBlue;
    case ColorMap::Viridis:
        break;
    }
    return viridis;
}

QRgb rgbAt(ColorMap map, double t) {
    switch (map) {
    case ColorMap::Blues:
        return interpolate(kBlues, t);
    case ColorMap::RedBlue:
        return interpolate(kRedBlue, t);
    case ColorMap::Viridis:
        break;
    }
    return interpolate(kViridis, t);
}

QColor colorAt(ColorMap map, double t) {
    return QColor::fromRgb(rgbAt(map, t));
}

QString colorMapName(ColorMap map) {
    switch (map) {
    case ColorMap::Blues:
        return QStringLiteral("Blues");
    case ColorMap::RedBlue:
        return QStringLiteral("RdBu");
    case ColorMap::Viridis:
        break;
    }
    return QStringLiteral("Viridis");
}

QStringList colorMapNames() {
    return {colorMapName(ColorMap::Viridis), colorMapName(ColorMap::Blues)};
}

ColorMap colorMapFromIndex(int index) {
    return index == 1 ? ColorMap::Blues : ColorMap::Viridis;
}

ChromePalette ChromePalette::forTheme(bool dark) {
    ChromePalette p;
    if (!dark) return p;
    p.background = QColor(0x1e, 0x1f, 0x22);
    p.text = QColor(0xe8, 0xe8, 0xe8);
    p.muted = QColor(0xa8, 0xa8, 0xa8);
    p.frame = QColor(0x8a, 0x8a, 0x8a);
    p.highlightBack = QColor(0x8a, 0x5a, 0x00);
    p.masked = QColor(0x3a, 0x3b, 0x40);
    p.hatch = QColor(0x55, 0x56, 0x5c);
    return p;
}

ChromePalette ChromePalette::forPrint() {
    ChromePalette p;
    p.background = Qt::white;
    p.text = Qt::black;
    p.muted = QColor(0x30, 0x30, 0x30);
    p.frame = Qt::black;
    p.highlightBack = QColor(0xd8, 0xd8, 0xd8); // grey, not yellow: survives a photocopier
    p.masked = QColor(0xf0, 0xf0, 0xf0);
    p.hatch = QColor(0x90, 0x90, 0x90);
    return p;
}

QColor categoricalColor(int index) {
    // Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
    // vision deficiency. Black is left out (it vanishes on the dark theme).
    static const QRgb colors[] = {0xE69F00, 0x56B4E9, 0x009E73, 0xF0E442,
                                  0x0072B2, 0xD55E00, 0xCC79A7, 0x999999};
    const int n = int(std::size(colors));
    return QColor::fromRgb(colors[((index % n) + n) % n]);
}

} // namespace attnscope
