// Grabs the window mid-pass (layers appear as they are computed), for looking at it: the pass
// is held after `ready` layers; <out>-heatmap.png shows a layer not computed yet, <out>-grid.png
// the all-heads grid with the ready layers' tiles.
//   partial_screenshot <out prefix> [model path] [ready layers]
#include "analysis_controller.h"
#include "grid/grid_widget.h"
#include "main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QSemaphore>

using namespace attnscope;

namespace {
void pump(int ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}
} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        qWarning("usage: partial_screenshot <out prefix> [model] [ready layers]");
        return 2;
    }
    const QString model = args.size() > 2 && !args[2].isEmpty()
                              ? args[2]
                              : QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
    const int ready = args.size() > 3 ? args[3].toInt() : 2;
    QSemaphore released;
    MainWindow w;
    w.resize(1200, 800);
    w.controller()->setPartialDelayMs(0);
    w.openModel(model);
    w.show();
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 && (w.controller()->isBusy() || !w.analysis()))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    w.controller()->setPartialHookForTests([&](int layers) {
        if (layers == ready) released.acquire();
    });
    w.setText(QStringLiteral("While the pass runs, the first layers can already be read; the "
                             "later ones say that they are still being computed."));
    pump(1500);
    w.setLayerHead(w.analysis()->layerCount() - 1, 0);
    pump(300);
    w.grab().save(args[1] + QStringLiteral("-heatmap.png"));
    w.setView(MainWindow::View::Grid);
    pump(1500);
    w.grab().save(args[1] + QStringLiteral("-grid.png"));
    released.release(100);
    return 0;
}
