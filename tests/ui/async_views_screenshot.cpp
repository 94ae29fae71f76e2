// Not a test: each view reading lazy heads (ATTNSCOPE_EAGER_ATTENTION_MB=0) as PNGs, once while
// its heads are computed off the GUI thread ("…-computing.png", grabbed as soon as the analysis
// arrives) and once after ("…-done.png").
//   async_views_screenshot <out dir> [model] [text] [repeat] [WxH]
#include "analysis_controller.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "explain/explain_panel.h"
#include "figure_dialog/figure_dialog.h"
#include "head_requests.h"
#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>

#include <cstdio>

using namespace attnscope;

namespace {
void settle(int ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

bool anyComputing(const MainWindow& w) {
    for (const HeadRequests* r : w.findChildren<HeadRequests*>())
        if (r->isComputing()) return true;
    return w.explainPanel()->isComputing() || w.controller()->isBusy();
}
} // namespace

int main(int argc, char** argv) {
    qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0"); // every analysis computes its heads on demand
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        qWarning("usage: async_views_screenshot <out dir> [model] [text] [repeat] [WxH]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    QString text = args.value(3).isEmpty() ? MainWindow::sampleText() : args[3];
    const int repeat = std::max(1, args.value(4, QStringLiteral("12")).toInt());
    text = QStringList(repeat, text).join(QLatin1Char(' '));
    MainWindow w;
    w.openModel(args.value(2).isEmpty() ? QStringLiteral("default") : args[2]);
    const QStringList wh = args.value(5, QStringLiteral("1500x950")).split(QLatin1Char('x'));
    w.resize(wh.value(0).toInt(), wh.value(1).toInt());
    w.show();
    w.setText(text);
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 60000 && (!w.analysis() || anyComputing(w)))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    w.setLayerHead(1, 2);

    // A fresh lazy analysis of the same text (an empty head cache), shown as the window's.
    const auto show = [&](const QString& name, bool inputs) {
        AnalysisRequest request;
        request.text = w.analysis()->text;
        request.keep = KeepOptions::attentionOnly();
        request.keep.qkv = true;
        request.keep.attentionInputs = inputs;
        auto analysis = w.controller()->model()->analyze(request);
        if (!analysis) {
            qWarning("%s", qPrintable(analysis.message()));
            return;
        }
        // How long the GUI thread is busy: adopting the analysis (every view's request), and
        // the longest single event-loop turn until the heads have arrived.
        QElapsedTimer wait;
        wait.start();
        w.controller()->adopt(std::make_shared<const Analysis>(std::move(*analysis)), 1.0);
        const qint64 adoptMs = wait.elapsed();
        w.grab().save(out.filePath(name + QStringLiteral("-computing.png")));
        wait.restart();
        qint64 longestTurn = 0;
        while (wait.elapsed() < 60000 && anyComputing(w)) {
            QElapsedTimer turn;
            turn.start();
            QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
            longestTurn = std::max(longestTurn, turn.elapsed());
        }
        std::printf("%s: %d tokens, adopt() %lld ms on the GUI thread, heads there after %lld "
                    "ms, longest event-loop turn meanwhile %lld ms\n",
                    qPrintable(name), w.analysis()->tokenCount(), (long long)adoptMs,
                    (long long)wait.elapsed(), (long long)longestTurn);
        std::fflush(stdout);
        settle(300);
        w.grab().save(out.filePath(name + QStringLiteral("-done.png")));
    };
    w.setView(MainWindow::View::Links);
    show(QStringLiteral("links"), false);
    w.setView(MainWindow::View::Compare);
    w.compare()->setPaneCount(3);
    w.compare()->setPaneHead(2, 1, kMeanOfLayer);
    w.compare()->setPaneView(1, CompareView::PaneView::Links);
    show(QStringLiteral("compare"), false);
    w.setView(MainWindow::View::Difference);
    w.difference()->setHeads(1, 2, 0, 3);
    show(QStringLiteral("difference"), false);

    w.setView(MainWindow::View::Heatmap);
    w.selectToken(3, Qt::NoModifier);
    w.findChild<QDockWidget*>(QStringLiteral("headStatisticsDock"))->toggleViewAction()->trigger();
    w.findChild<QAction*>(QStringLiteral("explainAction"))->trigger();
    settle(300);
    while (timer.elapsed() < 120000 && anyComputing(w))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    show(QStringLiteral("docks"), true);
    w.findChild<QDockWidget*>(QStringLiteral("headStatisticsDock"))->toggleViewAction()->trigger();
    w.findChild<QDockWidget*>(QStringLiteral("explainDock"))->toggleViewAction()->trigger();
    w.clearTokenSelection();

    w.setView(MainWindow::View::Links);
    w.setAggregate(Aggregate::Mean);
    FigureDialog* dialog = w.openFigureDialog();
    settle(300);
    while (timer.elapsed() < 180000 && (anyComputing(w) || dialog->isComputing()))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    AnalysisRequest request;
    request.text = w.analysis()->text;
    request.keep = KeepOptions::attentionOnly();
    request.keep.qkv = true;
    auto analysis = w.controller()->model()->analyze(request);
    if (analysis) {
        w.controller()->adopt(std::make_shared<const Analysis>(std::move(*analysis)), 1.0);
        dialog->grab().save(out.filePath(QStringLiteral("figure-dialog-computing.png")));
        while (timer.elapsed() < 240000 && dialog->isComputing())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        settle(300);
        dialog->grab().save(out.filePath(QStringLiteral("figure-dialog-done.png")));
    }
    return 0;
}
