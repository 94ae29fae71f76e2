// HeatmapRenderer: colours at the computed cell rectangles, hit-testing, label layout without
// overlaps from T = 1 to T = 300, label escaping, PNG/SVG export through the same renderer.
#include "colormap.h"
#include "heatmap_export.h"
#include "heatmap_renderer.h"
#include "heatmap_widget.h"

#include <QFile>
#include <QImage>
#include <QPainter>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <limits>

using namespace attnscope;

namespace {

// A causal attention-like matrix: rows sum to 1, strict upper triangle exactly 0.
Mat causalMatrix(int t, quint32 seed) {
    QRandomGenerator rng(seed);
    Mat m = Mat::Zero(t, t);
    for (int r = 0; r < t; ++r) {
        double sum = 0;
        for (int c = 0; c <= r; ++c)
            sum += (m(r, c) = float(rng.generateDouble() + 0.01));
        for (int c = 0; c <= r; ++c)
            m(r, c) = float(m(r, c) / sum);
    }
    return m;
}

Mat denseMatrix(int t, quint32 seed) {
    QRandomGenerator rng(seed);
    Mat m(t, t);
    for (int r = 0; r < t; ++r)
        for (int c = 0; c < t; ++c)
            m(r, c) = float(rng.generateDouble());
    return m;
}

QStringList tokens(int t, bool longOnes = false) {
    static const QStringList words = {
        "The", " cat", " sat",   " on", " the", " mat", " because",
        " it", " was", " tired", ".",   "\n",   "\t",   " supercalifragilisticexpialidocious"};
    QStringList out;
    for (int i = 0; i < t; ++i) {
        QString w = words[i % words.size()];
        if (longOnes && i % 3 == 0) w += QStringLiteral("_a_rather_long_suffix_%1").arg(i);
        out << w;
    }
    return out;
}

QImage render(const HeatmapRenderer& r, QSize size, HeatmapLayout* layout = nullptr) {
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter p(&image);
    const HeatmapLayout l = r.layout(QSizeF(size));
    r.paint(p, l);
    p.end();
    if (layout) *layout = l;
    return image;
}

Analysis syntheticAnalysis(int t, int layers, int heads) {
    Analysis a;
    a.text = QStringLiteral("synthetic");
    const QStringList toks = tokens(t);
    for (int i = 0; i < t; ++i) {
        a.encoding.ids.push_back(i);
        a.encoding.tokens << toks[i];
        a.encoding.offsets.push_back({i, i + 1});
    }
    a.displayTokens = toks;
    a.forward.layers.resize(layers);
    for (int l = 0; l < layers; ++l)
        for (int h = 0; h < heads; ++h)
            a.forward.layers[l].attention.push_back(causalMatrix(t, quint32(l * 10 + h)));
    return a;
}

void verifyNoOverlaps(const HeatmapLayout& l) {
    QVERIFY(l.hasGrid);
    const QRectF canvas(QPointF(0, 0), l.size);
    std::vector<std::pair<QString, QRectF>> boxes;
    for (const auto& x : l.rowLabels)
        boxes.push_back({"row " + QString::number(x.index), x.rect});
    for (const auto& x : l.columnLabels)
        boxes.push_back({"column " + QString::number(x.index), x.rect});
    for (const auto& x : l.ticks)
        boxes.push_back({"tick " + x.text, x.rect});
    if (!l.titleText.isEmpty()) boxes.push_back({"title", l.titleRect});
    boxes.push_back({"query caption", l.rowCaptionRect});
    boxes.push_back({"key caption", l.columnCaptionRect});
    for (size_t i = 0; i < boxes.size(); ++i) {
        const auto& [name, rect] = boxes[i];
        QVERIFY2(canvas.contains(rect), qPrintable(name + " leaves the canvas"));
        QVERIFY2(!rect.intersects(l.grid), qPrintable(name + " overlaps the grid"));
        QVERIFY2(!rect.intersects(l.colorBar), qPrintable(name + " overlaps the colour bar"));
        for (size_t j = i + 1; j < boxes.size(); ++j)
            QVERIFY2(!rect.intersects(boxes[j].second),
                     qPrintable(name + " overlaps " + boxes[j].first));
    }
}

} // namespace

class TestHeatmapRenderer : public QObject {
    Q_OBJECT
private slots:
    void colormapEnds_data();
    void colormapEnds();
    void cellColours_data();
    void cellColours();
    void maskedCells();
    void autoRange();
    void hitTesting_data();
    void hitTesting();
    void layoutNoOverlap_data();
    void layoutNoOverlap();
    void highlightedLabelsStayClear();
    void escapeLabel_data();
    void escapeLabel();
    void emptyAndTiny();
    void exportFiles_data();
    void exportFiles();
    void exportErrors();
    void widgetHoverAndKeys();
    void moreTokensThanPixels();
    void colourLookupMatchesRgbAt_data();
    void colourLookupMatchesRgbAt();
    void cellImageMatchesCellColours_data();
    void cellImageMatchesCellColours();
};

void TestHeatmapRenderer::colormapEnds_data() {
    QTest::addColumn<int>("map");
    QTest::addColumn<double>("t");
    QTest::addColumn<QColor>("expected");
    // matplotlib viridis table ends, ColorBrewer Blues ends.
    QTest::newRow("viridis 0") << int(ColorMap::Viridis) << 0.0 << QColor(68, 1, 84);
    QTest::newRow("viridis 1") << int(ColorMap::Viridis) << 1.0 << QColor(253, 231, 37);
    QTest::newRow("viridis 0.5") << int(ColorMap::Viridis) << 128.0 / 255 << QColor(33, 145, 140);
    QTest::newRow("viridis clamps") << int(ColorMap::Viridis) << 7.0 << QColor(253, 231, 37);
    QTest::newRow("blues 0") << int(ColorMap::Blues) << 0.0 << QColor(0xf7, 0xfb, 0xff);
    QTest::newRow("blues 1") << int(ColorMap::Blues) << 1.0 << QColor(0x08, 0x30, 0x6b);
}

void TestHeatmapRenderer::colormapEnds() {
    QFETCH(int, map);
    QFETCH(double, t);
    QFETCH(QColor, expected);
    QCOMPARE(colorAt(ColorMap(map), t), expected);
}

void TestHeatmapRenderer::cellColours_data() {
    QTest::addColumn<int>("map");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<QSize>("size");
    QTest::newRow("viridis T=3") << int(ColorMap::Viridis) << 3 << QSize(500, 400);
    QTest::newRow("viridis T=11") << int(ColorMap::Viridis) << 11 << QSize(900, 700);
    QTest::newRow("blues T=11") << int(ColorMap::Blues) << 11 << QSize(900, 700);
    QTest::newRow("viridis T=100 (image path)")
        << int(ColorMap::Viridis) << 100 << QSize(1000, 900);
    QTest::newRow("blues T=250 (image path)") << int(ColorMap::Blues) << 250 << QSize(1200, 1100);
}

void TestHeatmapRenderer::cellColours() {
    QFETCH(int, map);
    QFETCH(int, tokens);
    QFETCH(QSize, size);
    Mat m = denseMatrix(tokens, 7);
    const int hiRow = tokens - 1, hiCol = 0, loRow = 0, loCol = tokens - 1;
    m(hiRow, hiCol) = 1.0f;
    m(loRow, loCol) = 0.0f;
    if (tokens > 2) m(1, 1) = 0.5f;
    HeatmapRenderer r;
    HeatmapOptions o;
    o.colorMap = ColorMap(map);
    o.showCellValues = false;
    r.setOptions(o);
    r.setMatrix(m);
    r.setLabels(::tokens(tokens));
    r.setTitle("colours");
    HeatmapLayout l;
    const QImage image = render(r, size, &l);
    QVERIFY(l.hasGrid);
    QVERIFY(!l.masked);
    QVERIFY(l.cell >= 2);
    auto pixel = [&](int row, int col) {
        return QColor(image.pixel(l.cellRect(row, col).center().toPoint()));
    };
    QCOMPARE(pixel(hiRow, hiCol), colorAt(ColorMap(map), 1.0));
    QCOMPARE(pixel(loRow, loCol), colorAt(ColorMap(map), 0.0));
    if (tokens > 2) QCOMPARE(pixel(1, 1), colorAt(ColorMap(map), 0.5));
    QCOMPARE(QColor(r.colorForValue(1.0)), colorAt(ColorMap(map), 1.0));
}

void TestHeatmapRenderer::maskedCells() {
    const Mat m = causalMatrix(8, 3);
    HeatmapRenderer r;
    r.setMatrix(m);
    r.setLabels(tokens(8));
    QVERIFY(r.isMasked());
    HeatmapLayout l;
    const QImage image = render(r, QSize(700, 600), &l);
    QVERIFY(l.masked);
    const QColor zero = colorAt(ColorMap::Viridis, 0.0);
    // Masked cells are grey (with hatch lines), never the colour of 0.
    const QRect cell = l.cellRect(0, 5).toRect().adjusted(1, 1, -1, -1);
    int grey = 0;
    for (int y = cell.top(); y <= cell.bottom(); ++y)
        for (int x = cell.left(); x <= cell.right(); ++x) {
            const QColor c(image.pixel(x, y));
            QVERIFY(c != zero);
            if (c == QColor::fromRgb(HeatmapRenderer::maskedColor())) ++grey;
        }
    QVERIFY(grey > cell.width() * cell.height() / 2);
    // Lower triangle still uses the colour map.
    QCOMPARE(QColor(image.pixel(l.cellRect(0, 0).center().toPoint())),
             QColor(r.colorForValue(m(0, 0))));

    Mat notCausal = m;
    notCausal(0, 7) = 0.01f;
    r.setMatrix(notCausal);
    QVERIFY(!r.isMasked());
    HeatmapOptions o;
    o.mask = MaskMode::None;
    r.setMatrix(m);
    r.setOptions(o);
    QVERIFY(!r.isMasked());
}

void TestHeatmapRenderer::autoRange() {
    Mat m(2, 2);
    m << 0.2f, 0.4f, 0.3f, 0.6f;
    HeatmapRenderer r;
    HeatmapOptions o;
    o.autoRange = true;
    r.setOptions(o);
    r.setMatrix(m);
    const auto [lo, hi] = r.valueRange();
    QCOMPARE(lo, double(0.2f));
    QCOMPARE(hi, double(0.6f));
    QCOMPARE(QColor(r.colorForValue(0.6f)), colorAt(ColorMap::Viridis, 1.0));
    // A single token (value 1) must not give an empty range.
    Mat one(1, 1);
    one << 1.0f;
    r.setMatrix(one);
    const auto [lo1, hi1] = r.valueRange();
    QVERIFY(hi1 > lo1);
}

void TestHeatmapRenderer::hitTesting_data() {
    QTest::addColumn<int>("tokens");
    QTest::addColumn<QSize>("size");
    QTest::newRow("T=1") << 1 << QSize(600, 500);
    QTest::newRow("T=5") << 5 << QSize(600, 500);
    QTest::newRow("T=11") << 11 << QSize(1100, 700);
    QTest::newRow("T=64") << 64 << QSize(800, 800);
    QTest::newRow("T=300") << 300 << QSize(1200, 1000);
}

void TestHeatmapRenderer::hitTesting() {
    QFETCH(int, tokens);
    QFETCH(QSize, size);
    HeatmapRenderer r;
    r.setMatrix(causalMatrix(tokens, 1));
    r.setLabels(::tokens(tokens));
    const HeatmapLayout l = r.layout(QSizeF(size));
    QVERIFY(l.hasGrid);
    for (int row : {0, tokens / 2, tokens - 1})
        for (int col : {0, tokens / 3, tokens - 1}) {
            const QRectF cr = l.cellRect(row, col);
            QCOMPARE(l.cellAt(cr.center()), (HeatmapCell{row, col}));
            QCOMPARE(l.cellAt(cr.topLeft()), (HeatmapCell{row, col}));
            if (l.cell >= 2)
                QCOMPARE(l.cellAt(cr.bottomRight() - QPointF(0.01, 0.01)), (HeatmapCell{row, col}));
        }
    QVERIFY(!l.cellAt(l.grid.topLeft() - QPointF(1, 1)).isValid());
    QVERIFY(!l.cellAt(l.grid.bottomRight() + QPointF(1, 1)).isValid());
    QVERIFY(!l.cellAt(QPointF(l.grid.right(), l.grid.center().y())).isValid());
    QVERIFY(!l.cellAt(QPointF(-5, -5)).isValid());
}

void TestHeatmapRenderer::layoutNoOverlap_data() {
    QTest::addColumn<int>("tokens");
    QTest::addColumn<QSize>("size");
    QTest::addColumn<bool>("longLabels");
    for (int t : {1, 11, 200, 300}) {
        QTest::addRow("T=%d 1100x800", t) << t << QSize(1100, 800) << false;
        QTest::addRow("T=%d 600x450", t) << t << QSize(600, 450) << false;
        QTest::addRow("T=%d 1100x800 long labels", t) << t << QSize(1100, 800) << true;
        QTest::addRow("T=%d 2000x1800", t) << t << QSize(2000, 1800) << false;
    }
    QTest::newRow("T=11 wide 1600x400") << 11 << QSize(1600, 400) << true;
    QTest::newRow("T=11 tall 400x1600") << 11 << QSize(400, 1600) << true;
}

void TestHeatmapRenderer::layoutNoOverlap() {
    QFETCH(int, tokens);
    QFETCH(QSize, size);
    QFETCH(bool, longLabels);
    HeatmapRenderer r;
    r.setMatrix(causalMatrix(tokens, 2));
    r.setLabels(::tokens(tokens, longLabels));
    r.setTitle(QStringLiteral("Layer 11 · Head 7"));
    const HeatmapLayout l = r.layout(QSizeF(size));
    verifyNoOverlaps(l);
    if (QTest::currentTestFailed()) return;
    // Readable: labels at least 10 px, and enough of them drawn to orient oneself.
    QVERIFY(l.labelFont.pixelSize() >= 10);
    QVERIFY(!l.rowLabels.empty());
    QVERIFY(!l.columnLabels.empty());
    const int expected = std::min(tokens, 8);
    QVERIFY2(int(l.rowLabels.size()) >= expected, qPrintable(QString::number(l.rowLabels.size())));
    QVERIFY(int(l.columnLabels.size()) >= expected);
    if (l.cell >= 16) { // room for every label
        QCOMPARE(int(l.rowLabels.size()), tokens);
        QCOMPARE(int(l.columnLabels.size()), tokens);
    }
    QVERIFY(l.ticks.size() >= 2);
    // The grid is square cells and fills a fair share of the canvas.
    QVERIFY(l.grid.width() >= 0.4 * std::min(size.width(), size.height()));
    // Painting the layout works (no crash) for every case.
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    QPainter p(&image);
    r.paint(p, l);
}

void TestHeatmapRenderer::highlightedLabelsStayClear() {
    HeatmapRenderer r;
    r.setMatrix(causalMatrix(200, 4));
    r.setLabels(tokens(200));
    HeatmapOptions o;
    o.highlight = {37, 13}; // not on the regular label stride
    r.setOptions(o);
    const HeatmapLayout l = r.layout(QSizeF(900, 800));
    verifyNoOverlaps(l);
    auto has = [](const std::vector<HeatmapLabel>& labels, int index) {
        for (const auto& x : labels)
            if (x.index == index) return x.highlighted;
        return false;
    };
    QVERIFY(has(l.rowLabels, 37));
    QVERIFY(has(l.columnLabels, 13));
}

void TestHeatmapRenderer::escapeLabel_data() {
    QTest::addColumn<QString>("in");
    QTest::addColumn<QString>("out");
    QTest::newRow("plain") << "cat"
                           << "cat";
    QTest::newRow("leading space") << " cat" << QString::fromUtf8("·cat");
    QTest::newRow("newline") << "\n" << QString::fromUtf8("↵");
    QTest::newRow("tab") << "a\tb" << QString::fromUtf8("a→b");
    QTest::newRow("cr lf") << "\r\n" << QString::fromUtf8("␍↵");
    QTest::newRow("control") << QString(QChar(0x1b)) << "\\x1B";
    QTest::newRow("empty") << "" << QString::fromUtf8("∅");
    QTest::newRow("unicode kept") << QString::fromUtf8("héllo") << QString::fromUtf8("héllo");
}

void TestHeatmapRenderer::escapeLabel() {
    QFETCH(QString, in);
    QFETCH(QString, out);
    QCOMPARE(HeatmapRenderer::escapeLabel(in), out);
}

void TestHeatmapRenderer::emptyAndTiny() {
    HeatmapRenderer r;
    QVERIFY(!r.layout(QSizeF(400, 300)).hasGrid);
    QImage image(400, 300, QImage::Format_ARGB32_Premultiplied);
    {
        QPainter p(&image);
        r.paint(p, QRectF(0, 0, 400, 300)); // nothing to draw, no crash
    }
    r.setMatrix(causalMatrix(50, 5));
    r.setLabels(tokens(50, true));
    const HeatmapLayout tiny = r.layout(QSizeF(60, 40));
    QVERIFY(!tiny.cellAt(QPointF(30, 20)).isValid() || tiny.hasGrid);
    QPainter p(&image);
    r.paint(p, QRectF(0, 0, 60, 40));
}

void TestHeatmapRenderer::exportFiles_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("tokens");
    QTest::newRow("png T=11") << "a.png" << 11;
    QTest::newRow("PNG uppercase T=150") << "b.PNG" << 150;
    QTest::newRow("svg T=11") << "c.svg" << 11;
    QTest::newRow("svg T=200") << "d.svg" << 200;
    QTest::newRow("pdf T=11") << "e.pdf" << 11;
    QTest::newRow("pdf T=300") << "f.pdf" << 300;
}

void TestHeatmapRenderer::exportFiles() {
    QFETCH(QString, file);
    QFETCH(int, tokens);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Analysis a = syntheticAnalysis(tokens, 2, 3);
    const QString path = dir.filePath(file);
    const Status s = exportHeatmap(a, 1, 2, path, QSize(900, 800));
    QVERIFY2(s.ok(), qPrintable(s.message()));
    if (file.endsWith("png", Qt::CaseInsensitive)) {
        QImage image(path, "PNG");
        QCOMPARE(image.size(), QSize(900, 800));
        // Same code path as the screen: a rendered cell has the map's colour for its value.
        HeatmapRenderer r;
        configureRenderer(r, a, 1, 2);
        const HeatmapLayout l = r.layout(QSizeF(900, 800));
        const QPoint c = l.cellRect(tokens - 1, 0).center().toPoint();
        QCOMPARE(QColor(image.pixel(c)),
                 QColor(r.colorForValue((*a.attention(1, 2))(tokens - 1, 0))));
    } else if (file.endsWith("pdf")) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray pdf = f.readAll();
        QVERIFY(pdf.startsWith("%PDF-"));
        QVERIFY(pdf.trimmed().endsWith("%%EOF"));
        // One page of 900 x 800 px at 96 dpi = 675 x 600 pt.
        const QRegularExpression mediaBox(
            QStringLiteral(R"(/MediaBox \[0 0 675(\.0+)? 600(\.0+)?\])"));
        QVERIFY2(mediaBox.match(QString::fromLatin1(pdf)).hasMatch(), pdf.left(2000).constData());
    } else {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray svg = f.readAll();
        QVERIFY(svg.contains("<svg"));
        QVERIFY(svg.contains("Layer 1"));
        QVERIFY(svg.contains("query"));
    }
}

void TestHeatmapRenderer::exportErrors() {
    QTemporaryDir dir;
    const Analysis a = syntheticAnalysis(4, 2, 2);
    Status s = exportHeatmap(a, 2, 0, dir.filePath("x.png"), QSize(400, 300));
    QVERIFY(!s.ok());
    QVERIFY(s.message().contains("layer 2"));
    s = exportHeatmap(a, 0, 5, dir.filePath("x.png"), QSize(400, 300));
    QVERIFY(!s.ok());
    QVERIFY(s.message().contains("head 5"));
    s = exportHeatmap(a, 0, 0, dir.filePath("x.jpg"), QSize(400, 300));
    QVERIFY(!s.ok());
    QVERIFY(s.message().contains(".png, .svg or .pdf"));
    s = exportHeatmap(a, 0, 0, dir.filePath("no/such/dir/x.png"), QSize(400, 300));
    QVERIFY(!s.ok());
    s = exportHeatmap(a, 0, 0, dir.filePath("x.png"), QSize(0, 300));
    QVERIFY(!s.ok());
    // A failed export leaves the user's existing file as it was.
    QFile keep(dir.filePath("keep.png"));
    QVERIFY(keep.open(QIODevice::WriteOnly));
    keep.write("precious");
    keep.close();
    s = exportHeatmap(a, 0, 9, keep.fileName(), QSize(400, 300));
    QVERIFY(!s.ok());
    QVERIFY(keep.open(QIODevice::ReadOnly));
    QCOMPARE(keep.readAll(), QByteArray("precious"));
}

void TestHeatmapRenderer::widgetHoverAndKeys() {
    HeatmapWidget w;
    w.resize(700, 600);
    Mat m = causalMatrix(5, 9);
    const QStringList labels = {"The", " cat", "\n", " sat", "."};
    w.setData(m, labels, labels, "t");
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy hovered(&w, &HeatmapWidget::cellHovered);
    QSignalSpy text(&w, &HeatmapWidget::hoverTextChanged);
    const HeatmapLayout l = w.currentLayout();
    QTest::mouseMove(&w, l.cellRect(3, 2).center().toPoint());
    QTRY_COMPARE(w.hoveredCell(), (HeatmapCell{3, 2}));
    QCOMPARE(hovered.last().at(0).toInt(), 3);
    QCOMPARE(hovered.last().at(1).toInt(), 2);
    QCOMPARE(hovered.last().at(2).toFloat(), m(3, 2));
    QCOMPARE(text.last().at(0).toString(),
             QStringLiteral("query '·sat' (3) → key '↵' (2): %1").arg(double(m(3, 2)), 0, 'f', 4));
    QVERIFY(w.describeCell({1, 4}).endsWith("(masked)"));
    QVERIFY(w.describeCell({9, 9}).isEmpty());
    QTest::mouseMove(&w, QPoint(1, 1));
    QTRY_VERIFY(!w.hoveredCell().isValid());
    QCOMPARE(hovered.last().at(0).toInt(), -1);

    w.setFocus();
    QTest::keyClick(&w, Qt::Key_Home);
    QCOMPARE(w.hoveredCell(), (HeatmapCell{0, 0}));
    QTest::keyClick(&w, Qt::Key_Down);
    QTest::keyClick(&w, Qt::Key_Right);
    QCOMPARE(w.hoveredCell(), (HeatmapCell{1, 1}));
    QTest::keyClick(&w, Qt::Key_End);
    QTest::keyClick(&w, Qt::Key_Right);
    QTest::keyClick(&w, Qt::Key_Down);
    QCOMPARE(w.hoveredCell(), (HeatmapCell{4, 4}));
    QTest::keyClick(&w, Qt::Key_Escape);
    QVERIFY(!w.hoveredCell().isValid());

    // New data of a smaller size drops a hover that no longer exists.
    w.setHoveredCell({4, 4});
    w.setData(causalMatrix(3, 1), labels.mid(0, 3), labels.mid(0, 3), "t");
    QVERIFY(!w.hoveredCell().isValid());
    w.clear(QStringLiteral("nothing"));
    QCOMPARE(w.tokenCount(), 0);
    QCOMPARE(w.placeholder(), QStringLiteral("nothing"));
    QTest::keyClick(&w, Qt::Key_Home); // no data: no crash, nothing hovered
    QVERIFY(!w.hoveredCell().isValid());
}

void TestHeatmapRenderer::moreTokensThanPixels() {
    // T = 1001 in a small canvas: cells are below one pixel, yet a single hot key column must
    // stay visible (area averaging, not nearest-neighbour sampling).
    const int t = 1001;
    Mat m = Mat::Zero(t, t);
    m.col(501).setConstant(1.0f);
    HeatmapRenderer r;
    HeatmapOptions o;
    o.mask = MaskMode::None;
    r.setOptions(o);
    r.setMatrix(m);
    HeatmapLayout l;
    const QImage image = render(r, QSize(700, 600), &l);
    QVERIFY(l.hasGrid);
    QVERIFY(l.cell < 1.0);
    const int y = int(l.grid.center().y());
    const QColor zero = colorAt(ColorMap::Viridis, 0.0);
    int lit = 0;
    for (int x = int(l.grid.left()) + 1; x < int(l.grid.right()) - 1; ++x) {
        const QColor c(image.pixel(x, y));
        if (std::abs(c.green() - zero.green()) > 40) ++lit;
    }
    QVERIFY2(lit >= 1 && lit <= 3, qPrintable(QString::number(lit)));
    verifyNoOverlaps(l);
}

void TestHeatmapRenderer::colourLookupMatchesRgbAt_data() {
    QTest::addColumn<int>("map");
    QTest::newRow("viridis") << int(ColorMap::Viridis);
    QTest::newRow("blues") << int(ColorMap::Blues);
    QTest::newRow("rdbu") << int(ColorMap::RedBlue);
}

void TestHeatmapRenderer::colourLookupMatchesRgbAt() {
    // The table must give rgbAt's colour for every t: at and next to every bucket edge (where a
    // colour step inside a bucket would be missed), at the knots, at random t and the odd ones.
    QFETCH(int, map);
    const ColorMap m = ColorMap(map);
    const ColorLookup lookup(m);
    QCOMPARE(&colorLookup(m) == &colorLookup(m), true);
    QCOMPARE(colorLookup(m).map(), m);
    int checked = 0;
    auto check = [&](double t) {
        ++checked;
        if (lookup(t) != rgbAt(m, t))
            QFAIL(qPrintable(QStringLiteral("t = %1: table %2, rgbAt %3")
                                 .arg(t, 0, 'g', 17)
                                 .arg(lookup(t), 0, 16)
                                 .arg(rgbAt(m, t), 0, 16)));
        if (colorLookup(m)(t) != lookup(t)) QFAIL("the shared table differs");
    };
    for (int i = 0; i <= ColorLookup::kBuckets; ++i) {
        const double edge = double(i) / ColorLookup::kBuckets;
        check(edge);
        check(std::nextafter(edge, 0.0));
        check(std::nextafter(edge, 2.0));
        check(std::nextafter(std::nextafter(edge, 0.0), 0.0));
        check(edge + 0.5 / ColorLookup::kBuckets);
    }
    for (int k = 0; k <= 16; ++k) // the viridis knots (other maps' knots are bucket edges)
        for (double t : {k * 16 / 255.0, 1.0})
            for (double d : {-1e-12, 0.0, 1e-12})
                check(t + d);
    QRandomGenerator rng(11);
    for (int i = 0; i < 300000; ++i)
        check(rng.generateDouble() * 1.2 - 0.1);
    for (double t : {std::nan(""), -std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::infinity(), -0.0, 1e-320, 1.0, 2.0, -5.0})
        check(t);
    QVERIFY(checked > 600000);
}

void TestHeatmapRenderer::cellImageMatchesCellColours_data() {
    QTest::addColumn<int>("map");
    QTest::addColumn<bool>("causal");
    QTest::addColumn<bool>("stretch");
    QTest::addColumn<bool>("grey");
    QTest::addColumn<bool>("dark");
    QTest::newRow("viridis causal") << int(ColorMap::Viridis) << true << false << false << false;
    QTest::newRow("viridis causal stretched greyed dark")
        << int(ColorMap::Viridis) << true << true << true << true;
    QTest::newRow("blues dense greyed") << int(ColorMap::Blues) << false << false << true << false;
    QTest::newRow("blues dense stretched")
        << int(ColorMap::Blues) << false << true << false << false;
    QTest::newRow("rdbu signed") << int(ColorMap::RedBlue) << false << false << false << false;
}

void TestHeatmapRenderer::cellImageMatchesCellColours() {
    // The colours painted through the table and the kept image are, cell for cell, the ones
    // cellColor() gives (the per-cell QColor/rgbAt way paint() used before); a paint from the
    // kept image equals a fresh renderer's, also after options that change colours.
    QFETCH(int, map);
    QFETCH(bool, causal);
    QFETCH(bool, stretch);
    QFETCH(bool, grey);
    QFETCH(bool, dark);
    const int t = 300;
    Mat m = causal ? causalMatrix(t, 5) : denseMatrix(t, 5);
    if (ColorMap(map) == ColorMap::RedBlue) m = m.array() * 2.0f - 1.0f; // differences
    m(3, 1) = std::numeric_limits<float>::quiet_NaN();                   // NaN maps to the low end
    HeatmapOptions o;
    o.colorMap = ColorMap(map);
    o.autoRange = stretch;
    if (ColorMap(map) == ColorMap::RedBlue) o.minValue = -1.0;
    o.chrome = ChromePalette::forTheme(dark);
    if (grey) {
        o.greyedTokens.assign(size_t(t), false);
        for (int i : {0, 7, 8, 150, t - 1})
            o.greyedTokens[size_t(i)] = true;
    }
    HeatmapRenderer r;
    r.setOptions(o);
    r.setMatrix(m);
    r.setLabels(tokens(t));
    QCOMPARE(r.isMasked(), causal);
    const QImage cells = r.cellImage();
    QCOMPARE(cells.size(), QSize(t, t));
    int greyedCells = 0, maskedCells = 0;
    for (int row = 0; row < t; ++row)
        for (int column = 0; column < t; ++column) {
            const QRgb expected = r.cellColor(row, column);
            if (cells.pixel(column, row) != expected)
                QFAIL(qPrintable(QStringLiteral("cell (%1, %2): %3, cellColor %4")
                                     .arg(row)
                                     .arg(column)
                                     .arg(cells.pixel(column, row), 0, 16)
                                     .arg(expected, 0, 16)));
            greyedCells += r.isGreyed(row, column) && !(causal && column > row);
            maskedCells += causal && column > row;
        }
    QCOMPARE(greyedCells > 0, grey);
    QCOMPARE(maskedCells, causal ? t * (t - 1) / 2 : 0);
    // Cells of a pixel or more, and under a pixel (the area-averaged image kept).
    for (const QSize size : {QSize(1100, 1000), QSize(420, 380)}) {
        HeatmapLayout layout;
        const QImage first = render(r, size, &layout);
        QCOMPARE(layout.cell < 1.0, size.width() < 1000);
        QCOMPARE(render(r, size), first); // from the kept images
        HeatmapRenderer fresh;
        fresh.setOptions(o);
        fresh.setMatrix(m);
        fresh.setLabels(tokens(t));
        QCOMPARE(render(fresh, size), first);
        r.setHighlight({5, 2}); // hovering does not recolour, and shows the highlight
        fresh.setHighlight({5, 2});
        QCOMPARE(render(r, size), render(fresh, size));
        r.setHighlight({});
    }
    // New colours for the same matrix: nothing stale is painted.
    HeatmapOptions other = o;
    other.colorMap = ColorMap(map) == ColorMap::Blues ? ColorMap::Viridis : ColorMap::Blues;
    other.greyedTokens.clear();
    r.setOptions(other);
    HeatmapRenderer fresh;
    fresh.setOptions(other);
    fresh.setMatrix(m);
    fresh.setLabels(tokens(t));
    QCOMPARE(render(r, QSize(420, 380)), render(fresh, QSize(420, 380)));
    QCOMPARE(r.cellImage().pixel(1, 2), r.cellColor(2, 1));
}

QTEST_MAIN(TestHeatmapRenderer)
#include "tst_heatmap_renderer.moc"
