// Grabs the window in image mode into a PNG (run offscreen or under xvfb-run).
//   image_screenshot <out.png> <model> [picture] [layer] [head] [kept patch] [WxH] [dark] [view]
// view: the MainWindow::View index (default: the image view); then "rollout" for that overlay.
#include "image/image_view.h"
#include "main_window.h"

#include <QApplication>
#include <QElapsedTimer>

using namespace attnscope;

namespace {
void settle(MainWindow& w, int ms = 30000) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < ms && (w.controller()->isBusy() || !w.analysis()))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    for (int i = 0; i < 10; ++i)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}
} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3) {
        qWarning("usage: image_screenshot <out.png> <model> [picture] [layer] [head] [patch] "
                 "[WxH] [dark]");
        return 2;
    }
    MainWindow w;
    if (args.size() > 7) {
        const QStringList wh = args[7].split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    if (args.size() > 8 && args[8] == QLatin1String("dark")) w.setDarkTheme(true);
    w.show();
    w.openModel(args[2]);
    settle(w);
    if (args.size() > 3 && !args[3].isEmpty()) {
        const QString before = w.imageView()->pictureName();
        w.openImage(args[3]);
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 30000 && w.imageView()->pictureName() == before &&
               w.errorText().isEmpty())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        settle(w);
    }
    if (args.size() > 5) w.setLayerHead(args[4].toInt(), args[5].toInt());
    if (args.size() > 6 && args[6].toInt() >= 0) w.imageView()->setKeptPatch(args[6].toInt());
    if (args.size() > 10 && args[10] == QLatin1String("rollout"))
        w.imageView()->setOverlay(ImageView::Overlay::Rollout);
    if (args.size() > 9) w.setView(MainWindow::View(args[9].toInt()));
    for (int i = 0; i < 10; ++i)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (!w.grab().save(args[1])) {
        qWarning("cannot write %s", qPrintable(args[1]));
        return 1;
    }
    return 0;
}
