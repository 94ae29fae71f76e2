// The Explain panel driven like a person would: open it from the View menu, step through tokens
// and heads, click a heatmap row, hover a cell, export; and its renderer on its own.
#include "explain/explain_panel.h"
#include "heatmap_widget.h"
#include "main_window.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace attnscope;

namespace {

QString modelPath(const char* family = "gpt2") {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/") + QLatin1String(family) +
           QStringLiteral("/model");
}

constexpr int kTimeout = 20000;

const Explanation* shown(const MainWindow& w) {
    return w.explainPanel()->figureWidget()->renderer().figure().explanation.get();
}

// Waits until the panel shows the window's layer and head for `token`, from its analysis.
bool waitForExplanation(const MainWindow& w, int token) {
    return QTest::qWaitFor(
        [&] {
            const Explanation* e = shown(w);
            return e && !w.controller()->isBusy() && !w.explainPanel()->isComputing() &&
                   e->layer == w.currentLayer() && e->head == w.currentHead() && e->token == token;
        },
        kTimeout);
}

} // namespace

class TestExplainPanel : public QObject {
    Q_OBJECT
private slots:
    void opensKeepsInputsAndFollowsTheWindow() {
        MainWindow w;
        w.openModel(modelPath());
        w.setText(QStringLiteral("The cat sat on the mat"));
        w.show();
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.analysis() && w.analysis()->tokenCount() == 6 && !w.controller()->isBusy();
            },
            kTimeout));
        // Closed: the analyses keep nothing extra.
        QVERIFY(!w.controller()->keepsAttentionInputs());
        QCOMPARE(w.analysis()->forward.layers[0].input.rows(), 0);

        auto* action = w.findChild<QAction*>(QStringLiteral("explainAction"));
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_8));
        action->trigger();
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("explainDock"));
        QVERIFY(dock && dock->isVisible());
        QVERIFY(w.controller()->keepsAttentionInputs());
        QVERIFY2(waitForExplanation(w, 5), "no explanation of the last token");
        // The text was analysed again, keeping the inputs; the panel explains that very pass.
        QCOMPARE(w.analysis()->forward.layers[0].input.rows(), 6);
        const Explanation* e = shown(w);
        QVERIFY(e->weights == (*w.analysis()->attention(e->layer, e->head)).row(5));

        // Another head of the window: the panel follows.
        w.setLayerHead(1, 3);
        QVERIFY(waitForExplanation(w, 5));
        QVERIFY(shown(w)->weights == (*w.analysis()->attention(1, 3)).row(5));

        // A click on a heatmap row explains that row's query token.
        auto* heatmap = w.heatmap();
        const HeatmapLayout layout = heatmap->currentLayout();
        QTest::mouseClick(heatmap, Qt::LeftButton, {}, layout.cellRect(2, 1).center().toPoint());
        QVERIFY(waitForExplanation(w, 2));
        QCOMPARE(
            w.explainPanel()->findChild<QComboBox*>(QStringLiteral("explainToken"))->currentIndex(),
            2);
        QVERIFY(shown(w)->masked[3] && !shown(w)->masked[2]); // causal: keys after 2 masked

        // Up and Down in the figure step through the tokens.
        ExplainWidget* figure = w.explainPanel()->figureWidget();
        figure->setFocus();
        QTest::keyClick(figure, Qt::Key_Down);
        QVERIFY(waitForExplanation(w, 3));
        QTest::keyClick(figure, Qt::Key_Up);
        QTest::keyClick(figure, Qt::Key_Up);
        QVERIFY(waitForExplanation(w, 1));

        // Typing keeps explaining, from the new pass.
        w.setText(QStringLiteral("The cat sat on the mat today"));
        QVERIFY(QTest::qWaitFor([&] { return w.analysis()->tokenCount() == 7; }, kTimeout));
        QVERIFY(waitForExplanation(w, 1));
        QVERIFY(shown(w)->weights == (*w.analysis()->attention(1, 3)).row(1));
        QCOMPARE(shown(w)->tokenCount(), 7);

        // Closed again: later analyses stop keeping the inputs.
        dock->close();
        QVERIFY(!w.controller()->keepsAttentionInputs());
        w.setText(QStringLiteral("The dog sat"));
        QVERIFY(QTest::qWaitFor(
            [&] { return w.analysis()->tokenCount() == 3 && !w.controller()->isBusy(); },
            kTimeout));
        QCOMPARE(w.analysis()->forward.layers[0].input.rows(), 0);
    }

    void hoverGivesExactValuesAndExports() {
        MainWindow w;
        w.openModel(modelPath("llama"));
        w.setText(QStringLiteral("hello world again"));
        w.show();
        w.findChild<QAction*>(QStringLiteral("explainAction"))->trigger();
        QVERIFY(QTest::qWaitFor([&] { return w.analysis() != nullptr; }, kTimeout));
        const int last = w.analysis()->tokenCount() - 1;
        QVERIFY(waitForExplanation(w, last));
        const ExplainRenderer& r = w.explainPanel()->figureWidget()->renderer();
        const Explanation& e = *r.figure().explanation;
        QCOMPARE(r.figure().norm, QStringLiteral("RMSNorm"));
        QCOMPARE(r.figure().rotaryDims, 16);
        QCOMPARE(r.figure().kvGroup, 2); // 4 query heads share 2 key/value heads

        // Scan the figure for hover texts: every strip reports exact values of the explanation.
        const double width = 800;
        bool sawX = false, sawWeight = false, sawKey = false;
        for (double y = 0; y < r.preferredHeight(width); y += 3)
            for (double x = 0; x < width; x += 5) {
                const QString text = r.hoverText(QPointF(x, y), width);
                if (text.startsWith(QLatin1String("x[0] = "))) {
                    sawX = true;
                    QCOMPARE(text.mid(7).toFloat(), e.x(last, 0));
                }
                if (text.startsWith(QStringLiteral("α_0 = "))) {
                    sawWeight = true;
                    QCOMPARE(text.mid(6).section(QLatin1Char(' '), 0, 0).toFloat(), e.weights[0]);
                    QCOMPARE(r.keyRowAt(QPointF(x, y), width), 0);
                }
                if (text.startsWith(QLatin1String("k_1[0] = "))) {
                    sawKey = true;
                    QCOMPARE(text.mid(9).section(QLatin1Char(' '), 0, 0).toFloat(), e.k(1, 0));
                }
            }
        QVERIFY(sawX && sawWeight && sawKey);

        QTemporaryDir dir;
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString path = dir.filePath(QStringLiteral("explain.") + QLatin1String(ext));
            const Status s = w.explainPanel()->exportFigure(path, 900);
            QVERIFY2(s.ok(), qPrintable(s.message()));
            QVERIFY(QFileInfo(path).size() > 1000);
        }
        const QImage png(dir.filePath(QStringLiteral("explain.png")));
        QCOMPARE(png.width(), 900);
        QCOMPARE(png.height(), int(std::ceil(r.preferredHeight(900))));
        QFile svg(dir.filePath(QStringLiteral("explain.svg")));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QString svgText = QString::fromUtf8(svg.readAll());
        for (const char* step : {"The token's vector", "Its query", "Keys and dot products",
                                 "Scale, mask, softmax", "Values, weighted sum"})
            QVERIFY2(svgText.contains(QLatin1String(step)), step); // labels stay text
    }

    void sentencesFollowTheFamily() {
        // BERT normalises after attention and has no rotary positions; its sentences say so.
        auto model = LoadedModel::open(modelPath("bert"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.text = QStringLiteral("a short sentence");
        request.keep = explainKeepOptions();
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis.ok());
        auto weights = (*model)->attentionWeights(0);
        QVERIFY(weights.ok());
        auto e = explainHead(*analysis, *weights, false, 0, 1, 1);
        QVERIFY(e.ok());
        ExplainRenderer r;
        r.setFigure(
            explainFigure(*analysis, (*model)->config(), std::make_shared<const Explanation>(*e)));
        QVERIFY(r.figure().norm.isEmpty());
        QCOMPARE(r.figure().rotaryDims, 0);
        QImage image(700, int(r.preferredHeight(700)), QImage::Format_ARGB32);
        QPainter painter(&image);
        r.paint(painter, QRectF(image.rect()));
        painter.end();
        bool masked = false, beforeRotary = false;
        for (double y = 0; y < image.height(); y += 3)
            for (double x = 0; x < 700; x += 5) {
                const QString text = r.hoverText(QPointF(x, y), 700);
                masked = masked || text.startsWith(QLatin1String("masked"));
                beforeRotary = beforeRotary || text.contains(QLatin1String("before rotary"));
            }
        QVERIFY(!masked && !beforeRotary); // bidirectional, no rotary row
    }
};

QTEST_MAIN(TestExplainPanel)
#include "tst_explain_panel.moc"
