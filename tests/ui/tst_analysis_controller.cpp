// AnalysisController: background analysis with stale results dropped, model loading off the
// GUI thread, errors as signals.
#include "analysis_controller.h"

#include <QSignalSpy>
#include <QTest>

using namespace attnscope;

namespace {

QString modelPath() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
}

std::shared_ptr<const Analysis> analysisAt(const QSignalSpy& spy, int i) {
    return spy.at(i).at(0).value<std::shared_ptr<const Analysis>>();
}

} // namespace

class TestAnalysisController : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void latestOnlyDelivered_data();
    void latestOnlyDelivered();
    void supersededWhileRunning();
    void burstOfEdits();
    void typingAtTheEndReusesPrefix();
    void isolatedEditStartsAtOnce();
    void busySignal();
    void openModelAsync();
    void openModelBadPath();
    void requestBeforeModel();
    void destroyWhileRunning();
    void keepsAttentionInputsOnRequest();

private:
    std::shared_ptr<const LoadedModel> m_model;
};

void TestAnalysisController::initTestCase() {
    auto model = LoadedModel::open(modelPath());
    QVERIFY2(model.ok(), qPrintable(model.message()));
    m_model = model.value();
    QVERIFY(m_model->config().layers > 0);
}

void TestAnalysisController::latestOnlyDelivered_data() {
    QTest::addColumn<QString>("first");
    QTest::addColumn<QString>("second");
    QTest::addColumn<int>("debounce");
    QTest::newRow("debounced") << "The cat"
                               << "The cat sat on the mat because it was tired." << 60;
    QTest::newRow("no debounce") << "A first, rather different sentence with more words in it."
                                 << "Short one." << 0;
    QTest::newRow("shorter then longer") << "x"
                                         << "Hello world, hello again." << 5;
}

void TestAnalysisController::latestOnlyDelivered() {
    QFETCH(QString, first);
    QFETCH(QString, second);
    QFETCH(int, debounce);
    AnalysisController controller;
    controller.setDebounceInterval(debounce);
    controller.setModel(m_model);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    QSignalSpy errors(&controller, &AnalysisController::errorOccurred);
    controller.requestAnalysis(first);
    if (debounce == 0) QTest::qWait(1); // let the first job start so that it is cancelled mid-way
    controller.requestAnalysis(second);
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), 20000);
    QTest::qWait(100);
    QCOMPARE(ready.count(), 1);
    QCOMPARE(errors.count(), 0);
    const auto delivered = analysisAt(ready, 0);
    QVERIFY(delivered);
    QCOMPARE(controller.lastDeliveredId(), controller.latestRequestId());
    QCOMPARE(controller.analysis(), delivered);

    AnalysisRequest request;
    request.text = second;
    const Result<Analysis> direct = m_model->analyze(request);
    QVERIFY2(direct.ok(), qPrintable(direct.message()));
    QCOMPARE(delivered->tokenCount(), direct->tokenCount());
    QCOMPARE(delivered->encoding.ids, direct->encoding.ids);
    QCOMPARE(delivered->displayTokens, direct->displayTokens);
    QCOMPARE(delivered->forward.layers.size(), direct->forward.layers.size());
    for (size_t l = 0; l < direct->forward.layers.size(); ++l) {
        QCOMPARE(delivered->forward.layers[l].attention.size(),
                 direct->forward.layers[l].attention.size());
        for (size_t h = 0; h < direct->forward.layers[l].attention.size(); ++h) {
            const Mat& a = (*delivered->attention(int(l), int(h)));
            const Mat& b = (*direct->attention(int(l), int(h)));
            QCOMPARE(a.rows(), b.rows());
            QCOMPARE(a.cols(), b.cols());
            QVERIFY2((a - b).cwiseAbs().maxCoeff() <= 1e-6f,
                     qPrintable(QStringLiteral("layer %1 head %2").arg(l).arg(h)));
        }
    }
}

void TestAnalysisController::supersededWhileRunning() {
    AnalysisController controller;
    controller.setDebounceInterval(0);
    controller.setModel(m_model);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    QString longText;
    for (int i = 0; i < 20; ++i)
        longText += QStringLiteral("The quick brown fox jumps. ");
    controller.requestAnalysisNow(longText); // starts at once
    controller.requestAnalysisNow(QStringLiteral("Only this one."));
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), 20000);
    QTest::qWait(50);
    QCOMPARE(ready.count(), 1);
    QCOMPARE(analysisAt(ready, 0)->text, QStringLiteral("Only this one."));
    QCOMPARE(controller.completedJobs(), 2);
    QCOMPARE(controller.droppedResults(), 1);
}

void TestAnalysisController::burstOfEdits() {
    // Typing "The cat sat" one key at a time, faster than the debounce: one or few jobs, and the
    // only delivered result is the full text.
    AnalysisController controller;
    controller.setModel(m_model);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    const QString text = QStringLiteral("The cat sat on the mat.");
    for (int i = 1; i <= text.size(); ++i) {
        controller.requestAnalysis(text.left(i));
        QTest::qWait(5);
    }
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), 20000);
    QTest::qWait(50);
    QCOMPARE(analysisAt(ready, ready.count() - 1)->text, text);
    QCOMPARE(ready.count(), 1);
    QVERIFY2(controller.completedJobs() <= 3,
             qPrintable(QString::number(controller.completedJobs())));
}

void TestAnalysisController::typingAtTheEndReusesPrefix() {
    // A causal model: the second text extends the first, so the worker reuses its leading
    // tokens, and the result still equals a fresh analysis.
    AnalysisController controller;
    controller.setDebounceInterval(0);
    controller.setModel(m_model);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    controller.requestAnalysisNow(QStringLiteral("The cat sat on the mat"));
    QVERIFY(ready.wait(20000));
    const QString longer = QStringLiteral("The cat sat on the mat because it was tired.");
    controller.requestAnalysisNow(longer);
    QVERIFY(ready.wait(20000));
    const auto incremental = analysisAt(ready, ready.count() - 1);
    QCOMPARE(incremental->text, longer);
    QCOMPARE(incremental->reusedTokens, 6); // "The", " cat", " sat", " on", " the", " mat"
    AnalysisRequest request;
    request.text = longer;
    auto fresh = m_model->analyze(request);
    QVERIFY(fresh.ok());
    QCOMPARE(fresh->reusedTokens, 0);
    for (int l = 0; l < m_model->config().layers; ++l)
        for (int h = 0; h < m_model->config().heads; ++h)
            QVERIFY(((*incremental->attention(l, h)) - (*fresh->attention(l, h)))
                        .cwiseAbs()
                        .maxCoeff() <= 1e-6f);
}

void TestAnalysisController::isolatedEditStartsAtOnce() {
    // A single keystroke after a quiet spell does not wait for the debounce interval: with a
    // 60 s interval the result still arrives (the wait below gives up long before 60 s).
    AnalysisController controller;
    controller.setModel(m_model);
    controller.setDebounceInterval(60000);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    controller.requestAnalysis(QStringLiteral("One keystroke."));
    QVERIFY(ready.wait(20000));
    QCOMPARE(analysisAt(ready, 0)->text, QStringLiteral("One keystroke."));
}

void TestAnalysisController::busySignal() {
    AnalysisController controller;
    controller.setModel(m_model);
    QSignalSpy busy(&controller, &AnalysisController::busyChanged);
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    controller.requestAnalysis(QStringLiteral("Busy?"));
    QVERIFY(controller.isBusy());
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY(!controller.isBusy());
    QVERIFY(busy.count() >= 2);
    QCOMPARE(busy.first().at(0).toBool(), true);
    QCOMPARE(busy.last().at(0).toBool(), false);
    QVERIFY(controller.lastElapsedMs() >= 0);
}

void TestAnalysisController::openModelAsync() {
    AnalysisController controller;
    QSignalSpy changed(&controller, &AnalysisController::modelChanged);
    controller.openModel(modelPath());
    QVERIFY(!controller.model()); // not loaded synchronously
    QVERIFY(changed.wait(20000));
    QVERIFY(controller.model());
    QCOMPARE(controller.model()->config().layers, m_model->config().layers);
    QCOMPARE(controller.model()->config().heads, m_model->config().heads);
}

void TestAnalysisController::openModelBadPath() {
    AnalysisController controller;
    controller.setModel(m_model);
    QSignalSpy errors(&controller, &AnalysisController::errorOccurred);
    QSignalSpy changed(&controller, &AnalysisController::modelChanged);
    controller.openModel(QStringLiteral("/no/such/model/folder"));
    QVERIFY(errors.wait(20000));
    QVERIFY(errors.first().at(0).toString().contains(QStringLiteral("/no/such/model/folder")));
    QCOMPARE(changed.count(), 0);
    QCOMPARE(controller.model(), m_model); // the previous model stays
    QVERIFY(!controller.isBusy());
}

void TestAnalysisController::requestBeforeModel() {
    AnalysisController controller;
    QSignalSpy ready(&controller, &AnalysisController::analysisReady);
    controller.requestAnalysis(QStringLiteral("Waiting for the model."));
    controller.openModel(modelPath());
    QVERIFY(ready.wait(20000));
    QCOMPARE(analysisAt(ready, 0)->text, QStringLiteral("Waiting for the model."));
}

void TestAnalysisController::destroyWhileRunning() {
    for (int i = 0; i < 3; ++i) {
        auto controller = std::make_unique<AnalysisController>();
        controller->setModel(m_model);
        controller->openModel(modelPath());
        controller->requestAnalysisNow(QStringLiteral("Destroyed before it finishes, maybe."));
        if (i > 0) QTest::qWait(i);
        controller.reset(); // must wait for / cancel its workers without crashing
    }
    QTest::qWait(50); // no queued result may reach the deleted controller
}

// The explainer's inputs: kept only while asked for; asking re-analyses a text analysed (or
// being analysed) without them; typing at the end still reuses the prefix.
void TestAnalysisController::keepsAttentionInputsOnRequest() {
    AnalysisController c;
    c.setModel(m_model);
    c.setDebounceInterval(0);
    QSignalSpy ready(&c, &AnalysisController::analysisReady);
    const auto inputsOf = [](const std::shared_ptr<const Analysis>& a) {
        return a->forward.layers[0].input.rows();
    };
    c.requestAnalysisNow(QStringLiteral("The cat sat"));
    QVERIFY(QTest::qWaitFor([&] { return !c.isBusy(); }, 20000));
    QCOMPARE(inputsOf(c.analysis()), 0);

    c.setKeepAttentionInputs(true); // idle: the same text again, with the inputs
    QVERIFY(c.isBusy());
    QVERIFY(QTest::qWaitFor([&] { return !c.isBusy(); }, 20000));
    QCOMPARE(c.analysis()->text, QStringLiteral("The cat sat"));
    QCOMPARE(inputsOf(c.analysis()), c.analysis()->tokenCount());

    c.requestAnalysisNow(QStringLiteral("The cat sat on"));
    QVERIFY(QTest::qWaitFor([&] { return !c.isBusy(); }, 20000));
    QCOMPARE(inputsOf(c.analysis()), c.analysis()->tokenCount());
    QVERIFY(c.analysis()->reusedTokens > 0);

    // Asked for while a pass without them runs: that pass is replaced.
    c.setKeepAttentionInputs(false);
    c.requestAnalysisNow(QStringLiteral("A dog ran off"));
    c.setKeepAttentionInputs(true);
    QVERIFY(QTest::qWaitFor([&] { return !c.isBusy(); }, 20000));
    QCOMPARE(c.analysis()->text, QStringLiteral("A dog ran off"));
    QCOMPARE(inputsOf(c.analysis()), c.analysis()->tokenCount());
}

QTEST_MAIN(TestAnalysisController)
#include "tst_analysis_controller.moc"
