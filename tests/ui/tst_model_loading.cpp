// Opening a checkpoint reports progress and can be cancelled (weights.h: LoadProgressCallback;
// AnalysisController::modelLoadProgress / cancelModelLoad): the core reports every tensor and
// every batch of pages read ahead, a cancel makes open() fail with "cancelled", and in the
// window a Cancel that lands mid-load (the load held there by a test hook) leaves the previous
// model, text and views as they were; a checkpoint that fails to load shows the error banner.
#include "analysis_controller.h"
#include "main_window.h"

#include <QLabel>
#include <QPushButton>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
constexpr int kTimeout = 20000;

struct Report {
    LoadStage stage;
    int64_t done, total;
};
} // namespace

class TestModelLoading : public QObject {
    Q_OBJECT
private slots:
    void coreReportsProgress_data() {
        QTest::addColumn<QString>("family");
        for (const char* family : {"gpt2", "llama", "bert", "vit"})
            QTest::newRow(family) << QString(family);
    }
    void coreReportsProgress() {
        QFETCH(QString, family);
        const QString path = kOracle + family + QStringLiteral("/model");
        std::vector<Report> reports;
        auto model = LoadedModel::open(path, LoadedModel::TokenizerLoading::Read,
                                       [&](LoadStage stage, int64_t done, int64_t total) {
                                           reports.push_back({stage, done, total});
                                           return true;
                                       });
        QVERIFY2(model.ok(), qPrintable(model.message()));
        QVERIFY(reports.size() >= 2);
        // Tensors first, then the pages read ahead; within a stage done grows to at most total.
        QCOMPARE(reports.front().stage, LoadStage::Tensors);
        const int64_t fileBytes = QFileInfo(path + QStringLiteral("/model.safetensors")).size();
        int64_t lastDone = 0;
        LoadStage stage = LoadStage::Tensors;
        for (const Report& r : reports) {
            if (r.stage != stage) { // the only change of stage: Tensors -> Reading
                QCOMPARE(stage, LoadStage::Tensors);
                QCOMPARE(r.stage, LoadStage::Reading);
                stage = r.stage;
                lastDone = 0;
            }
            QVERIFY(r.done > lastDone || (r.done == lastDone && r.done == r.total));
            QVERIFY(r.done <= r.total);
            if (r.stage == LoadStage::Tensors) {
                QVERIFY(r.total <= fileBytes); // the tensors' bytes, without the header
                QVERIFY(r.total > fileBytes * 9 / 10);
            }
            lastDone = r.done;
        }
        QCOMPARE(reports.back().stage, LoadStage::Reading);
        QCOMPARE(reports.back().done, reports.back().total); // everything marked was read
        // Cancelled at the n-th report: open() fails with "cancelled", no model.
        for (size_t n : {size_t(0), reports.size() / 2, reports.size() - 1}) {
            size_t calls = 0;
            auto cancelled =
                LoadedModel::open(path, LoadedModel::TokenizerLoading::Read,
                                  [&](LoadStage, int64_t, int64_t) { return calls++ < n; });
            QVERIFY(!cancelled.ok());
            QCOMPARE(cancelled.message(), QStringLiteral("cancelled"));
            QCOMPARE(calls, n + 1); // nothing reported after the cancel
        }
    }

    void cancelMidLoadKeepsPreviousModel() {
        QSemaphore reached, released;
        std::atomic<bool> hold{false};
        MainWindow w;
        struct Opener { // never leaves the loading thread waiting
            QSemaphore& s;
            ~Opener() { s.release(100); }
        } opener{released};
        w.openModel(kOracle + QStringLiteral("gpt2/model"));
        w.show();
        const QString text = QStringLiteral("The previous model keeps this text.");
        w.setText(text);
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.controller()->model() && w.analysis() && w.analysis()->text == text &&
                       !w.controller()->isBusy();
            },
            kTimeout));
        const auto model = w.controller()->model();
        const auto analysis = w.analysis();
        const QString label = w.findChild<QLabel*>(QStringLiteral("modelLabel"))->text();
        w.setLayerHead(1, 2);
        w.controller()->setLoadHookForTests([&](int64_t) {
            if (hold.exchange(false)) { // the first report of the load: hold it there
                reached.release();
                released.acquire();
            }
        });
        hold = true;
        QSignalSpy progress(w.controller(), &AnalysisController::modelLoadProgress);
        QSignalSpy cancelled(w.controller(), &AnalysisController::modelLoadCancelled);
        QSignalSpy changed(w.controller(), &AnalysisController::modelChanged);
        QSignalSpy errors(w.controller(), &AnalysisController::errorOccurred);
        w.openModel(kOracle + QStringLiteral("llama/model"));
        QVERIFY(reached.tryAcquire(1, kTimeout)); // the load is held after its first report
        QVERIFY(progress.wait(kTimeout));
        QVERIFY2(w.modelLoadText().startsWith(QStringLiteral("Opening llama: ")) &&
                     w.modelLoadText().endsWith(QStringLiteral(" MB")),
                 qPrintable(w.modelLoadText()));
        auto* cancel = w.findChild<QPushButton*>(QStringLiteral("modelLoadCancel"));
        QVERIFY(cancel && cancel->isVisible());
        QTest::mouseClick(cancel, Qt::LeftButton);
        released.release();
        QVERIFY(cancelled.wait(kTimeout));
        QCOMPARE(changed.size(), 0);
        QCOMPARE(errors.size(), 0);
        QVERIFY(w.errorText().isEmpty());
        QVERIFY(w.modelLoadText().isEmpty());
        QVERIFY(!cancel->isVisible());
        QCOMPARE(w.controller()->model(), model);
        QCOMPARE(w.analysis(), analysis);
        QCOMPARE(w.findChild<QLabel*>(QStringLiteral("modelLabel"))->text(), label);
        QCOMPARE(w.currentLayer(), 1);
        QCOMPARE(w.currentHead(), 2);
        QVERIFY(!w.controller()->isBusy());
        // The window still analyses with the previous model.
        w.setText(text + QStringLiteral(" Still."));
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == text + QStringLiteral(" Still."); }, kTimeout));
        QCOMPARE(w.analysis()->producedBy, model->instanceId());
    }

    void failedLoadShowsBanner() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(QFile::copy(kOracle + QStringLiteral("gpt2/model/config.json"),
                            dir.filePath(QStringLiteral("config.json"))));
        QVERIFY(
            QFile::copy(QStringLiteral(ATTNSCOPE_TEST_DATA "/malformed/offsets-1e300.safetensors"),
                        dir.filePath(QStringLiteral("model.safetensors"))));
        MainWindow w;
        w.openModel(kOracle + QStringLiteral("gpt2/model"));
        w.show();
        // Settled first: a result arriving later would take the banner down (it is news).
        QVERIFY(QTest::qWaitFor(
            [&] { return w.controller()->model() && w.analysis() && !w.controller()->isBusy(); },
            kTimeout));
        const auto model = w.controller()->model();
        QSignalSpy errors(w.controller(), &AnalysisController::errorOccurred);
        w.openModel(dir.path());
        QVERIFY(errors.wait(kTimeout));
        QVERIFY2(w.errorText().contains(QStringLiteral("Could not open")),
                 qPrintable(w.errorText()));
        QVERIFY(w.modelLoadText().isEmpty());
        QCOMPARE(w.controller()->model(), model);
    }
};

QTEST_MAIN(TestModelLoading)
#include "tst_model_loading.moc"
