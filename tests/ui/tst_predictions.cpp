// The predictions strip and Generate in the window, driven like a person would: the bars show
// what core predictTokens gives for the analysed text, a click appends the token, Generate
// writes the same tokens as core generate() with the views following, marked as generated.
#include "generate.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "predictions/predictions_panel.h"
#include "token_strip/token_strip_widget.h"
#include "view_state.h"

#include <QApplication>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

using namespace attnscope;

namespace {
constexpr int kTimeout = 30000;

bool waitIdle(MainWindow& w) {
    return QTest::qWaitFor(
        [&] {
            return w.analysis() && !w.controller()->isBusy() && !w.predictions()->isGenerating();
        },
        kTimeout);
}
} // namespace

class TestPredictions : public QObject {
    Q_OBJECT
private slots:
    void barsFollowTheText() {
        MainWindow w;
        w.openModel(QStringLiteral("default"));
        w.show();
        QVERIFY(waitIdle(w));
        w.setText(QStringLiteral("In the beginning God created the"));
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == w.text() && !w.controller()->isBusy(); }, kTimeout));
        auto expected = predictTokens(*w.controller()->model(), *w.analysis(),
                                      w.analysis()->tokenCount() - 1, w.predictions()->topK());
        QVERIFY(expected);
        const Prediction& shown = w.predictions()->bars()->prediction();
        QVERIFY(QTest::qWaitFor(
            [&] {
                return shown.position == expected->position && !shown.top.empty() &&
                       shown.top[0].id == expected->top[0].id;
            },
            kTimeout));
        QCOMPARE(int(shown.top.size()), w.predictions()->topK());
        for (size_t i = 0; i < shown.top.size(); ++i) {
            QCOMPARE(shown.top[i].id, expected->top[i].id);
            QCOMPARE(shown.top[i].probability, expected->top[i].probability);
        }
        // Clicking the first bar appends its token to the text, which is analysed again.
        const QString before = w.text();
        const QString token = shown.top[0].text;
        QTest::mouseClick(w.predictions()->bars(), Qt::LeftButton, {},
                          w.predictions()->bars()->barRect(0).center());
        QCOMPARE(w.text(), before + token);
        QVERIFY(QTest::qWaitFor([&] { return w.analysis()->text == w.text(); }, kTimeout));
    }

    void generateWritesTokenByToken() {
        MainWindow w;
        w.openModel(QStringLiteral("default"));
        w.show();
        QVERIFY(waitIdle(w));
        const QString prompt = QStringLiteral("The king said unto");
        w.setText(prompt);
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->text == prompt && !w.controller()->isBusy(); }, kTimeout));
        PredictionsPanel* panel = w.predictions();
        panel->setStepDelay(0);
        panel->setGenerationOptions(6, 0.0, 0); // greedy
        QSignalSpy steps(panel, &PredictionsPanel::generationStep);
        QSignalSpy finished(panel, &PredictionsPanel::generationFinished);
        QTest::mouseClick(panel->findChild<QPushButton*>(QStringLiteral("generateButton")),
                          Qt::LeftButton);
        QVERIFY(finished.wait(kTimeout));
        QCOMPARE(finished.first().first().toString(), QString());
        QCOMPARE(steps.size(), 7); // the prompt, then 6 tokens
        QVERIFY(waitIdle(w));

        // The same tokens as the engine's generate() on the same prompt.
        AnalysisRequest request;
        request.text = prompt;
        auto reference = generate(*w.controller()->model(), request, 6, SamplingOptions{});
        QVERIFY(reference);
        QCOMPARE(w.analysis()->encoding.ids, (*reference)->encoding.ids);
        QCOMPARE(w.analysis()->generatedTokens, 6);
        QCOMPARE(w.text(), (*reference)->text);
        QVERIFY(w.text().startsWith(prompt) && w.text().size() > prompt.size());
        QVERIFY(!w.findChild<QPlainTextEdit*>(QStringLiteral("textInput"))->isReadOnly());
        // Marked in the views' labels and in the token strip.
        const QStringList labels = tokenLabels(*w.analysis());
        const int T = w.analysis()->tokenCount();
        for (int i = 0; i < T; ++i)
            QCOMPARE(labels[i].startsWith(kGeneratedMark), i >= T - 6);
        QCOMPARE(w.heatmap()->tokenCount(), T);
        auto* strip = w.findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"));
        QCOMPARE(strip->renderer().tokenCount(), T);
        for (int i = 0; i < T; ++i)
            QCOMPARE(strip->renderer().tokenFont(i).italic(), i >= T - 6);
        QVERIFY(
            strip->renderer().plainText().endsWith(QStringLiteral("the 6 tokens the model wrote")));
        // Typing afterwards analyses the text as usual: nothing is marked as generated.
        w.setText(w.text() + QStringLiteral(" and"));
        QVERIFY(QTest::qWaitFor([&] { return w.analysis()->text == w.text(); }, kTimeout));
        QCOMPARE(w.analysis()->generatedTokens, 0);
        // ... reusing the keys and values of generated tokens too (the window adopted it).
        QVERIFY2(w.analysis()->reusedTokens > (*reference)->tokenCount() - 6,
                 qPrintable(QString::number(w.analysis()->reusedTokens)));
    }

    void stopGeneration() {
        MainWindow w;
        w.openModel(QStringLiteral("default"));
        w.show();
        QVERIFY(waitIdle(w));
        PredictionsPanel* panel = w.predictions();
        panel->setStepDelay(100);
        panel->setGenerationOptions(50, 0.8, 3);
        QSignalSpy steps(panel, &PredictionsPanel::generationStep);
        QSignalSpy finished(panel, &PredictionsPanel::generationFinished);
        auto* button = panel->findChild<QPushButton*>(QStringLiteral("generateButton"));
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY(QTest::qWaitFor([&] { return steps.size() >= 3; }, kTimeout));
        QVERIFY(panel->isGenerating());
        QTest::mouseClick(button, Qt::LeftButton); // now "Stop"
        QVERIFY(finished.wait(kTimeout));
        QCOMPARE(finished.first().first().toString(), QString()); // stopped, not an error
        QVERIFY(steps.size() < 51);
        QVERIFY(waitIdle(w));
        QVERIFY(w.analysis()->generatedTokens < 50);
    }

    // Encoders predict the token behind [MASK]; a click puts it in the mask's place.
    void maskedTokens() {
        MainWindow w;
        w.openModel(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/bert/model"));
        w.show();
        QVERIFY(waitIdle(w));
        w.setText(QStringLiteral("the cat [MASK] on the mat"));
        const Prediction& shown = w.predictions()->bars()->prediction();
        QVERIFY(QTest::qWaitFor(
            [&] { return shown.kind == PredictionKind::MaskedToken && !shown.top.empty(); },
            kTimeout));
        QCOMPARE(shown.kind, PredictionKind::MaskedToken);
        QCOMPARE(w.analysis()->encoding.tokens[shown.position], QStringLiteral("[MASK]"));
        QVERIFY(!w.findChild<QPushButton*>(QStringLiteral("generateButton"))->isVisibleTo(&w));
        QTest::mouseClick(w.predictions()->bars(), Qt::LeftButton, {},
                          w.predictions()->bars()->barRect(1).center());
        QVERIFY(!w.text().contains(QStringLiteral("[MASK]")));
    }
};

QTEST_MAIN(TestPredictions)
#include "tst_predictions.moc"
