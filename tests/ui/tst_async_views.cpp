// Views reading lazy heads (core/lazy_heads.h) through HeadRequests (ui/head_requests.h): the
// window is given the same input analysed eagerly and lazily (ATTNSCOPE_EAGER_ATTENTION_MB=0)
// and every view shows the eager pixels at once, and the same pixels after the lazy heads
// arrive, with "Computing …" meanwhile. The lazy analyses' head source counts on which thread
// each head is computed: never the GUI thread. Quick changes of head, layer or text drop the
// stale requests.
#include "analysis_controller.h"
#include "analysis_views/head_table_model.h"
#include "analysis_views/head_table_panel.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "explain/explain_panel.h"
#include "figure_dialog/figure_dialog.h"
#include "head_requests.h"
#include "heatmap_widget.h"
#include "lazy_heads.h"
#include "links/links_widget.h"
#include "main_window.h"
#include "selection/selection_strip.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDockWidget>
#include <QFile>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <thread>

using namespace attnscope;

namespace {
const QString kLlama = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/llama/model");
constexpr int kTimeout = 15000;

// Wraps a pass's head source and records the thread of every head it computes.
class CountingSource : public HeadSource {
public:
    explicit CountingSource(std::shared_ptr<const HeadSource> inner) : m_inner(std::move(inner)) {}
    Mat head(const ForwardResult& forward, int layer, int head) const override {
        ++(QThread::currentThread() == QCoreApplication::instance()->thread() ? onGui : offGui);
        return m_inner->head(forward, layer, head);
    }
    double residentBytes() const override { return m_inner->residentBytes(); }
    mutable std::atomic<int> onGui{0}, offGui{0};

private:
    std::shared_ptr<const HeadSource> m_inner;
};

std::vector<int64_t> ids(int count, int seed) {
    std::vector<int64_t> out;
    for (int i = 0; i < count; ++i)
        out.push_back(5 + (i * 37 + seed * 11) % 300);
    return out;
}

// The window's model on these ids, eagerly or with lazy heads counted by `counter`.
std::shared_ptr<const Analysis> analyse(const MainWindow& w, const std::vector<int64_t>& tokenIds,
                                        bool lazy, bool inputs,
                                        std::shared_ptr<CountingSource>* counter = nullptr) {
    AnalysisRequest request;
    request.ids = tokenIds;
    request.keep = KeepOptions::attentionOnly(); // what the window's controller keeps
    request.keep.qkv = true;
    request.keep.attentionInputs = inputs; // with Explain open
    if (lazy) qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
    auto result = w.controller()->model()->analyze(request);
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    if (!result || result->hasLazyAttention() != lazy) return {};
    if (lazy) {
        auto source = std::make_shared<CountingSource>(result->forward.lazyHeads);
        result->forward.lazyHeads = source;
        if (counter) *counter = source;
    }
    return std::make_shared<const Analysis>(std::move(*result));
}

bool openWindow(MainWindow& w) {
    w.openModel(kLlama);
    w.resize(1100, 800);
    w.show();
    return QTest::qWaitFor(
        [&] { return w.analysis() && w.controller()->model() && !w.controller()->isBusy(); },
        kTimeout);
}

HeadRequests* requests(QObject* parent, const char* name) {
    return parent->findChild<HeadRequests*>(QLatin1String(name));
}

// The Explain panel's figure at a fixed width (the dock's width follows the other docks).
QImage paintExplanation(const MainWindow& w) {
    const ExplainRenderer& r = w.explainPanel()->figureWidget()->renderer();
    QImage image(700, int(std::ceil(r.preferredHeight(700))), QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    r.paint(p, QRectF(0, 0, image.width(), image.height()), false);
    return image;
}

// Every cell of the head statistics table as text (what a person reads).
QStringList tableCells(const HeadTableModel& model) {
    QStringList cells;
    for (int r = 0; r < model.rowCount(); ++r)
        for (int c = 0; c < model.columnCount(); ++c)
            cells << model.data(model.index(r, c)).toString();
    return cells;
}
} // namespace

class TestAsyncViews : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB"); }

    // Each view: the eager analysis is drawn at once (nothing computing after adopt() returns);
    // the lazy one says "Computing …" until its heads arrive, then shows the same pixels; no
    // head was computed on the GUI thread.
    void viewEqualsEager_data() {
        QTest::addColumn<QString>("view");
        QTest::newRow("token links") << QStringLiteral("links");
        QTest::newRow("token links, mean of checked heads") << QStringLiteral("links mean");
        QTest::newRow("side by side, heatmaps") << QStringLiteral("compare");
        QTest::newRow("side by side, links and layer max") << QStringLiteral("compare mixed");
        QTest::newRow("difference of heads") << QStringLiteral("diff");
        QTest::newRow("difference, layer mean minus head") << QStringLiteral("diff mean");
        QTest::newRow("selection strip, mean of heads") << QStringLiteral("selection");
        QTest::newRow("figure preview, side by side") << QStringLiteral("preview");
    }
    void viewEqualsEager() {
        QFETCH(QString, view);
        MainWindow w;
        QVERIFY(openWindow(w));
        QWidget* target = nullptr;
        HeadRequests* source = nullptr; // where the lazy result comes from
        std::function<bool()> computing;
        std::function<QString()> placeholder;
        FigureDialog* dialog = nullptr;
        if (view.startsWith(QLatin1String("links"))) {
            w.setView(MainWindow::View::Links);
            if (view.endsWith(QLatin1String("mean"))) w.setAggregate(Aggregate::Mean);
            w.setLayerHead(1, 2);
            target = w.links();
            placeholder = [&] { return w.links()->placeholder(); };
        } else if (view.startsWith(QLatin1String("compare")) || view == QLatin1String("preview")) {
            w.setView(MainWindow::View::Compare);
            w.compare()->setPaneCount(3);
            w.compare()->setPaneHead(0, 1, 3);
            w.compare()->setPaneHead(2, 0, 2);
            // An aggregate pane is never cached, so the preview's request cannot find it ready.
            if (view != QLatin1String("compare")) {
                w.compare()->setPaneHead(1, 1, kMaxOfLayer);
                w.compare()->setPaneView(1, CompareView::PaneView::Links);
            }
            target = w.compare();
            computing = [&] { return w.compare()->isComputing(); };
            placeholder = [&] { return w.compare()->paneWidget(0)->placeholder(); };
            source = w.compare()->headRequests();
        } else if (view.startsWith(QLatin1String("diff"))) {
            w.setView(MainWindow::View::Difference);
            if (view.endsWith(QLatin1String("mean")))
                w.difference()->setHeads(1, kMeanOfLayer, 0, 3);
            else
                w.difference()->setHeads(1, 0, 0, 3);
            target = w.difference();
            computing = [&] { return w.difference()->isComputing(); };
            placeholder = [&] { return w.difference()->heatmap()->placeholder(); };
        } else if (view == QLatin1String("selection")) {
            w.setView(MainWindow::View::Grid); // the grid has its own background tiles
            w.setAggregate(Aggregate::Mean);
            w.selectToken(4, Qt::NoModifier);
            w.selectToken(7, Qt::ControlModifier);
            target = w.selectionStrip();
        }
        if (view == QLatin1String("preview")) {
            dialog = w.openFigureDialog();
            source = requests(dialog, "previewRequests");
            placeholder = {};
        }

        const std::vector<int64_t> input = ids(24, 1);
        auto eager = analyse(w, input, false, false);
        std::shared_ptr<CountingSource> counter;
        auto lazy = analyse(w, input, true, false, &counter);
        QVERIFY(eager && lazy && counter);

        w.controller()->adopt(eager, 1.0);
        // Eager: drawn before adopt() returned, nothing waits.
        for (HeadRequests* r : w.findChildren<HeadRequests*>())
            QVERIFY2(!r->isComputing(), qPrintable(r->objectName()));
        if (dialog) QVERIFY(!dialog->isComputing());
        if (placeholder) QCOMPARE(placeholder(), QString());
        // Let the window settle (the predictions under the text come a moment later and move
        // the views), then take the eager drawing.
        QTest::qWait(300);
        const QImage eagerImage = dialog ? dialog->previewImage() : target->grab().toImage();
        QVERIFY(!eagerImage.isNull());
        if (view == QLatin1String("selection")) QVERIFY(w.selectionStrip()->isVisible());

        if (view.startsWith(QLatin1String("links"))) source = requests(&w, "linkRequests");
        if (view == QLatin1String("selection")) source = requests(&w, "selectionRequests");
        if (view.startsWith(QLatin1String("diff")))
            source = w.difference()->findChild<HeadRequests*>();
        QVERIFY(source);
        QSignalSpy delivered(source, &HeadRequests::delivered);
        w.controller()->adopt(lazy, 1.0);
        QVERIFY(source->isComputing());
        if (computing) QVERIFY(computing());
        if (placeholder)
            QVERIFY2(placeholder().startsWith(QLatin1String("Computing ")),
                     qPrintable(placeholder()));
        if (dialog) QVERIFY2(dialog->previewImage().isNull(), "the preview waits for the heads");
        QVERIFY(delivered.wait(kTimeout));
        QCOMPARE(delivered.count(), 1);
        QVERIFY(!source->isComputing());
        QTest::qWait(300);
        const QImage lazyImage = dialog ? dialog->previewImage() : target->grab().toImage();
        QCOMPARE(lazyImage, eagerImage);
        QCOMPARE(counter->onGui.load(), 0);
        QVERIFY(counter->offGui.load() > 0);
    }

    // The head statistics dock (this text and "Heads like this") and Explain, eager against
    // lazy: the same numbers and figure, computed off the GUI thread.
    void docksEqualEager() {
        MainWindow w;
        QVERIFY(openWindow(w));
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("headStatisticsDock"));
        QVERIFY(dock);
        dock->toggleViewAction()->trigger();
        auto* panel = w.findChild<HeadTablePanel*>();
        QVERIFY(panel);
        w.findChild<QAction*>(QStringLiteral("explainAction"))->trigger();
        // Opening Explain analyses the text again, keeping the attention inputs.
        QVERIFY(QTest::qWaitFor(
            [&] {
                return !w.controller()->isBusy() && !w.explainPanel()->isComputing() &&
                       w.analysis()->forward.layers[0].input.rows() > 0;
            },
            kTimeout));
        w.setLayerHead(1, 1);
        const std::vector<int64_t> input = ids(20, 2);
        auto eager = analyse(w, input, false, true);
        std::shared_ptr<CountingSource> counter;
        auto lazy = analyse(w, input, true, true, &counter);
        QVERIFY(eager && lazy);

        QSignalSpy explained(w.explainPanel(), &ExplainPanel::figureChanged);
        w.controller()->adopt(eager, 1.0);
        QVERIFY(!panel->isComputingHeads()); // the table is filled at once
        const QStringList eagerCells = tableCells(*panel->tableModel());
        QCOMPARE(panel->tableModel()->rowCount(), 8);
        panel->view()->clearSelection();
        panel->findChild<QPushButton*>(QStringLiteral("headsLike"))->click();
        QVERIFY(!panel->isComputingHeads());
        const QStringList eagerLike = tableCells(*panel->tableModel());
        QVERIFY(explained.wait(kTimeout));
        const QImage eagerExplain = paintExplanation(w);

        QSignalSpy computed(panel, &HeadTablePanel::headsComputed);
        w.controller()->adopt(lazy, 1.0);
        QVERIFY(panel->isComputingHeads());
        QVERIFY2(panel->caption().startsWith(QLatin1String("Computing the statistics of 8 heads")),
                 qPrintable(panel->caption()));
        QVERIFY2(w.explainPanel()->figureWidget()->placeholder().startsWith(
                     QLatin1String("Computing layer 1, head 1 of 20 tokens")),
                 qPrintable(w.explainPanel()->figureWidget()->placeholder()));
        QVERIFY(computed.wait(kTimeout));
        QCOMPARE(tableCells(*panel->tableModel()), eagerCells);
        panel->view()->clearSelection();
        panel->findChild<QPushButton*>(QStringLiteral("headsLike"))->click();
        if (panel->isComputingHeads()) QVERIFY(computed.wait(kTimeout));
        QCOMPARE(tableCells(*panel->tableModel()), eagerLike);
        QVERIFY(QTest::qWaitFor([&] { return explained.count() >= 2; }, kTimeout));
        QCOMPARE(paintExplanation(w), eagerExplain);
        QCOMPARE(counter->onGui.load(), 0);
        QVERIFY(counter->offGui.load() > 0);
    }

    // Export Numbers, Export view, Copy Figure and the dialog's Export with lazy heads: written on
    // a worker, the same bytes / pixels as from the eager analysis.
    void exportsEqualEager_data() {
        QTest::addColumn<int>("view"); // MainWindow::View
        QTest::newRow("difference") << int(MainWindow::View::Difference);
        QTest::newRow("heatmap, max of checked heads") << int(MainWindow::View::Heatmap);
    }
    void exportsEqualEager() {
        QFETCH(int, view);
        QTemporaryDir dir;
        MainWindow w;
        QVERIFY(openWindow(w));
        w.setView(MainWindow::View(view));
        if (view == int(MainWindow::View::Heatmap)) w.setAggregate(Aggregate::Max);
        w.difference()->setHeads(0, 1, 1, kMeanOfLayer);
        const std::vector<int64_t> input = ids(18, 3);
        auto eager = analyse(w, input, false, false);
        std::shared_ptr<CountingSource> counter;
        auto lazy = analyse(w, input, true, false, &counter);
        QVERIFY(eager && lazy);

        w.controller()->adopt(eager, 1.0);
        const QString eagerNumbers = dir.filePath(QStringLiteral("eager.csv"));
        w.startNumbersExport(eagerNumbers); // eager: written at once
        QVERIFY(QFile::exists(eagerNumbers));
        QVERIFY(w.copyCurrentFigure().ok());
        const QString eagerView = dir.filePath(QStringLiteral("eager-view.png"));
        w.startViewExport(eagerView, QSize(900, 700));
        QVERIFY(QFile::exists(eagerView)); // eager: written at once
        const QImage eagerCopy =
            qvariant_cast<QImage>(QApplication::clipboard()->mimeData()->imageData());
        QVERIFY(!eagerCopy.isNull());

        w.controller()->adopt(lazy, 1.0);
        const QString lazyNumbers = dir.filePath(QStringLiteral("lazy.csv"));
        w.startNumbersExport(lazyNumbers);
        QVERIFY2(w.statusBar()->currentMessage().startsWith(QLatin1String("Exporting lazy.csv")),
                 qPrintable(w.statusBar()->currentMessage()));
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(lazyNumbers); }, kTimeout));
        QFile a(eagerNumbers), b(lazyNumbers);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(b.readAll(), a.readAll());

        // File → Export view.
        const QString lazyView = dir.filePath(QStringLiteral("lazy-view.png"));
        w.startViewExport(lazyView, QSize(900, 700));
        QVERIFY(requests(&w, "viewExportRequests")->isComputing());
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(lazyView); }, kTimeout));

        QApplication::clipboard()->clear();
        QVERIFY(w.copyCurrentFigure().ok());
        QVERIFY(requests(&w, "copyRequests")->isComputing());
        QVERIFY(QTest::qWaitFor(
            [&] {
                const QMimeData* mime = QApplication::clipboard()->mimeData();
                return mime && mime->hasImage();
            },
            kTimeout));
        QCOMPARE(qvariant_cast<QImage>(QApplication::clipboard()->mimeData()->imageData()),
                 eagerCopy);
        QCOMPARE(QImage(lazyView), QImage(eagerView));

        // The dialog's Export: the figure reads an aggregate (never cached), so the lazy
        // export always goes to its worker.
        FigureDialog* dialog = w.openFigureDialog();
        w.controller()->adopt(eager, 1.0);
        const QString eagerPng = dir.filePath(QStringLiteral("eager.png"));
        QVERIFY(dialog->exportTo(eagerPng).ok());
        QVERIFY(QFile::exists(eagerPng)); // written at once
        w.controller()->adopt(lazy, 1.0);
        QSignalSpy exported(dialog, &FigureDialog::exported);
        const QString lazyPng = dir.filePath(QStringLiteral("lazy.png"));
        QVERIFY(dialog->exportTo(lazyPng).ok());
        QVERIFY(requests(dialog, "exportRequests")->isComputing());
        QVERIFY(!QFile::exists(lazyPng));
        QVERIFY(exported.wait(kTimeout));
        QCOMPARE(exported.first().first().toString(), lazyPng);
        QCOMPARE(QImage(lazyPng), QImage(eagerPng));
        QVERIFY(QTest::qWaitFor([&] { return !dialog->isComputing(); }, kTimeout));
        QCOMPARE(dialog->previewImage().isNull(), false);
        QCOMPARE(counter->onGui.load(), 0);
    }

    // Quick changes: only the newest request is shown (once), the others are dropped, and
    // what is shown equals the eager drawing of the last choice.
    void staleRequestsDropped_data() {
        QTest::addColumn<QString>("change");
        QTest::newRow("pane heads") << QStringLiteral("panes");
        QTest::newRow("layer and head") << QStringLiteral("layer");
        QTest::newRow("text") << QStringLiteral("text");
    }
    void staleRequestsDropped() {
        QFETCH(QString, change);
        MainWindow w;
        QVERIFY(openWindow(w));
        const bool panes = change == QLatin1String("panes");
        w.setView(panes ? MainWindow::View::Compare : MainWindow::View::Links);
        w.setLayerHead(0, 0);
        if (panes) {
            w.compare()->setPaneHead(0, 0, 0);
            w.compare()->setPaneHead(1, 0, 1);
        }
        const std::vector<int64_t> first = ids(22, 4), second = ids(26, 5);
        std::shared_ptr<CountingSource> counter, counterB;
        auto lazy = analyse(w, first, true, false, &counter);
        auto lazyB = analyse(w, second, true, false, &counterB);
        QVERIFY(lazy && lazyB);
        QWidget* target = panes ? static_cast<QWidget*>(w.compare()) : w.links();

        w.controller()->adopt(lazy, 1.0); // its heads are computed on the pool from here
        HeadRequests* source = panes ? w.compare()->headRequests() : requests(&w, "linkRequests");
        QVERIFY(source && source->isComputing());
        const int staleBefore = source->staleRequests();
        QSignalSpy delivered(source, &HeadRequests::delivered);
        std::shared_ptr<const Analysis> last = lazy;
        if (panes) {
            w.compare()->setPaneHead(0, 0, 2);
            w.compare()->setPaneHead(0, 0, 3);
            w.compare()->setPaneHead(0, 1, 3); // layer 1: never asked for before
        } else if (change == QLatin1String("layer")) {
            w.setLayerHead(0, 1);
            w.setLayerHead(0, 3);
            w.setLayerHead(1, 3); // layer 1: never asked for before (links read the layer)
        } else {
            w.controller()->adopt(lazyB, 1.0);
            last = lazyB;
        }
        QVERIFY(delivered.wait(kTimeout));
        QTest::qWait(100); // a stale result arriving late would be counted
        QCOMPARE(delivered.count(), 1);
        QVERIFY2(source->staleRequests() > staleBefore,
                 qPrintable(QString::number(source->staleRequests())));
        const QImage shown = target->grab().toImage();

        // The eager drawing of the same choice.
        auto eager =
            analyse(w, {last->encoding.ids.begin(), last->encoding.ids.end()}, false, false);
        QVERIFY(eager);
        w.controller()->adopt(eager, 1.0);
        QVERIFY(!source->isComputing());
        QCOMPARE(shown, target->grab().toImage());
        QCOMPARE(counter->onGui.load() + counterB->onGui.load(), 0);
    }

    // A request whose heads are cached runs at once on the GUI thread; another view's head
    // computed meanwhile on its pool evicts one of them from the cache (room for one head).
    // The request held its heads when it found them ready, so nothing is computed on the GUI
    // thread (before the fix, the evicted head was computed again there).
    void readyRequestHoldsItsHeads() {
        MainWindow w;
        QVERIFY(openWindow(w));
        std::shared_ptr<CountingSource> counter;
        auto lazy = analyse(w, ids(30, 7), true, false, &counter);
        QVERIFY(lazy);
        lazy->forward.headCache.setLimitBytes(30.0 * 30 * sizeof(float)); // one head
        std::thread([&] { lazy->attention(0, 0); }).join();
        QCOMPARE(counter->offGui.load(), 1);
        HeadRequests headRequests;
        float shown = -1;
        const bool now = headRequests.request<float>(
            lazy, {{0, 0}},
            [&](const Analysis& a) {
                std::thread([&] { a.attention(0, 1); }).join(); // evicts (0, 0)
                return (*a.attention(0, 0))(29, 3);
            },
            [&](float value) { shown = value; });
        QVERIFY(now);
        QCOMPARE(counter->onGui.load(), 0);
        QCOMPARE(counter->offGui.load(), 2);
        auto eager = analyse(w, ids(30, 7), false, false);
        QVERIFY(eager);
        QCOMPARE(shown, (*eager->attention(0, 0))(29, 3));
    }
};

QTEST_MAIN(TestAsyncViews)
#include "tst_async_views.moc"
