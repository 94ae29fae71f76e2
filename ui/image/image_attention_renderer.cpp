#include "image_attention_renderer.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnscope {

std::vector<bool> topMassMask(const std::vector<float>& weights, double mass) {
    std::vector<bool> kept(weights.size(), true);
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    if (mass >= 1.0 || weights.empty() || !(total > 0)) return kept;
    std::vector<int> order(weights.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return weights[size_t(a)] < weights[size_t(b)]; });
    double cumulative = 0;
    for (int i : order) {
        cumulative += weights[size_t(i)] / total;
        kept[size_t(i)] = cumulative > 1.0 - mass;
    }
    return kept;
}

void ImageAttentionRenderer::setPicture(const QImage& picture, const QRectF& region) {
    m_picture = picture;
    m_region = region.isValid() ? region : QRectF(picture.rect());
}

void ImageAttentionRenderer::setWeights(std::vector<float> weights) {
    m_weights = std::move(weights);
    m_max = m_weights.empty() ? 0.f : *std::max_element(m_weights.begin(), m_weights.end());
    m_kept = topMassMask(m_weights, m_options.topMass);
}

void ImageAttentionRenderer::setOptions(const ImageOverlayOptions& options) {
    m_options = options;
    m_kept = topMassMask(m_weights, m_options.topMass);
}

namespace {

constexpr double kBarWidth = 14;

double titleHeight(const QFontMetricsF& fm) {
    return fm.height() * 1.8;
}

double barSpace(const QFontMetricsF& fm) {
    return kBarWidth + 12 + fm.horizontalAdvance(QStringLiteral("0.000")) + 12;
}

} // namespace

QRectF ImageAttentionRenderer::pictureRect(const QRectF& area) const {
    const QFontMetricsF fm(m_font);
    const double top = m_title.isEmpty() ? 4 : titleHeight(fm);
    const double right = m_weights.empty() ? 4 : barSpace(fm);
    QRectF room = area.adjusted(8, top, -right, -8);
    if (room.width() <= 1 || room.height() <= 1 || !m_layout.isValid()) return QRectF();
    const double aspect = double(m_layout.inputWidth) / m_layout.inputHeight;
    QSizeF size(room.width(), room.width() / aspect);
    if (size.height() > room.height()) size = QSizeF(room.height() * aspect, room.height());
    return QRectF(room.left() + (room.width() - size.width()) / 2, room.top(), size.width(),
                  size.height());
}

QRectF ImageAttentionRenderer::patchRect(const QRectF& picture, int patch) const {
    if (patch < 0 || patch >= m_layout.patches()) return QRectF();
    const double sx = picture.width() / m_layout.inputWidth;
    const double sy = picture.height() / m_layout.inputHeight;
    const int p = m_layout.patchSize;
    const int row = patch / m_layout.columns, column = patch % m_layout.columns;
    return QRectF(picture.left() + column * p * sx, picture.top() + row * p * sy, p * sx, p * sy);
}

int ImageAttentionRenderer::patchAt(const QRectF& picture, QPointF pos) const {
    if (!m_layout.isValid() || picture.isEmpty()) return -1;
    const double x = (pos.x() - picture.left()) / picture.width() * m_layout.inputWidth;
    const double y = (pos.y() - picture.top()) / picture.height() * m_layout.inputHeight;
    const int column = int(std::floor(x / m_layout.patchSize));
    const int row = int(std::floor(y / m_layout.patchSize));
    if (x < 0 || y < 0 || column >= m_layout.columns || row >= m_layout.rows) return -1;
    return row * m_layout.columns + column;
}

double ImageAttentionRenderer::colourValue(int patch) const {
    if (patch < 0 || size_t(patch) >= m_weights.size() || !m_kept[size_t(patch)]) return -1;
    return m_max > 0 ? double(m_weights[size_t(patch)]) / m_max : 0.0;
}

void ImageAttentionRenderer::paintPicture(QPainter& painter, const QRectF& target) const {
    if (target.isEmpty()) return;
    painter.save();
    // Upscaled pictures show their real pixels (a 28 x 28 input stays crisp); photos shrink
    // smoothly.
    const bool upscaling = target.width() > m_region.width();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, !upscaling);
    if (!m_picture.isNull())
        painter.drawImage(target, m_picture, m_region);
    else
        painter.fillRect(target, Qt::gray);
    const int n = m_layout.patches();
    const bool overlay = !m_weights.empty() && int(m_weights.size()) == n;
    const QRectF patchesArea =
        overlay ? patchRect(target, 0).united(patchRect(target, n - 1)) : QRectF();
    if (overlay && m_options.smooth) {
        // Bilinear between patch centres, computed here so that every output (screen, PNG, SVG,
        // PDF) shows the same pixels.
        QImage map(m_layout.columns, m_layout.rows, QImage::Format_ARGB32);
        for (int i = 0; i < n; ++i) {
            const double v = colourValue(i);
            const QColor c = v < 0 ? QColor(0, 0, 0, 0) : colorAt(m_options.colorMap, v);
            map.setPixelColor(i % m_layout.columns, i / m_layout.columns,
                              v < 0 ? QColor(0, 0, 0, int(255 * 0.5))
                                    : QColor(c.red(), c.green(), c.blue(), 255));
        }
        const QSize pixels = (patchesArea.size() * painter.device()->devicePixelRatioF())
                                 .toSize()
                                 .boundedTo(QSize(1200, 1200))
                                 .expandedTo(QSize(1, 1));
        const QImage scaled = map.scaled(pixels, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        painter.setOpacity(m_options.opacity);
        painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
        painter.drawImage(patchesArea, scaled);
        painter.setOpacity(1.0);
    } else if (overlay) {
        for (int i = 0; i < n; ++i) {
            const double v = colourValue(i);
            const QRectF r = patchRect(target, i);
            if (v < 0) { // below the top-mass threshold: dimmed, no colour
                painter.fillRect(r, QColor(0, 0, 0, int(255 * 0.5 * m_options.opacity)));
                continue;
            }
            QColor c = colorAt(m_options.colorMap, v);
            c.setAlphaF(float(m_options.opacity));
            painter.fillRect(r, c);
        }
    }
    if (m_options.showGrid && m_layout.isValid()) {
        QPen pen(QColor(255, 255, 255, 110), 0); // cosmetic: one pixel at any zoom
        painter.setPen(pen);
        const QRectF all = patchRect(target, 0).united(patchRect(target, n - 1));
        for (int c = 0; c <= m_layout.columns; ++c) {
            const double x = all.left() + all.width() * c / m_layout.columns;
            painter.drawLine(QPointF(x, all.top()), QPointF(x, all.bottom()));
        }
        for (int r = 0; r <= m_layout.rows; ++r) {
            const double y = all.top() + all.height() * r / m_layout.rows;
            painter.drawLine(QPointF(all.left(), y), QPointF(all.right(), y));
        }
    }
    painter.setBrush(Qt::NoBrush);
    if (m_hoveredPatch >= 0 && m_hoveredPatch != m_queryPatch) {
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1.5));
        painter.drawRect(patchRect(target, m_hoveredPatch));
    }
    if (m_queryPatch >= 0) { // black and white, visible on any picture and colour
        const QRectF r = patchRect(target, m_queryPatch);
        painter.setPen(QPen(Qt::black, 3));
        painter.drawRect(r);
        painter.setPen(QPen(Qt::white, 1.5));
        painter.drawRect(r);
    }
    painter.restore();
}

void ImageAttentionRenderer::paint(QPainter& painter, const QRectF& area) const {
    ChromePalette chrome =
        m_options.print ? ChromePalette::forPrint() : ChromePalette::forTheme(m_options.dark);
    if (m_options.transparent) chrome.background = Qt::transparent;
    painter.save();
    painter.fillRect(area, chrome.background);
    painter.setFont(m_font);
    const QFontMetricsF fm(m_font);
    if (!m_title.isEmpty()) {
        painter.setPen(chrome.text);
        painter.drawText(QRectF(area.left() + 8, area.top(), area.width() - 16, titleHeight(fm)),
                         Qt::AlignLeft | Qt::AlignVCenter,
                         fm.elidedText(m_title, Qt::ElideRight, area.width() - 16));
    }
    const QRectF picture = pictureRect(area);
    paintPicture(painter, picture);
    if (!m_weights.empty() && !picture.isEmpty()) {
        // Colour bar: 0 at the bottom, the row's largest weight at the top.
        const QRectF bar(picture.right() + 12, picture.top(), kBarWidth, picture.height());
        const int steps = std::max(2, int(bar.height()));
        for (int i = 0; i < steps; ++i) {
            const double t = 1.0 - double(i) / (steps - 1);
            painter.fillRect(QRectF(bar.left(), bar.top() + bar.height() * i / steps, bar.width(),
                                    bar.height() / steps + 0.5),
                             colorAt(m_options.colorMap, t));
        }
        painter.setPen(chrome.frame);
        painter.drawRect(bar);
        painter.setPen(chrome.text);
        const double x = bar.right() + 6;
        painter.drawText(QPointF(x, bar.top() + fm.ascent()), QString::number(m_max, 'f', 3));
        painter.drawText(QPointF(x, bar.bottom()), QStringLiteral("0"));
    }
    painter.restore();
}

} // namespace attnscope
