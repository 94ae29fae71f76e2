#pragma once
// Token links (BertViz's "head view"), painted onto a caller's QPainter: query tokens in a column
// on the left, key tokens on the right, a line from each query to each key whose opacity is the
// attention weight. Several heads at once, one colour per head (Okabe–Ito). A focused token shows
// only its own lines and dims the other labels; lines at or below the threshold are not drawn.
// Rows are at least one text line apart, so labels never overlap; when the target is too short
// for that, only every k-th label is written (all lines are still drawn).
#include "colormap.h"
#include "tensor.h"

#include <QColor>
#include <QFont>
#include <QImage>
#include <QRectF>
#include <QStringList>
#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <vector>

class QFontMetricsF;
class QPainter;

namespace attnscope {

// One head's links as the view keeps them: only the weights above a floor, row by row
// (compressed rows), never the dense [n, n] head: a layer's 32 heads at T = 4 096 are 2 GB dense.
// Lines are drawn for weight > threshold, so links kept above `floor` draw exactly what the dense
// head draws at every threshold >= floor; the weights are the head's own floats.
class LinkWeights {
public:
    LinkWeights() = default;
    // Every weight of `dense` ([n, n], row = query, column = key) above `floor` (a floor of
    // -infinity keeps all n * n, which is the dense head in this form).
    static LinkWeights above(const Mat& dense, double floor);

    int size() const { return m_size; } // n
    double floor() const { return m_floor; }
    size_t linkCount() const { return m_keys.size(); }
    size_t storedBytes() const {
        return m_rowStart.size() * sizeof(size_t) + m_keys.size() * (sizeof(int) + sizeof(float));
    }
    // Query row q's kept links, keys ascending; weights()[i] belongs to keys()[i].
    std::span<const int> keys(int query) const {
        return {m_keys.data() + m_rowStart[size_t(query)], rowLength(query)};
    }
    std::span<const float> weights(int query) const {
        return {m_weights.data() + m_rowStart[size_t(query)], rowLength(query)};
    }
    friend bool operator==(const LinkWeights&, const LinkWeights&) = default;

private:
    size_t rowLength(int query) const {
        return m_rowStart[size_t(query) + 1] - m_rowStart[size_t(query)];
    }
    int m_size = 0;
    double m_floor = 0;
    std::vector<size_t> m_rowStart{0}; // [n + 1]: row q's links are [rowStart[q], rowStart[q + 1])
    std::vector<int> m_keys;           // [links]
    std::vector<float> m_weights;      // [links]
};

// The floor the links view keeps heads at for a threshold: the threshold, but at most
// kLinksKeptFloor, so lowering the threshold in the spin box's steps down to that floor redraws
// from what is kept instead of recomputing every head. Rows of attention sum to 1, so a head
// keeps fewer than 1 / floor links per query: 49 at most at 0.02 (about 52 MB for 32 heads at
// T = 4 096, against 2 GB dense); only a threshold below the floor rebuilds from the heads.
constexpr double kLinksKeptFloor = 0.02;
inline double linksKeptFloor(double threshold) {
    return std::min(threshold, kLinksKeptFloor);
}

struct LinkHead {
    LinkWeights links; // the links above a floor; [n, n] over the shown tokens, row = query
    QColor color;
    QString name; // legend text, e.g. "L0 H3"
};

struct LinkLine {
    int query = 0;
    int key = 0;
    int head = 0; // index into the renderer's heads
    float weight = 0;
    friend bool operator==(const LinkLine&, const LinkLine&) = default;
};

enum class LinkSide { Query, Key };

struct LinksLayout {
    QSizeF size;
    QFont labelFont, boldFont, titleFont, legendFont;
    QRectF titleRect;
    QString titleText;
    std::vector<std::pair<QRectF, int>> legend; // swatch+text box, head index
    double top = 0;                             // y of the first row's centre
    double rowHeight = 0;                       // distance between row centres
    double queryRight = 0, keyLeft = 0;         // inner edges of the two label columns
    double labelWidth = 0;
    int labelStep = 1;          // every labelStep-th label is written
    std::vector<QString> texts; // elided label per token
    double labelHeight = 0;     // the bold label font's line height
    bool hasRows = false;

    double rowY(int i) const { return top + i * rowHeight; }
    QRectF queryLabelRect(int i) const;
    QRectF keyLabelRect(int i) const;
    // Token under the point (either label column, or the line area's nearest row end), or -1.
    int tokenAt(QPointF point, LinkSide* side) const;
};

class LinksRenderer {
public:
    void setTokens(const QStringList& labels, const std::vector<bool>& greyed = {});
    void setHeads(std::vector<LinkHead> heads);
    void setTitle(const QString& title) { m_title = title; }
    // Below keptFloor() the lines between the threshold and the floor are missing: the owner
    // rebuilds the heads at a lower floor (MainWindow does, off the GUI thread when needed).
    void setThreshold(double threshold) {
        if (threshold != m_threshold) m_lineLayer.reset();
        m_threshold = threshold;
    }
    // -1 = no focus: every line above the threshold is drawn.
    void setFocus(int token, LinkSide side = LinkSide::Query);
    void setChrome(const ChromePalette& chrome) {
        m_chrome = chrome;
        m_lineLayer.reset();
    }
    const ChromePalette& chrome() const { return m_chrome; }
    void setFontFamily(const QString& family) {
        if (family != m_fontFamily) m_labelCache = {};
        m_fontFamily = family;
    }

    int tokenCount() const { return int(m_labels.size()); }
    const std::vector<LinkHead>& heads() const { return m_heads; }
    double threshold() const { return m_threshold; }
    // The lowest threshold drawn exactly from the kept links (the highest floor of the heads).
    double keptFloor() const;
    size_t keptLinkCount() const;
    size_t keptBytes() const; // the heads' links, what the view keeps instead of [n, n] each
    int focusToken() const { return m_focus; }
    LinkSide focusSide() const { return m_focusSide; }
    const QString& title() const { return m_title; }
    bool isEmpty() const { return m_labels.isEmpty() || m_heads.empty(); }

    // Height at which every row gets a full line of text (for scrolling widgets and export).
    double preferredHeight() const;
    LinksLayout layout(QSizeF size) const;
    // The lines paint() draws, from the same test: weight > threshold, and touching the focused
    // token when there is one.
    std::vector<LinkLine> visibleLinks() const;
    void paint(QPainter& painter, const LinksLayout& layout) const;
    void paint(QPainter& painter, const QRectF& target) const;

    // An anti-aliased line of `width` pixels blended into a premultiplied ARGB32 image (how
    // paint() draws lines on pixel targets; QPainter's stroker is far slower per line).
    static void drawLine(QImage& image, QPointF a, QPointF b, const QColor& color, double width);

private:
    // Kept between paints (a long text's widget repaints on every hover, and used to measure
    // and elide every label each time): the labels escaped, their widest bold advance and their
    // elided texts for the last label width. Paint one instance from one thread at a time
    // (copies are independent).
    struct LabelCache {
        std::vector<QString> escaped;
        double widestBold = -1;
        double elidedWidth = -1;
        std::vector<QString> elided;
    };
    const LabelCache& labelCache(const QFontMetricsF& bold, double labelWidth) const;
    // Calls draw(line) for each line visibleLinks() returns, in that order, from the kept links.
    template <typename Draw> void forEachVisibleLine(Draw&& draw) const;
    mutable LabelCache m_labelCache;
    // The rasterised lines of the last paint and what they were drawn for: a repaint of the
    // same rows with the same focus draws the image again instead of every line crossing it.
    struct LineLayer {
        std::array<double, 11> key{}; // band, dpr, width, line ends, rows, focus
        QImage image;
    };
    mutable std::optional<LineLayer> m_lineLayer;

    QStringList m_labels;
    std::vector<bool> m_greyed;
    std::vector<LinkHead> m_heads;
    QString m_title;
    double m_threshold = 0.05;
    int m_focus = -1;
    LinkSide m_focusSide = LinkSide::Query;
    ChromePalette m_chrome;
    QString m_fontFamily;
};

} // namespace attnscope
