#include "heatmap_renderer.h"

#include <QFontMetricsF>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {
namespace {

constexpr double kMargin = 8.0;
constexpr double kLabelGap = 6.0;   // between grid and labels
constexpr double kCaptionGap = 6.0; // between labels and axis captions
constexpr double kBarGap = 14.0;
constexpr double kBarWidth = 14.0;
constexpr int kMaxVectorCells = 64 * 64;

QFont makeFont(const QString& family, int pixelSize, bool bold = false, bool italic = false) {
    QFont font;
    if (!family.isEmpty()) font.setFamily(family);
    font.setPixelSize(std::max(1, pixelSize));
    font.setBold(bold);
    font.setItalic(italic);
    return font;
}

// 1, 2, 5, 10, 20, 50, ... >= x: label strides people can count with.
int niceStep(double x) {
    if (x <= 1.0) return 1;
    int base = 1;
    while (true) {
        for (int m : {1, 2, 5}) {
            if (base * m >= x) return base * m;
        }
        base *= 10;
    }
}

std::vector<double> niceTicks(double lo, double hi, int* decimals) {
    std::vector<double> ticks;
    const double range = hi - lo;
    if (!(range > 0)) {
        *decimals = 2;
        return {lo};
    }
    const double raw = range / 5.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / mag;
    const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
    *decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step)
        ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return ticks;
}

double maxAdvance(const QFontMetricsF& fm, const QStringList& texts) {
    double w = 0;
    for (const QString& t : texts)
        w = std::max(w, fm.horizontalAdvance(t));
    return w;
}

bool intersectsAny(const QRectF& r, const std::vector<HeatmapLabel>& placed) {
    for (const HeatmapLabel& p : placed)
        if (r.intersects(p.rect)) return true;
    return false;
}

double luminance(QRgb c) {
    return (0.2126 * qRed(c) + 0.7152 * qGreen(c) + 0.0722 * qBlue(c)) / 255.0;
}

// Lines x + y = k0 + 8n ("/" direction) inside rect, computed segment by segment.
void drawHatch(QPainter& painter, const QRectF& rect, double k0) {
    constexpr double spacing = 8.0;
    const double kMin = rect.left() + rect.top(), kMax = rect.right() + rect.bottom();
    for (double k = k0 + std::ceil((kMin - k0) / spacing) * spacing; k <= kMax; k += spacing) {
        const double xa = std::max(rect.left(), k - rect.bottom());
        const double xb = std::min(rect.right(), k - rect.top());
        if (xb - xa < 0.5) continue;
        painter.drawLine(QPointF(xa, k - xa), QPointF(xb, k - xb));
    }
}

} // namespace

QRectF HeatmapLayout::cellRect(int row, int column) const {
    return QRectF(grid.left() + column * cell, grid.top() + row * cell, cell, cell);
}

HeatmapCell HeatmapLayout::cellAt(QPointF p) const {
    if (!hasGrid || cell <= 0) return {};
    if (p.x() < grid.left() || p.y() < grid.top() || p.x() >= grid.right() ||
        p.y() >= grid.bottom())
        return {};
    const int columns = int(std::lround(grid.width() / cell));
    const int rows = int(std::lround(grid.height() / cell));
    const int c = std::clamp(int(std::floor((p.x() - grid.left()) / cell)), 0, columns - 1);
    const int r = std::clamp(int(std::floor((p.y() - grid.top()) / cell)), 0, rows - 1);
    return {r, c};
}

HeatmapRenderer::HeatmapRenderer() = default;

void HeatmapRenderer::setMatrix(const Mat& matrix) {
    if (matrix.rows() != m_matrix.rows() || matrix.cols() != m_matrix.cols()) dropLabelCache();
    m_matrix = matrix;
    m_range.reset();
    m_cellsColouredWith.reset();
    m_cells = QImage();
    m_scaledCells = QImage();
    m_upperZero = false;
    if (m_matrix.rows() == m_matrix.cols() && m_matrix.rows() > 1) {
        m_upperZero = true;
        for (Eigen::Index r = 0; r < m_matrix.rows() && m_upperZero; ++r)
            for (Eigen::Index c = r + 1; c < m_matrix.cols(); ++c)
                if (m_matrix(r, c) != 0.0f) {
                    m_upperZero = false;
                    break;
                }
    }
}

void HeatmapRenderer::setRowLabels(const QStringList& labels) {
    if (labels == m_rowLabels) return; // a new head of the same text keeps the measured labels
    m_rowLabels = labels;
    dropLabelCache();
}
void HeatmapRenderer::setColumnLabels(const QStringList& labels) {
    if (labels == m_columnLabels) return;
    m_columnLabels = labels;
    dropLabelCache();
}

void HeatmapRenderer::dropLabelCache() {
    m_escapedRows.reset();
    m_escapedColumns.reset();
    m_widestBold.clear();
}

const QStringList& HeatmapRenderer::escapedRowLabels() const {
    if (!m_escapedRows) {
        QStringList texts;
        texts.reserve(m_matrix.rows());
        for (int i = 0; i < int(m_matrix.rows()); ++i)
            texts << escapeLabel(rowLabel(i));
        m_escapedRows = std::move(texts);
    }
    return *m_escapedRows;
}

const QStringList& HeatmapRenderer::escapedColumnLabels() const {
    if (!m_escapedColumns) {
        QStringList texts;
        texts.reserve(m_matrix.cols());
        for (int i = 0; i < int(m_matrix.cols()); ++i)
            texts << escapeLabel(columnLabel(i));
        m_escapedColumns = std::move(texts);
    }
    return *m_escapedColumns;
}

std::pair<double, double> HeatmapRenderer::widestBoldLabels(const QFont& bold) const {
    const QString key = bold.key();
    auto it = m_widestBold.find(key);
    if (it == m_widestBold.end()) {
        const QFontMetricsF bfm(bold);
        it = m_widestBold
                 .emplace(key, std::pair(maxAdvance(bfm, escapedRowLabels()),
                                         maxAdvance(bfm, escapedColumnLabels())))
                 .first;
    }
    return it->second;
}
void HeatmapRenderer::setTitle(const QString& title) {
    m_title = title;
}
void HeatmapRenderer::setOptions(const HeatmapOptions& options) {
    m_options = options;
    m_range.reset();
}
void HeatmapRenderer::setHighlight(HeatmapCell cell) {
    m_options.highlight = cell;
}

void HeatmapRenderer::clear() {
    m_matrix = Mat();
    m_range.reset();
    m_cellsColouredWith.reset();
    m_cells = QImage();
    m_scaledCells = QImage();
    dropLabelCache();
    m_upperZero = false;
    m_rowLabels.clear();
    m_columnLabels.clear();
    m_options.highlight = {};
}

QString HeatmapRenderer::rowLabel(int i) const {
    return i < m_rowLabels.size() ? m_rowLabels[i] : QString::number(i);
}

QString HeatmapRenderer::columnLabel(int i) const {
    return i < m_columnLabels.size() ? m_columnLabels[i] : QString::number(i);
}

std::pair<double, double> HeatmapRenderer::valueRange() const {
    // Cached: cellColor() asks for every cell, and the stretched range scans the whole matrix.
    if (!m_range) m_range = computeValueRange();
    return *m_range;
}

std::pair<double, double> HeatmapRenderer::computeValueRange() const {
    double lo = m_options.minValue, hi = m_options.maxValue;
    if (m_options.autoRange && m_matrix.size() > 0) {
        lo = std::numeric_limits<double>::infinity();
        hi = -lo;
        const bool masked = isMasked();
        for (Eigen::Index r = 0; r < m_matrix.rows(); ++r)
            for (Eigen::Index c = 0; c < m_matrix.cols(); ++c) {
                if (masked && c > r) continue;
                const double v = m_matrix(r, c);
                if (!std::isfinite(v)) continue;
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        if (!std::isfinite(lo)) lo = 0, hi = 1;
    }
    if (!(hi > lo)) {
        if (lo > 0)
            lo = 0;
        else
            hi = lo + 1;
        if (!(hi > lo)) hi = lo + 1;
    }
    return {lo, hi};
}

bool HeatmapRenderer::isMasked() const {
    switch (m_options.mask) {
    case MaskMode::None:
        return false;
    case MaskMode::Causal:
        return m_matrix.rows() == m_matrix.cols() && m_matrix.rows() > 1;
    case MaskMode::Auto:
        break;
    }
    return m_upperZero;
}

QRgb HeatmapRenderer::colorForValue(double value) const {
    const auto [lo, hi] = valueRange();
    return rgbAt(m_options.colorMap, (value - lo) / (hi - lo));
}

bool HeatmapRenderer::isGreyed(int row, int column) const {
    const std::vector<bool>& g = m_options.greyedTokens;
    return (size_t(row) < g.size() && g[size_t(row)]) ||
           (size_t(column) < g.size() && g[size_t(column)]);
}

QRgb HeatmapRenderer::greyedColor(QRgb value, QRgb grey) {
    // A quarter of the value's colour over the grey: still readable, clearly set apart.
    auto mix = [](int v, int g) { return (v + 3 * g + 2) / 4; };
    return qRgb(mix(qRed(value), qRed(grey)), mix(qGreen(value), qGreen(grey)),
                mix(qBlue(value), qBlue(grey)));
}

QRgb HeatmapRenderer::cellColor(int row, int column) const {
    if (isMasked() && column > row) return m_options.chrome.masked.rgb();
    const QRgb value = colorForValue(m_matrix(row, column));
    return isGreyed(row, column) ? greyedColor(value, m_options.chrome.masked.rgb()) : value;
}

QRgb HeatmapRenderer::maskedColor() {
    return qRgb(0xe6, 0xe6, 0xe6);
}

QString HeatmapRenderer::escapeLabel(const QString& token) {
    if (token.isEmpty()) return QStringLiteral("∅");
    QString out;
    out.reserve(token.size());
    for (QChar ch : token) {
        const char16_t u = ch.unicode();
        switch (u) {
        case ' ':
            out += QChar(0x00B7);
            break; // ·
        case '\n':
            out += QChar(0x21B5);
            break; // ↵
        case '\t':
            out += QChar(0x2192);
            break; // →
        case '\r':
            out += QChar(0x240D);
            break; // ␍
        default:
            if (u < 0x20 || u == 0x7f)
                out += QStringLiteral("\\x") +
                       QString::number(int(u), 16).rightJustified(2, QChar('0')).toUpper();
            else
                out += ch;
        }
    }
    return out;
}

HeatmapLayout HeatmapRenderer::layout(QSizeF size) const {
    HeatmapLayout L;
    L.size = size;
    const QString& family = m_options.fontFamily;
    L.titleFont = makeFont(family, m_options.titlePixelSize, true);
    L.captionFont = makeFont(family, 12, false, true);
    L.tickFont = makeFont(family, 11);
    L.labelFont = makeFont(family, m_options.labelPixelSize);
    const QFontMetricsF tfm(L.titleFont), cfm(L.captionFont), kfm(L.tickFont);
    const double titleH = m_title.isEmpty() ? 0.0 : tfm.height() + 6.0;
    const double capH = cfm.height();
    const auto [lo, hi] = valueRange();
    L.rangeMin = lo;
    L.rangeMax = hi;
    L.masked = isMasked();

    int decimals = 2;
    const std::vector<double> tickValues = niceTicks(lo, hi, &decimals);
    QStringList tickTexts;
    for (double v : tickValues)
        tickTexts << QString::number(v, 'f', decimals);
    const double tickW =
        std::max(maxAdvance(kfm, tickTexts), kfm.horizontalAdvance(QStringLiteral("masked")) - 4);
    const bool bar = m_options.showColorBar;
    const bool barLabel = bar && !m_options.colorBarLabel.isEmpty();
    const double rightW = !bar ? kMargin
                               : kBarGap + kBarWidth + 3 + 3 + tickW + kMargin +
                                     (barLabel ? kCaptionGap + capH : 0.0);

    const int rows = int(m_matrix.rows());
    const int cols = int(m_matrix.cols());
    auto placeTitle = [&](double centerX, double bottom) {
        if (m_title.isEmpty()) return;
        L.titleText =
            tfm.elidedText(m_title, Qt::ElideRight, std::max(0.0, size.width() - 2 * kMargin));
        const double w =
            std::min(size.width() - 2 * kMargin, tfm.horizontalAdvance(L.titleText) + 4);
        const double x =
            std::clamp(centerX - w / 2, kMargin, std::max(kMargin, size.width() - kMargin - w));
        L.titleRect = QRectF(x, std::max(0.0, bottom - titleH), w, titleH - 4);
    };
    if (rows == 0 || cols == 0) {
        placeTitle(size.width() / 2, kMargin + titleH);
        return L;
    }

    const QStringList& rowTexts = escapedRowLabels();
    const QStringList& colTexts = escapedColumnLabels();

    const double rowCap = std::clamp(size.width() * 0.16, 40.0, 150.0);
    const double colCap = std::clamp(size.height() * 0.16, 40.0, 150.0);
    struct Geometry {
        int px;
        double lineH, rowW, colW, left, top, bottom, cell;
    };
    auto measure = [&](int px) {
        Geometry g;
        g.px = px;
        const QFontMetricsF fm(makeFont(family, px));
        g.lineH = std::ceil(fm.height());
        // Bold metrics so that the highlighted (bold) label fits the same column.
        const auto [widestRow, widestColumn] = widestBoldLabels(makeFont(family, px, true));
        g.rowW = std::ceil(std::min(rowCap, widestRow));
        g.colW = std::ceil(std::min(colCap, widestColumn));
        g.left = kMargin + capH + kCaptionGap + g.rowW + kLabelGap;
        g.top = kMargin + titleH + g.lineH / 2;
        g.bottom = kLabelGap + g.colW + kCaptionGap + capH + kMargin;
        const double availW = size.width() - g.left - rightW;
        const double availH = size.height() - g.top - g.bottom;
        g.cell = std::max(0.0, std::min(availW / cols, availH / rows));
        if (g.cell >= 8) g.cell = std::floor(g.cell); // crisp edges; small cells keep every pixel
        return g;
    };
    const int maxPx = std::max(m_options.labelPixelSize, m_options.minLabelPixelSize);
    const int minPx = std::min(m_options.labelPixelSize, m_options.minLabelPixelSize);
    Geometry g = measure(maxPx);
    for (int pass = 0; pass < 3; ++pass) {
        const int want = std::clamp(int(std::lround(g.cell * 0.8)), minPx, maxPx);
        if (want == g.px) break;
        g = measure(want);
    }
    L.labelFont = makeFont(family, g.px);
    L.cell = g.cell;
    if (g.cell <= 0) {
        placeTitle(size.width() / 2, kMargin + titleH);
        return L;
    }
    L.hasGrid = true;
    const double gridW = cols * g.cell, gridH = rows * g.cell;
    const double dx = std::max(0.0, (size.width() - g.left - rightW - gridW) / 2);
    const double dy = std::max(0.0, (size.height() - g.top - g.bottom - gridH) / 2);
    L.grid = QRectF(std::round(g.left + dx), std::round(g.top + dy), gridW, gridH);
    placeTitle(L.grid.center().x(), L.grid.top() - g.lineH / 2);

    // Axis labels: every k-th so that boxes never overlap; the highlighted row/column first.
    const QFontMetricsF fm(L.labelFont);
    QFont boldFont = L.labelFont;
    boldFont.setBold(true);
    const QFontMetricsF bfm(boldFont);
    L.rowStep = niceStep((g.lineH + 1) / g.cell);
    L.columnStep = niceStep((g.lineH + 1) / g.cell);
    const HeatmapCell hl = m_options.highlight;
    auto rowRect = [&](int i, double w) {
        return QRectF(L.grid.left() - kLabelGap - w,
                      L.grid.top() + (i + 0.5) * g.cell - g.lineH / 2, w, g.lineH);
    };
    auto colRect = [&](int i, double w) {
        return QRectF(L.grid.left() + (i + 0.5) * g.cell - g.lineH / 2, L.grid.bottom() + kLabelGap,
                      g.lineH, w);
    };
    const double rowFloor =
        L.grid.bottom() + kLabelGap - 1; // rows must not reach the column labels
    if (hl.isValid() && hl.row < rows) {
        const QString t = bfm.elidedText(rowTexts[hl.row], Qt::ElideRight, g.rowW);
        L.rowLabels.push_back({hl.row, t, rowRect(hl.row, bfm.horizontalAdvance(t)), true});
    }
    if (hl.isValid() && hl.column < cols) {
        const QString t = bfm.elidedText(colTexts[hl.column], Qt::ElideRight, g.colW);
        L.columnLabels.push_back(
            {hl.column, t, colRect(hl.column, bfm.horizontalAdvance(t)), true});
    }
    for (int i = 0; i < rows; i += L.rowStep) {
        if (hl.isValid() && i == hl.row) continue;
        const QString t = fm.elidedText(rowTexts[i], Qt::ElideRight, g.rowW);
        const QRectF r = rowRect(i, fm.horizontalAdvance(t));
        if (r.bottom() > rowFloor || r.top() < 0 || intersectsAny(r, L.rowLabels)) continue;
        const bool marked =
            size_t(i) < m_options.markedRows.size() && m_options.markedRows[size_t(i)];
        L.rowLabels.push_back({i, t, r, marked});
    }
    for (int i = 0; i < cols; i += L.columnStep) {
        if (hl.isValid() && i == hl.column) continue;
        const QString t = fm.elidedText(colTexts[i], Qt::ElideRight, g.colW);
        const QRectF r = colRect(i, fm.horizontalAdvance(t));
        if (intersectsAny(r, L.columnLabels)) continue;
        L.columnLabels.push_back({i, t, r, false});
    }
    std::sort(L.rowLabels.begin(), L.rowLabels.end(),
              [](auto& a, auto& b) { return a.index < b.index; });
    std::sort(L.columnLabels.begin(), L.columnLabels.end(),
              [](auto& a, auto& b) { return a.index < b.index; });

    // Axis captions next to the labels, centred on the grid.
    const QString queryCaption = m_options.rowCaption;
    const QString keyCaption = m_options.columnCaption;
    const double qw = cfm.horizontalAdvance(queryCaption), kw = cfm.horizontalAdvance(keyCaption);
    L.rowCaptionRect = QRectF(L.grid.left() - kLabelGap - g.rowW - kCaptionGap - capH,
                              L.grid.center().y() - qw / 2, capH, qw);
    L.columnCaptionRect = QRectF(L.grid.center().x() - kw / 2,
                                 L.grid.bottom() + kLabelGap + g.colW + kCaptionGap, kw, capH);

    L.drawValues = m_options.showCellValues && g.cell >= 30;
    L.valueFont = makeFont(family, std::clamp(int(g.cell * 0.28), 9, 13));
    if (!bar) return L;

    // Colour bar and its ticks (thinned so their texts never overlap).
    L.colorBar = QRectF(L.grid.right() + kBarGap, L.grid.top(), kBarWidth, std::max(gridH, 1.0));
    const double th = kfm.height();
    for (int i = 0; i < int(tickValues.size()); ++i) {
        const double v = tickValues[i];
        const double y = L.colorBar.bottom() - (v - lo) / (hi - lo) * L.colorBar.height();
        const QRectF r(L.colorBar.right() + 6, y - th / 2, kfm.horizontalAdvance(tickTexts[i]), th);
        bool clash = false;
        for (const HeatmapTick& t : L.ticks)
            clash = clash || t.rect.intersects(r);
        if (!clash) L.ticks.push_back({v, y, tickTexts[i], r});
    }
    if (L.ticks.size() > 1 && tickValues.size() > 1 && L.ticks.back().value != tickValues.back()) {
        // Prefer showing the top of the scale over a middle tick.
        const double v = tickValues.back();
        const double y = L.colorBar.top();
        const QRectF r(L.colorBar.right() + 6, y - th / 2, kfm.horizontalAdvance(tickTexts.back()),
                       th);
        while (!L.ticks.empty() && L.ticks.back().rect.intersects(r) && L.ticks.size() > 1)
            L.ticks.pop_back();
        if (L.ticks.empty() || !L.ticks.back().rect.intersects(r))
            L.ticks.push_back({v, y, tickTexts.back(), r});
    }
    if (barLabel) {
        const double lw =
            std::min(cfm.horizontalAdvance(m_options.colorBarLabel), std::max(gridH, 1.0));
        L.colorBarLabel = QRectF(L.colorBar.right() + 6 + tickW + kCaptionGap,
                                 L.colorBar.center().y() - lw / 2, capH, lw);
    }
    return L;
}

HeatmapRenderer::CellColours HeatmapRenderer::cellColours() const {
    return {m_options.colorMap, valueRange(), isMasked(), m_options.chrome.masked.rgb(),
            m_options.greyedTokens};
}

void HeatmapRenderer::dropStaleCells() const {
    CellColours colours = cellColours();
    if (!m_cellsColouredWith || !(*m_cellsColouredWith == colours)) {
        m_cells = QImage();
        m_scaledCells = QImage();
        m_cellsColouredWith = std::move(colours);
    }
}

QImage HeatmapRenderer::cellImage() const {
    dropStaleCells();
    if (m_cells.isNull()) m_cells = colourCells();
    return m_cells;
}

// The colours cellColor() gives, row by row through the colour table (the same colours as
// rgbAt: see ColorLookup), with the masked and greyed tests hoisted out of the cell loop.
QImage HeatmapRenderer::colourCells() const {
    static_assert(Mat::IsRowMajor, "rows are read as contiguous runs");
    const int rows = int(m_matrix.rows()), cols = int(m_matrix.cols());
    QImage image(cols, rows, QImage::Format_RGB32);
    if (image.isNull()) return image;
    const auto [lo, hi] = valueRange();
    const double span = hi - lo;
    const bool masked = isMasked();
    const QRgb maskedRgb = m_options.chrome.masked.rgb();
    const ColorLookup& colour = colorLookup(m_options.colorMap);
    const std::vector<bool>& greyed = m_options.greyedTokens;
    const auto isGreyedToken = [&](int i) {
        return size_t(i) < greyed.size() && greyed[size_t(i)];
    };
    std::vector<char> greyedColumn(size_t(cols), 0); // [cols]
    bool anyGreyedColumn = false;
    for (int c = 0; c < cols; ++c)
        anyGreyedColumn |= (greyedColumn[size_t(c)] = char(isGreyedToken(c))) != 0;
    for (int r = 0; r < rows; ++r) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r));
        const float* values = m_matrix.data() + qsizetype(r) * cols; // row r, [cols]
        const int shown = masked ? std::min(cols, r + 1) : cols;     // cells left of the mask
        for (int c = 0; c < shown; ++c)
            line[c] = colour((double(values[c]) - lo) / span);
        std::fill(line + shown, line + cols, maskedRgb);
        if (isGreyedToken(r)) {
            for (int c = 0; c < shown; ++c)
                line[c] = greyedColor(line[c], maskedRgb);
        } else if (anyGreyedColumn) {
            for (int c = 0; c < shown; ++c)
                if (greyedColumn[size_t(c)]) line[c] = greyedColor(line[c], maskedRgb);
        }
    }
    return image;
}

void HeatmapRenderer::paint(QPainter& painter, const QRectF& target) const {
    painter.save();
    painter.translate(target.topLeft());
    paint(painter, layout(target.size()));
    painter.restore();
}

void HeatmapRenderer::paint(QPainter& painter, const HeatmapLayout& L) const {
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    const ChromePalette& chrome = m_options.chrome;
    painter.fillRect(QRectF(QPointF(0, 0), L.size), chrome.background);
    const QColor textColor = chrome.text;

    if (!L.titleText.isEmpty()) {
        painter.setFont(L.titleFont);
        painter.setPen(textColor);
        painter.drawText(L.titleRect, Qt::AlignHCenter | Qt::AlignBottom, L.titleText);
    }
    if (!L.hasGrid) {
        painter.restore();
        return;
    }

    const int rows = int(m_matrix.rows()), cols = int(m_matrix.cols());
    const double lo = L.rangeMin, span = L.rangeMax - L.rangeMin;
    auto rgb = [&](int r, int c) -> QRgb {
        if (L.masked && c > r) return chrome.masked.rgb();
        const QRgb value = rgbAt(m_options.colorMap, (double(m_matrix(r, c)) - lo) / span);
        return isGreyed(r, c) ? greyedColor(value, chrome.masked.rgb()) : value;
    };
    const bool hatch = L.masked && L.cell >= 6;

    // Cells.
    if (m_options.vectorCells || rows * cols <= kMaxVectorCells) {
        // Vector output: cells overlap their right/bottom neighbour by a hair so that viewers'
        // anti-aliasing shows no seams between them.
        const double seam = m_options.vectorCells ? 0.35 : 0.0;
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                QRectF cr = L.cellRect(r, c);
                if (c + 1 < cols) cr.setRight(cr.right() + seam);
                if (r + 1 < rows) cr.setBottom(cr.bottom() + seam);
                painter.fillRect(cr, QColor::fromRgb(rgb(r, c)));
            }
    } else {
        // Coloured once per matrix and colour options, not per paint (hovering repaints the
        // whole view).
        dropStaleCells();
        if (L.cell < 1.0) {
            // More tokens than pixels: area-average (Qt's smooth downscale) so that no row or
            // column silently disappears, as nearest-neighbour sampling would do. Only the
            // scaled image is kept: a pixel per cell is T² × 4 bytes (64 MB at T = 4096).
            const QSize target(std::max(1, int(std::lround(L.grid.width()))),
                               std::max(1, int(std::lround(L.grid.height()))));
            if (m_scaledCells.size() != target) {
                m_scaledCells =
                    cellImage().scaled(target, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
                m_cells = QImage();
            }
            painter.drawImage(L.grid, m_scaledCells);
        } else {
            painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
            painter.drawImage(L.grid, cellImage());
        }
    }
    if (hatch) {
        // Diagonal lines cut to each row's masked strip by arithmetic, not by clipping:
        // QSvgGenerator does not write clip paths, and a pattern brush per cell is heavy and
        // renders unevenly.
        painter.save();
        painter.setRenderHint(QPainter::Antialiasing, true);
        painter.setPen(QPen(chrome.hatch, 1.0));
        const double k0 = L.grid.left() + L.grid.top();
        for (int r = 0; r + 1 < cols && r < rows; ++r) {
            const QRectF first = L.cellRect(r, r + 1);
            drawHatch(painter, QRectF(first.topLeft(), QPointF(L.grid.right(), first.bottom())),
                      k0);
        }
        painter.restore();
    }
    if (L.drawValues) {
        painter.setFont(L.valueFont);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                if (L.masked && c > r) continue;
                const QRgb bg = rgb(r, c);
                painter.setPen(luminance(bg) > 0.55 ? QColor(0x20, 0x20, 0x20) : QColor(Qt::white));
                const double v = m_matrix(r, c);
                // Values that round to zero read "0.00", never "-0.00" (differences).
                painter.drawText(L.cellRect(r, c), Qt::AlignCenter,
                                 QString::number(std::abs(v) < 0.005 ? 0.0 : v, 'f', 2));
            }
    }
    painter.setPen(QPen(chrome.frame, 0));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(L.grid.adjusted(-1, -1, 0, 0));

    // Highlighted cell: white outer and dark inner frame, visible on any colour.
    const HeatmapCell hl = m_options.highlight;
    if (hl.isValid() && hl.row < rows && hl.column < cols) {
        const QRectF cr = L.cellRect(hl.row, hl.column);
        painter.setPen(QPen(Qt::white, 0));
        painter.drawRect(cr.adjusted(-2, -2, 1, 1));
        painter.setPen(QPen(Qt::black, 0));
        painter.drawRect(cr.adjusted(-1, -1, 0, 0));
    }

    // Labels and ticks marking which cells they name.
    QFont boldFont = L.labelFont;
    boldFont.setBold(true);
    const QColor hlBack = chrome.highlightBack;
    for (const HeatmapLabel& label : L.rowLabels) {
        if (label.highlighted) painter.fillRect(label.rect.adjusted(-2, 0, 2, 0), hlBack);
        painter.setFont(label.highlighted ? boldFont : L.labelFont);
        painter.setPen(textColor);
        painter.drawText(label.rect, Qt::AlignRight | Qt::AlignVCenter, label.text);
        if (L.rowStep > 1) {
            const double y = L.grid.top() + (label.index + 0.5) * L.cell;
            painter.setPen(QPen(chrome.frame, 0));
            painter.drawLine(QPointF(L.grid.left() - 4, y), QPointF(L.grid.left() - 2, y));
        }
    }
    for (const HeatmapLabel& label : L.columnLabels) {
        if (label.highlighted) painter.fillRect(label.rect.adjusted(0, -2, 0, 2), hlBack);
        painter.save();
        painter.translate(label.rect.center());
        painter.rotate(-90);
        painter.setFont(label.highlighted ? boldFont : L.labelFont);
        painter.setPen(textColor);
        const QRectF local(-label.rect.height() / 2, -label.rect.width() / 2, label.rect.height(),
                           label.rect.width());
        painter.drawText(local, Qt::AlignRight | Qt::AlignVCenter, label.text);
        painter.restore();
        if (L.columnStep > 1) {
            const double x = L.grid.left() + (label.index + 0.5) * L.cell;
            painter.setPen(QPen(chrome.frame, 0));
            painter.drawLine(QPointF(x, L.grid.bottom() + 1), QPointF(x, L.grid.bottom() + 3));
        }
    }

    // Axis captions.
    painter.setFont(L.captionFont);
    painter.setPen(chrome.muted);
    {
        painter.save();
        painter.translate(L.rowCaptionRect.center());
        painter.rotate(-90);
        const QRectF local(-L.rowCaptionRect.height() / 2, -L.rowCaptionRect.width() / 2,
                           L.rowCaptionRect.height(), L.rowCaptionRect.width());
        painter.drawText(local, Qt::AlignCenter, m_options.rowCaption);
        painter.restore();
    }
    painter.drawText(L.columnCaptionRect, Qt::AlignCenter, m_options.columnCaption);

    if (L.colorBar.isEmpty()) {
        painter.restore();
        return;
    }
    if (!L.colorBarLabel.isEmpty()) { // read bottom to top, like the row caption
        painter.save();
        painter.setFont(L.captionFont);
        painter.setPen(textColor);
        painter.translate(L.colorBarLabel.center());
        painter.rotate(-90);
        const QRectF local(-L.colorBarLabel.height() / 2, -L.colorBarLabel.width() / 2,
                           L.colorBarLabel.height(), L.colorBarLabel.width());
        painter.drawText(local, Qt::AlignCenter,
                         QFontMetricsF(L.captionFont)
                             .elidedText(m_options.colorBarLabel, Qt::ElideRight, local.width()));
        painter.restore();
    }
    // Colour bar.
    // Stacked bands rather than a gradient: identical on screen, PNG, SVG and PDF viewers.
    const int bands = std::clamp(int(L.colorBar.height()), 1, 128);
    for (int i = 0; i < bands; ++i) {
        const double y0 = L.colorBar.bottom() - L.colorBar.height() * (i + 1) / bands;
        const double y1 = L.colorBar.bottom() - L.colorBar.height() * i / bands;
        painter.fillRect(QRectF(L.colorBar.left(), y0, L.colorBar.width(),
                                y1 - y0 + (i + 1 < bands ? 0.5 : 0.0)),
                         colorAt(m_options.colorMap, (i + 0.5) / bands));
    }
    painter.setPen(QPen(chrome.frame, 0));
    painter.drawRect(L.colorBar.adjusted(-1, -1, 0, 0));
    painter.setFont(L.tickFont);
    for (const HeatmapTick& tick : L.ticks) {
        painter.setPen(QPen(chrome.frame, 0));
        painter.drawLine(QPointF(L.colorBar.right(), tick.y),
                         QPointF(L.colorBar.right() + 3, tick.y));
        painter.setPen(textColor);
        painter.drawText(tick.rect, Qt::AlignLeft | Qt::AlignVCenter, tick.text);
    }
    if (L.masked) {
        const QFontMetricsF kfm(L.tickFont);
        const QRectF swatch(L.colorBar.left(), L.colorBar.bottom() + 10, kBarWidth,
                            kfm.height() - 2);
        if (swatch.bottom() < L.size.height()) {
            painter.fillRect(swatch, chrome.masked);
            painter.save();
            painter.setRenderHint(QPainter::Antialiasing, true);
            painter.setPen(QPen(chrome.hatch, 1.0));
            drawHatch(painter, swatch, swatch.left() + swatch.top());
            painter.restore();
            painter.setPen(QPen(chrome.frame, 0));
            painter.drawRect(swatch.adjusted(-1, -1, 0, 0));
            painter.setPen(textColor);
            painter.drawText(
                QRectF(swatch.right() + 4, swatch.top() - 1, L.size.width(), kfm.height()),
                Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("masked"));
        }
    }
    painter.restore();
}

} // namespace attnscope
