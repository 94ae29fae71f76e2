#include "grid_widget.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPointer>
#include <QScrollBar>
#include <QThreadPool>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace attnscope {

namespace {
constexpr double kMinTile = 12, kMaxTile = 240;
}

GridCanvas::GridCanvas(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void GridCanvas::relayout() {
    const QSizeF s = m_renderer.preferredSize();
    setFixedSize(std::max(1, int(std::ceil(s.width()))), std::max(1, int(std::ceil(s.height()))));
    update();
}

QSize GridCanvas::sizeHint() const {
    return m_renderer.preferredSize().toSize();
}

void GridCanvas::paintEvent(QPaintEvent* event) {
    QElapsedTimer timer;
    timer.start();
    QPainter painter(this);
    m_renderer.paint(painter, m_renderer.layout(QSizeF(size())), QRectF(event->rect()));
    m_lastPaintMs = double(timer.nsecsElapsed()) / 1e6;
    ++m_paintCount;
}

void GridCanvas::mousePressEvent(QMouseEvent* event) {
    const auto [layer, head] = m_renderer.layout(QSizeF(size())).tileAt(event->position());
    if (layer >= 0) emit headClicked(layer, head);
    QWidget::mousePressEvent(event);
}

void GridCanvas::mouseMoveEvent(QMouseEvent* event) {
    const auto [layer, head] = m_renderer.layout(QSizeF(size())).tileAt(event->position());
    emit headHovered(layer, head);
    if (layer >= 0) {
        QString text = tr("Layer %1 · Head %2 (click to select)").arg(layer).arg(head);
        if (const double v = m_renderer.frameValue(layer, head); v >= 0)
            text += tr("\n%1: %2").arg(m_renderer.frameName()).arg(v, 0, 'f', 2);
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
    } else
        QToolTip::hideText();
    QWidget::mouseMoveEvent(event);
}

GridView::GridView(QWidget* parent) : QScrollArea(parent) {
    m_canvas = new GridCanvas;
    m_canvas->setObjectName(QStringLiteral("gridCanvas"));
    setWidget(m_canvas);
    setWidgetResizable(false);
    setAlignment(Qt::AlignLeft | Qt::AlignTop);
    setFocusPolicy(Qt::StrongFocus);
    connect(m_canvas, &GridCanvas::headClicked, this, [this](int layer, int head) {
        m_selectedLayer = layer;
        m_selectedHead = head;
        emit headClicked(layer, head);
    });
}

void GridView::setTileStatistic(TileStatistic statistic) {
    m_statistic = statistic;
    GridRenderer& r = m_canvas->renderer();
    const QString name = tileStatisticNames().value(int(statistic)).toLower();
    m_framesFor = m_analysis;
    if (m_analysis && m_analysis->isPartial()) { // statistics of every head: once it is final
        r.setFrameValues({}, name);
        m_canvas->update();
        return;
    }
    if (m_analysis && m_analysis->hasLazyAttention() && statistic != TileStatistic::None) {
        // Every head computed once, streaming: on a pool thread, not the GUI's.
        r.setFrameValues({}, name);
        QPointer<GridView> self(this);
        QThreadPool::globalInstance()->start([self, analysis = m_analysis, statistic, name] {
            auto values = tileStatisticValues(*analysis, statistic);
            QMetaObject::invokeMethod(
                qApp,
                [self, analysis, statistic, name, values = std::move(values)]() mutable {
                    if (!self || self->m_analysis != analysis || self->m_statistic != statistic)
                        return;
                    self->m_canvas->renderer().setFrameValues(std::move(values), name);
                    self->m_canvas->update();
                },
                Qt::QueuedConnection);
        });
        m_canvas->update();
        return;
    }
    r.setFrameValues(
        m_analysis ? tileStatisticValues(*m_analysis, statistic) : std::vector<double>(), name);
    m_canvas->update();
}

GridView::~GridView() {
    cancelBackgroundTiles();
}

void GridView::cancelBackgroundTiles() {
    if (m_tilesCancel) m_tilesCancel->store(true);
    m_tilesCancel.reset();
    m_tilesPending = false;
    if (m_tilesLabel) m_tilesLabel->hide();
}

void GridView::startBackgroundTiles(const ViewState& state) {
    cancelBackgroundTiles();
    const GridRenderer& r = m_canvas->renderer();
    const int layers = r.layers(), heads = r.heads();
    if (layers == 0 || heads == 0) return;
    if (!m_tilesLabel) {
        m_tilesLabel = new QLabel(this);
        m_tilesLabel->setObjectName(QStringLiteral("gridTilesProgress"));
        m_tilesLabel->setAutoFillBackground(true);
        m_tilesLabel->setMargin(4);
    }
    // Layers of a running pass's snapshot: only the ready ones, and not those whose tiles an
    // earlier snapshot of the pass already coloured.
    const int ready = m_analysis->layersReady();
    std::vector<char> needed(size_t(layers), 0);
    for (int l = 0; l < ready; ++l)
        needed[size_t(l)] = !r.hasLayerThumbnails(l);
    const int lastNeeded =
        int(std::find(needed.rbegin(), needed.rend(), 1).base() - needed.begin()) - 1;
    const QString pass = m_analysis->isPartial()
                             ? tr("Layers computed: %1 of %2 · ").arg(ready).arg(layers)
                             : QString();
    if (lastNeeded < 0) { // nothing to colour until the next layer arrives
        m_tilesLabel->setText(
            pass + tr("tiles: %1 of %2 heads").arg(r.readyThumbnails()).arg(layers * heads));
        placeTilesLabel();
        m_tilesLabel->setVisible(m_analysis->isPartial());
        m_tilesLabel->raise();
        return;
    }
    m_tilesLabel->setText(pass + tr("Computing tiles of %1 heads…").arg(layers * heads));
    placeTilesLabel();
    m_tilesLabel->show();
    m_tilesLabel->raise();
    m_tilesPending = true;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_tilesCancel = cancel;
    QPointer<GridView> self(this);
    QThreadPool::globalInstance()->start([self, cancel, analysis = m_analysis, state, heads, needed,
                                          lastNeeded, pass, cells = r.maxTileCells()] {
        for (int l = 0; l <= lastNeeded && !cancel->load(); ++l) {
            if (!needed[size_t(l)]) continue;
            auto tiles = std::make_shared<std::vector<QImage>>(size_t(heads));
            // Heads in parallel: each holds one [T, T] head (computed, not cached) at a time.
#pragma omp parallel for schedule(dynamic)
            for (int h = 0; h < heads; ++h)
                if (!cancel->load())
                    (*tiles)[size_t(h)] = GridRenderer::colourTile(*analysis, state, l, h, cells);
            if (cancel->load()) return;
            QMetaObject::invokeMethod(
                qApp,
                [self, cancel, l, tiles, pass, last = l == lastNeeded] {
                    if (!self || cancel->load()) return;
                    GridRenderer& r = self->m_canvas->renderer();
                    for (int h = 0; h < int(tiles->size()); ++h)
                        r.setThumbnail(l, h, std::move((*tiles)[size_t(h)]));
                    const int done = r.readyThumbnails(), total = r.layers() * r.heads();
                    self->m_tilesLabel->setText(
                        pass + tr("Computing tiles: %1 of %2 heads…").arg(done).arg(total));
                    self->placeTilesLabel();
                    if (last) {
                        self->m_tilesPending = false;
                        // A running pass's snapshot keeps saying how far the pass is.
                        if (pass.isEmpty())
                            self->m_tilesLabel->hide();
                        else
                            self->m_tilesLabel->setText(
                                pass + tr("tiles: %1 of %2 heads").arg(done).arg(total));
                        self->placeTilesLabel();
                    }
                    self->m_canvas->update();
                    emit self->tilesProgress(done, total);
                },
                Qt::QueuedConnection);
        }
    });
}

void GridView::setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    GridRenderer& r = m_canvas->renderer();
    const int layers = r.layers(), heads = r.heads();
    m_analysis = analysis;
    r.setAnalysis(std::move(analysis), state);
    // setAnalysis() keeps the tiles when neither the analysis nor its colours changed.
    const std::pair<const Analysis*, quint64> tilesFor{m_analysis.get(), r.colourKey()};
    if (!r.usesBackgroundTiles()) {
        cancelBackgroundTiles();
        m_tilesFor = {};
    } else if (tilesFor != m_tilesFor) {
        m_tilesFor = tilesFor;
        startBackgroundTiles(state);
    }
    if (m_analysis != m_framesFor) setTileStatistic(m_statistic);
    r.setSelected(state.layer, state.head);
    r.setChecked(state.checked);
    r.setChrome(state.chrome());
    // The area around the canvas matches the tiles' background (light or dark).
    QPalette palette = viewport()->palette();
    palette.setColor(QPalette::Window, state.chrome().background);
    viewport()->setPalette(palette);
    viewport()->setAutoFillBackground(true);
    m_selectedLayer = state.layer;
    m_selectedHead = state.head;
    if (m_fit && (layers != r.layers() || heads != r.heads()))
        fitToWidth();
    else
        m_canvas->relayout();
}

void GridView::setTile(double tile) {
    m_canvas->renderer().setTileSize(std::clamp(std::round(tile), kMinTile, kMaxTile));
    m_canvas->relayout();
}

void GridView::fitToWidth() {
    m_fit = true;
    const int heads = std::max(1, m_canvas->renderer().heads());
    const double available = viewport()->width() - 60.0;
    setTile(std::clamp(available / heads * 0.93, 24.0, 120.0));
}

void GridView::zoomIn() {
    m_fit = false;
    setTile(m_canvas->renderer().tileSize() * 1.25);
}

void GridView::setZoom(double tilePixels) {
    m_fit = false;
    setTile(tilePixels);
}

void GridView::zoomOut() {
    m_fit = false;
    setTile(m_canvas->renderer().tileSize() / 1.25);
}

void GridView::resizeEvent(QResizeEvent* event) {
    QScrollArea::resizeEvent(event);
    if (m_fit) fitToWidth();
    if (m_tilesLabel) placeTilesLabel();
}

// Bottom left of the visible area: layers arrive top down, so the rows under the label are the
// ones still being computed, and the layer and head headers stay readable.
void GridView::placeTilesLabel() {
    m_tilesLabel->adjustSize();
    const QRect area = viewport()->geometry();
    m_tilesLabel->move(area.left() + 8,
                       std::max(area.top() + 8, area.bottom() - m_tilesLabel->height() - 8));
}

void GridView::wheelEvent(QWheelEvent* event) {
    if (event->modifiers() & Qt::ControlModifier) {
        if (event->angleDelta().y() > 0)
            zoomIn();
        else if (event->angleDelta().y() < 0)
            zoomOut();
        event->accept();
        return;
    }
    QScrollArea::wheelEvent(event);
}

void GridView::keyPressEvent(QKeyEvent* event) {
    const GridRenderer& r = m_canvas->renderer();
    int layer = m_selectedLayer, head = m_selectedHead;
    const bool ctrl = event->modifiers() & Qt::ControlModifier;
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        if (ctrl) return zoomIn();
        break;
    case Qt::Key_Minus:
        if (ctrl) return zoomOut();
        break;
    case Qt::Key_0:
        if (ctrl) return fitToWidth();
        break;
    case Qt::Key_Left:
        head = std::max(0, head - 1);
        break;
    case Qt::Key_Right:
        head = std::min(r.heads() - 1, head + 1);
        break;
    case Qt::Key_Up:
        layer = std::max(0, layer - 1);
        break;
    case Qt::Key_Down:
        layer = std::min(r.layers() - 1, layer + 1);
        break;
    default:
        break;
    }
    if (layer != m_selectedLayer || head != m_selectedHead) {
        m_selectedLayer = layer;
        m_selectedHead = head;
        emit headClicked(layer, head);
        const QRectF t = r.layout(QSizeF(m_canvas->size())).tileRect(layer, head);
        ensureVisible(int(t.center().x()), int(t.center().y()), int(t.width()), int(t.height()));
        event->accept();
        return;
    }
    QScrollArea::keyPressEvent(event);
}

} // namespace attnscope
