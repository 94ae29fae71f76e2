#include "explain_renderer.h"

#include "heatmap_renderer.h"

#include <QFontMetricsF>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {

// One drawn element, laid out for a width: text, a strip of coloured cells, a bar, a filled
// rectangle. `hover` is what hoverText() reports over it; a strip reports "name[n] = value".
struct ExplainRenderer::Item {
    enum class Kind { Text, Strip, Bar, Fill, Rule } kind = Kind::Text;
    QRectF rect;
    QString text;  // Text: what is drawn; Strip: what follows the value in hoverText()
    QString hover; // what the pointer reports; Strip: the vector's name ("k_3")
    int font = 0;  // Text: a FontRole
    int flags = 0; // Text: Qt alignment and wrap flags
    QColor color;  // Text, Fill, Bar, Rule
    // Strip
    const float* values = nullptr;
    int count = 0;
    double range = 1;
    bool greyed = false; // masked key: the strip is drawn faded
    // Bar
    double fraction = 0;
    int keyRow = -1; // table rows: the key token
};

namespace {

using Item = ExplainRenderer::Item;

enum FontRole { Title, Heading, Body, Label, Small, Number, FontRoles };

QFont fontFor(int role) {
    QFont f;
    const int sizes[FontRoles] = {15, 13, 12, 11, 10, 11};
    f.setPixelSize(sizes[role]);
    f.setBold(role == Title || role == Heading);
    if (role == Number) f.setStyleHint(QFont::Monospace);
    return f;
}

const QColor kAccent(0x00, 0x72, 0xB2);    // Okabe–Ito blue: weights
const QColor kHighlight(0xE6, 0x9F, 0x00); // Okabe–Ito orange: the query token, this head

QString quoted(const QString& token) {
    return QStringLiteral("“%1”").arg(HeatmapRenderer::escapeLabel(token));
}

QString number(double v, int decimals = 2) {
    if (std::isinf(v)) return v < 0 ? QStringLiteral("−∞") : QStringLiteral("∞");
    QString s = QString::number(v, 'f', decimals);
    if (s.startsWith(QLatin1Char('-'))) s.replace(0, 1, QStringLiteral("−"));
    return s;
}

QString exact(double v) {
    return QString::number(v, 'g', 9);
}

double maxAbs(const float* v, Eigen::Index n) {
    double m = 0;
    for (Eigen::Index i = 0; i < n; ++i)
        m = std::max(m, double(std::abs(v[i])));
    return m > 0 ? m : 1;
}

QString circled(int step) {
    static const char16_t digits[] = {u'①', u'②', u'③', u'④', u'⑤'};
    return QString(QChar(digits[std::clamp(step, 1, 5) - 1]));
}

// Places items top to bottom.
class Builder {
public:
    Builder(double width, const ChromePalette& chrome)
        : m_width(width), m_chrome(chrome), m_left(kMargin), m_right(width - kMargin) {
        m_y = kMargin;
    }
    static constexpr double kMargin = 14;
    static constexpr double kStripHeight = 16;

    std::vector<Item> items;
    double y() const { return m_y; }
    void skip(double dy) { m_y += dy; }
    double contentWidth() const { return m_right - m_left; }
    double left() const { return m_left; }

    Item& text(const QRectF& rect, const QString& s, int role, int flags, const QColor& color,
               const QString& hover = {}) {
        Item it;
        it.kind = Item::Kind::Text;
        it.rect = rect;
        it.text = s;
        it.font = role;
        it.flags = flags;
        it.color = color;
        it.hover = hover;
        items.push_back(it);
        return items.back();
    }

    // A paragraph across the content width; returns its height.
    double paragraph(const QString& s, int role, const QColor& color, double indent = 0) {
        const QFontMetricsF fm(fontFor(role));
        const QRectF box(m_left + indent, m_y, contentWidth() - indent, 1e6);
        const double h =
            std::ceil(fm.boundingRect(box, Qt::TextWordWrap | Qt::AlignLeft, s).height());
        text(QRectF(box.topLeft(), QSizeF(box.width(), h)), s, role,
             Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop, color);
        m_y += h;
        return h;
    }

    void heading(int step, const QString& name) {
        m_y += 10;
        items.push_back(rule(QRectF(m_left, m_y, contentWidth(), 1)));
        m_y += 6;
        const QFontMetricsF fm(fontFor(Heading));
        text(QRectF(m_left, m_y, contentWidth(), fm.height()),
             circled(step) + QStringLiteral("  ") + name, Heading, Qt::AlignLeft | Qt::AlignVCenter,
             m_chrome.text);
        m_y += fm.height() + 3;
    }

    Item rule(const QRectF& r) const {
        Item it;
        it.kind = Item::Kind::Rule;
        it.rect = r;
        it.color = m_chrome.frame;
        return it;
    }

    static Item strip(const QRectF& rect, const float* values, int count, double range,
                      const QString& name, const QString& suffix = {}) {
        Item it;
        it.kind = Item::Kind::Strip;
        it.rect = rect;
        it.values = values;
        it.count = count;
        it.range = range;
        it.hover = name;
        it.text = suffix;
        return it;
    }

    // "label (n)  [strip]  ±max": one vector on its own row.
    void vectorRow(const QString& label, const QString& labelHover, const float* values, int count,
                   const QString& name, double labelWidth) {
        const double noteWidth = 52;
        const double stripWidth = std::max(40.0, contentWidth() - labelWidth - noteWidth - 16);
        // Cells of at most 14 px: short vectors stay compact instead of stretching.
        const double width = std::min(stripWidth, count * 14.0);
        text(QRectF(m_left, m_y, labelWidth, kStripHeight),
             QStringLiteral("%1 (%2)").arg(label).arg(count), Label,
             Qt::AlignRight | Qt::AlignVCenter, m_chrome.text,
             labelHover.isEmpty() ? QStringLiteral("%1 numbers").arg(count) : labelHover);
        const double range = maxAbs(values, count);
        items.push_back(strip(QRectF(m_left + labelWidth + 8, m_y, width, kStripHeight), values,
                              count, range, name));
        text(QRectF(m_left + labelWidth + 8 + width + 8, m_y, noteWidth, kStripHeight),
             QStringLiteral("±%1").arg(number(range)), Small,
             Qt::AlignLeft | Qt::AlignVCenter, m_chrome.muted,
             QStringLiteral("colours span −%1 (blue) … 0 (white) … +%1 (red)").arg(number(range)));
        m_y += kStripHeight + 5;
    }

private:
    double m_width;
    ChromePalette m_chrome;
    double m_left, m_right;
    double m_y = 0;
};

} // namespace

ExplainFigure explainFigure(const Analysis& analysis, const ModelConfig& config,
                            std::shared_ptr<const Explanation> explanation,
                            const QString& modelName) {
    ExplainFigure f;
    f.explanation = std::move(explanation);
    f.tokens = analysis.displayTokens;
    for (int i = int(f.tokens.size()); i < analysis.tokenCount(); ++i)
        f.tokens << (i < analysis.encoding.tokens.size() ? analysis.encoding.tokens[i]
                                                         : QString::number(i));
    switch (config.family) {
    case Family::Bert:
    case Family::DistilBert:
    case Family::Roberta:
        break; // post-LayerNorm: attention reads the layer input as is
    case Family::Llama:
    case Family::Qwen2:
        f.norm = QStringLiteral("RMSNorm");
        break;
    default:
        f.norm = QStringLiteral("LayerNorm");
    }
    if (config.family == Family::Llama || config.family == Family::Qwen2 ||
        config.family == Family::GptNeoX)
        f.rotaryDims = int(double(config.headDim) * config.rotaryFraction);
    f.kvGroup = config.kvHeads > 0 ? config.heads / config.kvHeads : 1;
    f.model = modelName;
    return f;
}

void ExplainRenderer::setFigure(ExplainFigure figure) {
    m_figure = std::move(figure);
    m_items.reset();
    m_itemsWidth = -1;
}

void ExplainRenderer::setChrome(const ChromePalette& chrome) {
    m_chrome = chrome;
    m_items.reset();
    m_itemsWidth = -1;
}

QString ExplainRenderer::title() const {
    if (!m_figure.explanation) return {};
    const Explanation& e = *m_figure.explanation;
    return QStringLiteral("Layer %1 · Head %2 · query token %3 %4")
        .arg(e.layer)
        .arg(e.head)
        .arg(e.token)
        .arg(quoted(m_figure.tokens.value(e.token)));
}

double ExplainRenderer::preferredHeight(double width) const {
    items(width);
    return m_height;
}

const std::vector<ExplainRenderer::Item>& ExplainRenderer::items(double width) const {
    if (m_items && m_itemsWidth == width) return *m_items;
    width = std::max(width, 360.0);
    Builder b(width, m_chrome);
    const ChromePalette& c = m_chrome;
    if (!m_figure.explanation) {
        m_items = std::make_shared<std::vector<Item>>();
        m_itemsWidth = width;
        m_height = 0;
        return *m_items;
    }
    const Explanation& e = *m_figure.explanation;
    const QStringList& tokens = m_figure.tokens;
    const int T = e.tokenCount(), d = int(e.q.size()), D = int(e.x.cols());
    const int H = int(e.contributions.rows());
    const int i = e.token;
    const QString tok = quoted(tokens.value(i));
    const auto keyName = [&](int j) {
        return QStringLiteral("key %1 %2").arg(j).arg(quoted(tokens.value(j)));
    };
    // Vector labels right-aligned in one column as wide as the longest (at most a third).
    const QStringList vectorLabels{QStringLiteral("x′ (%1)").arg(D),
                                   QStringLiteral("q before rotary (%1)").arg(d),
                                   QStringLiteral("o = Σ α_j v_j (%1)").arg(d)};
    double labelWidth = 0;
    for (const QString& label : vectorLabels)
        labelWidth = std::max(labelWidth, QFontMetricsF(fontFor(Label)).horizontalAdvance(label));
    labelWidth = std::min(std::ceil(labelWidth) + 4, b.contentWidth() / 3);
    const QString xn = m_figure.norm.isEmpty() ? QStringLiteral("x") : QStringLiteral("x′");

    // Title.
    const QFontMetricsF titleFm(fontFor(Title));
    b.text(QRectF(b.left(), b.y(), b.contentWidth(), titleFm.height()), title(), Title,
           Qt::AlignLeft | Qt::AlignVCenter, c.text);
    b.skip(titleFm.height() + 2);
    b.paragraph(QStringLiteral("How this head computes its part of token %1's output, with the "
                               "numbers of the forward pass behind the heatmap%2. Blue is "
                               "negative, red positive; hover a cell for its exact value.")
                    .arg(i)
                    .arg(m_figure.model.isEmpty()
                             ? QString()
                             : QStringLiteral(" (model %1)").arg(m_figure.model)),
                Body, c.muted);

    // 1: input and its normalised form.
    b.heading(1, QStringLiteral("The token's vector"));
    QString input = QStringLiteral("x is token %1 %2 entering layer %3: its embedding plus what "
                                   "the earlier layers added")
                        .arg(i)
                        .arg(tok)
                        .arg(e.layer);
    if (m_figure.norm.isEmpty())
        input += QStringLiteral("; this model normalises after attention, so attention reads x "
                                "as it is.");
    else
        input += QStringLiteral("; %1 rescales it (x′) to %2, so the projections see inputs of "
                                "a steady size however large that sum grows.")
                     .arg(m_figure.norm,
                          m_figure.norm == QLatin1String("RMSNorm")
                              ? QStringLiteral("a root-mean-square of 1 (times a learned gain)")
                              : QStringLiteral("mean 0 and variance 1 (times a learned gain, "
                                               "plus a bias)"));
    b.paragraph(input, Body, c.text);
    b.skip(6);
    b.vectorRow(QStringLiteral("x"), QStringLiteral("the layer's input for token %1").arg(i),
                e.x.row(i).data(), D, QStringLiteral("x"), labelWidth);
    if (!m_figure.norm.isEmpty())
        b.vectorRow(QStringLiteral("x′"),
                    QStringLiteral("x′ = %1(x), what attention reads").arg(m_figure.norm),
                    e.xNorm.row(i).data(), D,
                    QStringLiteral("x′"), labelWidth);

    // 2: the query.
    b.heading(2, QStringLiteral("Its query"));
    QString query = QStringLiteral("q = %1 W_Q + b_Q projects it onto this head's %2 dimensions: "
                                   "what token %3 is looking for")
                        .arg(xn)
                        .arg(d)
                        .arg(i);
    if (m_figure.rotaryDims > 0)
        query += QStringLiteral("; rotary positions then turn %1 by angles that grow with its "
                                "position, so that q·k depends on how far apart two tokens are.")
                     .arg(m_figure.rotaryDims == d
                              ? QStringLiteral("its coordinate pairs")
                              : QStringLiteral("the pairs among its first %1 coordinates")
                                    .arg(m_figure.rotaryDims));
    else
        query += QLatin1Char('.');
    b.paragraph(query, Body, c.text);
    b.skip(6);
    if (m_figure.rotaryDims > 0) {
        b.vectorRow(QStringLiteral("q before rotary"), QString(), e.qPreRotary.data(), d,
                    QStringLiteral("q before rotary"), labelWidth);
        b.vectorRow(QStringLiteral("q"), QStringLiteral("after rotary positions"), e.q.data(), d,
                    QStringLiteral("q"), labelWidth);
    } else {
        b.vectorRow(QStringLiteral("q"), QString(), e.q.data(), d, QStringLiteral("q"),
                    labelWidth);
    }

    // 3-5: one table row per key token.
    b.heading(3, QStringLiteral("Keys and dot products"));
    QString keys = QStringLiteral("Every token j offers a key k_j = %1_j W_K + b_K%2; q·k_j is "
                                  "large when k_j points the way q does, when token j has what "
                                  "token %3 looks for.")
                       .arg(xn,
                            m_figure.rotaryDims > 0 ? QStringLiteral(", rotated for its position")
                                                    : QString())
                       .arg(i);
    if (m_figure.kvGroup > 1)
        keys += QStringLiteral(" (Keys and values come from key/value head %1, which %2 query "
                               "heads share: grouped-query attention.)")
                    .arg(e.kvHead)
                    .arg(m_figure.kvGroup);
    b.paragraph(keys, Body, c.text);
    b.heading(4, QStringLiteral("Scale, mask, softmax"));
    b.paragraph(QStringLiteral("The scores are divided by √%1 = %2, so their spread stays near 1 "
                               "whatever the head size and softmax does not lock onto one key; "
                               "%3softmax turns them into weights α_j that are positive and sum "
                               "to 1: row %4 of the heatmap.")
                    .arg(d)
                    .arg(number(1.0 / e.scale))
                    .arg(e.causal ? QStringLiteral("the causal mask hides the tokens after %1 "
                                                   "(no looking ahead); ")
                                        .arg(i)
                                  : QString())
                    .arg(i),
                Body, c.text);
    b.heading(5, QStringLiteral("Values, weighted sum, back into the model"));
    b.paragraph(QStringLiteral("Each token passes on its value v_j = %1_j W_V + b_V; the head's "
                               "output o = Σ α_j v_j is their average by these weights, and the "
                               "head's slice of W_O maps it back to %2 numbers added to token "
                               "%3's vector, beside the other heads' contributions.")
                    .arg(xn)
                    .arg(D)
                    .arg(i),
                Body, c.text);
    b.skip(8);

    // Table geometry: token | k_j | q·k_j | ÷√d | α_j | v_j.
    const QFontMetricsF labelFm(fontFor(Label));
    const double rowH = std::max(15.0, std::ceil(labelFm.height()) + 2);
    const double tokenW = std::clamp(b.contentWidth() * 0.18, 64.0, 120.0);
    const double weightW = std::clamp(b.contentWidth() * 0.16, 64.0, 110.0);
    const double numberW = 50, gap = 6;
    const double vectorSpace =
        b.contentWidth() - tokenW - 2 * numberW - weightW - 5 * gap;
    const double vectorW = std::clamp(vectorSpace / 2, 40.0, d * 12.0);
    double x = b.left();
    const double colToken = x;
    x += tokenW + gap;
    const double colKey = x;
    x += vectorW + gap;
    const double colScore = x;
    x += numberW + gap;
    const double colScaled = x;
    x += numberW + gap;
    const double colWeight = x;
    x += weightW + gap;
    const double colValue = x;

    // Header.
    const auto header = [&](double left, double w, const QString& s, const QString& hover,
                            int flags = Qt::AlignHCenter | Qt::AlignBottom) {
        b.text(QRectF(left, b.y(), w, 2 * rowH), s, Small, flags | Qt::TextWordWrap, c.muted,
               hover);
    };
    header(colToken, tokenW, QStringLiteral("key token j"), QString(),
           Qt::AlignLeft | Qt::AlignBottom);
    header(colKey, vectorW, circled(3) + QStringLiteral(" key k_j"),
           QStringLiteral("%1 numbers per key").arg(d));
    header(colScore, numberW, circled(3) + QStringLiteral(" q·k_j"),
           QStringLiteral("dot product of the query with each key"));
    header(colScaled, numberW, circled(4) + QStringLiteral(" ÷ √%1").arg(d),
           QStringLiteral("scores times %1").arg(exact(e.scale)));
    header(colWeight, weightW, circled(4) + QStringLiteral(" softmax α_j"),
           QStringLiteral("the heatmap's row %1").arg(i));
    header(colValue, vectorW, circled(5) + QStringLiteral(" value v_j"),
           QStringLiteral("%1 numbers per value").arg(d));
    b.skip(2 * rowH + 3);

    const double keyRange = maxAbs(e.k.data(), e.k.size());
    const double valueRange = maxAbs(e.v.data(), e.v.size());
    const QFontMetricsF numberFm(fontFor(Number));
    for (int j = 0; j < T; ++j) {
        const double y = b.y();
        const bool masked = e.masked[size_t(j)];
        const QRectF row(b.left(), y, b.contentWidth(), rowH);
        if (j == i) {
            Item fill;
            fill.kind = Item::Kind::Fill;
            fill.rect = row.adjusted(-4, 0, 4, 0);
            fill.color = c.highlightBack;
            fill.hover = QStringLiteral("the query token itself");
            b.items.push_back(fill);
        }
        const QColor ink = masked ? c.muted : c.text;
        Item& label = b.text(QRectF(colToken, y, tokenW, rowH),
                             QStringLiteral("%1 %2").arg(j).arg(quoted(tokens.value(j))), Label,
                             Qt::AlignLeft | Qt::AlignVCenter, ink, keyName(j));
        label.keyRow = j;
        Item k = Builder::strip(QRectF(colKey, y + 1, vectorW, rowH - 2), e.k.row(j).data(), d,
                                keyRange, QStringLiteral("k_%1").arg(j),
                                QStringLiteral(" (%1)").arg(keyName(j)));
        k.greyed = masked;
        k.keyRow = j;
        b.items.push_back(k);
        Item& score = b.text(QRectF(colScore, y, numberW, rowH), number(e.scores[j]), Number,
                             Qt::AlignRight | Qt::AlignVCenter, ink,
                             QStringLiteral("q·k_%1 = %2").arg(j).arg(exact(e.scores[j])));
        score.keyRow = j;
        if (masked) {
            Item fill;
            fill.kind = Item::Kind::Fill;
            fill.rect = QRectF(colScaled, y + 1, numberW + gap + weightW, rowH - 2);
            fill.color = c.masked;
            fill.keyRow = j;
            fill.hover = QStringLiteral("masked: token %1 comes after the query, so its score "
                                        "becomes −∞ and its weight 0")
                             .arg(j);
            b.items.push_back(fill);
            b.text(QRectF(colScaled, y, numberW + gap + weightW, rowH),
                   QStringLiteral("masked (−∞ → 0)"), Small, Qt::AlignCenter, c.muted,
                   fill.hover)
                .keyRow = j;
        } else {
            Item& scaled = b.text(QRectF(colScaled, y, numberW, rowH), number(e.scaled[j]),
                                  Number, Qt::AlignRight | Qt::AlignVCenter, ink,
                                  QStringLiteral("q·k_%1 / √%2 = %3")
                                      .arg(j)
                                      .arg(d)
                                      .arg(exact(e.scaled[j])));
            scaled.keyRow = j;
            Item bar;
            bar.kind = Item::Kind::Bar;
            const double numberSpace = numberFm.horizontalAdvance(QStringLiteral("0.00")) + 6;
            bar.rect = QRectF(colWeight, y + 2, weightW - numberSpace, rowH - 4);
            bar.fraction = std::clamp(double(e.weights[j]), 0.0, 1.0);
            bar.color = kAccent;
            bar.keyRow = j;
            bar.hover = QStringLiteral("α_%1 = %2 (the heatmap at row %3, column %1)")
                            .arg(j)
                            .arg(exact(e.weights[j]))
                            .arg(i);
            b.items.push_back(bar);
            b.text(QRectF(colWeight + weightW - numberSpace, y, numberSpace, rowH),
                   number(e.weights[j]), Number, Qt::AlignRight | Qt::AlignVCenter, ink, bar.hover)
                .keyRow = j;
        }
        Item v = Builder::strip(QRectF(colValue, y + 1, vectorW, rowH - 2), e.v.row(j).data(), d,
                                valueRange, QStringLiteral("v_%1").arg(j),
                                QStringLiteral(" (%1)").arg(keyName(j)));
        v.greyed = masked || e.weights[j] == 0;
        v.keyRow = j;
        b.items.push_back(v);
        b.skip(rowH);
    }
    b.text(QRectF(colKey, b.y() + 2, vectorW, rowH),
           QStringLiteral("|max| %1").arg(number(keyRange)), Small,
           Qt::AlignHCenter | Qt::AlignVCenter, c.muted);
    b.text(QRectF(colWeight, b.y() + 2, weightW, rowH),
           QStringLiteral("Σ α_j = %1").arg(number(e.weights.sum())), Small,
           Qt::AlignHCenter | Qt::AlignVCenter, c.muted);
    b.text(QRectF(colValue, b.y() + 2, vectorW, rowH),
           QStringLiteral("|max| %1").arg(number(valueRange)), Small,
           Qt::AlignHCenter | Qt::AlignVCenter, c.muted);
    b.skip(rowH + 10);

    // 5: output, projection, every head.
    b.vectorRow(QStringLiteral("o = Σ α_j v_j"),
                QStringLiteral("this head's output for token %1").arg(i), e.output.data(), d,
                QStringLiteral("o"), labelWidth);
    b.vectorRow(QStringLiteral("o W_O"),
                QStringLiteral("the head's output through its %1 rows of W_O (no bias)").arg(d),
                e.projected.data(), D, QStringLiteral("o W_O"), labelWidth);
    b.skip(4);
    // Every head's contribution to token i, by size: how much this head adds beside the others.
    std::vector<double> sizes(static_cast<size_t>(H));
    double largest = 0;
    for (int h = 0; h < H; ++h) {
        sizes[size_t(h)] = e.contributions.row(h).norm();
        largest = std::max(largest, sizes[size_t(h)]);
    }
    b.paragraph(QStringLiteral("What each head of layer %1 adds to token %2 (size ‖o W_O‖; this "
                               "head in orange):")
                    .arg(e.layer)
                    .arg(i),
                Label, c.text);
    b.skip(4);
    const double chartH = 46;
    const double chartLeft = b.left() + labelWidth + 8;
    const double chartW = std::min(b.contentWidth() - labelWidth - 8, H * 40.0);
    const double slot = chartW / std::max(1, H);
    const QFontMetricsF smallFm(fontFor(Small));
    const double barsH = chartH - smallFm.height() - 2;
    for (int h = 0; h < H; ++h) {
        const double frac = largest > 0 ? sizes[size_t(h)] / largest : 0;
        Item bar;
        bar.kind = Item::Kind::Fill;
        const double bw = std::max(2.0, slot * 0.7);
        bar.rect = QRectF(chartLeft + h * slot + (slot - bw) / 2, b.y() + barsH * (1 - frac), bw,
                          std::max(1.0, barsH * frac));
        bar.color = h == e.head ? kHighlight : kAccent.lighter(h == e.head ? 100 : 130);
        bar.hover = QStringLiteral("head %1: ‖o W_O‖ = %2%3")
                        .arg(h)
                        .arg(exact(sizes[size_t(h)]))
                        .arg(h == e.head ? QStringLiteral(" (this head)") : QString());
        b.items.push_back(bar);
        if (slot >= 14 || h == e.head || h % 4 == 0)
            b.text(QRectF(chartLeft + h * slot, b.y() + barsH + 2, slot, smallFm.height()),
                   QString::number(h), Small, Qt::AlignHCenter | Qt::AlignTop,
                   h == e.head ? c.text : c.muted, bar.hover);
    }
    b.items.push_back(b.rule(QRectF(chartLeft, b.y() + barsH, chartW, 1)));
    b.skip(chartH + Builder::kMargin);

    m_items = std::make_shared<std::vector<Item>>(std::move(b.items));
    m_itemsWidth = width;
    m_height = b.y();
    return *m_items;
}

void ExplainRenderer::paint(QPainter& painter, const QRectF& target, bool vectorOutput) const {
    painter.save();
    painter.fillRect(target, m_chrome.background);
    painter.translate(target.topLeft());
    painter.setClipRect(QRectF(QPointF(0, 0), target.size()));
    const auto& all = items(target.width());
    for (const Item& it : all) {
        switch (it.kind) {
        case Item::Kind::Text:
            painter.setFont(fontFor(it.font));
            painter.setPen(it.color);
            if (it.flags & Qt::TextWordWrap)
                painter.drawText(it.rect, it.flags, it.text);
            else // one line: cut with "…" rather than run into the neighbouring column
                painter.drawText(it.rect, it.flags,
                                 QFontMetricsF(painter.font())
                                     .elidedText(it.text, Qt::ElideRight, it.rect.width()));
            break;
        case Item::Kind::Fill:
            painter.fillRect(it.rect, it.color);
            break;
        case Item::Kind::Rule:
            painter.fillRect(QRectF(it.rect.left(), it.rect.top(), it.rect.width(), 1), it.color);
            break;
        case Item::Kind::Bar: {
            painter.fillRect(it.rect, m_chrome.masked);
            painter.fillRect(QRectF(it.rect.topLeft(),
                                    QSizeF(it.rect.width() * it.fraction, it.rect.height())),
                             it.color);
            break;
        }
        case Item::Kind::Strip: {
            const double cell = it.rect.width() / std::max(1, it.count);
            const auto colour = [&](int n) {
                QColor col = colorAt(ColorMap::RedBlue, 0.5 + 0.5 * it.values[n] / it.range);
                if (it.greyed) col.setAlphaF(0.3f);
                return col;
            };
            if (cell >= 2 || (vectorOutput && it.count <= 1024)) {
                for (int n = 0; n < it.count; ++n)
                    painter.fillRect(QRectF(it.rect.left() + n * cell, it.rect.top(), cell + 0.02,
                                            it.rect.height()),
                                     colour(n));
            } else { // thinner than the pixels: one pixel per value, scaled without smoothing
                QImage image(it.count, 1, QImage::Format_ARGB32);
                for (int n = 0; n < it.count; ++n)
                    image.setPixelColor(n, 0, colour(n));
                painter.drawImage(it.rect, image);
            }
            painter.setPen(QPen(m_chrome.frame, 0));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(it.rect);
            break;
        }
        }
    }
    painter.restore();
}

QString ExplainRenderer::hoverText(QPointF point, double width) const {
    const auto& all = items(width);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (!it->rect.contains(point)) continue;
        if (it->kind == Item::Kind::Strip) {
            const int n = std::clamp(
                int((point.x() - it->rect.left()) / it->rect.width() * it->count), 0,
                it->count - 1);
            return QStringLiteral("%1[%2] = %3").arg(it->hover, QString::number(n),
                                                          exact(it->values[n])) +
                   it->text;
        }
        if (!it->hover.isEmpty()) return it->hover;
    }
    return {};
}

int ExplainRenderer::keyRowAt(QPointF point, double width) const {
    const auto& all = items(width);
    for (const Item& it : all)
        if (it.keyRow >= 0 && it.rect.contains(point)) return it.keyRow;
    return -1;
}

} // namespace attnscope
