// Sessions in the window (File → Open Session…, Save Session) and attention files opened
// without a model: a window's state saved and opened in a fresh window shows the same view
// (the same state fields and the same pixels); a bad session (empty, not JSON, truncated, wrong
// type, newer version, a model that fails to load, a head the model lacks) leaves the window
// exactly as it was, with the reason in its banner; an attention file written by `dump` shows the
// model's heatmap pixel for pixel, and what needs the model says why it is off.
#include "analysis_views/rollout_panel.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "explain/explain_panel.h"
#include "grid/grid_widget.h"
#include "heads/head_list_model.h"
#include "heatmap_widget.h"
#include "image/image_view.h"
#include "links/links_widget.h"
#include "main_window.h"
#include "predictions/predictions_panel.h"
#include "session_file.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenu>
#include <QPainter>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace attnscope;

Q_DECLARE_METATYPE(std::function<void(attnscope::MainWindow&)>)

namespace {

constexpr int kTimeout = 30000;
const QString kText = QStringLiteral("The cat sat on the mat because the cat was tired.");
using Setup = std::function<void(MainWindow&)>;

bool settled(MainWindow& w) {
    return w.analysis() && w.analysis()->tokenCount() > 0 && !w.controller()->isBusy();
}

std::unique_ptr<MainWindow> readyWindow() {
    auto w = std::make_unique<MainWindow>();
    w->openModel(QStringLiteral("default"));
    w->setText(kText);
    w->show();
    (void)QTest::qWaitFor([&] { return settled(*w) && w->analysis()->text == kText; }, kTimeout);
    return w;
}

// The widget the current view draws in.
QWidget* centralView(MainWindow& w) {
    switch (w.currentView()) {
    case MainWindow::View::Heatmap:
        return w.heatmap();
    case MainWindow::View::Links:
        return w.links();
    case MainWindow::View::Grid:
        return w.grid();
    case MainWindow::View::Compare:
        return w.compare();
    case MainWindow::View::Difference:
        return w.difference();
    case MainWindow::View::Image:
        return w.imageView();
    }
    return nullptr;
}

// The heatmap widget's own figure, painted at a fixed size (independent of the widget's size).
QImage heatmapPixels(MainWindow& w) {
    QImage image(QSize(700, 600), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    const HeatmapRenderer& r = w.heatmap()->renderer();
    r.paint(p, r.layout(QSizeF(image.size())));
    return image;
}

void writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    if (f.open(QIODevice::WriteOnly)) f.write(bytes);
}

QByteArray sessionWith(const QString& key, const QJsonValue& value, const QString& model) {
    QJsonObject root{{"format", "attnscope-session"},
                     {"version", 1},
                     {"source", QJsonObject{{"model", model}}},
                     {"input", QJsonObject{{"text", "Another text entirely."}}},
                     {"selection", QJsonObject{{"layer", 0}, {"head", 1}}},
                     {"view", QJsonObject{{"current", "links"}}}};
    if (!key.isEmpty()) {
        const QStringList parts = key.split('.');
        if (parts.size() == 1) {
            root.insert(parts[0], value);
        } else {
            QJsonObject inner = root.value(parts[0]).toObject();
            inner.insert(parts[1], value);
            root.insert(parts[0], inner);
        }
    }
    return QJsonDocument(root).toJson();
}

} // namespace

class TestSessions : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void reopenShowsSameView_data();
    void reopenShowsSameView();
    void badSessionLeavesWindowAsItWas_data();
    void badSessionLeavesWindowAsItWas();
    void attentionFileInWindow();
    void recentLists();

private:
    QTemporaryDir m_dir;
};

void TestSessions::initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("attnscope-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_sessions"));
    QSettings().clear();
}

void TestSessions::reopenShowsSameView_data() {
    QTest::addColumn<Setup>("setup");
    QTest::newRow("heatmap, dark, specials hidden, queries") << Setup([](MainWindow& w) {
        w.setLayerHead(1, 2);
        w.setDarkTheme(true);
        w.setSpecialTokenMode(SpecialTokenMode::HideRenormalise);
        w.selectToken(3, Qt::NoModifier);
        w.selectToken(6, Qt::ControlModifier);
        w.setView(MainWindow::View::Heatmap);
    });
    QTest::newRow("heatmap mean of some heads, blues, stretched") << Setup([](MainWindow& w) {
        HeadSelection heads = w.headList()->selection();
        heads.reset(heads.layers(), heads.heads(), false);
        for (int h : {0, 3, 5})
            heads.setChecked(2, h, true);
        w.headList()->setSelection(heads);
        w.setLayerHead(2, 0);
        w.setAggregate(Aggregate::Mean);
        w.findChild<QComboBox*>(QStringLiteral("colorMapSelector"))->setCurrentIndex(1);
        w.findChild<QCheckBox*>(QStringLiteral("autoRange"))->setChecked(true);
        w.setView(MainWindow::View::Heatmap);
    });
    QTest::newRow("links, threshold, greyed") << Setup([](MainWindow& w) {
        w.setLayerHead(3, 4);
        w.findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"))->setValue(0.2);
        w.setSpecialTokenMode(SpecialTokenMode::Grey);
        w.setView(MainWindow::View::Links);
    });
    QTest::newRow("grid zoomed, framed by focus") << Setup([](MainWindow& w) {
        w.setLayerHead(1, 2);
        w.setView(MainWindow::View::Grid);
        w.grid()->setZoom(60);
        w.findChild<QComboBox*>(QStringLiteral("gridStatistic"))->setCurrentIndex(4);
    });
    QTest::newRow("compare three panes, one links") << Setup([](MainWindow& w) {
        w.setView(MainWindow::View::Compare);
        w.compare()->setPaneCount(3);
        w.compare()->setPaneHead(0, 0, 1);
        w.compare()->setPaneHead(1, 1, kMeanOfLayer);
        w.compare()->setPaneView(1, CompareView::PaneView::Links);
        w.compare()->setPaneHead(2, 3, 4);
    });
    QTest::newRow("difference of heads") << Setup([](MainWindow& w) {
        w.setView(MainWindow::View::Difference);
        w.difference()->setMode(DiffView::Mode::Heads);
        w.difference()->setHeads(1, 2, 3, kMaxOfLayer);
    });
    QTest::newRow("difference of texts") << Setup([](MainWindow& w) {
        w.setLayerHead(1, 2);
        w.setView(MainWindow::View::Difference);
        w.difference()->setMode(DiffView::Mode::Inputs);
        w.difference()->setHeads(1, 2, 0, 0);
        w.difference()->setAgainstText(
            QStringLiteral("The dog sat on the mat because the dog was tired."));
        (void)QTest::qWaitFor([&] { return w.difference()->againstAnalysis() != nullptr; },
                              kTimeout);
    });
}

void TestSessions::reopenShowsSameView() {
    QFETCH(Setup, setup);
    auto a = readyWindow();
    QVERIFY(settled(*a));
    setup(*a);
    QTest::qWait(50);
    QVERIFY(QTest::qWaitFor([&] { return settled(*a); }, kTimeout));
    const QString path = m_dir.filePath(QStringLiteral("view.attnscope"));
    QVERIFY2(a->saveSession(path).ok(), qPrintable(a->errorText()));
    const SessionFile saved = *readSessionFile(path);
    QVERIFY(saved == a->currentSession());

    MainWindow b; // fresh: no model, the sample text
    b.show();
    QSignalSpy opened(&b, &MainWindow::sessionOpened);
    QSignalSpy failed(&b, &MainWindow::sessionFailed);
    b.openSession(path);
    QVERIFY2(opened.wait(kTimeout), qPrintable(b.errorText()));
    QCOMPARE(failed.count(), 0);
    QVERIFY(QTest::qWaitFor([&] { return settled(b); }, kTimeout));
    QTest::qWait(50);

    // The same state, field by field.
    QVERIFY(b.currentSession() == a->currentSession());
    QCOMPARE(b.text(), kText);
    QCOMPARE(b.currentView(), a->currentView());
    const ViewState &sa = a->viewState(), &sb = b.viewState();
    QCOMPARE(sb.layer, sa.layer);
    QCOMPARE(sb.head, sa.head);
    QCOMPARE(sb.aggregate, sa.aggregate);
    QVERIFY(sb.checked == sa.checked);
    QCOMPARE(sb.specialTokens, sa.specialTokens);
    QCOMPARE(sb.dark, sa.dark);
    QCOMPARE(sb.colorMap, sa.colorMap);
    QCOMPARE(sb.autoRange, sa.autoRange);
    QCOMPARE(sb.linkThreshold, sa.linkThreshold);
    QVERIFY(b.selectedTokens() == a->selectedTokens());
    QCOMPARE(b.sessionPath(), path);
    QVERIFY(b.errorText().isEmpty());

    // The same pixels in the view.
    QWidget *viewA = centralView(*a), *viewB = centralView(b);
    QCOMPARE(viewB->size(), viewA->size());
    const QImage shotA = viewA->grab().toImage(), shotB = viewB->grab().toImage();
    QVERIFY(shotA == shotB);
    QVERIFY(heatmapPixels(b) == heatmapPixels(*a));
}

void TestSessions::badSessionLeavesWindowAsItWas_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<bool>("synchronous"); // refused before anything is loaded
    const QByteArray good = sessionWith({}, {}, QStringLiteral("default"));
    QTest::newRow("empty") << QByteArray() << "is empty" << true;
    QTest::newRow("not json") << QByteArray("<html>") << "not a complete session file" << true;
    for (int percent : {5, 40, 75, 98})
        QTest::addRow("truncated at %d %%", percent)
            << good.left(good.size() * percent / 100) << "truncated or damaged" << true;
    QTest::newRow("wrong type") << sessionWith("view.current", 2, "default")
                                << "\"view.current\" must be one of" << true;
    QTest::newRow("newer version") << sessionWith("version", 5, "default")
                                   << "version 5 session, written by a newer attnscope; this "
                                      "build reads versions up to 1"
                                   << true;
    QTest::newRow("model fails to load")
        << sessionWith({}, {}, "/no/such/checkpoint") << "/no/such/checkpoint" << false;
    QTest::newRow("head not in the model")
        << sessionWith("selection", QJsonObject{{"layer", 2}, {"head", 30}}, "default")
        << "(layer 2, head 30) is not in" << false;
}

void TestSessions::badSessionLeavesWindowAsItWas() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    QFETCH(bool, synchronous);
    auto w = readyWindow();
    QVERIFY(settled(*w));
    w->setLayerHead(1, 2);
    w->setView(MainWindow::View::Grid);
    QTest::qWait(20);
    const SessionFile before = w->currentSession();
    const auto analysisBefore = w->analysis();
    const auto modelBefore = w->controller()->model();
    const QImage pixelsBefore = heatmapPixels(*w);
    const QImage gridBefore = w->grid()->grab().toImage();

    const QString path = m_dir.filePath(QStringLiteral("bad.attnscope"));
    writeBytes(path, bytes);
    QSignalSpy failed(w.get(), &MainWindow::sessionFailed);
    QSignalSpy opened(w.get(), &MainWindow::sessionOpened);
    w->openSession(path);
    if (synchronous)
        QCOMPARE(failed.count(), 1);
    else
        QVERIFY(failed.wait(kTimeout));
    QCOMPARE(opened.count(), 0);
    QVERIFY2(w->errorText().contains(expected), qPrintable(w->errorText()));
    QVERIFY(w->errorText().contains(QStringLiteral("Could not open the session")));
    // Nothing changed: model, analysis, text, view and its pixels.
    QVERIFY(w->controller()->model() == modelBefore);
    QVERIFY(w->analysis() == analysisBefore);
    QVERIFY(w->currentSession() == before);
    QCOMPARE(w->text(), kText);
    QVERIFY(heatmapPixels(*w) == pixelsBefore);
    // The banner takes room from the views; without it the grid is drawn as before.
    w->findChild<QLabel*>(QStringLiteral("errorBanner"))->hide();
    QVERIFY(QTest::qWaitFor([&] { return w->grid()->size() == gridBefore.size(); }, kTimeout));
    QVERIFY(w->grid()->grab().toImage() == gridBefore);
    QVERIFY(w->sessionPath().isEmpty());
}

// A dump reopened as an attention file shows the model's heatmap, pixel for pixel; what needs
// the model is off and says why; saved as a session and reopened it is the same view again.
void TestSessions::attentionFileInWindow() {
    const QString dump = m_dir.filePath(QStringLiteral("cat.safetensors"));
    QProcess dumpRun;
    dumpRun.start(QStringLiteral(ATTNSCOPE_BINARY),
                  {"dump", "--model", "default", "--text", kText, "-o", dump});
    QVERIFY(dumpRun.waitForFinished(kTimeout));
    QCOMPARE(dumpRun.exitCode(), 0);

    auto model = readyWindow();
    QVERIFY(settled(*model));
    model->setLayerHead(3, 7);
    model->setSpecialTokenMode(SpecialTokenMode::Grey);

    MainWindow w;
    w.show();
    QSignalSpy opened(&w, &MainWindow::attentionFileOpened);
    w.openAttentionFile(dump);
    QVERIFY2(opened.wait(kTimeout), qPrintable(w.errorText()));
    QVERIFY(w.showsAttentionFile());
    QVERIFY(!w.controller()->model());
    QCOMPARE(w.analysis()->producedBy, quint64(0));
    w.setLayerHead(3, 7);
    w.setSpecialTokenMode(SpecialTokenMode::Grey);
    QVERIFY(heatmapPixels(w) == heatmapPixels(*model));
    QCOMPARE(w.headList()->selection().layers(), 4);

    // What needs the model is off and says why.
    const QString why = QStringLiteral("needs the model: this is attention computed elsewhere");
    auto* notice = w.findChild<QLabel*>(QStringLiteral("sourceNotice"));
    QVERIFY(notice && notice->isVisible());
    QVERIFY2(notice->text().contains(why), qPrintable(notice->text()));
    auto* text = w.findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    QVERIFY(text->isReadOnly());
    QVERIFY(text->toolTip().contains(why));
    QVERIFY(QTest::qWaitFor([&] { return w.predictions()->bars()->message().contains(why); },
                            kTimeout));
    auto* generate = w.findChild<QPushButton*>(QStringLiteral("generateButton"));
    QVERIFY(generate && !generate->isVisible());
    w.explainPanel()->parentWidget()->show(); // the dock
    QTest::qWait(20);
    QVERIFY2(w.explainPanel()->figureWidget()->placeholder().contains(
                 QStringLiteral("Explain needs the model")),
             qPrintable(w.explainPanel()->figureWidget()->placeholder()));
    auto* rollout = w.findChild<RolloutPanel*>();
    QVERIFY(rollout);
    for (QWidget* p = rollout; p; p = p->parentWidget())
        if (auto* dock = qobject_cast<QDockWidget*>(p)) dock->show(); // computed when shown
    rollout->setKind(RolloutPanel::Kind::Norms);
    QVERIFY(QTest::qWaitFor([&] { return !rollout->isBusy(); }, kTimeout));
    QVERIFY2(rollout->heatmap()->placeholder().contains(
                 QStringLiteral("Norm-based attention needs the model")),
             qPrintable(rollout->heatmap()->placeholder()));
    rollout->setKind(RolloutPanel::Kind::Rollout); // needs attention only: computed
    QVERIFY(QTest::qWaitFor([&] { return rollout->result().rows() == w.analysis()->tokenCount(); },
                            kTimeout));
    w.setView(MainWindow::View::Difference);
    w.difference()->setMode(DiffView::Mode::Inputs);
    QVERIFY2(w.difference()->message().contains(why), qPrintable(w.difference()->message()));
    w.difference()->setMode(DiffView::Mode::Heads);

    // Saved and reopened: the same file, the same view.
    const QString path = m_dir.filePath(QStringLiteral("file.attnscope"));
    QVERIFY(w.saveSession(path).ok());
    const SessionFile saved = *readSessionFile(path);
    QCOMPARE(saved.attentionFile, dump);
    QVERIFY(saved.model.isEmpty());
    MainWindow again;
    again.show();
    QSignalSpy reopened(&again, &MainWindow::sessionOpened);
    again.openSession(path);
    QVERIFY2(reopened.wait(kTimeout), qPrintable(again.errorText()));
    QVERIFY(again.showsAttentionFile());
    QVERIFY(again.currentSession() == w.currentSession());
    again.setView(MainWindow::View::Heatmap);
    QVERIFY(heatmapPixels(again) == heatmapPixels(*model));

    // A model opened afterwards analyses text again.
    w.openModel(QStringLiteral("default"));
    QVERIFY(QTest::qWaitFor([&] { return w.controller()->model() && settled(w); }, kTimeout));
    QVERIFY(!w.showsAttentionFile());
    QVERIFY(!text->isReadOnly());
    QVERIFY(!notice->isVisible());
}

void TestSessions::recentLists() {
    QSettings().clear();
    auto w = readyWindow();
    QVERIFY(settled(*w));
    QCOMPARE(w->recentModels().value(0), QStringLiteral("default"));
    const QString first = m_dir.filePath(QStringLiteral("first.attnscope"));
    const QString second = m_dir.filePath(QStringLiteral("second.attnscope"));
    QVERIFY(w->saveSession(first).ok());
    QVERIFY(w->saveSession(second).ok());
    QVERIFY(w->saveSession(first).ok());
    QCOMPARE(w->recentSessions(), (QStringList{first, second})); // newest first, no repeats
    for (int i = 0; i < MainWindow::kRecentCount + 3; ++i)
        QVERIFY(w->saveSession(m_dir.filePath(QStringLiteral("s%1.attnscope").arg(i))).ok());
    QCOMPARE(w->recentSessions().size(), MainWindow::kRecentCount); // bounded
    // A session deleted since is pruned, with a message, when the menu opens.
    const QString gone = w->recentSessions().value(1);
    QVERIFY(QFile::remove(gone));
    auto* menu = w->findChild<QMenu*>(QStringLiteral("recentSessionsMenu"));
    QVERIFY(menu);
    emit menu->aboutToShow();
    QVERIFY(!w->recentSessions().contains(gone));
    QCOMPARE(w->recentSessions().size(), MainWindow::kRecentCount - 1);
    QCOMPARE(menu->actions().size(), MainWindow::kRecentCount - 1);
    QVERIFY(w->statusBar()->currentMessage().contains(gone));
}

QTEST_MAIN(TestSessions)
#include "tst_sessions.moc"
