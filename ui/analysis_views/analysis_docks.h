#pragma once
// The analyses beyond raw attention as two dock widgets of the main window: "Head statistics"
// (HeadTablePanel) and "Rollout and flow" (RolloutPanel), fed by the window's analysis
// controller, with toggles in the View menu. Kept out of main_window.cpp: the window calls
// installAnalysisDocks() once.
#include <functional>
#include <utility>

class QDockWidget;
class QMainWindow;
class QMenu;

namespace attnscope {

class AnalysisController;
class HeadTablePanel;
class RolloutPanel;

struct AnalysisDocks {
    QDockWidget* headTableDock = nullptr;
    QDockWidget* rolloutDock = nullptr;
    HeadTablePanel* headTable = nullptr;
    RolloutPanel* rollout = nullptr;
};

// selectHead(layer, head) is called when a row of the head table is activated; currentHead()
// gives the window's current head. Both docks start hidden (View menu: Ctrl+6, Ctrl+7).
AnalysisDocks installAnalysisDocks(QMainWindow* window, AnalysisController* controller,
                                   QMenu* viewMenu, std::function<void(int, int)> selectHead,
                                   std::function<std::pair<int, int>()> currentHead);

} // namespace attnscope
