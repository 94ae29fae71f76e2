// Not a test: saves the main window with each view, light and dark, as PNGs for looking at
// (run with QT_SCALE_FACTOR=2 for device pixel ratio 2).
//   workbench_screenshots <out dir> [model path] [text] [WxH]
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "heatmap_widget.h"
#include "links/links_widget.h"
#include "main_window.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>

using namespace attnscope;

namespace {
void settle(int ms = 200) {
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
        qWarning("usage: workbench_screenshots <out dir> [model] [text] [WxH]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    MainWindow w;
    w.openModel(args.size() > 2 && !args[2].isEmpty()
                    ? args[2]
                    : QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model"));
    if (args.size() > 3 && !args[3].isEmpty()) w.setText(args[3]);
    if (args.size() > 4) {
        const QStringList wh = args[4].split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    w.show();
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 &&
           (w.controller()->isBusy() || (!w.analysis() && w.errorText().isEmpty())))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    const QStringList names{"heatmap", "links", "grid", "compare", "diff"};
    for (bool dark : {false, true}) {
        w.setDarkTheme(dark);
        for (int v = 0; v < names.size(); ++v) {
            w.setView(MainWindow::View(v));
            settle();
            if (v == int(MainWindow::View::Heatmap)) w.heatmap()->setHoveredCell({4, 2});
            if (v == int(MainWindow::View::Links)) w.links()->focusIndex(4, LinkSide::Query);
            if (v == int(MainWindow::View::Grid))
                w.findChild<QComboBox*>(QStringLiteral("gridStatistic"))->setCurrentIndex(4);
            if (v == int(MainWindow::View::Compare))
                w.compare()->paneWidget(0)->setHoveredCell({4, 2});
            settle(100);
            const QString file =
                out.filePath(QStringLiteral("%1-%2.png").arg(names[v], dark ? "dark" : "light"));
            w.grab().save(file);
            if (v == int(MainWindow::View::Links)) w.links()->focusIndex(-1, LinkSide::Query);
        }
    }
    return 0;
}
