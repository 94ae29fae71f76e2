// MainWindow driven like a person would: type text, switch heads, open a bad model, hover.
#include "analyses/head_statistics.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "token_strip/token_strip_widget.h"

#include <QApplication>
#include <QDir>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace attnscope;

namespace {

QString modelPath() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
}

constexpr int kTimeout = 20000;

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void startsWithSampleAnalysed();
    void typingUpdatesHeatmap();
    void selectorsChangeMatrix_data();
    void selectorsChangeMatrix();
    void hoverShowsValue();
    void badModelShowsBanner();
    void cachedModelsMenu();
    void highlightCountsCodePoints();
    void emptyText();
    void truncationNotice();
    void exportFromWindow_data();
    void exportFromWindow();
    void opensOnPatternedHead_data();
    void opensOnPatternedHead();

private:
    std::unique_ptr<MainWindow> readyWindow();
    std::shared_ptr<const LoadedModel> m_model;
};

void TestMainWindow::initTestCase() {
    auto model = LoadedModel::open(modelPath());
    QVERIFY2(model.ok(), qPrintable(model.message()));
    m_model = model.value();
}

std::unique_ptr<MainWindow> TestMainWindow::readyWindow() {
    auto w = std::make_unique<MainWindow>();
    w->openModel(modelPath());
    w->show();
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    if (!heatmap) return w;
    (void)QTest::qWaitFor([&] { return heatmap->tokenCount() > 0 && !w->controller()->isBusy(); },
                          kTimeout);
    return w;
}

void TestMainWindow::startsWithSampleAnalysed() {
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    QVERIFY(heatmap);
    QVERIFY(w->findChild<QPlainTextEdit*>(QStringLiteral("textInput")));
    QVERIFY(w->findChild<QSpinBox*>(QStringLiteral("layerSelector")));
    QVERIFY(w->findChild<QSpinBox*>(QStringLiteral("headSelector")));
    QCOMPARE(w->text(), MainWindow::sampleText());
    QVERIFY(w->width() >= 900 && w->height() >= 650);
    AnalysisRequest request;
    request.text = MainWindow::sampleText();
    const auto direct = m_model->analyze(request);
    QVERIFY(direct.ok());
    QCOMPARE(heatmap->tokenCount(), direct->tokenCount());
    QVERIFY((heatmap->matrix() - (*direct->attention(0, 0))).cwiseAbs().maxCoeff() <= 1e-6f);
    // Status bar: model name, family, layers × heads, token count, time.
    const QString model = w->findChild<QLabel*>(QStringLiteral("modelLabel"))->text();
    QVERIFY2(model.contains(familyName(m_model->config().family)), qPrintable(model));
    QVERIFY2(model.contains(QStringLiteral("%1 layers × %2 heads")
                                .arg(m_model->config().layers)
                                .arg(m_model->config().heads)),
             qPrintable(model));
    QVERIFY(w->findChild<QLabel*>(QStringLiteral("tokensLabel"))
                ->text()
                .contains(QString::number(direct->tokenCount())));
    QVERIFY(
        w->findChild<QLabel*>(QStringLiteral("timeLabel"))->text().endsWith(QStringLiteral("ms")));
    QVERIFY(!w->findChild<QLabel*>(QStringLiteral("errorBanner"))->isVisible());
}

void TestMainWindow::typingUpdatesHeatmap() {
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    const int before = heatmap->tokenCount();
    const Mat matrixBefore = heatmap->matrix();
    input->setFocus();
    input->moveCursor(QTextCursor::End);
    const QString typed = QStringLiteral(" Then the dog barked.");
    QTest::keyClicks(input, typed);
    QCOMPARE(w->text(), MainWindow::sampleText() + typed);

    AnalysisRequest request;
    request.text = MainWindow::sampleText() + typed;
    const auto direct = m_model->analyze(request);
    QVERIFY(direct.ok());
    QVERIFY(direct->tokenCount() > before);
    QTRY_COMPARE_WITH_TIMEOUT(heatmap->tokenCount(), direct->tokenCount(), kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(!w->controller()->isBusy(), kTimeout);
    QCOMPARE(heatmap->tokenCount(), direct->tokenCount());
    const Mat& after = heatmap->matrix();
    QVERIFY(
        (after - (*direct->attention(w->currentLayer(), w->currentHead()))).cwiseAbs().maxCoeff() <=
        1e-6f);
    // The shared prefix of a causal model's attention is unchanged; the matrix as a whole is not.
    QVERIFY(after.rows() != matrixBefore.rows());
    QVERIFY((after.topLeftCorner(before, before) - matrixBefore).cwiseAbs().maxCoeff() <= 1e-5f);

    // Deleting everything and typing anew.
    input->selectAll();
    QTest::keyClick(input, Qt::Key_Delete);
    QTest::keyClicks(input, QStringLiteral("Hi"));
    request.text = QStringLiteral("Hi");
    const auto hi = m_model->analyze(request);
    QVERIFY(hi.ok());
    QTRY_COMPARE_WITH_TIMEOUT(heatmap->tokenCount(), hi->tokenCount(), kTimeout);
}

void TestMainWindow::selectorsChangeMatrix_data() {
    QTest::addColumn<QString>("selector");
    QTest::newRow("head") << "headSelector";
    QTest::newRow("layer") << "layerSelector";
}

void TestMainWindow::selectorsChangeMatrix() {
    QFETCH(QString, selector);
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    auto* spin = w->findChild<QSpinBox*>(selector);
    QVERIFY(spin);
    const int count = selector == QLatin1String("headSelector") ? m_model->config().heads
                                                                : m_model->config().layers;
    QCOMPARE(spin->minimum(), 0);
    QCOMPARE(spin->maximum(), count - 1);
    QCOMPARE(spin->value(), 0);
    const Mat before = heatmap->matrix();
    spin->setFocus();
    QTest::keyClick(spin, Qt::Key_Up);
    QCOMPARE(spin->value(), 1);
    const auto analysis = w->analysis();
    QVERIFY(analysis);
    const Mat& expected = (*analysis->attention(w->currentLayer(), w->currentHead()));
    QCOMPARE(heatmap->matrix().rows(), before.rows());
    QVERIFY((heatmap->matrix() - expected).cwiseAbs().maxCoeff() == 0.0f);
    QVERIFY((heatmap->matrix() - before).cwiseAbs().maxCoeff() > 0.0f);
    QVERIFY(heatmap->renderer().title().contains(QStringLiteral("1")));
    // Cannot go past the last one.
    for (int i = 0; i < count + 2; ++i)
        QTest::keyClick(spin, Qt::Key_Up);
    QCOMPARE(spin->value(), count - 1);
}

void TestMainWindow::hoverShowsValue() {
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    QTest::qWait(100); // let the layout settle (the token strip sizes itself to its text)
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    auto* hover = w->findChild<QLabel*>(QStringLiteral("hoverLabel"));
    QSignalSpy hovered(heatmap, &HeatmapWidget::cellHovered);
    const HeatmapLayout layout = heatmap->currentLayout();
    QVERIFY(layout.hasGrid);
    const QPoint p = layout.cellRect(2, 1).center().toPoint();
    QTest::mouseMove(heatmap, p);
    QTRY_VERIFY(!hovered.isEmpty());
    QCOMPARE(heatmap->hoveredCell(), (HeatmapCell{2, 1}));
    const float value = heatmap->matrix()(2, 1);
    QCOMPARE(hovered.last().at(0).toInt(), 2);
    QCOMPARE(hovered.last().at(1).toInt(), 1);
    const QString expected = QStringLiteral("query '%1' (2) → key '%2' (1): %3")
                                 .arg(HeatmapRenderer::escapeLabel(w->analysis()->displayTokens[2]),
                                      HeatmapRenderer::escapeLabel(w->analysis()->displayTokens[1]))
                                 .arg(double(value), 0, 'f', 4);
    QCOMPARE(hover->text(), expected);
    QCOMPARE(heatmap->describeCell({2, 1}), expected);
    // The token strip marks both tokens.
    auto* strip = w->findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"));
    QVERIFY(strip);
    QCOMPARE(strip->renderer().queryToken(), 2);
    QCOMPARE(strip->renderer().keyToken(), 1);
    QCOMPARE(strip->renderer().tokenCount(), w->analysis()->tokenCount());
    // The text field marks the characters each token came from (via its offsets): in
    // "The cat sat on …" query 2 is " sat" and key 1 is " cat".
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    const QList<QTextEdit::ExtraSelection> marks = input->extraSelections();
    QCOMPARE(marks.size(), 2);
    const Encoding& e = w->analysis()->encoding;
    const QString text = input->toPlainText();
    QCOMPARE(marks[0].cursor.selectedText(),
             text.mid(e.offsets[1].first, e.offsets[1].second - e.offsets[1].first));
    QCOMPARE(marks[1].cursor.selectedText(),
             text.mid(e.offsets[2].first, e.offsets[2].second - e.offsets[2].first));
    QCOMPARE(marks[1].cursor.selectedText(), QStringLiteral(" sat"));
    // Leaving the grid clears it.
    QTest::mouseMove(heatmap, QPoint(2, 2));
    QTRY_VERIFY(!heatmap->hoveredCell().isValid());
    QVERIFY(hover->text().isEmpty());
    QVERIFY(input->extraSelections().isEmpty());
    QCOMPARE(strip->renderer().queryToken(), -1);
    QCOMPARE(strip->renderer().keyToken(), -1);
}

void TestMainWindow::badModelShowsBanner() {
    MainWindow w;
    w.show();
    auto* banner = w.findChild<QLabel*>(QStringLiteral("errorBanner"));
    QVERIFY(banner);
    QVERIFY(!banner->isVisible());
    w.openModel(QStringLiteral("/definitely/not/a/model"));
    QTRY_VERIFY_WITH_TIMEOUT(banner->isVisible(), kTimeout);
    QVERIFY(banner->text().contains(QStringLiteral("/definitely/not/a/model")));
    QVERIFY(!QApplication::activeModalWidget());
    QVERIFY(w.isVisible());
    // Still usable: a good model afterwards analyses the text and the banner goes away.
    auto* heatmap = w.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    w.openModel(modelPath());
    QTRY_VERIFY_WITH_TIMEOUT(heatmap->tokenCount() > 0, kTimeout);
    QTRY_VERIFY(!banner->isVisible());
    // A bad model while one is loaded keeps the old one and its heatmap.
    const int tokens = heatmap->tokenCount();
    w.openModel(QStringLiteral("/another/bad/path"));
    QTRY_VERIFY_WITH_TIMEOUT(banner->isVisible(), kTimeout);
    QCOMPARE(heatmap->tokenCount(), tokens);
    QVERIFY(w.controller()->model());
    w.setText(QStringLiteral("Still works."));
    AnalysisRequest request;
    request.text = QStringLiteral("Still works.");
    const auto direct = m_model->analyze(request);
    QTRY_COMPARE_WITH_TIMEOUT(heatmap->tokenCount(), direct->tokenCount(), kTimeout);
}

// File → Models on this computer lists the Hugging Face cache and opens the chosen snapshot.
void TestMainWindow::cachedModelsMenu() {
    QTemporaryDir cache;
    const QString snapshot =
        cache.filePath(QStringLiteral("models--org--tiny-bert/snapshots/abc123"));
    QVERIFY(QDir().mkpath(snapshot));
    const QString bert = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/bert/model/");
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"})
        QVERIFY(
            QFile::copy(bert + QLatin1String(f), snapshot + QLatin1Char('/') + QLatin1String(f)));
    qputenv("HF_HUB_CACHE", cache.path().toUtf8());
    auto w = readyWindow();
    auto* menu = w->findChild<QMenu*>(QStringLiteral("cachedModelsMenu"));
    QVERIFY(menu);
    emit menu->aboutToShow();
    QAction* entry = nullptr;
    QStringList labels;
    for (QAction* a : menu->actions()) {
        labels << a->text();
        if (a->text().contains(QStringLiteral("org/tiny-bert"))) entry = a;
    }
    qunsetenv("HF_HUB_CACHE");
    QVERIFY2(entry, qPrintable(labels.join(QStringLiteral(" | "))));
    QVERIFY(entry->text().contains(QStringLiteral("bert")));
    QCOMPARE(entry->toolTip(), snapshot);
    entry->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(w->controller()->model() &&
                                 w->controller()->model()->config().family == Family::Bert,
                             kTimeout);
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    AnalysisRequest request;
    request.text = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"))->toPlainText();
    const auto direct = w->controller()->model()->analyze(request);
    QVERIFY(direct.ok());
    QTRY_COMPARE_WITH_TIMEOUT(heatmap->tokenCount(), direct->tokenCount(),
                              kTimeout); // [CLS] … [SEP]
}

// Offsets count code points; the text field counts UTF-16 units. With an emoji before the
// token, the mark must still cover exactly that token's characters.
void TestMainWindow::highlightCountsCodePoints() {
    auto w = readyWindow();
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    const QString text = QStringLiteral("h\u00e9 \U0001F600\U0001F600 w\u00f6rld");
    w->setText(text);
    QTRY_VERIFY_WITH_TIMEOUT(
        w->analysis() && w->analysis()->text == text && !w->controller()->isBusy(), kTimeout);
    QTest::qWait(100);
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    const int last = w->analysis()->tokenCount() - 1;
    QTest::mouseMove(heatmap, heatmap->currentLayout().cellRect(last, last).center().toPoint());
    QTRY_COMPARE(heatmap->hoveredCell(), (HeatmapCell{last, last}));
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    const QList<QTextEdit::ExtraSelection> marks = input->extraSelections();
    QCOMPARE(marks.size(), 2);
    const auto [begin, end] = w->analysis()->encoding.offsets[size_t(last)];
    const QList<uint> codePoints = text.toUcs4();
    const QString expected = QString::fromUcs4(
        reinterpret_cast<const char32_t*>(codePoints.constData()) + begin, end - begin);
    QCOMPARE(marks[1].cursor.selectedText(), expected);
    QVERIFY(!expected.isEmpty() && text.endsWith(expected));
    QCOMPARE(marks[1].cursor.selectionStart(), begin + 2); // each emoji is two UTF-16 units
}

void TestMainWindow::emptyText() {
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    w->setText(QString());
    QCOMPARE(heatmap->tokenCount(), 0);
    QVERIFY(!heatmap->placeholder().isEmpty());
    QTest::qWait(200);
    QCOMPARE(heatmap->tokenCount(), 0); // no late result for the old text
    QVERIFY(!w->findChild<QLabel*>(QStringLiteral("errorBanner"))->isVisible());
    w->setText(QStringLiteral("Back again"));
    QTRY_VERIFY_WITH_TIMEOUT(heatmap->tokenCount() > 0, kTimeout);
}

void TestMainWindow::truncationNotice() {
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    auto* notice = w->findChild<QLabel*>(QStringLiteral("truncatedNotice"));
    QVERIFY(notice);
    QVERIFY(!notice->isVisible());
    QString text;
    for (int i = 0; i < 60; ++i)
        text += QStringLiteral("one two three ");
    AnalysisRequest request;
    request.text = text;
    const auto direct = m_model->analyze(request);
    QVERIFY2(direct.ok(), qPrintable(direct.message()));
    QVERIFY(direct->truncatedTokens > 0);
    w->setText(text);
    QTRY_VERIFY_WITH_TIMEOUT(notice->isVisible(), kTimeout);
    QVERIFY(notice->text().contains(QString::number(direct->truncatedTokens)));
    auto* heatmap = w->findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    QCOMPARE(heatmap->tokenCount(), direct->tokenCount());
    w->setText(QStringLiteral("Short again."));
    QTRY_VERIFY_WITH_TIMEOUT(!notice->isVisible(), kTimeout);
}

void TestMainWindow::exportFromWindow_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("png") << "heat.png";
    QTest::newRow("svg") << "heat.svg";
    QTest::newRow("pdf") << "heat.pdf";
}

void TestMainWindow::exportFromWindow() {
    QFETCH(QString, file);
    auto w = readyWindow();
    QVERIFY(w->analysis() && !w->controller()->isBusy());
    QTemporaryDir dir;
    const Status s = w->exportCurrentHeatmap(dir.filePath(file), QSize(800, 700));
    QVERIFY2(s.ok(), qPrintable(s.message()));
    QVERIFY(QFileInfo(dir.filePath(file)).size() > 1000);
}

void TestMainWindow::opensOnPatternedHead_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<double>("minPreviousToken"); // what the chosen head must show
    QTest::newRow("gpt2 fixture (random weights)") << modelPath() << 0.0;
    QTest::newRow("default (trained)") << QStringLiteral("default") << 0.5;
}

// As the app starts: the first analysis of a newly opened model selects the head that
// mostPatternedHead finds in it; on the trained default model that is a previous-token head.
void TestMainWindow::opensOnPatternedHead() {
    QFETCH(QString, model);
    QFETCH(double, minPreviousToken);
    MainWindow w;
    w.setOpensOnPatternedHead(true);
    w.openModel(model);
    w.show();
    auto* heatmap = w.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    QVERIFY(heatmap);
    QVERIFY(QTest::qWaitFor([&] { return heatmap->tokenCount() > 0 && !w.controller()->isBusy(); },
                            kTimeout));
    const auto analysis = w.analysis();
    QVERIFY(analysis);
    QCOMPARE(analysis->text, MainWindow::sampleText());
    const auto [layer, head] = mostPatternedHead(*analysis);
    QCOMPARE(w.currentLayer(), layer);
    QCOMPARE(w.currentHead(), head);
    QVERIFY((heatmap->matrix() - (*analysis->attention(layer, head))).cwiseAbs().maxCoeff() ==
            0.0f);
    const auto stats = headStatistics(*analysis);
    QVERIFY(stats[size_t(layer * analysis->headCount() + head)].previousToken >= minPreviousToken);
    // Typing afterwards keeps the user's head: only a model change picks again.
    w.setLayerHead(0, 0);
    auto* input = w.findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    input->setPlainText(MainWindow::sampleText() + QStringLiteral(" Then it slept."));
    QVERIFY(QTest::qWaitFor([&] { return w.analysis() != analysis && !w.controller()->isBusy(); },
                            kTimeout));
    QCOMPARE(w.currentLayer(), 0);
    QCOMPARE(w.currentHead(), 0);
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
