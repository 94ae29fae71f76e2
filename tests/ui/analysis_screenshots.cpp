// Not a test: the analyses docks (head statistics table, rollout, flow) in the main window, as
// PNGs for looking at.
//   analysis_screenshots <out dir> [text model] [image model] [WxH] [text]
#include "analysis_views/head_table_panel.h"
#include "analysis_views/rollout_panel.h"
#include "image.h"
#include "main_window.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QTableView>

using namespace attnscope;

namespace {

void settle(int ms = 300) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

template <typename Done> void waitFor(Done done, int ms = 120000) {
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
}

void waitForAnalysis(MainWindow& w) {
    waitFor(
        [&] { return !w.controller()->isBusy() && (w.analysis() || !w.errorText().isEmpty()); });
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        qWarning("usage: analysis_screenshots <out dir> [text model] [image model] [WxH] [text]");
        return 2;
    }
    const QDir out(args[1]);
    QDir().mkpath(out.path());
    MainWindow w;
    QSize size(1700, 1000);
    if (args.size() > 4) {
        const QStringList wh = args[4].split(QLatin1Char('x'));
        if (wh.size() == 2) size = QSize(wh[0].toInt(), wh[1].toInt());
    }
    w.resize(size);
    w.openModel(args.size() > 2 && !args[2].isEmpty() ? args[2] : QStringLiteral("default"));
    if (args.size() > 5) w.setText(args[5]);
    w.show();
    waitForAnalysis(w);
    auto* tableDock = w.findChild<QDockWidget*>(QStringLiteral("headStatisticsDock"));
    auto* rolloutDock = w.findChild<QDockWidget*>(QStringLiteral("rolloutDock"));
    auto* table = w.findChild<HeadTablePanel*>();
    auto* rollout = w.findChild<RolloutPanel*>();

    // Head table, sorted by previous-token attention, then "heads like this".
    tableDock->show();
    tableDock->raise();
    w.resizeDocks({tableDock}, {size.width() / 2}, Qt::Horizontal);
    settle();
    table->view()->sortByColumn(HeadTableModel::PreviousColumn, Qt::DescendingOrder);
    w.setView(MainWindow::View::Grid);
    w.findChild<QComboBox*>(QStringLiteral("gridStatistic"))->setCurrentIndex(7); // special
    settle();
    w.grab().save(out.filePath(QStringLiteral("head-table.png")));
    table->showHeadsLike(w.currentLayer(), w.currentHead());
    settle();
    w.grab().save(out.filePath(QStringLiteral("heads-like.png")));

    // Rollout, then flow of the same text.
    rolloutDock->show();
    rolloutDock->raise();
    w.setView(MainWindow::View::Heatmap);
    waitFor([&] { return rollout->result().size() > 0; });
    settle();
    w.grab().save(out.filePath(QStringLiteral("rollout.png")));
    rollout->setShowLinks(true);
    settle();
    w.grab().save(out.filePath(QStringLiteral("rollout-links.png")));
    rollout->setShowLinks(false);
    rollout->computeFlow();
    waitFor([&] { return !rollout->isBusy(); });
    settle();
    qInfo("flow: %s", qPrintable(rollout->statusText()));
    w.grab().save(out.filePath(QStringLiteral("flow.png")));
    w.setDarkTheme(true);
    settle();
    w.grab().save(out.filePath(QStringLiteral("flow-dark.png")));
    w.setDarkTheme(false);
    rollout->setKind(RolloutPanel::Kind::Norms); // norm-based attention of a layer
    rollout->setNormsLayerHead(1, -1);
    waitFor([&] { return !rollout->isBusy() && rollout->result().size() > 0; });
    settle();
    w.grab().save(out.filePath(QStringLiteral("norms.png")));

    // An image model (the window shows text models; image mode is a separate view): the
    // panel alone on a bundled Fashion-MNIST image, rollout and the [CLS] row on the grid.
    auto vision = LoadedModel::open(
        args.size() > 3 && !args[3].isEmpty() ? args[3] : QStringLiteral("default-vision"));
    if (!vision) {
        qWarning("%s", qPrintable(vision.message()));
        return 1;
    }
    QImage image(
        QStringLiteral(ATTNSCOPE_SOURCE_DIR "/resources/samples/fashion/fashion-9-ankle-boot.png"));
    image = image.convertToFormat(QImage::Format_RGB888);
    auto config = ImageProcessorConfig::fromFolder((*vision)->path(), (*vision)->config().imageSize,
                                                   (*vision)->config().channels);
    AnalysisRequest request;
    request.pixelValues = preprocessImage(image.constBits(), image.width(), image.height(),
                                          int(image.bytesPerLine()), *config)
                              .value();
    auto analysis = (*vision)->analyze(request);
    if (!analysis) {
        qWarning("%s", qPrintable(analysis.message()));
        return 1;
    }
    RolloutPanel panel;
    panel.resize(760, 1000);
    panel.setImageModel(true);
    panel.show();
    panel.setAnalysis(std::make_shared<const Analysis>(std::move(*analysis)));
    waitFor([&] { return panel.result().size() > 0; });
    settle();
    panel.grab().save(out.filePath(QStringLiteral("rollout-image.png")));
    return 0;
}
