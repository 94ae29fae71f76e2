// Not a test: the window on a model with a sentence and its next-token predictions, then after
// Generate, as PNGs for looking at.
//   predictions_screenshot <out dir> [model] [text] [tokens] [temperature] [seed]
#include "main_window.h"
#include "predictions/predictions_panel.h"
#include "selection/selection_strip.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>

using namespace attnscope;

namespace {
void settle(int ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}
bool waitIdle(MainWindow& w) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 60000) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        if (w.analysis() && w.analysis()->text == w.text() && !w.controller()->isBusy() &&
            !w.predictions()->isGenerating())
            return true;
    }
    return false;
}
} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        qWarning("usage: predictions_screenshot <out dir> [model] [text] [tokens] [T] [seed]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    MainWindow w;
    w.setOpensOnPatternedHead(true);
    w.openModel(args.value(2, QStringLiteral("default")));
    w.setText(args.value(3, QStringLiteral("In the beginning God created the heaven and the")));
    w.resize(1280, 860);
    w.show();
    if (!waitIdle(w)) return 1;
    settle(300);
    w.grab().save(out.filePath(QStringLiteral("predictions.png")));
    w.predictions()->setGenerationOptions(args.value(4, QStringLiteral("8")).toInt(),
                                          args.value(5, QStringLiteral("0")).toDouble(),
                                          args.value(6, QStringLiteral("0")).toInt());
    w.predictions()->startGeneration(w.controller()->model(), w.text(), w.analysis());
    settle(200);
    if (!waitIdle(w)) return 1;
    settle(300);
    w.grab().save(out.filePath(QStringLiteral("generated.png")));
    w.setView(MainWindow::View::Links);
    settle(300);
    w.grab().save(out.filePath(QStringLiteral("generated-links.png")));
    // Three queries selected together (the last three tokens), their rows summed.
    w.setView(MainWindow::View::Heatmap);
    const int last = w.analysis()->tokenCount() - 1;
    w.selectToken(last - 2, Qt::NoModifier);
    w.selectToken(last, Qt::ShiftModifier);
    settle(300);
    w.grab().save(out.filePath(QStringLiteral("selection.png")));
    w.setDarkTheme(true);
    settle(300);
    w.grab().save(out.filePath(QStringLiteral("selection-dark.png")));
    return 0;
}
