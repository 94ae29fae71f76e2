#pragma once
// All heads at a glance (the "model view"): a grid of layers (rows) × heads (columns), each tile
// a small heatmap of that head, painted onto a caller's QPainter. A head's picture is coloured
// once per analysis, the first time its tile is painted (tiles scrolled out of view cost
// nothing), into a QImage with one pixel per cell; each tile size's scaled copy is cached too,
// so repainting (scrolling, hovering, selecting) only copies pixels.
#include "view_state.h"

#include <QFont>
#include <QImage>
#include <QRectF>
#include <vector>

class QPainter;

namespace attnscope {

// A head statistic a tile's frame can show (core/analyses/head_statistics.h), as a value in
// [0, 1]: the frame's opacity.
enum class TileStatistic {
    None,
    PreviousToken, // mean attention to the previous token
    FirstToken,    // mean attention to the first token (BOS / [CLS] sinks)
    Confidence,    // mean row maximum
    Focus,         // 1 − mean row entropy / log(T): 1 = every row on one key
    SameToken,     // mean attention to the token itself
    NextToken,     // mean attention to the next token
    SpecialTokens, // mean attention to special tokens ([CLS], [SEP], BOS …)
    Punctuation,   // mean attention to punctuation tokens
    Distance,      // mean attention distance, relative to the farthest-looking head
};
QStringList tileStatisticNames(); // in enum order, for menus
// One value per head, layer-major; empty for None or an analysis under 2 tokens.
std::vector<double> tileStatisticValues(const Analysis& analysis, TileStatistic statistic);

struct GridLayout {
    QSizeF size;
    QFont labelFont;
    double tile = 0; // tile side
    double gap = 0;  // between tiles
    QRectF tiles;    // area of all tiles
    int layers = 0, heads = 0;
    int labelStep = 1; // every labelStep-th header label is written
    QRectF tileRect(int layer, int head) const;
    // (layer, head) under the point, or (-1, -1).
    std::pair<int, int> tileAt(QPointF point) const;
};

class GridRenderer {
public:
    // Takes the analysis and the state's colour map, range and special-token treatment; heads
    // are coloured when first painted. Calling it again with the same analysis and colours keeps
    // every thumbnail.
    void setAnalysis(std::shared_ptr<const Analysis> analysis, const ViewState& state);
    void setSelected(int layer, int head) { m_selectedLayer = layer, m_selectedHead = head; }
    void setChecked(const HeadSelection& checked) { m_checked = checked; }
    void setChrome(const ChromePalette& chrome) { m_chrome = chrome; }
    void setTileSize(double tile) { m_tileSize = tile; }
    // Frame opacity per head (layer-major, [0, 1]); empty = no frames.
    void setFrameValues(std::vector<double> values, const QString& name = {}) {
        m_frameValues = std::move(values);
        m_frameName = name;
    }
    const QString& frameName() const { return m_frameName; }
    double frameValue(int layer, int head) const; // -1 without frames
    double tileSize() const { return m_tileSize; }
    quint64 colourKey() const { return m_colourKey; }

    int layers() const { return m_layers; }
    int heads() const { return m_heads; }
    bool isEmpty() const { return m_thumbnails.empty(); }
    // One pixel per (query, key) cell, as coloured for the tile. With background tiles, a null
    // image until setThumbnail() delivers it.
    const QImage& thumbnail(int layer, int head) const;

    // Analyses with lazy heads (core/lazy_heads.h) are not coloured on paint, which would
    // compute every visible head on the GUI thread: GridView colours them in the background
    // with colourTile() and hands them over here; tiles not there yet are drawn empty.
    bool usesBackgroundTiles() const { return m_backgroundTiles; }
    void setThumbnail(int layer, int head, QImage image);
    int readyThumbnails() const;
    // Whether every head of `layer` has its tile (kept from an earlier snapshot of the pass).
    bool hasLayerThumbnails(int layer) const;
    // Largest side of a background tile: longer inputs are max-pooled to it.
    static constexpr int kMaxTileCells = 256;
    void setMaxTileCells(int cells) { m_maxTileCells = std::max(1, cells); }
    int maxTileCells() const { return m_maxTileCells; }
    // A head's tile, thread-safe: the heatmap's colours of headMatrix(), its cells max-pooled
    // to maxCells when the input is longer (greying then left out). Reads lazy heads without
    // caching them, so tiles of every head pass through memory one at a time.
    static QImage colourTile(const Analysis& analysis, const ViewState& state, int layer, int head,
                             int maxCells = kMaxTileCells);
    int thumbnailBuilds() const { return m_builds; }  // heads coloured so far (all analyses)
    int reusedRows() const { return m_reusableRows; } // rows kept from the previous analysis

    QSizeF preferredSize() const; // every tile at tileSize()
    GridLayout layout(QSizeF size) const;
    // exposed: the part of the target to repaint (empty = all); tiles outside it are skipped.
    void paint(QPainter& painter, const GridLayout& layout, const QRectF& exposed = {}) const;
    void paint(QPainter& painter, const QRectF& target) const;

private:
    const QImage& scaledThumbnail(int layer, int head, int pixels) const;
    QImage colourThumbnail(int layer, int head) const;
    void colourThumbnails(const std::vector<std::pair<int, int>>& heads) const; // in parallel

    std::shared_ptr<const Analysis> m_analysis;
    quint64 m_colourKey = 0; // hash of the colouring inputs of the current thumbnails
    int m_layers = 0, m_heads = 0;
    bool m_backgroundTiles = false;
    int m_maxTileCells = kMaxTileCells;
    ViewState m_state;                        // colouring inputs
    mutable std::vector<QImage> m_thumbnails; // [layer * heads + head]; null until painted
    // After an edit at the end of a causal model's text, the previous analysis's thumbnails:
    // their first m_reusableRows rows are still exact (those attention rows were reused).
    std::vector<QImage> m_previousThumbnails;
    int m_reusableRows = 0;
    mutable std::vector<QImage> m_scaled;
    mutable int m_scaledPixels = 0;
    mutable int m_builds = 0;
    HeadSelection m_checked;
    int m_selectedLayer = -1, m_selectedHead = -1;
    ChromePalette m_chrome;
    double m_tileSize = 56;
    std::vector<double> m_frameValues;
    QString m_frameName;
};

} // namespace attnscope
