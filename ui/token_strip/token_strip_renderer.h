#pragma once
// The token strip above the heatmap, painted onto a caller's QPainter: every token of the text
// as a small box, left to right in token order and wrapped into lines, with the hovered query
// (orange) and key (blue) marked, the tokens a model wrote in green italics and the tokens
// selected together in bold, underlined. Whitespace is shown as markers (· ↵ →).
//
// It replaces a rich-text QLabel that re-parsed and laid out the HTML of all tokens on every
// hover (0.3–0.5 s at 4 096 tokens). Here the tokens are measured once per token list and font,
// wrapped once per width, and a hover changes colours only: the boxes of the old and new marked
// tokens are all that need painting again (see setHighlight()).
//
// Each token is drawn on its own, so right-to-left tokens (Hebrew, Arabic) are shaped right to
// left inside their box while the boxes still run left to right like the views' axes.
#include <QColor>
#include <QFont>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <vector>

class QPainter;

namespace attnscope {

struct TokenStripContent {
    QStringList labels;        // raw token texts (escaped for display by the renderer)
    int generatedTokens = 0;   // the last ones were written by the model
    std::vector<int> selected; // token indices selected together, sorted
    QString note;              // written after the tokens (e.g. what the green tokens are)
    friend bool operator==(const TokenStripContent&, const TokenStripContent&) = default;
};

class TokenStripRenderer {
public:
    // The look of today's strip (kept from the rich-text version).
    static inline const QColor kQueryColour{0xff, 0xb7, 0x4d};     // orange background
    static inline const QColor kKeyColour{0x64, 0xb5, 0xf6};       // blue background
    static inline const QColor kBothBorder{0x15, 0x65, 0xc0};      // query = key: blue frame
    static inline const QColor kGeneratedColour{0xc8, 0xe6, 0xc9}; // light green
    static inline const QColor kEvenColour{0xf7, 0xf7, 0xf7};      // alternating light greys
    static inline const QColor kOddColour{0xec, 0xef, 0xf1};
    static inline const QColor kTextColour{0x22, 0x22, 0x22};
    static inline const QColor kMarkedTextColour{0x00, 0x00, 0x00};
    static inline const QColor kNoteColour{0x2e, 0x7d, 0x32}; // dark green
    static constexpr double kMargin = 4;        // around the lines, as a QTextDocument's
    static constexpr double kLineSpacing = 1.4; // line pitch / the font's height

    // Measures every token (once per content and font); returns false when nothing changed.
    bool setContent(TokenStripContent content);
    const TokenStripContent& content() const { return m_content; }
    void setFont(const QFont& font);
    const QFont& font() const { return m_font; }
    // Wraps the tokens into lines of at most `width` pixels (once per width).
    void setWidth(double width);
    double width() const { return m_width; }

    // Marks the hovered query and key tokens (-1: none). Returns the rectangles whose pixels may
    // change (the old and new marked tokens), for a widget's update().
    std::vector<QRectF> setHighlight(int queryToken, int keyToken);
    int queryToken() const { return m_query; }
    int keyToken() const { return m_key; }

    int tokenCount() const { return int(m_items.size()) - m_noteWords; }
    bool isEmpty() const { return m_items.empty(); }
    // The laid-out box of token i (its background); empty for an index out of range.
    QRectF tokenRect(int token) const;
    // The text drawn in token i's box: the escaped label, elided in the middle when the token is
    // wider than a line.
    QString displayText(int token) const;
    bool isElided(int token) const;
    QFont tokenFont(int token) const;
    // The lines as [first, end) item ranges (tokens, then the note's words).
    int lineCount() const { return int(m_lineStarts.size()); }
    std::pair<int, int> lineTokens(int line) const; // tokens of the line: [first, end)
    // Height of all lines at the current width (with margins), and for another width.
    double height() const { return m_height; }
    double heightForWidth(double width) const;
    double heightForLines(int lines) const { return lines * m_lineHeight + 2 * kMargin; }
    // Token whose box contains the point, or -1.
    int tokenAt(QPointF point) const;
    // The tokens and the note as plain text, for accessibility.
    QString plainText() const;
    // How many times the tokens were measured and wrapped (for tests: a hover lays nothing out).
    int measureCount() const { return m_measureCount; }
    int wrapCount() const { return m_wrapCount; }

    // Paints the items whose boxes intersect `exposed` (everything for a null rectangle).
    void paint(QPainter& painter, const QRectF& exposed = {}) const;

private:
    struct Item {
        QString text;  // escaped label, or a word of the note
        double width;  // box width: the text plus a space's padding either side for tokens
        int fontIndex; // into m_fonts
    };
    enum FontIndex { Regular = 0, Bold = 1, Italic = 2, BoldItalic = 3 };
    void measure();
    struct Wrap {
        std::vector<QRectF> boxes;
        std::vector<int> lineStarts;
        double height = 0;
    };
    // Places the boxes at `width`; with boxes == false only counts the lines (heightForWidth).
    Wrap wrap(double width, bool boxes = true) const;
    double lineHeight() const { return m_lineHeight; }
    double innerWidth(double width) const { return std::max(1.0, width - 2 * kMargin); }
    void paintItem(QPainter& painter, int i) const;

    TokenStripContent m_content;
    QFont m_font;
    QFont m_fonts[4];
    double m_padding = 0;      // a non-breaking space's width either side of a token's text
    double m_gap = 0;          // a space between boxes (whole pixels, like the boxes)
    double m_lineHeight = 0;   // line pitch (whole pixels)
    double m_boxHeight = 0;    // a token's background: the font's height
    std::vector<Item> m_items; // tokens then the note's words
    int m_noteWords = 0;
    double m_width = 600;
    std::vector<QRectF> m_boxes;   // laid-out box per item
    std::vector<int> m_lineStarts; // first item of each line
    std::vector<QString> m_elided; // per item: the elided text when it is too wide, else empty
    double m_height = 0;
    int m_query = -1, m_key = -1;
    int m_measureCount = 0, m_wrapCount = 0;
};

} // namespace attnscope
