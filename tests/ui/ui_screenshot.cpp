// Grabs the main window into a PNG, for looking at the GUI without a person at a screen.
//   ui_screenshot <out.png> [model path] [text] [layer] [head] [hover row] [hover column] [WxH]
#include "heatmap_widget.h"
#include "main_window.h"

#include <QApplication>
#include <QElapsedTimer>

using namespace attnscope;

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        qWarning("usage: ui_screenshot <out.png> [model] [text] [layer] [head] [hover row] [hover "
                 "column]");
        return 2;
    }
    const QString out = args[1];
    const QString model = args.size() > 2 && !args[2].isEmpty()
                              ? args[2]
                              : QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
    MainWindow w;
    w.openModel(model);
    if (args.size() > 3) w.setText(args[3]);
    if (args.size() > 8) {
        const QStringList wh = args[8].split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    w.show();
    QElapsedTimer timer;
    timer.start();
    // Wait for an analysis or an error, then for the controller to go idle.
    while (timer.elapsed() < 30000 &&
           (w.controller()->isBusy() || (!w.analysis() && w.errorText().isEmpty())))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    if (args.size() > 5) w.setLayerHead(args[4].toInt(), args[5].toInt());
    if (args.size() > 7) w.heatmap()->setHoveredCell({args[6].toInt(), args[7].toInt()});
    for (int i = 0; i < 10; ++i)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (!w.grab().save(out)) {
        qWarning("cannot write %s", qPrintable(out));
        return 1;
    }
    return 0;
}
