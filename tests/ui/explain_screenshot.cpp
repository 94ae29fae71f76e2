// Not a test: the window with the Explain dock open, and the panel's figure exported, as PNGs for
// looking at.   explain_screenshot <out dir> [model] [text] [token] [WxH]
#include "explain/explain_panel.h"
#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>

using namespace attnscope;

namespace {
void settle(int ms = 300) {
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
        qWarning("usage: explain_screenshot <out dir> [model] [text] [token] [WxH]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    MainWindow w;
    w.setOpensOnPatternedHead(true);
    w.openModel(args.value(2).isEmpty() ? QStringLiteral("default") : args[2]);
    if (!args.value(3).isEmpty()) w.setText(args[3]);
    const QStringList wh = args.value(5, QStringLiteral("1600x1000")).split(QLatin1Char('x'));
    w.resize(wh.value(0).toInt(), wh.value(1).toInt());
    w.show();
    w.findChild<QAction*>(QStringLiteral("explainAction"))->trigger();
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 &&
           (w.controller()->isBusy() || w.explainPanel()->isComputing() ||
            w.explainPanel()->figureWidget()->renderer().isEmpty()))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    if (!args.value(4).isEmpty()) w.explainPanel()->setToken(args[4].toInt());
    settle(800);
    w.grab().save(out.filePath(QStringLiteral("window.png")));
    for (const char* ext : {"png", "svg", "pdf"}) {
        const Status s = w.explainPanel()->exportFigure(
            out.filePath(QStringLiteral("explain.") + QLatin1String(ext)));
        if (!s) qWarning("%s", qPrintable(s.message()));
    }
    w.setDarkTheme(true);
    settle(300);
    const Status dark =
        w.explainPanel()->exportFigure(out.filePath(QStringLiteral("explain-dark.png")));
    if (!dark) qWarning("%s", qPrintable(dark.message()));
    return dark ? 0 : 1;
}
