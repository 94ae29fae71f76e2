// Not a test: File → Export Figure… over the window (the dialog with its preview, light and
// with the print theme and a caption), as PNGs for looking at.
//   figure_dialog_screenshot <out dir> [model] [text]
#include "figure_dialog/figure_dialog.h"
#include "main_window.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>

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
        qWarning("usage: figure_dialog_screenshot <out dir> [model] [text]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    MainWindow w;
    w.setOpensOnPatternedHead(true);
    w.openModel(args.value(2).isEmpty() ? QStringLiteral("default") : args[2]);
    if (!args.value(3).isEmpty()) w.setText(args[3]);
    w.resize(1400, 900);
    w.show();
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 && (w.controller()->isBusy() || !w.analysis()))
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    settle(500);
    FigureDialog* dialog = w.openFigureDialog();
    settle(500);
    dialog->grab().save(out.filePath(QStringLiteral("dialog.png")));
    dialog->findChild<QLineEdit*>(QStringLiteral("figureTitle"))->setText(QStringLiteral("A head"));
    dialog->findChild<QComboBox*>(QStringLiteral("figureCaption"))->setCurrentIndex(1);
    dialog->findChild<QComboBox*>(QStringLiteral("figureColorBar"))->setCurrentIndex(1);
    dialog->findChild<QComboBox*>(QStringLiteral("figureTheme"))->setCurrentIndex(3);
    settle(500);
    dialog->grab().save(out.filePath(QStringLiteral("dialog-print.png")));
    (void)dialog->exportTo(QStringLiteral("/nonexistent-folder/figure.png"));
    settle(200);
    dialog->grab().save(out.filePath(QStringLiteral("dialog-error.png")));
    return 0;
}
