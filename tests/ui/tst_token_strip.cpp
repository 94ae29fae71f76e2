// The token strip above the heatmap (ui/token_strip): tokens wrapped into lines (checked against
// the font's own measurements), elided when wider than a line, hover marks that repaint only the
// marked tokens' boxes (pixels compared before and after), clicks, accessibility, and the widget
// in its scroll area.
#include "heatmap_renderer.h"
#include "token_strip/token_strip_widget.h"

#include <QApplication>
#include <QFontMetricsF>
#include <QHelpEvent>
#include <QImage>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>
#include <QToolTip>
#include <cmath>

using namespace attnscope;

namespace {

QFont testFont() {
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setPixelSize(13);
    return f;
}

TokenStripRenderer makeRenderer(const TokenStripContent& content, double width) {
    TokenStripRenderer r;
    r.setFont(testFont());
    r.setContent(content);
    r.setWidth(width);
    return r;
}

QImage paintStrip(const TokenStripRenderer& r) {
    QImage image(int(r.width()), int(std::ceil(r.height())) + 1, QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    r.paint(p);
    return image;
}

QStringList repeated(const QString& token, int n) {
    QStringList out;
    for (int i = 0; i < n; ++i)
        out << token;
    return out;
}

// A token's box width as the strip draws it: its escaped text in its own font, with a
// non-breaking space's padding either side, in whole pixels.
double expectedBoxWidth(const TokenStripRenderer& r, int token) {
    const QFontMetricsF fm(r.tokenFont(token));
    const QFontMetricsF regular(r.font());
    const QString text = HeatmapRenderer::escapeLabel(r.content().labels[token]);
    return std::ceil(fm.horizontalAdvance(text) + 2 * regular.horizontalAdvance(QChar(0x00A0)));
}

// The space between two boxes: a space of the font, in whole pixels.
double spaceGap() {
    return std::max(1.0, std::round(QFontMetricsF(testFont()).horizontalAdvance(QLatin1Char(' '))));
}

} // namespace

Q_DECLARE_METATYPE(TokenStripContent)

class TestTokenStrip : public QObject {
    Q_OBJECT
private slots:
    // Tokens of one width repeated: k fit on a line exactly, so there are ceil(T / k) lines.
    void wrapsEqualTokens_data() {
        QTest::addColumn<QString>("token");
        QTest::addColumn<int>("count");
        QTest::addColumn<int>("perLine");
        QTest::newRow("one per line") << QStringLiteral("word") << 5 << 1;
        QTest::newRow("three per line") << QStringLiteral("word") << 10 << 3;
        QTest::newRow("all on one line") << QStringLiteral("ab") << 6 << 6;
        QTest::newRow("spaces as markers") << QStringLiteral(" the") << 9 << 4;
        QTest::newRow("4096 numbers") << QStringLiteral("12345") << 4096 << 25;
    }
    void wrapsEqualTokens() {
        QFETCH(QString, token);
        QFETCH(int, count);
        QFETCH(int, perLine);
        TokenStripRenderer probe = makeRenderer({repeated(token, 1)}, 2000);
        const double box = expectedBoxWidth(probe, 0);
        QCOMPARE(probe.tokenRect(0).width(), box);
        const double gap = spaceGap();
        // Room for perLine boxes and the gaps between them, not for one more.
        const double width = 2 * TokenStripRenderer::kMargin + perLine * box + (perLine - 1) * gap;
        const TokenStripRenderer r = makeRenderer({repeated(token, count)}, width);
        const int lines = (count + perLine - 1) / perLine;
        QCOMPARE(r.lineCount(), lines);
        for (int line = 0; line < lines; ++line)
            QCOMPARE(r.lineTokens(line),
                     std::make_pair(line * perLine, std::min(count, (line + 1) * perLine)));
        QCOMPARE(r.height(), r.heightForLines(lines));
        QCOMPARE(r.heightForWidth(width), r.height());
        // One pixel less: one token fewer per line (unless one is all a line holds).
        if (perLine > 1) {
            const TokenStripRenderer narrower = makeRenderer({repeated(token, count)}, width - 1);
            QCOMPARE(narrower.lineTokens(0), std::make_pair(0, perLine - 1));
            QCOMPARE(r.heightForWidth(width - 1), narrower.height());
        }
    }

    // Any tokens: boxes run left to right in token order, inside the margins, greedily filled
    // (a line's next token would not have fitted on it), each as wide as its measured text.
    void layoutInvariants_data() {
        QTest::addColumn<TokenStripContent>("content");
        QTest::addColumn<double>("width");
        QTest::addColumn<int>("elided");                               // how many tokens are elided
        const QStringList odd = {QStringLiteral("e\u0301t\u00e9"),     // combining accent
                                 QStringLiteral("👩‍👩‍👧"), // emoji with joiners
                                 QStringLiteral("漢字かな"),
                                 QStringLiteral("שלום"),
                                 QStringLiteral("مرحبا"),
                                 QStringLiteral("\x01\x7f"),
                                 QStringLiteral(" \n\t\r"),
                                 QString(),
                                 QStringLiteral("a")};
        QTest::newRow("odd unicode, wide") << TokenStripContent{odd} << 800.0 << 0;
        QTest::newRow("odd unicode, narrow") << TokenStripContent{odd} << 90.0 << 0;
        const QString longToken = QString(QStringLiteral("supercalifragilistic")).repeated(20);
        QTest::newRow("very long token")
            << TokenStripContent{{QStringLiteral("a"), longToken, QStringLiteral("b")}} << 300.0
            << 1;
        QTest::newRow("very long token first")
            << TokenStripContent{{longToken, longToken, QStringLiteral("end")}} << 250.0 << 2;
        QTest::newRow("tiny width")
            << TokenStripContent{{QStringLiteral("abcdef"), QStringLiteral("g")}} << 30.0 << 1;
        QTest::newRow("generated and selected")
            << TokenStripContent{{QStringLiteral("The"), QStringLiteral(" cat"),
                                  QStringLiteral(" sat"), QStringLiteral("▸ on"),
                                  QStringLiteral("▸ the")},
                                 2,
                                 {0, 2, 4},
                                 QStringLiteral("— green, ▸: the 2 tokens the model wrote")}
            << 160.0 << 0;
        QTest::newRow("empty list") << TokenStripContent{} << 400.0 << 0;
    }
    void layoutInvariants() {
        QFETCH(TokenStripContent, content);
        QFETCH(double, width);
        QFETCH(int, elided);
        const TokenStripRenderer r = makeRenderer(content, width);
        const int t = int(content.labels.size());
        QCOMPARE(r.tokenCount(), t);
        if (t == 0) {
            QVERIFY(r.isEmpty());
            QCOMPARE(r.lineCount(), 0);
            QCOMPARE(r.height(), 0.0);
            QCOMPARE(r.tokenAt({5, 5}), -1);
            QImage image = paintStrip(r); // paints nothing, no crash
            QCOMPARE(image.pixel(0, 0), QColor(Qt::white).rgb());
            return;
        }
        const double left = TokenStripRenderer::kMargin,
                     right = width - TokenStripRenderer::kMargin;
        const double gap = spaceGap();
        int elidedCount = 0;
        for (int line = 0; line < r.lineCount(); ++line) {
            const auto [first, end] = r.lineTokens(line);
            for (int i = first; i < end; ++i) {
                const QRectF box = r.tokenRect(i);
                QVERIFY2(box.left() >= left && box.right() <= right + 1e-9,
                         qPrintable(QStringLiteral("token %1 at %2..%3")
                                        .arg(i)
                                        .arg(box.left())
                                        .arg(box.right())));
                QCOMPARE(box.height(), std::ceil(QFontMetricsF(testFont()).height()));
                if (i > first) {
                    QVERIFY(box.left() > r.tokenRect(i - 1).right()); // left to right, apart
                    QCOMPARE(box.top(), r.tokenRect(i - 1).top());    // on one line
                } else if (line > 0) {
                    QVERIFY(box.top() > r.tokenRect(i - 1).top());
                    // Greedy: this token would not have fitted after the previous line's last.
                    QVERIFY(r.tokenRect(i - 1).right() + gap + box.width() > right);
                }
                QCOMPARE(r.tokenAt(box.center()), i);
                if (r.isElided(i)) {
                    ++elidedCount;
                    QCOMPARE(box.width(), std::floor(right - left)); // a whole line
                    QCOMPARE(box.left(), left);
                    QVERIFY(r.displayText(i).contains(QChar(0x2026))); // …
                    QVERIFY(QFontMetricsF(r.tokenFont(i)).horizontalAdvance(r.displayText(i)) <=
                            box.width());
                } else {
                    QCOMPARE(box.width(), expectedBoxWidth(r, i));
                    QCOMPARE(r.displayText(i), HeatmapRenderer::escapeLabel(content.labels[i]));
                }
            }
        }
        QCOMPARE(elidedCount, elided);
        QCOMPARE(r.lineTokens(r.lineCount() - 1).second, t); // every token placed
        // Fonts: selected bold and underlined, generated italic.
        for (int i = 0; i < t; ++i) {
            const bool selected =
                std::binary_search(content.selected.begin(), content.selected.end(), i);
            QCOMPARE(r.tokenFont(i).bold(), selected);
            QCOMPARE(r.tokenFont(i).underline(), selected);
            QCOMPARE(r.tokenFont(i).italic(), i >= t - content.generatedTokens);
        }
        QVERIFY(r.plainText().startsWith(HeatmapRenderer::escapeLabel(content.labels[0])));
        if (!content.note.isEmpty()) QVERIFY(r.plainText().endsWith(content.note));
        // The gaps between boxes and lines are nobody's.
        const QRectF first = r.tokenRect(0);
        QCOMPARE(r.tokenAt({first.right() + 0.5, first.center().y()}), -1);
        QCOMPARE(r.tokenAt({first.center().x(), first.top() - 1}), -1);
    }

    // The rectangles a hover hands to update() are exactly the old and new marked tokens' boxes.
    void highlightRects_data() {
        QTest::addColumn<int>("query0");
        QTest::addColumn<int>("key0");
        QTest::addColumn<int>("query1");
        QTest::addColumn<int>("key1");
        QTest::addColumn<QList<int>>("changed"); // tokens whose boxes are handed back
        QTest::newRow("none to a cell") << -1 << -1 << 7 << 3 << QList<int>{7, 3};
        QTest::newRow("cell to cell") << 7 << 3 << 8 << 4 << QList<int>{7, 3, 8, 4};
        QTest::newRow("same query, new key") << 7 << 3 << 7 << 5 << QList<int>{7, 3, 5};
        QTest::newRow("diagonal") << 7 << 3 << 6 << 6 << QList<int>{7, 3, 6};
        QTest::newRow("leaving") << 7 << 3 << -1 << -1 << QList<int>{7, 3};
        QTest::newRow("unchanged") << 7 << 3 << 7 << 3 << QList<int>{};
        QTest::newRow("out of range ignored") << 2 << 1 << 99 << -5 << QList<int>{2, 1};
    }
    void highlightRects() {
        QFETCH(int, query0);
        QFETCH(int, key0);
        QFETCH(int, query1);
        QFETCH(int, key1);
        QFETCH(QList<int>, changed);
        TokenStripWidget w;
        w.setFont(testFont());
        w.resize(220, 200);
        QStringList labels;
        for (int i = 0; i < 40; ++i)
            labels << QStringLiteral(" tok%1").arg(i);
        w.setContent({labels});
        w.setHighlight(query0, key0);
        const int measured = w.renderer().measureCount(), wrapped = w.renderer().wrapCount();
        w.setHighlight(query1, key1);
        std::vector<QRectF> expected;
        for (int token : changed)
            expected.push_back(w.renderer().tokenRect(token));
        QCOMPARE(w.lastUpdatedRects(), expected);
        QCOMPARE(w.renderer().queryToken(), query1 < 40 ? query1 : -1);
        QCOMPARE(w.renderer().keyToken(), key1 >= 0 ? key1 : -1);
        // A hover lays nothing out again.
        QCOMPARE(w.renderer().measureCount(), measured);
        QCOMPARE(w.renderer().wrapCount(), wrapped);
    }

    // Painted before and after a hover: only the marked tokens' boxes change, and they show the
    // query (orange) and key (blue) colours.
    void hoverChangesOnlyMarkedPixels_data() {
        QTest::addColumn<int>("query0");
        QTest::addColumn<int>("key0");
        QTest::addColumn<int>("query1");
        QTest::addColumn<int>("key1");
        QTest::addColumn<int>("generated");
        QTest::newRow("none to a cell") << -1 << -1 << 12 << 3 << 0;
        QTest::newRow("cell to cell, other lines") << 12 << 3 << 30 << 29 << 0;
        QTest::newRow("to the diagonal") << 12 << 3 << 20 << 20 << 0;
        QTest::newRow("generated tokens marked") << 5 << 5 << 38 << 37 << 4;
        QTest::newRow("leaving") << 30 << 2 << -1 << -1 << 4;
    }
    void hoverChangesOnlyMarkedPixels() {
        QFETCH(int, query0);
        QFETCH(int, key0);
        QFETCH(int, query1);
        QFETCH(int, key1);
        QFETCH(int, generated);
        QStringList labels;
        for (int i = 0; i < 40; ++i)
            labels << (i % 3 ? QStringLiteral(" w%1").arg(i) : QStringLiteral("שלום%1").arg(i));
        TokenStripRenderer r = makeRenderer(
            {labels, generated, {}, generated ? QStringLiteral("— green: written") : QString()},
            260);
        r.setHighlight(query0, key0);
        const QImage before = paintStrip(r);
        const std::vector<QRectF> changed = r.setHighlight(query1, key1);
        const QImage after = paintStrip(r);
        QRegion allowed;
        for (const QRectF& rect : changed)
            allowed += rect.toAlignedRect();
        QVERIFY(!allowed.isEmpty());
        int differing = 0;
        for (int y = 0; y < before.height(); ++y)
            for (int x = 0; x < before.width(); ++x)
                if (before.pixel(x, y) != after.pixel(x, y)) {
                    ++differing;
                    QVERIFY2(allowed.contains(QPoint(x, y)),
                             qPrintable(QStringLiteral("pixel %1,%2 changed").arg(x).arg(y)));
                }
        QVERIFY(differing > 0);
        // Each rectangle handed back really changed.
        for (const QRectF& rect : changed) {
            bool any = false;
            const QRect area = rect.toAlignedRect();
            for (int y = area.top(); y <= area.bottom() && !any; ++y)
                for (int x = area.left(); x <= area.right() && !any; ++x)
                    any = before.pixel(x, y) != after.pixel(x, y);
            QVERIFY(any);
        }
        // The background just inside a marked box's corner (clear of the text and the frame).
        const auto corner = [&](int token) {
            const QRectF box = r.tokenRect(token);
            return QColor(after.pixel(int(box.left()) + 1, int(box.top()) + 2));
        };
        if (query1 >= 0) QCOMPARE(corner(query1), TokenStripRenderer::kQueryColour);
        if (key1 >= 0 && key1 != query1) QCOMPARE(corner(key1), TokenStripRenderer::kKeyColour);
        if (key1 >= 0 && key1 == query1) { // framed in blue
            const QRectF box = r.tokenRect(key1);
            QCOMPARE(QColor(after.pixel(int(box.left()), int(box.top()) + 2)),
                     TokenStripRenderer::kBothBorder);
        }
        // Unmarked: alternating greys, green for generated tokens.
        for (int token : {query0, key0})
            if (token >= 0 && token != query1 && token != key1)
                QCOMPARE(corner(token), token >= 40 - generated
                                            ? TokenStripRenderer::kGeneratedColour
                                        : token % 2 ? TokenStripRenderer::kOddColour
                                                    : TokenStripRenderer::kEvenColour);
    }

    // Painting only an exposed rectangle draws the same pixels there as painting everything.
    void paintsExposedPartOnly() {
        QStringList labels;
        for (int i = 0; i < 200; ++i)
            labels << QStringLiteral(" t%1").arg(i * 37);
        const TokenStripRenderer r = makeRenderer({labels}, 300);
        const QImage full = paintStrip(r);
        const QRect exposed = r.tokenRect(57).united(r.tokenRect(58)).toAlignedRect();
        QImage part(full.size(), QImage::Format_ARGB32);
        part.fill(Qt::white);
        {
            QPainter p(&part);
            p.setClipRect(exposed);
            r.paint(p, exposed);
        }
        QCOMPARE(part.copy(exposed), full.copy(exposed));
        // ... and nothing far from it.
        const QRect far = r.tokenRect(150).toAlignedRect();
        QVERIFY(part.copy(far) != full.copy(far));
    }

    // Right-to-left tokens first: the boxes still run left to right in token order, and each
    // token is drawn on its own (its pixels are those of the token painted alone), so
    // neighbouring right-to-left tokens never merge into one reversed run.
    void rightToLeftTokensRunLeftToRight_data() {
        QTest::addColumn<QStringList>("labels");
        QTest::newRow("Hebrew first") << QStringList{"שלום", "עולם", "hello", "world", "טוב"};
        QTest::newRow("Arabic first") << QStringList{"مرحبا", "بالعالم", "and", "شمس", "end"};
        QTest::newRow("Latin first") << QStringList{"hello", "שלום", "عالم", "xyz", "abc"};
    }
    void rightToLeftTokensRunLeftToRight() {
        QFETCH(QStringList, labels);
        const TokenStripRenderer r = makeRenderer({labels}, 4000);
        QCOMPARE(r.lineCount(), 1);
        const QImage strip = paintStrip(r);
        for (int i = 0; i < labels.size(); ++i) {
            if (i > 0) QVERIFY(r.tokenRect(i).left() > r.tokenRect(i - 1).right());
            // Alone, with the same background (the parity of its index) and position.
            QStringList alone;
            for (int j = 0; j < i; ++j)
                alone << QStringLiteral("x"); // placeholders
            TokenStripRenderer single = makeRenderer({alone << labels[i]}, 4000);
            const QRectF box = r.tokenRect(i);
            const QRectF singleBox = single.tokenRect(i);
            QCOMPARE(singleBox.size(), box.size());
            const QImage singleImage = paintStrip(single);
            QCOMPARE(singleImage.copy(singleBox.toAlignedRect()), strip.copy(box.toAlignedRect()));
        }
    }

    // The widget: clicks select tokens, the pointer is a hand over them, accessibility names the
    // strip and reads its tokens, and in a resizable scroll area it takes its content's height.
    void widgetInScrollArea() {
        QScrollArea area;
        area.setWidgetResizable(true);
        area.setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        auto* strip = new TokenStripWidget;
        strip->setFont(testFont());
        area.setWidget(strip);
        area.resize(300, 60);
        area.show();
        QVERIFY(QTest::qWaitForWindowExposed(&area));
        QStringList labels;
        for (int i = 0; i < 300; ++i)
            labels << QStringLiteral(" t%1").arg(i);
        QVERIFY(strip->setContent({labels}));
        QVERIFY(!strip->setContent({labels})); // the same tokens: nothing to do
        QTRY_COMPARE(strip->height(), strip->heightForWidth(strip->width()));
        QVERIFY(strip->height() > 200);
        QVERIFY(area.verticalScrollBar()->maximum() > 0);
        QCOMPARE(strip->width(), area.viewport()->width());
        QCOMPARE(strip->renderer().width(), double(strip->width()));
        QCOMPARE(strip->accessibleName(), QStringLiteral("Tokens"));
        QVERIFY(strip->accessibleDescription().startsWith(QStringLiteral("·t0 ·t1 ·t2")));
        QSignalSpy clicked(strip, &TokenStripWidget::tokenClicked);
        const QPoint centre = strip->renderer().tokenRect(2).center().toPoint();
        QTest::mouseClick(strip, Qt::LeftButton, Qt::ControlModifier, centre);
        QCOMPARE(clicked.size(), 1);
        QCOMPARE(clicked[0][0].toInt(), 2);
        QCOMPARE(clicked[0][1].value<Qt::KeyboardModifiers>(),
                 Qt::KeyboardModifiers(Qt::ControlModifier));
        QTest::mouseMove(strip, centre);
        QTRY_COMPARE(strip->cursor().shape(), Qt::PointingHandCursor);
        // The tooltip names the token under the pointer, whole, before the strip's help.
        strip->setToolTip(QStringLiteral("help"));
        QHelpEvent help(QEvent::ToolTip, centre, strip->mapToGlobal(centre));
        QApplication::sendEvent(strip, &help);
        QTRY_VERIFY(QToolTip::isVisible());
        QCOMPARE(QToolTip::text(), QStringLiteral("token 2: “·t2”\nhelp"));
        // Between tokens: no click, no hand.
        const QPoint gap(int(strip->renderer().tokenRect(2).right()) + 1, centre.y());
        QTest::mouseClick(strip, Qt::LeftButton, Qt::NoModifier, gap);
        QCOMPARE(clicked.size(), 1);
        // Fewer tokens: the strip shrinks to them, and marks on tokens it lost are dropped.
        strip->setHighlight(250, 1);
        QVERIFY(strip->setContent({labels.mid(0, 3)}));
        QCOMPARE(strip->renderer().queryToken(), -1);
        QCOMPARE(strip->renderer().keyToken(), 1);
        QTRY_COMPARE(strip->height(), area.viewport()->height()); // fills the viewport
        QCOMPARE(area.verticalScrollBar()->maximum(), 0);
        strip->clear();
        QVERIFY(strip->renderer().isEmpty());
        QCOMPARE(strip->heightForWidth(300), 0);
    }
};

QTEST_MAIN(TestTokenStrip)
#include "tst_token_strip.moc"
