#include "grid_renderer.h"

#include "analyses/head_statistics.h"

#include <QFontMetricsF>
#include <QPaintEngine>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {
namespace {

constexpr double kMargin = 8.0;
constexpr double kLabelPixelSize = 12.0;

QFont labelFont() {
    QFont f;
    f.setPixelSize(int(kLabelPixelSize));
    return f;
}

double headerWidth(const QFontMetricsF& fm, int layers) {
    return std::ceil(fm.horizontalAdvance(QStringLiteral("L%1").arg(std::max(0, layers - 1)))) + 8;
}

} // namespace

QStringList tileStatisticNames() {
    return {QStringLiteral("No frames"),   QStringLiteral("Previous token"),
            QStringLiteral("First token"), QStringLiteral("Confidence"),
            QStringLiteral("Focus"),       QStringLiteral("Same token"),
            QStringLiteral("Next token"),  QStringLiteral("Special tokens"),
            QStringLiteral("Punctuation"), QStringLiteral("Attention distance")};
}

std::vector<double> tileStatisticValues(const Analysis& analysis, TileStatistic statistic) {
    if (statistic == TileStatistic::None) return {};
    const std::vector<HeadStatistics> stats = headStatistics(analysis);
    std::vector<double> values;
    values.reserve(stats.size());
    const double logT = std::log(std::max(2, analysis.tokenCount()));
    double farthest = 0; // Distance is shown relative to the head that looks farthest
    for (const HeadStatistics& s : stats)
        farthest = std::max(farthest, s.meanDistance);
    for (const HeadStatistics& s : stats) {
        double v = 0;
        switch (statistic) {
        case TileStatistic::PreviousToken:
            v = s.previousToken;
            break;
        case TileStatistic::FirstToken:
            v = s.firstToken;
            break;
        case TileStatistic::Confidence:
            v = s.confidence;
            break;
        case TileStatistic::Focus:
            v = 1.0 - s.entropy / logT;
            break;
        case TileStatistic::SameToken:
            v = s.sameToken;
            break;
        case TileStatistic::NextToken:
            v = s.nextToken;
            break;
        case TileStatistic::SpecialTokens:
            v = s.specialTokens;
            break;
        case TileStatistic::Punctuation:
            v = s.punctuation;
            break;
        case TileStatistic::Distance:
            v = farthest > 0 ? s.meanDistance / farthest : 0.0;
            break;
        case TileStatistic::None:
            break;
        }
        values.push_back(std::clamp(v, 0.0, 1.0));
    }
    return values;
}

double GridRenderer::frameValue(int layer, int head) const {
    const size_t i = size_t(layer) * size_t(m_heads) + size_t(head);
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads || i >= m_frameValues.size())
        return -1;
    return m_frameValues[i];
}

QRectF GridLayout::tileRect(int layer, int head) const {
    return QRectF(tiles.left() + head * (tile + gap), tiles.top() + layer * (tile + gap), tile,
                  tile);
}

std::pair<int, int> GridLayout::tileAt(QPointF p) const {
    if (tile <= 0 || !tiles.contains(p)) return {-1, -1};
    const int head = int((p.x() - tiles.left()) / (tile + gap));
    const int layer = int((p.y() - tiles.top()) / (tile + gap));
    if (layer < 0 || head < 0 || layer >= layers || head >= heads) return {-1, -1};
    if (!tileRect(layer, head).contains(p)) return {-1, -1}; // in a gap
    return {layer, head};
}

// Rows [0, R) of every head are unchanged when the new analysis reused the first R tokens of
// the old one (a causal model: those rows attend only to those tokens), unless colours depend
// on the whole matrix (auto range) or on renormalised rows (hidden special tokens).
static int reusableRows(const Analysis* before, const Analysis& after, const ViewState& state) {
    const int rows = after.reusedTokens;
    if (!before || rows <= 0 || state.autoRange ||
        state.specialTokens == SpecialTokenMode::HideRenormalise ||
        before->producedBy != after.producedBy || before->tokenCount() < rows ||
        before->layerCount() != after.layerCount() || before->headCount() != after.headCount())
        return 0;
    for (int i = 0; i < rows; ++i)
        if (before->encoding.ids[size_t(i)] != after.encoding.ids[size_t(i)]) return 0;
    return rows;
}

void GridRenderer::setAnalysis(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    const quint64 key = qHashMulti(0, int(state.colorMap), state.autoRange,
                                   int(state.specialTokens), state.dark, state.print);
    if (analysis == m_analysis && key == m_colourKey) return;
    // A later snapshot of the same pass (or its final analysis, when that also colours in the
    // background): the layers the last one had are the same bits, so their tiles stay.
    std::vector<QImage> carried;
    if (analysis && m_analysis && key == m_colourKey && m_analysis->isPartial() &&
        analysis->passId != 0 && analysis->passId == m_analysis->passId &&
        analysis->hasLazyAttention() && analysis->layerCount() == m_layers &&
        analysis->headCount() == m_heads) {
        carried = std::move(m_thumbnails);
        carried.resize(size_t(m_analysis->layersReady()) * size_t(m_heads));
    }
    m_reusableRows =
        analysis && key == m_colourKey ? reusableRows(m_analysis.get(), *analysis, state) : 0;
    m_previousThumbnails.clear();
    if (m_reusableRows > 0) m_previousThumbnails = std::move(m_thumbnails);
    m_analysis = std::move(analysis);
    m_colourKey = key;
    m_thumbnails.clear();
    m_scaled.clear();
    m_scaledPixels = 0;
    m_layers = m_analysis ? m_analysis->layerCount() : 0;
    m_heads = m_analysis ? m_analysis->headCount() : 0;
    if (!m_analysis || m_analysis->tokenCount() == 0) {
        m_layers = m_heads = 0;
        m_previousThumbnails.clear();
        return;
    }
    m_state = state;
    m_thumbnails.assign(size_t(m_layers) * size_t(m_heads), QImage());
    m_backgroundTiles = m_analysis->hasLazyAttention();
    if (m_backgroundTiles) m_previousThumbnails.clear(), m_reusableRows = 0;
    for (size_t i = 0; i < carried.size() && i < m_thumbnails.size(); ++i)
        m_thumbnails[i] = std::move(carried[i]);
}

bool GridRenderer::hasLayerThumbnails(int layer) const {
    if (layer < 0 || layer >= m_layers) return false;
    for (int h = 0; h < m_heads; ++h)
        if (m_thumbnails[size_t(layer) * size_t(m_heads) + size_t(h)].isNull()) return false;
    return true;
}

void GridRenderer::setThumbnail(int layer, int head, QImage image) {
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads) return;
    const size_t i = size_t(layer) * size_t(m_heads) + size_t(head);
    m_thumbnails[i] = std::move(image);
    if (i < m_scaled.size()) m_scaled[i] = QImage();
    ++m_builds;
}

int GridRenderer::readyThumbnails() const {
    return int(std::count_if(m_thumbnails.begin(), m_thumbnails.end(),
                             [](const QImage& i) { return !i.isNull(); }));
}

QImage GridRenderer::colourTile(const Analysis& analysis, const ViewState& state, int layer,
                                int head, int maxCells) {
    const auto full = analysis.streamedAttention(layer, head); // [T, T]
    ViewMatrix m = shapeMatrix(analysis, state, *full, headTitle(layer, head));
    HeatmapOptions o = state.heatmapOptions();
    if (m.size() > maxCells)
        m.values = maxPool(m.values, maxCells); // [maxCells, maxCells]
    else
        o.greyedTokens = m.greyed;
    HeatmapRenderer colours;
    colours.setOptions(o);
    colours.setMatrix(m.values);
    const int n = int(m.values.rows());
    QImage image(n, n, QImage::Format_RGB32);
    for (int r = 0; r < n; ++r) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r));
        for (int c = 0; c < n; ++c)
            line[c] = colours.cellColor(r, c);
    }
    return image;
}

QImage GridRenderer::colourThumbnail(int layer, int head) const {
    // The heatmap's own colouring rules (range, masked triangle, greyed special tokens).
    const ViewMatrix m = headMatrix(*m_analysis, m_state, layer, head);
    HeatmapRenderer colours;
    HeatmapOptions o = m_state.heatmapOptions();
    o.greyedTokens = m.greyed;
    colours.setOptions(o);
    colours.setMatrix(m.values);
    const int n = m.size();
    QImage image(n, n, QImage::Format_RGB32);
    const size_t index = size_t(layer) * size_t(m_heads) + size_t(head);
    const QImage* before =
        index < m_previousThumbnails.size() ? &m_previousThumbnails[index] : nullptr;
    // Reused rows keep their first m_reusableRows cells (the rest of such a row is the masked
    // future, and the greyed columns may have changed only there).
    const int keep = before && !before->isNull() && m.greyed.empty()
                         ? std::min({m_reusableRows, n, before->width(), before->height()})
                         : 0;
    for (int r = 0; r < n; ++r) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r));
        int c = 0;
        if (r < keep) {
            const auto* old = reinterpret_cast<const QRgb*>(before->constScanLine(r));
            std::copy(old, old + keep, line);
            c = keep;
        }
        for (; c < n; ++c)
            line[c] = colours.cellColor(r, c);
    }
    return image;
}

const QImage& GridRenderer::thumbnail(int layer, int head) const {
    static const QImage none;
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads) return none;
    QImage& image = m_thumbnails[size_t(layer) * size_t(m_heads) + size_t(head)];
    if (image.isNull() && !m_backgroundTiles) {
        image = colourThumbnail(layer, head);
        ++m_builds;
    }
    return image;
}

void GridRenderer::colourThumbnails(const std::vector<std::pair<int, int>>& heads) const {
    if (m_backgroundTiles) return; // GridView colours them off the GUI thread
    std::vector<std::pair<int, int>> missing;
    for (const auto& [l, h] : heads)
        if (m_thumbnails[size_t(l) * size_t(m_heads) + size_t(h)].isNull())
            missing.emplace_back(l, h);
            // Heads are independent: colour them on every core (the model's worker is idle by now).
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < int(missing.size()); ++i) {
        const auto [l, h] = missing[size_t(i)];
        m_thumbnails[size_t(l) * size_t(m_heads) + size_t(h)] = colourThumbnail(l, h);
    }
    m_builds += int(missing.size());
}

const QImage& GridRenderer::scaledThumbnail(int layer, int head, int pixels) const {
    if (pixels != m_scaledPixels) {
        m_scaled.assign(m_thumbnails.size(), QImage());
        m_scaledPixels = pixels;
    }
    QImage& scaled = m_scaled[size_t(layer) * size_t(m_heads) + size_t(head)];
    if (scaled.isNull()) {
        const QImage& source = thumbnail(layer, head);
        if (source.isNull()) return source; // a background tile not computed yet
        // Enlarging keeps cells sharp; shrinking averages so no row or column vanishes.
        scaled = source.scaled(pixels, pixels, Qt::IgnoreAspectRatio,
                               pixels >= source.width() ? Qt::FastTransformation
                                                        : Qt::SmoothTransformation);
    }
    return scaled;
}

QSizeF GridRenderer::preferredSize() const {
    const QFontMetricsF fm(labelFont());
    const double gap = std::clamp(m_tileSize * 0.08, 2.0, 6.0);
    return {std::ceil(2 * kMargin + headerWidth(fm, m_layers) + m_heads * (m_tileSize + gap)),
            std::ceil(2 * kMargin + fm.height() + 4 + m_layers * (m_tileSize + gap))};
}

GridLayout GridRenderer::layout(QSizeF size) const {
    GridLayout L;
    L.size = size;
    L.labelFont = labelFont();
    L.layers = m_layers;
    L.heads = m_heads;
    L.tile = m_tileSize;
    L.gap = std::clamp(m_tileSize * 0.08, 2.0, 6.0);
    const QFontMetricsF fm(L.labelFont);
    const double left = kMargin + headerWidth(fm, m_layers);
    const double top = kMargin + fm.height() + 4;
    L.tiles = QRectF(left, top, m_heads * (L.tile + L.gap), m_layers * (L.tile + L.gap));
    const double widest =
        fm.horizontalAdvance(QStringLiteral("H%1").arg(std::max(0, m_heads - 1))) + 4;
    while (L.labelStep * (L.tile + L.gap) < widest && L.labelStep < std::max(1, m_heads))
        L.labelStep *= 2;
    return L;
}

void GridRenderer::paint(QPainter& painter, const QRectF& target) const {
    painter.save();
    painter.translate(target.topLeft());
    paint(painter, layout(target.size()));
    painter.restore();
}

void GridRenderer::paint(QPainter& painter, const GridLayout& L, const QRectF& exposed) const {
    painter.save();
    const QRectF all(QPointF(0, 0), L.size);
    const QRectF area = exposed.isEmpty() ? all : exposed;
    painter.fillRect(area, m_chrome.background);
    if (m_thumbnails.empty()) {
        painter.restore();
        return;
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.setFont(L.labelFont);
    const QFontMetricsF fm(L.labelFont);
    // Device pixels per tile, so tiles stay crisp at device pixel ratio 2.
    const double dpr = painter.device() ? painter.device()->devicePixelRatioF() : 1.0;
    const int pixels = std::max(1, int(std::lround(L.tile * dpr)));
    const bool bitmapTarget =
        painter.paintEngine() && (painter.paintEngine()->type() == QPaintEngine::Raster ||
                                  painter.paintEngine()->type() == QPaintEngine::OpenGL2);
    std::vector<std::pair<int, int>> visible;
    for (int l = 0; l < L.layers; ++l)
        for (int h = 0; h < L.heads; ++h)
            if (L.tileRect(l, h).adjusted(-3, -3, 3, 3).intersects(area))
                visible.emplace_back(l, h);
    colourThumbnails(visible);
    for (int l = 0; l < L.layers; ++l) {
        const QRectF rowBand(0, L.tileRect(l, 0).top() - 3, L.size.width(), L.tile + 6);
        if (!rowBand.intersects(area)) continue;
        painter.setPen(m_chrome.text);
        painter.drawText(
            QRectF(kMargin, L.tileRect(l, 0).top(), L.tiles.left() - kMargin - 6, L.tile),
            Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("L%1").arg(l));
        for (int h = 0; h < L.heads; ++h) {
            const QRectF r = L.tileRect(l, h);
            if (!r.adjusted(-3, -3, 3, 3).intersects(area)) continue;
            const bool checked = m_checked.layers() == 0 || m_checked.isChecked(l, h);
            painter.setOpacity(checked ? 1.0 : 0.3); // unchecked heads fade, still visible
            if (thumbnail(l, h).isNull()) {          // a background tile on its way: an empty frame
                painter.setPen(QPen(m_chrome.frame, 1, Qt::DashLine));
                painter.setBrush(Qt::NoBrush);
                painter.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5));
            } else if (bitmapTarget)
                painter.drawImage(r, scaledThumbnail(l, h, pixels));
            else
                painter.drawImage(r, thumbnail(l, h)); // vector output: the exact cells
            painter.setOpacity(1.0);
            if (const double v = frameValue(l, h); v >= 0) {
                // Vermillion (Okabe–Ito) on light and dark alike, as opaque as the statistic.
                QColor frame(0xD5, 0x5E, 0x00);
                frame.setAlphaF(float(v));
                const double w = std::clamp(L.gap * 0.8, 1.5, 4.0);
                painter.setPen(QPen(frame, w));
                painter.setBrush(Qt::NoBrush);
                painter.drawRect(r.adjusted(-w / 2, -w / 2, w / 2, w / 2));
            }
        }
    }
    painter.setPen(m_chrome.text);
    for (int h = 0; h < L.heads; h += L.labelStep) {
        const QRectF r = L.tileRect(0, h);
        const double w = fm.horizontalAdvance(QStringLiteral("H%1").arg(h)) + 4;
        painter.drawText(QRectF(r.center().x() - w / 2, kMargin, w, fm.height()), Qt::AlignCenter,
                         QStringLiteral("H%1").arg(h));
    }
    if (m_selectedLayer >= 0 && m_selectedLayer < L.layers && m_selectedHead >= 0 &&
        m_selectedHead < L.heads) {
        const QRectF r = L.tileRect(m_selectedLayer, m_selectedHead);
        painter.setBrush(Qt::NoBrush);
        painter.setPen(QPen(m_chrome.background, 1));
        painter.drawRect(r.adjusted(-1, -1, 0, 0));
        painter.setPen(QPen(m_chrome.text, 2));
        painter.drawRect(r.adjusted(-2.5, -2.5, 1.5, 1.5));
    }
    painter.restore();
}

} // namespace attnscope
