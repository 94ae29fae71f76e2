#include "token_strip_renderer.h"

#include "heatmap_renderer.h"

#include <QFontMetricsF>
#include <QPainter>
#include <algorithm>
#include <cmath>

namespace attnscope {

bool TokenStripRenderer::setContent(TokenStripContent content) {
    if (content == m_content && m_measureCount > 0) return false;
    m_content = std::move(content);
    measure();
    // Marks on tokens the new list no longer has are dropped.
    if (m_query >= tokenCount()) m_query = -1;
    if (m_key >= tokenCount()) m_key = -1;
    return true;
}

void TokenStripRenderer::setFont(const QFont& font) {
    if (font == m_font && m_measureCount > 0) return;
    m_font = font;
    measure();
}

void TokenStripRenderer::measure() {
    ++m_measureCount;
    // Selected tokens are bold and underlined, generated ones italic (as the rich text had it);
    // boxes are measured in the font they are drawn in.
    for (int i = 0; i < 4; ++i) {
        QFont f = m_font;
        f.setBold(i & Bold);
        f.setUnderline(i & Bold);
        f.setItalic(i & Italic);
        m_fonts[i] = f;
    }
    const QFontMetricsF regular(m_fonts[Regular]);
    m_padding = regular.horizontalAdvance(QChar(0x00A0));
    m_gap = std::max(1.0, std::round(regular.horizontalAdvance(QLatin1Char(' '))));
    m_boxHeight = std::ceil(regular.height());
    m_lineHeight = std::round(m_boxHeight * kLineSpacing);
    const QFontMetricsF metrics[4] = {regular, QFontMetricsF(m_fonts[1]), QFontMetricsF(m_fonts[2]),
                                      QFontMetricsF(m_fonts[3])};
    const QStringList& labels = m_content.labels;
    const int t = int(labels.size());
    m_items.clear();
    m_items.reserve(size_t(t));
    const std::vector<int>& selected = m_content.selected;
    for (int i = 0; i < t; ++i) {
        const bool bold = std::binary_search(selected.begin(), selected.end(), i);
        const bool italic = i >= t - m_content.generatedTokens;
        const int font = (bold ? Bold : 0) | (italic ? Italic : 0);
        QString text = HeatmapRenderer::escapeLabel(labels[i]);
        // Whole pixels, so that a box's pixels are exactly its rectangle's.
        const double width = std::ceil(metrics[font].horizontalAdvance(text) + 2 * m_padding);
        m_items.push_back({std::move(text), width, font});
    }
    const QStringList words = m_content.note.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    m_noteWords = int(words.size());
    for (const QString& word : words)
        m_items.push_back({word, std::ceil(regular.horizontalAdvance(word)), Regular});
    m_width = std::max(m_width, 1.0);
    const double width = m_width;
    m_width = -1; // lay out again
    setWidth(width);
}

TokenStripRenderer::Wrap TokenStripRenderer::wrap(double width, bool boxes) const {
    Wrap w;
    if (m_items.empty()) return w;
    const double inner = std::floor(innerWidth(width));
    const double right = kMargin + inner;
    double x = kMargin, y = kMargin;
    const double boxTop = std::floor((m_lineHeight - m_boxHeight) / 2);
    if (boxes) w.boxes.reserve(m_items.size());
    w.lineStarts.push_back(0);
    for (size_t i = 0; i < m_items.size(); ++i) {
        const double itemWidth = std::min(m_items[i].width, inner); // too wide: elided
        if (x > kMargin && x + itemWidth > right) { // a new line, unless this one is empty
            x = kMargin;
            y += m_lineHeight;
            w.lineStarts.push_back(int(i));
        }
        if (boxes) w.boxes.emplace_back(x, y + boxTop, itemWidth, m_boxHeight);
        x += itemWidth + m_gap;
    }
    w.height = double(w.lineStarts.size()) * m_lineHeight + 2 * kMargin;
    return w;
}

void TokenStripRenderer::setWidth(double width) {
    width = std::max(1.0, std::floor(width));
    if (width == m_width) return;
    m_width = width;
    ++m_wrapCount;
    Wrap w = wrap(width);
    m_boxes = std::move(w.boxes);
    m_lineStarts = std::move(w.lineStarts);
    m_height = w.height;
    // Tokens wider than a line keep their start and end: "abc…xyz".
    m_elided.assign(m_items.size(), QString());
    for (size_t i = 0; i < m_items.size(); ++i)
        if (m_boxes[i].width() < m_items[i].width) {
            const double pad = int(i) < tokenCount() ? m_padding : 0.0;
            m_elided[i] = QFontMetricsF(m_fonts[m_items[i].fontIndex])
                              .elidedText(m_items[i].text, Qt::ElideMiddle,
                                          std::max(1.0, m_boxes[i].width() - 2 * pad));
            if (m_elided[i].isEmpty()) m_elided[i] = QString(QChar(0x2026)); // not even one letter
        }
}

double TokenStripRenderer::heightForWidth(double width) const {
    width = std::max(1.0, std::floor(width));
    return width == m_width ? m_height : wrap(width, false).height;
}

std::vector<QRectF> TokenStripRenderer::setHighlight(int queryToken, int keyToken) {
    const int t = tokenCount();
    queryToken = queryToken >= 0 && queryToken < t ? queryToken : -1;
    keyToken = keyToken >= 0 && keyToken < t ? keyToken : -1;
    std::vector<QRectF> changed;
    if (queryToken == m_query && keyToken == m_key) return changed;
    for (int token : {m_query, m_key, queryToken, keyToken})
        if (token >= 0 &&
            std::find(changed.begin(), changed.end(), tokenRect(token)) == changed.end())
            changed.push_back(tokenRect(token));
    m_query = queryToken;
    m_key = keyToken;
    return changed;
}

QRectF TokenStripRenderer::tokenRect(int token) const {
    return token >= 0 && token < tokenCount() ? m_boxes[size_t(token)] : QRectF();
}

QString TokenStripRenderer::displayText(int token) const {
    if (token < 0 || token >= tokenCount()) return {};
    return m_elided[size_t(token)].isEmpty() ? m_items[size_t(token)].text
                                             : m_elided[size_t(token)];
}

bool TokenStripRenderer::isElided(int token) const {
    return token >= 0 && token < tokenCount() && !m_elided[size_t(token)].isEmpty();
}

QFont TokenStripRenderer::tokenFont(int token) const {
    return token >= 0 && token < tokenCount() ? m_fonts[m_items[size_t(token)].fontIndex] : m_font;
}

std::pair<int, int> TokenStripRenderer::lineTokens(int line) const {
    if (line < 0 || line >= lineCount()) return {0, 0};
    const int end = line + 1 < lineCount() ? m_lineStarts[size_t(line) + 1] : int(m_items.size());
    return {std::min(m_lineStarts[size_t(line)], tokenCount()), std::min(end, tokenCount())};
}

int TokenStripRenderer::tokenAt(QPointF point) const {
    if (m_items.empty() || m_lineHeight <= 0) return -1;
    const int line = int(std::floor((point.y() - kMargin) / m_lineHeight));
    const auto [first, end] = lineTokens(line);
    // Boxes of a line are sorted by x: the last one starting at or before the point.
    const auto begin = m_boxes.begin() + first, stop = m_boxes.begin() + end;
    auto it = std::upper_bound(begin, stop, point.x(),
                               [](double x, const QRectF& box) { return x < box.left(); });
    if (it == begin) return -1;
    --it;
    return it->contains(point) ? int(it - m_boxes.begin()) : -1;
}

QString TokenStripRenderer::plainText() const {
    QStringList parts;
    parts.reserve(qsizetype(m_items.size()));
    for (const Item& item : m_items)
        parts << item.text;
    return parts.join(QLatin1Char(' '));
}

void TokenStripRenderer::paintItem(QPainter& painter, int i) const {
    const QRectF& box = m_boxes[size_t(i)];
    const Item& item = m_items[size_t(i)];
    const QString& text = m_elided[size_t(i)].isEmpty() ? item.text : m_elided[size_t(i)];
    painter.setFont(m_fonts[item.fontIndex]);
    if (i >= tokenCount()) { // a word of the note
        painter.setPen(kNoteColour);
        painter.drawText(box, Qt::AlignLeft | Qt::AlignVCenter | Qt::TextSingleLine, text);
        return;
    }
    const bool marked = i == m_query || i == m_key;
    const QColor background = i == m_query                                    ? kQueryColour
                              : i == m_key                                    ? kKeyColour
                              : i >= tokenCount() - m_content.generatedTokens ? kGeneratedColour
                              : i % 2                                         ? kOddColour
                                                                              : kEvenColour;
    painter.fillRect(box, background);
    if (i == m_query && i == m_key) { // one token is both: orange, framed in blue
        painter.setPen(kBothBorder);
        painter.drawRect(box.adjusted(0.5, 0.5, -0.5, -0.5));
    }
    painter.setPen(marked ? kMarkedTextColour : kTextColour);
    // Drawn on its own and clipped to its box: a right-to-left token is shaped in its own
    // direction and never merges with its neighbours, and no glyph spills onto them.
    painter.save();
    painter.setClipRect(box, Qt::IntersectClip);
    painter.drawText(box, Qt::AlignHCenter | Qt::AlignVCenter | Qt::TextSingleLine, text);
    painter.restore();
}

void TokenStripRenderer::paint(QPainter& painter, const QRectF& exposed) const {
    if (m_items.empty()) return;
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, false);
    // Lines are evenly spaced: only those crossing the exposed rectangle are visited.
    int firstLine = 0, lastLine = lineCount() - 1;
    if (!exposed.isNull()) {
        firstLine = std::max(0, int(std::floor((exposed.top() - kMargin) / m_lineHeight)));
        lastLine = std::min(lastLine, int(std::floor((exposed.bottom() - kMargin) / m_lineHeight)));
    }
    for (int line = firstLine; line <= lastLine; ++line) {
        const int first = m_lineStarts[size_t(line)];
        const int end =
            line + 1 < lineCount() ? m_lineStarts[size_t(line) + 1] : int(m_items.size());
        for (int i = first; i < end; ++i)
            if (exposed.isNull() || m_boxes[size_t(i)].intersects(exposed)) paintItem(painter, i);
    }
    painter.restore();
}

} // namespace attnscope
