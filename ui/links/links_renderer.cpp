#include "links_renderer.h"

#include "heatmap_renderer.h"

#include <QFontMetricsF>
#include <QImage>
#include <QPaintEngine>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnscope {
namespace {

constexpr double kMargin = 10.0;
constexpr double kLabelPadding = 6.0; // between a label and its line ends
constexpr double kLabelPixelSize = 13.0;
constexpr double kRowFactor = 1.45; // row distance in label line heights when there is room

QFont makeFont(const QString& family, double pixelSize, bool bold = false) {
    QFont font;
    if (!family.isEmpty()) font.setFamily(family);
    font.setPixelSize(std::max(1, int(std::lround(pixelSize))));
    font.setBold(bold);
    return font;
}

} // namespace

void LinksRenderer::drawLine(QImage& image, QPointF a, QPointF b, const QColor& color,
                             double width) {
    // Along the major axis one step per pixel; across it, the span the line covers there
    // (width / cos of the angle), each pixel weighted by its overlap with the span.
    const bool steep = std::abs(b.y() - a.y()) > std::abs(b.x() - a.x());
    if (steep) {
        a = QPointF(a.y(), a.x());
        b = QPointF(b.y(), b.x());
    }
    if (a.x() > b.x()) std::swap(a, b);
    const double dx = b.x() - a.x(), dy = b.y() - a.y();
    const double slope = dx > 0 ? dy / dx : 0.0;
    const double half = width / 2.0 * std::sqrt(1.0 + slope * slope);
    const int majorSize = steep ? image.height() : image.width();
    const int minorSize = steep ? image.width() : image.height();
    const int first = std::max(0, int(std::floor(a.x()))),
              last = std::min(majorSize - 1, int(std::ceil(b.x())));
    // Straight-alpha colour, blended into premultiplied pixels with integer arithmetic.
    const int red = color.red(), green = color.green(), blue = color.blue();
    const double alpha = color.alphaF();
    uchar* bits = image.bits();
    const qsizetype stride = image.bytesPerLine();
    for (int m = first; m <= last; ++m) {
        const double centre = a.y() + slope * (m + 0.5 - a.x());
        const double lo = centre - half, hi = centre + half;
        const int from = std::max(0, int(std::floor(lo))), to = std::min(minorSize - 1, int(hi));
        for (int k = from; k <= to; ++k) {
            const double coverage = std::min(hi, k + 1.0) - std::max(lo, double(k));
            const int s = int(alpha * std::min(1.0, coverage) * 255.0 + 0.5);
            if (s <= 0) continue;
            QRgb& pixel = steep ? reinterpret_cast<QRgb*>(bits + qsizetype(m) * stride)[k]
                                : reinterpret_cast<QRgb*>(bits + qsizetype(k) * stride)[m];
            const QRgb d = pixel;
            const int keep = 255 - s;
            pixel = qRgba(
                (red * s + qRed(d) * keep + 127) / 255, (green * s + qGreen(d) * keep + 127) / 255,
                (blue * s + qBlue(d) * keep + 127) / 255, (255 * s + qAlpha(d) * keep + 127) / 255);
        }
    }
}

LinkWeights LinkWeights::above(const Mat& dense, double floor) {
    LinkWeights out;
    out.m_size = int(std::min(dense.rows(), dense.cols()));
    out.m_floor = floor;
    // Counted first, so the links are allocated once at their size (no doubling, no copy).
    size_t links = 0;
    for (int q = 0; q < out.m_size; ++q)
        for (int k = 0; k < out.m_size; ++k)
            links += dense(q, k) > floor;
    out.m_keys.reserve(links);
    out.m_weights.reserve(links);
    out.m_rowStart.reserve(size_t(out.m_size) + 1);
    for (int q = 0; q < out.m_size; ++q) {
        for (int k = 0; k < out.m_size; ++k) {
            const float v = dense(q, k);
            if (v > floor) {
                out.m_keys.push_back(k);
                out.m_weights.push_back(v);
            }
        }
        out.m_rowStart.push_back(out.m_keys.size());
    }
    return out;
}

QRectF LinksLayout::queryLabelRect(int i) const {
    const double h = labelHeight > 0 ? labelHeight : QFontMetricsF(boldFont).height();
    return QRectF(queryRight - labelWidth, rowY(i) - h / 2, labelWidth, h);
}

QRectF LinksLayout::keyLabelRect(int i) const {
    const double h = labelHeight > 0 ? labelHeight : QFontMetricsF(boldFont).height();
    return QRectF(keyLeft, rowY(i) - h / 2, labelWidth, h);
}

int LinksLayout::tokenAt(QPointF p, LinkSide* side) const {
    if (!hasRows || rowHeight <= 0 || texts.empty()) return -1;
    const int i = int(std::lround((p.y() - top) / rowHeight));
    if (i < 0 || i >= int(texts.size())) return -1;
    if (std::abs(p.y() - rowY(i)) > std::max(rowHeight / 2, 1.0)) return -1;
    const double middle = (queryRight + keyLeft) / 2;
    if (p.x() < queryRight - labelWidth - kLabelPadding ||
        p.x() > keyLeft + labelWidth + kLabelPadding)
        return -1;
    if (side) *side = p.x() < middle ? LinkSide::Query : LinkSide::Key;
    return i;
}

void LinksRenderer::setTokens(const QStringList& labels, const std::vector<bool>& greyed) {
    if (labels != m_labels) m_labelCache = {};
    m_lineLayer.reset();
    m_labels = labels;
    m_greyed = greyed;
    if (m_focus >= m_labels.size()) m_focus = -1;
}

void LinksRenderer::setHeads(std::vector<LinkHead> heads) {
    m_heads = std::move(heads);
    m_lineLayer.reset();
}

const LinksRenderer::LabelCache& LinksRenderer::labelCache(const QFontMetricsF& bold,
                                                           double labelWidth) const {
    LabelCache& c = m_labelCache;
    if (c.escaped.size() != size_t(m_labels.size())) {
        c = {};
        c.escaped.reserve(size_t(m_labels.size()));
        for (const QString& label : m_labels)
            c.escaped.push_back(HeatmapRenderer::escapeLabel(label));
    }
    if (c.widestBold < 0) {
        c.widestBold = 0;
        for (const QString& text : c.escaped)
            c.widestBold = std::max(c.widestBold, bold.horizontalAdvance(text));
    }
    if (labelWidth >= 0 && labelWidth != c.elidedWidth) {
        c.elided.clear();
        c.elided.reserve(c.escaped.size());
        for (const QString& text : c.escaped)
            c.elided.push_back(bold.elidedText(text, Qt::ElideRight, labelWidth));
        c.elidedWidth = labelWidth;
    }
    return c;
}

void LinksRenderer::setFocus(int token, LinkSide side) {
    m_focus = token >= 0 && token < m_labels.size() ? token : -1;
    m_focusSide = side;
}

double LinksRenderer::preferredHeight() const {
    const QFontMetricsF fm(makeFont(m_fontFamily, kLabelPixelSize, true));
    const QFontMetricsF tfm(makeFont(m_fontFamily, 15, true));
    const double header = tfm.height() * 2 + 16; // title + one legend line
    return std::ceil(header + kMargin * 2 +
                     std::max<qsizetype>(1, m_labels.size()) * std::ceil(fm.height() * kRowFactor));
}

LinksLayout LinksRenderer::layout(QSizeF size) const {
    LinksLayout L;
    L.size = size;
    L.titleFont = makeFont(m_fontFamily, 15, true);
    L.legendFont = makeFont(m_fontFamily, 12);
    L.labelFont = makeFont(m_fontFamily, kLabelPixelSize);
    L.boldFont = makeFont(m_fontFamily, kLabelPixelSize, true);
    const QFontMetricsF tfm(L.titleFont), lfm(L.legendFont), fm(L.labelFont), bfm(L.boldFont);
    double y = kMargin;
    if (!m_title.isEmpty()) {
        L.titleText = tfm.elidedText(m_title, Qt::ElideRight, size.width() - 2 * kMargin);
        L.titleRect = QRectF(kMargin, y, size.width() - 2 * kMargin, tfm.height());
        y += tfm.height() + 4;
    }
    // Legend: one swatch and name per head, wrapped onto as many lines as needed.
    if (m_heads.size() > 1 || (m_heads.size() == 1 && !m_heads[0].name.isEmpty())) {
        double x = kMargin;
        const double h = lfm.height();
        for (int i = 0; i < int(m_heads.size()); ++i) {
            const double w = h + 4 + lfm.horizontalAdvance(m_heads[size_t(i)].name) + 12;
            if (x + w > size.width() - kMargin && x > kMargin) {
                x = kMargin;
                y += h + 2;
            }
            L.legend.push_back({QRectF(x, y, w - 12, h), i});
            x += w;
        }
        y += h + 8;
    }
    const int n = int(m_labels.size());
    if (n == 0) return L;

    // Label columns: as wide as the widest label, at most a quarter of the width each.
    const double widest = labelCache(bfm, -1).widestBold;
    L.labelWidth = std::ceil(std::min(widest + 2, std::max(40.0, size.width() * 0.25)));
    const double lineGap = std::clamp(size.width() * 0.3, 60.0, 420.0);
    const double total = 2 * L.labelWidth + 2 * kLabelPadding + lineGap;
    const double left = std::max(kMargin, (size.width() - total) / 2);
    L.queryRight = left + L.labelWidth;
    L.keyLeft = L.queryRight + 2 * kLabelPadding + lineGap;

    const double available = size.height() - y - kMargin;
    const double lineH = std::ceil(bfm.height());
    const double wanted = std::ceil(fm.height() * kRowFactor);
    L.rowHeight = n > 1 ? std::min(wanted, std::max(0.0, (available - lineH) / (n - 1))) : wanted;
    if (L.rowHeight <= 0 && n > 1) return L;
    L.hasRows = true;
    L.top = y + lineH / 2;
    L.labelStep = 1;
    while (L.labelStep * L.rowHeight < lineH && L.labelStep < n)
        L.labelStep *= 2;
    L.texts = labelCache(bfm, L.labelWidth).elided;
    L.labelHeight = bfm.height();
    return L;
}

template <typename Draw> void LinksRenderer::forEachVisibleLine(Draw&& draw) const {
    // In head, query, key order (the order lines are drawn in, so overlaps blend the same way).
    const int n = int(m_labels.size());
    for (int h = 0; h < int(m_heads.size()); ++h) {
        const LinkWeights& w = m_heads[size_t(h)].links;
        const int rows = std::min(n, w.size());
        int first = 0, last = rows; // the queries to read
        if (m_focus >= 0 && m_focusSide == LinkSide::Query) {
            first = std::min(m_focus, rows);
            last = std::min(m_focus + 1, rows);
        }
        for (int q = first; q < last; ++q) {
            const std::span<const int> keys = w.keys(q);
            const std::span<const float> weights = w.weights(q);
            for (size_t i = 0; i < keys.size() && keys[i] < n; ++i) {
                if (!(weights[i] > m_threshold)) continue;
                if (m_focus >= 0 && m_focusSide == LinkSide::Key && keys[i] != m_focus) continue;
                draw(LinkLine{q, keys[i], h, weights[i]});
            }
        }
    }
}

std::vector<LinkLine> LinksRenderer::visibleLinks() const {
    std::vector<LinkLine> lines;
    forEachVisibleLine([&](const LinkLine& line) { lines.push_back(line); });
    return lines;
}

double LinksRenderer::keptFloor() const {
    double floor = -std::numeric_limits<double>::infinity();
    for (const LinkHead& head : m_heads)
        floor = std::max(floor, head.links.floor());
    return floor;
}

size_t LinksRenderer::keptLinkCount() const {
    size_t links = 0;
    for (const LinkHead& head : m_heads)
        links += head.links.linkCount();
    return links;
}

size_t LinksRenderer::keptBytes() const {
    size_t bytes = 0;
    for (const LinkHead& head : m_heads)
        bytes += head.links.storedBytes();
    return bytes;
}

void LinksRenderer::paint(QPainter& painter, const QRectF& target) const {
    painter.save();
    painter.translate(target.topLeft());
    paint(painter, layout(target.size()));
    painter.restore();
}

void LinksRenderer::paint(QPainter& painter, const LinksLayout& L) const {
    painter.save();
    painter.fillRect(QRectF(QPointF(0, 0), L.size), m_chrome.background);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    if (!L.titleText.isEmpty()) {
        painter.setFont(L.titleFont);
        painter.setPen(m_chrome.text);
        painter.drawText(L.titleRect, Qt::AlignLeft | Qt::AlignVCenter, L.titleText);
    }
    painter.setFont(L.legendFont);
    for (const auto& [box, head] : L.legend) {
        const QRectF swatch(box.left(), box.top() + 2, box.height() - 4, box.height() - 4);
        painter.fillRect(swatch, m_heads[size_t(head)].color);
        painter.setPen(m_chrome.text);
        painter.drawText(QRectF(swatch.right() + 4, box.top(), box.width(), box.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, m_heads[size_t(head)].name);
    }
    if (!L.hasRows) {
        painter.restore();
        return;
    }

    // Lines first, so that labels sit on top; opacity = weight (at least faintly visible).
    const double x0 = L.queryRight + kLabelPadding, x1 = L.keyLeft - kLabelPadding;
    const double width = std::clamp(L.rowHeight * 0.16, 1.0, 3.0);
    auto lineColor = [&](const LinkLine& line) {
        QColor c = m_heads[size_t(line.head)].color;
        c.setAlphaF(float(std::clamp(0.08 + 0.92 * double(line.weight), 0.0, 1.0)));
        return c;
    };
    if (painter.paintEngine() && painter.paintEngine()->type() == QPaintEngine::Raster) {
        // Pixels (screen, PNG): QPainter strokes each anti-aliased line at tens of microseconds,
        // seconds for the thousands of lines of a long text with many heads; the lines are
        // rasterised here instead, into a layer covering only the visible part of the line band.
        QRectF band(x0 - width, 0, x1 - x0 + 2 * width, L.size.height());
        if (painter.hasClipping()) band &= painter.clipBoundingRect();
        const double dpr = painter.device() ? painter.device()->devicePixelRatioF() : 1.0;
        const QSize pixels(int(std::ceil(band.width() * dpr)), int(std::ceil(band.height() * dpr)));
        if (!band.isEmpty() && pixels.width() > 0 && pixels.height() > 0) {
            const std::array<double, 11> key{band.left(),
                                             band.top(),
                                             band.width(),
                                             band.height(),
                                             dpr,
                                             width,
                                             x0,
                                             x1,
                                             L.top,
                                             L.rowHeight,
                                             double(m_focus) * 2 +
                                                 double(m_focusSide == LinkSide::Key)};
            if (!m_lineLayer || m_lineLayer->key != key) {
                QImage layer(pixels, QImage::Format_ARGB32_Premultiplied);
                layer.fill(Qt::transparent);
                forEachVisibleLine([&](const LinkLine& line) {
                    const double ya = L.rowY(line.query), yb = L.rowY(line.key);
                    if (std::max(ya, yb) < band.top() - width ||
                        std::min(ya, yb) > band.bottom() + width)
                        return;
                    drawLine(layer, (QPointF(x0, ya) - band.topLeft()) * dpr,
                             (QPointF(x1, yb) - band.topLeft()) * dpr, lineColor(line),
                             width * dpr);
                });
                layer.setDevicePixelRatio(dpr);
                m_lineLayer = LineLayer{key, std::move(layer)};
            }
            painter.drawImage(band.topLeft(), m_lineLayer->image);
        }
    } else {
        // Vector output (SVG, PDF): real lines, drawn by the viewer.
        painter.setRenderHint(QPainter::Antialiasing, true);
        forEachVisibleLine([&](const LinkLine& line) {
            painter.setPen(QPen(lineColor(line), width, Qt::SolidLine, Qt::RoundCap));
            painter.drawLine(QPointF(x0, L.rowY(line.query)), QPointF(x1, L.rowY(line.key)));
        });
        painter.setRenderHint(QPainter::Antialiasing, false);
    }

    // Labels: the focused one bold on a highlight, the others dimmed while a token is focused.
    // Only those that reach the painter's clip (a scrolled widget paints a window of rows).
    const int n = int(L.texts.size());
    const bool clipped = painter.hasClipping();
    const QRectF clip = clipped ? painter.clipBoundingRect().adjusted(-4, -4, 4, 4) : QRectF();
    for (int i = 0; i < n; ++i) {
        const bool greyed = size_t(i) < m_greyed.size() && m_greyed[size_t(i)];
        for (LinkSide side : {LinkSide::Query, LinkSide::Key}) {
            const bool focused = m_focus == i && m_focusSide == side;
            if (!focused && i % L.labelStep != 0) continue;
            const QRectF r = side == LinkSide::Query ? L.queryLabelRect(i) : L.keyLabelRect(i);
            if (clipped && !clip.intersects(r.adjusted(-3, 0, 3, 0))) continue;
            if (focused) painter.fillRect(r.adjusted(-3, 0, 3, 0), m_chrome.highlightBack);
            QColor pen = m_chrome.text;
            if (greyed || (m_focus >= 0 && !focused)) pen = m_chrome.muted;
            painter.setPen(pen);
            painter.setFont(focused ? L.boldFont : L.labelFont);
            painter.drawText(
                r, (side == LinkSide::Query ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter,
                L.texts[size_t(i)]);
        }
    }
    painter.restore();
}

} // namespace attnscope
