// Grabs the main window after opening a session file or an attention file, for looking at it.
//   session_screenshot <out.png> (--session FILE.attnscope | --attention FILE) [WxH]
#include "main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QSignalSpy>

using namespace attnscope;

int main(int argc, char** argv) {
    QStringList args; // read before QApplication, which takes "-session" as its own option
    for (int i = 0; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);
    QApplication app(argc, argv);
    if (args.size() < 4 ||
        (args[2] != QLatin1String("--session") && args[2] != QLatin1String("--attention"))) {
        qWarning("usage: session_screenshot <out.png> (--session FILE | --attention FILE) [WxH]");
        return 2;
    }
    MainWindow w;
    w.setOpensOnPatternedHead(true); // as the app does
    if (args.size() > 4) {
        const QStringList wh = args[4].split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    w.show();
    QSignalSpy opened(&w, args[2] == QLatin1String("--session") ? &MainWindow::sessionOpened
                                                                : &MainWindow::attentionFileOpened);
    QSignalSpy failed(&w, &MainWindow::sessionFailed);
    if (args[2] == QLatin1String("--session"))
        w.openSession(args[3]);
    else
        w.openAttentionFile(args[3]);
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 && opened.isEmpty() && failed.isEmpty() &&
           w.errorText().isEmpty())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    timer.restart(); // predictions and the head list's columns come a moment later
    while (timer.elapsed() < 1000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (!w.grab().save(args[1])) {
        qWarning("cannot write %s", qPrintable(args[1]));
        return 1;
    }
    return opened.isEmpty() ? 1 : 0;
}
