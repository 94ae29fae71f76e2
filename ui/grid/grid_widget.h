#pragma once
// The all-heads grid on screen: GridView is a scroll area around GridCanvas. Tiles fit the
// width until the user zooms (Ctrl+wheel, Ctrl+plus/minus, or zoomIn()/zoomOut()); a click or
// Enter selects a head, the arrow keys move through the grid.
#include "grid_renderer.h"

#include <QScrollArea>
#include <QWidget>
#include <atomic>
#include <memory>

class QLabel;

namespace attnscope {

class GridCanvas : public QWidget {
    Q_OBJECT
public:
    explicit GridCanvas(QWidget* parent = nullptr);
    GridRenderer& renderer() { return m_renderer; }
    const GridRenderer& renderer() const { return m_renderer; }
    void relayout(); // after the renderer's content or tile size changed
    QSize sizeHint() const override;
    double lastPaintMs() const { return m_lastPaintMs; }
    int paintCount() const { return m_paintCount; }

signals:
    void headClicked(int layer, int head);
    void headHovered(int layer, int head); // (-1, -1) when none

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    GridRenderer m_renderer;
    double m_lastPaintMs = 0;
    int m_paintCount = 0;
};

class GridView : public QScrollArea {
    Q_OBJECT
public:
    explicit GridView(QWidget* parent = nullptr);
    GridCanvas* canvas() const { return m_canvas; }
    void setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state);
    void zoomIn();
    void zoomOut();
    void fitToWidth();
    bool isFitting() const { return m_fit; }
    // A fixed tile size in pixels (as after zooming); fitToWidth() goes back to fitting.
    void setZoom(double tilePixels);
    double tilePixels() const { return m_canvas->renderer().tileSize(); }
    void setTileStatistic(TileStatistic statistic);
    TileStatistic tileStatistic() const { return m_statistic; }
    // Background tiles (lazy heads): whether some are still being computed.
    bool isComputingTiles() const { return m_tilesPending; }
    ~GridView() override;

signals:
    void headClicked(int layer, int head);
    // Background tiles: after each layer's tiles arrived (done = tiles ready so far).
    void tilesProgress(int done, int total);

protected:
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void setTile(double tile);
    // Colours every head's tile on a pool thread, layer by layer (heads in parallel), each
    // layer handed to the renderer as it is done; a newer analysis or colouring cancels it.
    void startBackgroundTiles(const ViewState& state);
    void cancelBackgroundTiles();
    void placeTilesLabel(); // the progress label at the visible area's bottom left
    std::shared_ptr<std::atomic<bool>> m_tilesCancel;
    bool m_tilesPending = false;
    std::pair<const Analysis*, quint64> m_tilesFor{}; // what the background tiles colour
    QLabel* m_tilesLabel = nullptr;
    GridCanvas* m_canvas = nullptr;
    bool m_fit = true;
    TileStatistic m_statistic = TileStatistic::None;
    std::shared_ptr<const Analysis> m_analysis;
    std::shared_ptr<const Analysis> m_framesFor; // the analysis the frame values belong to
    int m_selectedLayer = 0, m_selectedHead = 0;
};

} // namespace attnscope
