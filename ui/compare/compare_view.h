#pragma once
// Side by side: 2–4 panes, each with its own layer, head and view (heatmap or token links);
// heatmaps share one colour scale. Hover is linked: the cell under the pointer in one heatmap is
// outlined in every heatmap and its query token focused in every links pane; a token hovered in
// a links pane is marked (its row and column) in every heatmap. tokensHovered() reports the
// tokens (the window marks them in the text field).
#include "heatmap_widget.h"
#include "links/links_widget.h"
#include "view_state.h"

#include <QWidget>
#include <map>
#include <memory>
#include <vector>

class QSpinBox;
class QComboBox;
class QGridLayout;
class QScrollArea;
class QStackedWidget;

namespace attnscope {

class HeadRequests;
class HeadSpinBox;

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(QWidget* parent = nullptr);

    void setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state);
    void setPaneCount(int count); // 2..4
    int paneCount() const { return int(m_panes.size()); }
    void setPaneHead(int pane, int layer, int head);
    std::pair<int, int> paneHead(int pane) const;
    enum class PaneView { Heatmap, Links };
    void setPaneView(int pane, PaneView view);
    PaneView paneView(int pane) const;
    HeatmapWidget* paneWidget(int pane) const { return m_panes[size_t(pane)].heatmap; }
    LinksWidget* paneLinks(int pane) const { return m_panes[size_t(pane)].links; }
    // Whether a lazy head of a pane is being computed (the panes say so meanwhile).
    bool isComputing() const;
    HeadRequests* headRequests() const { return m_requests; }
    // Outlines the cell of these tokens (analysis indices) in every pane; -1, -1 clears.
    void markTokens(int queryToken, int keyToken);

signals:
    void tokensHovered(int queryToken, int keyToken); // analysis indices, -1 when none
    void panesShown();                                // panes computed off the GUI thread are drawn

private:
    struct Pane {
        QWidget* box = nullptr;
        QSpinBox* layer = nullptr;
        HeadSpinBox* head = nullptr; // a head, or the layer's mean / max
        QComboBox* view = nullptr;
        QStackedWidget* stack = nullptr;
        HeatmapWidget* heatmap = nullptr;
        LinksWidget* links = nullptr;
        std::vector<int> tokens; // visible index -> token index
    };
    void rebuild();
    void refresh();
    void onPaneHover(int pane, int row, int column);
    void onPaneTokenHover(int pane, int token);

    std::shared_ptr<const Analysis> m_analysis;
    ViewState m_state;
    QComboBox* m_count = nullptr;
    QGridLayout* m_grid = nullptr;
    std::vector<Pane> m_panes;
    // Heads set before any analysis (restored settings), applied when the first one arrives.
    std::map<int, std::pair<int, int>> m_pendingHeads;
    bool m_syncing = false;
    HeadRequests* m_requests = nullptr; // pane heads, computed off the GUI thread when lazy
};

} // namespace attnscope
