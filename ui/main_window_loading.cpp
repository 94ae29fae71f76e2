// Opening a checkpoint in the window: "Opening NAME: n of m MB" with a Cancel button in the
// status bar while the weights are read (AnalysisController::modelLoadProgress). Cancel stops
// the load and leaves the previous model, its text and views as they were.
#include "main_window.h"

#include "heatmap_widget.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStatusBar>

namespace attnscope {

namespace {
// As LoadedModel::displayName(): a folder named "model" goes by its parent's name.
QString folderName(const QString& path) {
    const QFileInfo info(path);
    return info.fileName() == QLatin1String("model") ? QFileInfo(info.path()).fileName()
                                                     : info.fileName();
}
} // namespace

void MainWindow::setUpModelLoading() {
    m_loadBox = new QWidget;
    m_loadBox->setObjectName(QStringLiteral("modelLoadBox"));
    auto* row = new QHBoxLayout(m_loadBox);
    row->setContentsMargins(0, 0, 0, 0);
    m_loadLabel = new QLabel;
    m_loadLabel->setObjectName(QStringLiteral("modelLoadProgress"));
    m_loadLabel->setTextFormat(Qt::PlainText);
    auto* cancel = new QPushButton(tr("Cancel"));
    cancel->setObjectName(QStringLiteral("modelLoadCancel"));
    cancel->setToolTip(tr("Stop opening this model; the current one stays"));
    row->addWidget(m_loadLabel);
    row->addWidget(cancel);
    m_loadBox->hide();
    statusBar()->addPermanentWidget(m_loadBox);

    connect(cancel, &QPushButton::clicked, m_controller, &AnalysisController::cancelModelLoad);
    connect(m_controller, &AnalysisController::modelLoadingStarted, this,
            [this](const QString& path) {
                // Runs before onModelLoading() relabels: what a cancel goes back to (a second
                // open during a load keeps the first one's).
                if (m_loadBox->isHidden()) {
                    m_modelPathBeforeLoad = m_modelPath;
                    m_modelLabelBeforeLoad = m_modelLabel->text();
                }
                m_loadLabel->setText(tr("Opening %1…").arg(folderName(path)));
                m_loadBox->show();
            });
    connect(m_controller, &AnalysisController::modelLoadProgress, this,
            [this](const QString& path, int stage, double doneMb, double totalMb) {
                const QString name = folderName(path);
                m_loadLabel->setText(LoadStage(stage) == LoadStage::Tensors
                                         ? tr("Opening %1: %2 of %3 MB")
                                               .arg(name)
                                               .arg(doneMb, 0, 'f', 0)
                                               .arg(totalMb, 0, 'f', 0)
                                         : tr("Opening %1: reading %2 of %3 MB")
                                               .arg(name)
                                               .arg(doneMb, 0, 'f', 0)
                                               .arg(totalMb, 0, 'f', 0));
            });
    const auto done = [this] { m_loadBox->hide(); };
    connect(m_controller, &AnalysisController::modelChanged, this, done);
    connect(m_controller, &AnalysisController::errorOccurred, this, [this] {
        if (!m_controller->isLoadingModel()) m_loadBox->hide();
    });
    connect(m_controller, &AnalysisController::modelLoadCancelled, this, [this] {
        m_loadBox->hide();
        // Back to what the status bar said before: the model and its views did not change.
        m_modelPath = m_modelPathBeforeLoad;
        m_modelLabel->setText(m_modelLabelBeforeLoad);
        if (!m_controller->model())
            m_heatmap->setPlaceholder(tr("No model loaded. Use File → Open model folder…"));
        statusBar()->showMessage(tr("Opening the model was cancelled."), 4000);
    });
}

QString MainWindow::modelLoadText() const {
    return m_loadBox && m_loadBox->isVisible() ? m_loadLabel->text() : QString();
}

} // namespace attnscope
