// The window in hostile conditions (issue 15): at its minimum size every control shows its whole
// text and the heatmap keeps a usable area; a right-to-left first token does not turn the token
// strip around; warnings look different from errors and neither blocks the window.
#include "analysis_controller.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "token_strip/token_strip_widget.h"

#include <QAbstractButton>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace attnscope;

namespace {

constexpr int kTimeout = 30000;

QString fixture(const char* family) {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/%1/model").arg(QLatin1String(family));
}

bool waitReady(MainWindow& w) {
    auto* heatmap = w.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    return QTest::qWaitFor(
        [&] { return heatmap->tokenCount() > 0 && !w.controller()->isBusy() && w.analysis(); },
        kTimeout);
}

// The controls row's widgets by object name (labels are found through their buddies).
QList<QWidget*> controlWidgets(MainWindow& w) {
    QList<QWidget*> widgets;
    for (const char* name : {"layerSelector", "headSelector", "aggregateSelector",
                             "specialTokensSelector", "colorMapSelector", "autoRange"})
        widgets << w.findChild<QWidget*>(QLatin1String(name));
    for (QLabel* label : w.findChildren<QLabel*>())
        if (label->buddy() && widgets.contains(label->buddy())) widgets << label;
    return widgets;
}

// The window's model on ids 1..50 repeated, `tokens` long, labelled token0, token1, … (wide
// enough for several strip lines at 120 tokens), adopted as the window's analysis.
bool adoptNumberedTokens(MainWindow& w, int tokens) {
    AnalysisRequest request;
    for (int i = 0; i < tokens; ++i)
        request.ids.push_back(1 + i % 50);
    auto analysis = w.controller()->model()->analyze(request);
    if (!analysis) return false;
    QStringList labels;
    for (int i = 0; i < tokens; ++i)
        labels << QStringLiteral("token%1").arg(i);
    analysis->displayTokens = labels;
    w.controller()->adopt(std::make_shared<const Analysis>(std::move(*analysis)), 1.0);
    return true;
}

QColor middleLeftColour(QWidget* widget) {
    const QImage image = widget->grab().toImage();
    return image.pixelColor(3, image.height() / 2);
}

} // namespace

class TestWindowHardening : public QObject {
    Q_OBJECT
private slots:
    void minimumSizeKeepsControlsWhole_data();
    void minimumSizeKeepsControlsWhole();
    void rightToLeftFirstTokenStripRunsLeftToRight_data();
    void rightToLeftFirstTokenStripRunsLeftToRight();
    void tokenStripFitsUpToThreeLines_data();
    void tokenStripFitsUpToThreeLines();
    void warningDistinctFromError();
    void hoveredQueryScrolledIntoStrip();
};

void TestWindowHardening::minimumSizeKeepsControlsWhole_data() {
    QTest::addColumn<QSize>("requested");
    QTest::newRow("420x300 (clamped to the minimum)") << QSize(420, 300);
    QTest::newRow("the minimum") << MainWindow::kMinimumWindowSize;
    QTest::newRow("800x600") << QSize(800, 600);
    QTest::newRow("1100x800") << QSize(1100, 800);
}

// No control narrower or lower than its size hint (a combo box below it elides "Viridis" to
// "Viric", a check box cuts "Stretch colours" to "Stret"), none overlapping another, and the
// heatmap at least 200 × 150 pixels.
void TestWindowHardening::minimumSizeKeepsControlsWhole() {
    QFETCH(QSize, requested);
    MainWindow w;
    w.openModel(QStringLiteral("default"));
    w.show();
    QVERIFY(waitReady(w));
    w.resize(requested);
    QTest::qWait(50);
    QCoreApplication::processEvents();
    QVERIFY(w.width() >= MainWindow::kMinimumWindowSize.width());
    QVERIFY(w.height() >= MainWindow::kMinimumWindowSize.height());
    const QList<QWidget*> controls = controlWidgets(w);
    QCOMPARE(controls.size(), 6 + 4); // six controls, four with a label
    for (QWidget* control : controls) {
        QVERIFY(control);
        const QString name = control->objectName().isEmpty()
                                 ? qobject_cast<QLabel*>(control)->text()
                                 : control->objectName();
        QVERIFY2(control->isVisible(), qPrintable(name));
        QVERIFY2(control->width() >= control->sizeHint().width() &&
                     control->height() >= control->sizeHint().height(),
                 qPrintable(QStringLiteral("%1 is %2x%3, needs %4x%5")
                                .arg(name)
                                .arg(control->width())
                                .arg(control->height())
                                .arg(control->sizeHint().width())
                                .arg(control->sizeHint().height())));
        // Inside the window, and clear of every other control.
        const QRect global(control->mapTo(&w, QPoint(0, 0)), control->size());
        QVERIFY2(w.rect().contains(global), qPrintable(name));
        for (QWidget* other : controls)
            if (other != control)
                QVERIFY2(!global.intersects(QRect(other->mapTo(&w, QPoint(0, 0)), other->size())),
                         qPrintable(name + QStringLiteral(" overlaps ") + other->objectName()));
    }
    auto* heatmap = w.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    QVERIFY2(
        heatmap->width() >= 200 && heatmap->height() >= 150,
        qPrintable(QStringLiteral("heatmap %1x%2").arg(heatmap->width()).arg(heatmap->height())));
}

void TestWindowHardening::rightToLeftFirstTokenStripRunsLeftToRight_data() {
    QTest::addColumn<QStringList>("labels");
    QTest::newRow("Hebrew first") << QStringList{"שלום", "עולם", "hello", "world", "טוב"};
    QTest::newRow("Arabic first") << QStringList{"مرحبا", "بالعالم", "and", "شمس", "end"};
    QTest::newRow("Latin first") << QStringList{"hello", "שלום", "عالم", "xyz", "abc"};
}

// The strip's tokens are placed left to right in token order whatever the first token's
// script (each token is drawn on its own: tst_token_strip compares a right-to-left token's
// pixels with the same token painted alone).
void TestWindowHardening::rightToLeftFirstTokenStripRunsLeftToRight() {
    QFETCH(QStringList, labels);
    MainWindow w;
    w.openModel(QStringLiteral("default"));
    w.show();
    QVERIFY(waitReady(w));
    // An analysis of as many tokens as labels, relabelled (the strip shows displayTokens).
    AnalysisRequest request;
    request.ids = {1, 2, 3, 4, 5};
    auto analysis = w.controller()->model()->analyze(request);
    QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
    QCOMPARE(analysis->tokenCount(), int(labels.size()));
    analysis->displayTokens = labels;
    analysis->encoding.tokens = labels;
    w.controller()->adopt(std::make_shared<const Analysis>(std::move(*analysis)), 1.0);
    auto* strip = w.findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"));
    QVERIFY(strip);
    QTRY_COMPARE(strip->renderer().content().labels, labels);
    const TokenStripRenderer& r = strip->renderer();
    QCOMPARE(r.lineCount(), 1);
    for (int i = 1; i < labels.size(); ++i) {
        QVERIFY2(r.tokenRect(i).left() > r.tokenRect(i - 1).right(),
                 qPrintable(QStringLiteral("%1 starts at %2, left of the previous token's end %3")
                                .arg(labels[i])
                                .arg(r.tokenRect(i).left())
                                .arg(r.tokenRect(i - 1).right())));
        QCOMPARE(r.tokenRect(i).top(), r.tokenRect(0).top());
    }
    // The strip is visible, as wide as its scroll area's viewport.
    auto* area = w.findChild<QScrollArea*>(QStringLiteral("tokenStripArea"));
    QVERIFY(area && area->isVisible());
    QTRY_COMPARE(strip->width(), area->viewport()->width());
    QVERIFY(r.tokenRect(int(labels.size()) - 1).right() < strip->width());
}

void TestWindowHardening::tokenStripFitsUpToThreeLines_data() {
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("lines"); // the strip's lines at the window's width, at least
    QTest::addColumn<bool>("showFirst");
    QTest::newRow("one line") << 4 << 1 << true;
    QTest::newRow("many lines: three shown, scrolled") << 120 << 4 << true;
    // Set while the window is hidden, fitted to a guess of its width, then to the real one.
    QTest::newRow("set before the window is shown") << 14 << 1 << false;
}

// The strip's scroll area is as tall as its lines, up to three, and scrolls beyond.
void TestWindowHardening::tokenStripFitsUpToThreeLines() {
    QFETCH(int, tokens);
    QFETCH(int, lines);
    QFETCH(bool, showFirst);
    MainWindow w;
    w.resize(1000, 700);
    w.openModel(QStringLiteral("default"));
    if (showFirst) w.show();
    QVERIFY(waitReady(w));
    QVERIFY(adoptNumberedTokens(w, tokens));
    auto* strip = w.findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"));
    auto* area = w.findChild<QScrollArea*>(QStringLiteral("tokenStripArea"));
    QVERIFY(strip && area);
    QTRY_COMPARE(strip->renderer().tokenCount(), tokens);
    if (!showFirst) w.show();
    QTRY_COMPARE(strip->width(), area->viewport()->width());
    const TokenStripRenderer& r = strip->renderer();
    QVERIFY2(r.lineCount() >= lines, qPrintable(QString::number(r.lineCount())));
    const int shown = std::min(r.lineCount(), 3);
    QTRY_COMPARE(area->height(), int(std::ceil(r.heightForLines(shown))));
    QCOMPARE(area->verticalScrollBar()->maximum() > 0, r.lineCount() > 3);
    // A narrower window wraps the strip again at its new width, and fits the area to it.
    w.resize(700, 700);
    QTRY_COMPARE(strip->width(), area->viewport()->width());
    QCOMPARE(r.width(), double(strip->width()));
    QTRY_COMPARE(area->height(), int(std::ceil(r.heightForLines(std::min(r.lineCount(), 3)))));
}

// A long text's strip shows three lines: hovering a heatmap row whose token is further down
// scrolls the strip to it (and back up for the first row).
void TestWindowHardening::hoveredQueryScrolledIntoStrip() {
    MainWindow w;
    w.resize(1000, 700);
    w.openModel(QStringLiteral("default"));
    w.show();
    QVERIFY(waitReady(w));
    QVERIFY(adoptNumberedTokens(w, 120));
    auto* strip = w.findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"));
    auto* area = w.findChild<QScrollArea*>(QStringLiteral("tokenStripArea"));
    QVERIFY(strip && area);
    QTRY_COMPARE(strip->renderer().tokenCount(), 120);
    QTRY_COMPARE(strip->width(), area->viewport()->width());
    QVERIFY(area->verticalScrollBar()->maximum() > 0);
    const auto visibleInArea = [&](int token) {
        const QRectF box = strip->renderer().tokenRect(token);
        const int top = area->verticalScrollBar()->value();
        return box.top() >= top && box.bottom() <= top + area->viewport()->height();
    };
    QCOMPARE(area->verticalScrollBar()->value(), 0);
    QVERIFY(!visibleInArea(119));
    w.heatmap()->setHoveredCell({119, 3});
    QCOMPARE(strip->renderer().queryToken(), 119);
    QVERIFY(area->verticalScrollBar()->value() > 0);
    QVERIFY(visibleInArea(119));
    w.heatmap()->setHoveredCell({0, 0});
    QCOMPARE(strip->renderer().queryToken(), 0);
    QCOMPARE(area->verticalScrollBar()->value(), 0);
}

// A warning (a model's caveat; a cut text) is amber with ⚠, an error red with ✖; both are
// banners in the window, never dialogs, and a failed load keeps the model and the text.
void TestWindowHardening::warningDistinctFromError() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The Llama fixture with a pickle checkpoint beside its safetensors: a caveat, not an error.
    for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"})
        QVERIFY(QFile::copy(fixture("llama") + QLatin1Char('/') + QLatin1String(name),
                            dir.filePath(QLatin1String(name))));
    QFile pickle(dir.filePath(QStringLiteral("pytorch_model.bin")));
    QVERIFY(pickle.open(QIODevice::WriteOnly));
    pickle.write("\x80\x02}q\x00.");
    pickle.close();

    MainWindow w;
    w.openModel(dir.path());
    w.show();
    QVERIFY(waitReady(w));
    auto* warning = w.findChild<QLabel*>(QStringLiteral("warningBanner"));
    auto* error = w.findChild<QLabel*>(QStringLiteral("errorBanner"));
    QVERIFY(warning && error);
    QTRY_VERIFY(warning->isVisible());
    QVERIFY2(w.warningText().startsWith(QStringLiteral("⚠ ")) &&
                 w.warningText().contains(QStringLiteral("pytorch_model.bin is ignored")),
             qPrintable(w.warningText()));
    QVERIFY(!error->isVisible());
    w.setText(QStringLiteral("Typed text stays."));
    QVERIFY(
        QTest::qWaitFor([&] { return w.analysis() && w.analysis()->text == w.text(); }, kTimeout));

    // A broken folder: the error banner, the previous model and the text kept, no dialog.
    const QString broken = dir.filePath(QStringLiteral("broken"));
    QVERIFY(QDir().mkpath(broken));
    QFile config(broken + QStringLiteral("/config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("[]");
    config.close();
    const quint64 before = w.controller()->model()->instanceId();
    w.openModel(broken);
    QTRY_VERIFY_WITH_TIMEOUT(error->isVisible(), kTimeout);
    QVERIFY2(w.errorText().startsWith(QStringLiteral("✖ ")), qPrintable(w.errorText()));
    QVERIFY(QApplication::activeModalWidget() == nullptr);
    QCOMPARE(w.controller()->model()->instanceId(), before);
    QCOMPARE(w.text(), QStringLiteral("Typed text stays."));
    // Both visible at once, in different colours.
    QVERIFY(warning->isVisible());
    const QColor warningColour = middleLeftColour(warning);
    const QColor errorColour = middleLeftColour(error);
    QVERIFY2(errorColour.red() > 150 && errorColour.green() < 90, qPrintable(errorColour.name()));
    QVERIFY2(warningColour.red() > 200 && warningColour.green() > 180,
             qPrintable(warningColour.name()));

    // The default model has no caveat: the warning goes away.
    w.openModel(QStringLiteral("default"));
    QTRY_VERIFY_WITH_TIMEOUT(!warning->isVisible(), kTimeout);
    QVERIFY(w.warningText().isEmpty());
}

QTEST_MAIN(TestWindowHardening)
#include "tst_window_hardening.moc"
