// Layers appear as they are computed: the window shows a layer of the running pass as soon as
// its snapshot arrives (AnalysisController::partialAnalysisReady), says which layers are not
// computed yet, fills the grid layer by layer, drops the snapshots of an older edit, and the
// final analysis replaces the snapshot without a placeholder in between. The pass is held
// after its first layer by a test hook, so nothing here depends on timing.
#include "analysis_controller.h"
#include "grid/grid_renderer.h"
#include "grid/grid_widget.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "predictions/predictions_panel.h"
#include "token_strip/token_strip_widget.h"

#include <QLabel>
#include <QSemaphore>
#include <QSignalSpy>
#include <QtTest>
#include <cstring>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
constexpr int kTimeout = 20000;

bool sameBits(const Mat& a, const Mat& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), size_t(a.size()) * sizeof(float)) == 0;
}

// Holds the worker's pass once a snapshot with `blockAt` ready layers was queued.
struct Gate {
    QSemaphore reached, released;
    std::atomic<int> blockAt{-1};
    std::function<void(int)> hook() {
        return [this](int ready) {
            int expected = ready;
            if (blockAt.compare_exchange_strong(expected, -1)) { // once
                reached.release();
                released.acquire();
            }
        };
    }
};
// Declared after the window: opens the gate before the window waits for its worker.
struct GateOpener {
    Gate& gate;
    ~GateOpener() { gate.released.release(100); }
};

struct EnvGuard {
    explicit EnvGuard(bool lazy) {
        if (lazy)
            qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        else
            qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    }
    ~EnvGuard() { qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB"); }
};

// Opens the model and waits until the window's own first text is analysed.
bool openAndSettle(MainWindow& w, const QString& family) {
    w.controller()->setPartialDelayMs(0); // every snapshot, however short the pass
    w.openModel(kOracle + family + QStringLiteral("/model"));
    w.show();
    return QTest::qWaitFor(
        [&] { return w.controller()->model() && w.analysis() && !w.controller()->isBusy(); },
        kTimeout);
}

const QString kText = QStringLiteral("Layers appear one after another while the pass runs, so "
                                     "the first one can be read at once.");
} // namespace

class TestPartialViews : public QObject {
    Q_OBJECT
private slots:
    void heatmapShowsReadyLayerBeforePassEnds_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<bool>("lazy");
        QTest::newRow("gpt2 eager") << QStringLiteral("gpt2") << false;
        QTest::newRow("gpt2 lazy") << QStringLiteral("gpt2") << true;
        QTest::newRow("llama lazy (GQA)") << QStringLiteral("llama") << true;
        QTest::newRow("bert eager (encoder)") << QStringLiteral("bert") << false;
    }
    void heatmapShowsReadyLayerBeforePassEnds() {
        QFETCH(QString, family);
        QFETCH(bool, lazy);
        const EnvGuard env(lazy);
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, family));
        auto* heatmap = w.heatmap();
        w.setView(MainWindow::View::Heatmap);
        w.setLayerHead(0, 1);
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        QSignalSpy shown(&w, &MainWindow::heatmapShown);
        w.setText(kText);
        QVERIFY(gate.reached.tryAcquire(1, kTimeout)); // the pass holds after layer 0
        // Layer 0 is shown from the snapshot while the pass is held.
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.partialAnalysis() && w.partialAnalysis()->text == kText &&
                       !shown.isEmpty() && shown.last().at(0).toBool() &&
                       heatmap->tokenCount() == w.partialAnalysis()->tokenCount();
            },
            kTimeout));
        const auto partial = w.partialAnalysis();
        QCOMPARE(partial->layersReady(), 1);
        QVERIFY(w.controller()->isBusy());
        QVERIFY(w.analysis()->text != kText); // the final analysis is not there yet
        QVERIFY(heatmap->placeholder().isEmpty());
        const Mat layer0 = heatmap->matrix();
        // A layer not computed yet says so.
        w.setLayerHead(1, 1);
        const QString waiting =
            QStringLiteral("Layer 1: computing (1 of %1 layers done)").arg(partial->layerCount());
        QCOMPARE(heatmap->placeholder(), waiting);
        QCOMPARE(heatmap->tokenCount(), 0);
        // Back on layer 0 (its head is at hand), then the pass goes on: the final analysis
        // takes over with no placeholder in between.
        w.setLayerHead(0, 1);
        QVERIFY(QTest::qWaitFor([&] { return heatmap->tokenCount() > 0; }, kTimeout));
        QString placeholderAtFinal = QStringLiteral("(not reached)");
        int tokensAtFinal = -1;
        connect(w.controller(), &AnalysisController::analysisReady, this, [&] {
            placeholderAtFinal = heatmap->placeholder();
            tokensAtFinal = heatmap->tokenCount();
        });
        gate.released.release();
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
        QVERIFY(!w.partialAnalysis());
        QCOMPARE(placeholderAtFinal, QString());
        QCOMPARE(tokensAtFinal, w.analysis()->tokenCount());
        QCOMPARE(w.analysis()->hasLazyAttention(), lazy);
        QVERIFY(sameBits(layer0, *w.analysis()->attention(0, 1)));
        w.setLayerHead(1, 1);
        QVERIFY(QTest::qWaitFor(
            [&] {
                return heatmap->tokenCount() > 0 &&
                       sameBits(heatmap->matrix(), *w.analysis()->attention(1, 1));
            },
            kTimeout));
    }

    // Once a snapshot showed the selected head, the pass's later snapshots and its result
    // show the same bits: the heatmap keeps its matrix (no copy, colouring or token strip
    // again), unless the view asks for something else.
    void laterSnapshotsKeepShownHead_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<bool>("lazy");
        QTest::newRow("gpt2 eager") << QStringLiteral("gpt2") << false;
        QTest::newRow("llama lazy") << QStringLiteral("llama") << true;
    }
    void laterSnapshotsKeepShownHead() {
        QFETCH(QString, family);
        QFETCH(bool, lazy);
        const EnvGuard env(lazy);
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, family));
        auto* heatmap = w.heatmap();
        w.setView(MainWindow::View::Heatmap);
        w.setLayerHead(0, 1);
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        QSignalSpy shown(&w, &MainWindow::heatmapShown);
        QSignalSpy partials(w.controller(), &AnalysisController::partialAnalysisReady);
        w.setText(kText);
        QVERIFY(gate.reached.tryAcquire(1, kTimeout));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.partialAnalysis() && w.partialAnalysis()->text == kText &&
                       !shown.isEmpty() && shown.last().at(0).toBool() &&
                       heatmap->tokenCount() == w.partialAnalysis()->tokenCount();
            },
            kTimeout));
        const int sets = heatmap->dataCount();
        const int snapshots = int(partials.size());
        // The strip's tokens, measured once for the pass's first snapshot.
        const TokenStripRenderer& strip =
            w.findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"))->renderer();
        const TokenStripContent stripContent = strip.content();
        const int stripMeasured = strip.measureCount();
        QCOMPARE(stripContent.labels.size(), w.partialAnalysis()->tokenCount());
        const int layers = w.partialAnalysis()->layerCount();
        QVERIFY(layers >= 2);
        gate.released.release();
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
        QCOMPARE(w.analysis()->hasLazyAttention(), lazy);
        QCOMPARE(int(partials.size()), snapshots + layers - 1); // every later layer's snapshot
        if (lazy) QTRY_VERIFY(!shown.last().at(0).toBool());    // the result shown (lazy: said)
        QCOMPARE(heatmap->dataCount(), sets);                   // with the matrix kept
        QVERIFY(sameBits(heatmap->matrix(), *w.analysis()->attention(0, 1)));
        QCOMPARE(strip.content(), stripContent); // kept, not laid out again
        QCOMPARE(strip.measureCount(), stripMeasured);
        // Another head, and back: shown again each time.
        w.setLayerHead(0, 2);
        QVERIFY(QTest::qWaitFor([&] { return heatmap->dataCount() == sets + 1; }, kTimeout));
        QVERIFY(sameBits(heatmap->matrix(), *w.analysis()->attention(0, 2)));
        w.setLayerHead(0, 1);
        QVERIFY(QTest::qWaitFor([&] { return heatmap->dataCount() == sets + 2; }, kTimeout));
        QVERIFY(sameBits(heatmap->matrix(), *w.analysis()->attention(0, 1)));
        // A new edit is a new pass: its head is shown even where the bits might agree.
        w.setText(kText + QStringLiteral(" More."));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.analysis()->text.endsWith(QStringLiteral("More.")) &&
                       !w.controller()->isBusy();
            },
            kTimeout));
        QTRY_VERIFY(heatmap->dataCount() >= sets + 3);
        QVERIFY(sameBits(heatmap->matrix(), *w.analysis()->attention(0, 1)));
    }

    // While a pass runs, the next-token bars do not show the previous text's predictions: they
    // say they follow the pass, and the new text's come with its result.
    void predictionsWaitForThePass() {
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, QStringLiteral("gpt2")));
        PredictionBars* bars = w.predictions()->bars();
        QTRY_VERIFY_WITH_TIMEOUT(!bars->prediction().top.empty(), kTimeout); // the first text's
        const std::vector<TokenScore> before = bars->prediction().top;
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        w.setText(kText + QStringLiteral(" Then"));
        QVERIFY(gate.reached.tryAcquire(1, kTimeout));
        QTRY_VERIFY_WITH_TIMEOUT(w.partialAnalysis() != nullptr, kTimeout);
        QVERIFY(bars->prediction().top.empty());
        QVERIFY2(bars->message().contains(QStringLiteral("once all")), qPrintable(bars->message()));
        gate.released.release();
        QTRY_VERIFY_WITH_TIMEOUT(!bars->prediction().top.empty(), kTimeout);
        QCOMPARE(bars->prediction().position, w.analysis()->tokenCount() - 1);
        QVERIFY(bars->prediction().top.front().id != before.front().id ||
                bars->prediction().top.front().probability != before.front().probability);
    }

    // Snapshots of an edit that a newer edit replaced never reach the window.
    void staleSnapshotsDropped() {
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, QStringLiteral("gpt2")));
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        QSignalSpy partials(w.controller(), &AnalysisController::partialAnalysisReady);
        const QString older = QStringLiteral("An older edit whose layers must not be shown.");
        w.controller()->requestAnalysisNow(older);
        // Held with layer 0's snapshot queued and not yet delivered (no events processed).
        QVERIFY(gate.reached.tryAcquire(1, kTimeout));
        const int droppedBefore = w.controller()->droppedPartials();
        w.controller()->requestAnalysisNow(kText); // supersedes it
        gate.released.release();
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
        QCOMPARE(w.controller()->droppedPartials(), droppedBefore + 1);
        QVERIFY(!partials.isEmpty()); // the newer edit's layers arrived
        for (const QList<QVariant>& args : partials)
            QCOMPARE(args.at(0).value<std::shared_ptr<const Analysis>>()->text, kText);
        QVERIFY(!w.partialAnalysis());
    }

    // Snapshots go out only after the pass has run partialDelayMs(): none when it ends sooner,
    // one per layer (in order) when the delay is 0.
    void snapshotsOnlyAfterDelay_data() {
        QTest::addColumn<int>("delayMs");
        QTest::addColumn<bool>("expectSnapshots");
        QTest::newRow("no delay: every layer") << 0 << true;
        QTest::newRow("an hour: none") << 3600 * 1000 << false;
    }
    void snapshotsOnlyAfterDelay() {
        QFETCH(int, delayMs);
        QFETCH(bool, expectSnapshots);
        MainWindow w;
        QVERIFY(openAndSettle(w, QStringLiteral("gpt2")));
        w.controller()->setPartialDelayMs(delayMs);
        QSignalSpy partials(w.controller(), &AnalysisController::partialAnalysisReady);
        w.setText(kText);
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
        const int layers = w.analysis()->layerCount();
        QCOMPARE(partials.size(), expectSnapshots ? layers : 0);
        for (int i = 0; i < partials.size(); ++i)
            QCOMPARE(partials[i].at(0).value<std::shared_ptr<const Analysis>>()->layersReady(),
                     i + 1);
    }

    // A snapshot that comes before the delay ends is not lost: it is shown when the delay ends
    // if the pass is still running (held here after layer 0), or at once if it came later.
    void earlySnapshotShownWhenDelayEnds() {
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, QStringLiteral("gpt2")));
        w.controller()->setPartialDelayMs(150);
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        QSignalSpy partials(w.controller(), &AnalysisController::partialAnalysisReady);
        w.setText(kText);
        QVERIFY(gate.reached.tryAcquire(1, kTimeout));
        QVERIFY(partials.wait(kTimeout));
        QCOMPARE(partials.size(), 1);
        QCOMPARE(partials[0].at(0).value<std::shared_ptr<const Analysis>>()->layersReady(), 1);
        QVERIFY(w.controller()->isBusy());
        gate.released.release();
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
    }

    void gridFillsLayersAsTheyArrive_data() {
        QTest::addColumn<bool>("lazy");
        QTest::newRow("eager") << false;
        QTest::newRow("lazy") << true;
    }
    void gridFillsLayersAsTheyArrive() {
        QFETCH(bool, lazy);
        const EnvGuard env(lazy);
        Gate gate;
        MainWindow w;
        const GateOpener opener{gate};
        QVERIFY(openAndSettle(w, QStringLiteral("llama")));
        w.setView(MainWindow::View::Grid);
        const int heads = w.analysis()->headCount(), layers = w.analysis()->layerCount();
        QVERIFY(layers >= 2);
        // The settled analysis's own tiles (lazy: coloured in the background) first.
        QVERIFY(QTest::qWaitFor([&] { return !w.grid()->isComputingTiles(); }, kTimeout));
        gate.blockAt = 1;
        w.controller()->setPartialHookForTests(gate.hook());
        QSignalSpy tiles(w.grid(), &GridView::tilesProgress);
        w.setText(kText);
        QVERIFY(gate.reached.tryAcquire(1, kTimeout));
        QVERIFY(tiles.wait(kTimeout)); // layer 0's tiles, from the snapshot
        QCOMPARE(tiles.last().at(0).toInt(), heads);
        const GridRenderer& r = w.grid()->canvas()->renderer();
        QVERIFY(r.hasLayerThumbnails(0));
        QVERIFY(!r.hasLayerThumbnails(1));
        auto* label = w.grid()->findChild<QLabel*>(QStringLiteral("gridTilesProgress"));
        QVERIFY(label && label->isVisible());
        QVERIFY2(
            label->text().startsWith(QStringLiteral("Layers computed: 1 of %1 · ").arg(layers)),
            qPrintable(label->text()));
        gate.released.release();
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == kText && !w.controller()->isBusy(); }, kTimeout));
        if (lazy) { // the final analysis keeps the snapshot's tiles and colours the rest
            QVERIFY(
                QTest::qWaitFor([&] { return r.readyThumbnails() == layers * heads; }, kTimeout));
        } else { // eager: coloured when painted, straight from the kept matrices
            QVERIFY(!r.usesBackgroundTiles());
            QVERIFY(!label->isVisible());
        }
    }
};

QTEST_MAIN(TestPartialViews)
#include "tst_partial_views.moc"
