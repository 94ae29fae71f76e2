// MainWindow's side of figures: the view on screen as a FigureRequest (the one description the
// dialog, the clipboard and File → Export view share), File → Export Figure…, File → Export
// Numbers… and Edit → Copy Figure.
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "figure_dialog/figure_dialog.h"
#include "head_requests.h"
#include "main_window.h"

#include <QApplication>
#include <QBuffer>
#include <QClipboard>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QPainter>
#include <QStatusBar>
#include <QSvgGenerator>

namespace attnscope {

void MainWindow::addFigureActions(QMenu* file) {
    QAction* figure =
        file->addAction(tr("Export &Figure…"), this, [this] { (void)openFigureDialog(); });
    figure->setObjectName(QStringLiteral("exportFigureAction"));
    figure->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    QAction* numbers =
        file->addAction(tr("Export &Numbers…"), this, &MainWindow::chooseNumbersFile);
    numbers->setObjectName(QStringLiteral("exportNumbersAction"));
    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* copy = edit->addAction(tr("&Copy Figure"), this, [this] {
        if (Status s = copyCurrentFigure(); !s) showError(s.message());
    });
    copy->setObjectName(QStringLiteral("copyFigureAction"));
    copy->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
}

Result<CurrentFigure> MainWindow::currentFigure(QSize size) const {
    if (!m_analysis || m_analysis->tokenCount() == 0)
        return Error{tr("There is nothing to export yet.")};
    CurrentFigure figure;
    figure.analysis = m_analysis;
    FigureRequest& request = figure.request;
    request.state = m_state;
    request.state.hoveredToken = -1; // the selection is kept, a passing hover is not
    request.size = size;
    request.options.queryTokens = m_selectedTokens;
    if (m_controller->model()) request.options.modelName = m_controller->model()->displayName();
    switch (currentView()) {
    case View::Heatmap:
        request.view = FigureView::Heatmap;
        break;
    case View::Links:
        request.view = FigureView::Links;
        break;
    case View::Grid:
        request.view = FigureView::Grid;
        break;
    case View::Compare:
        request.view = FigureView::Compare;
        for (int i = 0; i < m_compare->paneCount(); ++i) {
            request.panes.push_back(m_compare->paneHead(i));
            request.linkPanes.push_back(m_compare->paneView(i) == CompareView::PaneView::Links);
        }
        break;
    case View::Difference:
        request.view = FigureView::Difference;
        if (m_diff->mode() == DiffView::Mode::Heads) {
            request.panes = {m_diff->headA(), m_diff->headB()};
        } else {
            if (!m_diff->againstAnalysis())
                return Error{tr("Type the other text of the difference first.")};
            request.against = m_diff->againstAnalysis();
            std::tie(request.state.layer, request.state.head) = m_diff->headA();
            request.state.aggregate = Aggregate::SingleHead;
        }
        break;
    case View::Image:
        return Error{tr("The image view is exported with File → Export view (PNG, SVG, PDF); "
                        "the figure options are for the attention views.")};
    }
    return figure;
}

FigureDialog* MainWindow::figureDialog() const {
    return m_figureDialog;
}

FigureDialog* MainWindow::openFigureDialog() {
    if (!m_figureDialog) {
        m_figureDialog = new FigureDialog(
            [this]() -> Result<CurrentFigure> {
                // The heatmap at least as large as on screen; the others at their own size.
                return currentFigure(currentView() == View::Heatmap
                                         ? m_heatmap->size().expandedTo(QSize(1000, 900))
                                         : QSize());
            },
            this);
        connect(m_figureDialog, &FigureDialog::exported, this, [this](const QString& path) {
            statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()), 5000);
        });
        connect(m_figureDialog, &FigureDialog::copyRequested, this, [this] {
            if (Status s = copyCurrentFigure(); !s) showError(s.message());
        });
    }
    m_figureDialog->show();
    m_figureDialog->raise();
    m_figureDialog->refresh();
    return m_figureDialog;
}

namespace {
// PNG (and SVG as image/svg+xml) of a prepared figure on the clipboard.
Status putOnClipboard(const Result<PreparedFigure>& prepared, int scale, QStatusBar* status) {
    if (!prepared) return makeError(prepared.message());
    auto* mime = new QMimeData;
    QImage image = figureImage(*prepared, scale);
    image.setDevicePixelRatio(1); // pasted at its pixel size
    mime->setImageData(image);
    // The same figure as SVG, for editors that take vector graphics from the clipboard.
    QBuffer svgBytes;
    svgBytes.open(QIODevice::WriteOnly);
    {
        QSvgGenerator svg;
        svg.setOutputDevice(&svgBytes);
        svg.setSize(prepared->size);
        svg.setViewBox(QRect(QPoint(0, 0), prepared->size));
        svg.setResolution(96);
        svg.setTitle(prepared->title);
        svg.setDescription(prepared->description);
        QPainter painter(&svg);
        prepared->paint(painter, QRectF(QPointF(0, 0), QSizeF(prepared->size)), true);
    }
    mime->setData(QStringLiteral("image/svg+xml"), svgBytes.data());
    QApplication::clipboard()->setMimeData(mime);
    status->showMessage(
        MainWindow::tr("Copied the figure (%1 × %2 px)").arg(image.width()).arg(image.height()),
        5000);
    return okStatus();
}
} // namespace

Status MainWindow::copyCurrentFigure() {
    auto figure = m_figureDialog ? m_figureDialog->figure() : currentFigure();
    if (!figure) return makeError(figure.message());
    if (const HeldHeads held = holdFigureHeads(*figure->analysis, figure->request); held.ready())
        return putOnClipboard(prepareFigure(figure->analysis, figure->request),
                              figure->request.scale, statusBar());
    // Lazy heads: gathered on a worker, the status bar saying so; copied when they are there.
    figureRequests(m_copyRequests, "copyRequests")
        ->run<Result<PreparedFigure>>(
            false,
            [analysis = figure->analysis, request = figure->request] {
                return prepareFigure(analysis, request);
            },
            [this, scale = figure->request.scale](Result<PreparedFigure> prepared) {
                if (Status s = putOnClipboard(prepared, scale, statusBar()); !s)
                    showError(s.message());
            });
    statusBar()->showMessage(
        tr("Copying the figure: %1")
            .arg(HeadRequests::computingText(*figure->analysis,
                                             figureHeads(*figure->analysis, figure->request))));
    return okStatus();
}

Status MainWindow::exportCurrentNumbers(const QString& path) const {
    auto figure = currentFigure();
    if (!figure) return makeError(figure.message());
    return exportNumbers(*figure->analysis, figure->request, path);
}

void MainWindow::chooseNumbersFile() {
    if (!m_analysis) {
        showError(tr("There is nothing to export yet."));
        return;
    }
    QString selected;
    const QString csv = tr("CSV with token labels (*.csv)"), npy = tr("NumPy array (*.npy)"),
                  json = tr("JSON (*.json)"), st = tr("safetensors (*.safetensors)");
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export numbers"),
        QStringLiteral("attention-layer%1-head%2.csv").arg(currentLayer()).arg(currentHead()),
        QStringList{csv, npy, json, st}.join(QStringLiteral(";;")), &selected);
    if (path.isEmpty()) return;
    if (!isNumbersPath(path))
        path += selected == npy    ? QStringLiteral(".npy")
                : selected == json ? QStringLiteral(".json")
                : selected == st   ? QStringLiteral(".safetensors")
                                   : QStringLiteral(".csv");
    startNumbersExport(path);
}

HeadRequests* MainWindow::figureRequests(HeadRequests*& requests, const char* name) {
    if (!requests) {
        requests = new HeadRequests(this);
        requests->setObjectName(QLatin1String(name));
    }
    return requests;
}

void MainWindow::reportExport(const QString& path, const Status& status) {
    if (!status)
        showError(status.message());
    else
        statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()), 5000);
}

void MainWindow::exportOnWorker(const QString& path, const CurrentFigure& figure,
                                HeadRequests* requests, std::function<Status()> write) {
    // Lazy heads: computed and written on a worker (atomically, as always), the status bar
    // saying so meanwhile.
    requests->run<Status>(false, std::move(write),
                          [this, path](const Status& s) { reportExport(path, s); });
    statusBar()->showMessage(
        tr("Exporting %1: %2")
            .arg(QFileInfo(path).fileName(),
                 HeadRequests::computingText(*figure.analysis,
                                             figureHeads(*figure.analysis, figure.request))));
}

void MainWindow::startNumbersExport(const QString& path) {
    auto figure = currentFigure();
    if (!figure) return reportExport(path, exportCurrentNumbers(path));
    if (const HeldHeads held = holdFigureHeads(*figure->analysis, figure->request); held.ready())
        return reportExport(path, exportCurrentNumbers(path));
    exportOnWorker(path, *figure, figureRequests(m_numbersRequests, "numbersRequests"),
                   [analysis = figure->analysis, request = figure->request, path] {
                       return exportNumbers(*analysis, request, path);
                   });
}

void MainWindow::startViewExport(const QString& path, QSize size) {
    auto figure = currentView() == View::Image ? Result<CurrentFigure>(Error{QString()})
                                               : currentFigure(size);
    if (!figure) return reportExport(path, exportCurrentView(path, size));
    if (const HeldHeads held = holdFigureHeads(*figure->analysis, figure->request); held.ready())
        return reportExport(path, exportCurrentView(path, size));
    figure->request.options.queryTokens.clear(); // as exportCurrentView: without the selection
    exportOnWorker(path, *figure, figureRequests(m_viewExportRequests, "viewExportRequests"),
                   [analysis = figure->analysis, request = figure->request, path] {
                       return exportFigure(analysis, request, path);
                   });
}

} // namespace attnscope
