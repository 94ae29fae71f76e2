#include "analysis_docks.h"

#include "analysis_controller.h"
#include "head_table_panel.h"
#include "rollout_panel.h"

#include <QAction>
#include <QDockWidget>
#include <QMainWindow>
#include <QMenu>

namespace attnscope {

AnalysisDocks installAnalysisDocks(QMainWindow* window, AnalysisController* controller,
                                   QMenu* viewMenu, std::function<void(int, int)> selectHead,
                                   std::function<std::pair<int, int>()> currentHead) {
    AnalysisDocks docks;
    docks.headTable = new HeadTablePanel;
    docks.headTable->setCurrentHeadSource(std::move(currentHead));
    docks.rollout = new RolloutPanel;

    docks.headTableDock = new QDockWidget(QObject::tr("Head statistics"), window);
    docks.headTableDock->setObjectName(QStringLiteral("headStatisticsDock"));
    docks.headTableDock->setWidget(docks.headTable);
    docks.rolloutDock = new QDockWidget(QObject::tr("Rollout and flow"), window);
    docks.rolloutDock->setObjectName(QStringLiteral("rolloutDock"));
    docks.rolloutDock->setWidget(docks.rollout);
    window->addDockWidget(Qt::RightDockWidgetArea, docks.headTableDock);
    window->addDockWidget(Qt::RightDockWidgetArea, docks.rolloutDock);
    window->tabifyDockWidget(docks.headTableDock, docks.rolloutDock);
    docks.headTableDock->hide();
    docks.rolloutDock->hide();

    if (viewMenu) {
        viewMenu->addSeparator();
        QAction* table = docks.headTableDock->toggleViewAction();
        table->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_6));
        viewMenu->addAction(table);
        QAction* rollout = docks.rolloutDock->toggleViewAction();
        rollout->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_7));
        viewMenu->addAction(rollout);
    }

    HeadTablePanel* table = docks.headTable;
    RolloutPanel* rollout = docks.rollout;
    QObject::connect(controller, &AnalysisController::modelChanged, table,
                     [table, rollout](std::shared_ptr<const LoadedModel> model) {
                         // The last analysis belongs to the previous model: drop it.
                         rollout->setImageModel(model &&
                                                model->config().modality == Modality::Image);
                         rollout->setAnalysis(nullptr);
                         rollout->setModel(model);
                         table->setAnalysis(nullptr);
                         table->setModel(std::move(model));
                     });
    QObject::connect(controller, &AnalysisController::analysisReady, table,
                     [table, rollout](std::shared_ptr<const Analysis> analysis) {
                         table->setAnalysis(analysis);
                         rollout->setAnalysis(std::move(analysis));
                     });
    // The dark theme (View → Dark theme) reaches the rollout views too.
    if (auto* dark = window->findChild<QAction*>(QStringLiteral("darkThemeAction"))) {
        rollout->setDarkTheme(dark->isChecked());
        QObject::connect(dark, &QAction::toggled, rollout, &RolloutPanel::setDarkTheme);
    }
    if (selectHead)
        QObject::connect(table, &HeadTablePanel::headActivated, window, std::move(selectHead));
    // A model already open (the controller may have loaded it before the docks existed).
    if (auto model = controller->model()) {
        rollout->setImageModel(model->config().modality == Modality::Image);
        rollout->setModel(model);
        table->setModel(model);
    }
    if (auto analysis = controller->analysis()) {
        table->setAnalysis(analysis);
        rollout->setAnalysis(analysis);
    }
    return docks;
}

} // namespace attnscope
