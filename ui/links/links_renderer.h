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
#include <array>
#include <optional>
#include <vector>

class QFontMetricsF;
class QPainter;

namespace attnscope {

struct LinkHead {
    Mat weights; // [n, n] over the shown tokens; row = query, column = key
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
    void setThreshold(double threshold) {
        if (threshold != m_threshold) m_linesOverThreshold.reset(), m_lineLayer.reset();
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
    // and elide every label and scan every weight each time): the labels escaped, their widest
    // bold advance and their elided texts for the last label width; the lines over the
    // threshold, in drawing order, before the focus picks some. Paint one instance from one
    // thread at a time (copies are independent).
    struct LabelCache {
        std::vector<QString> escaped;
        double widestBold = -1;
        double elidedWidth = -1;
        std::vector<QString> elided;
    };
    const LabelCache& labelCache(const QFontMetricsF& bold, double labelWidth) const;
    const std::vector<LinkLine>& linesOverThreshold() const;
    mutable LabelCache m_labelCache;
    mutable std::optional<std::vector<LinkLine>> m_linesOverThreshold;
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
