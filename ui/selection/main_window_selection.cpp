// MainWindow's side of selecting several query tokens: clicks in the token strip and on the
// heatmap's labels select them; the selection strip shows their combined attention.
#include "head_requests.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "selection/selection_strip.h"
#include "token_strip/token_strip_widget.h"

#include <algorithm>

namespace attnscope {

void MainWindow::connectSelection() {
    m_tokenStrip->setToolTip(m_tokenStrip->toolTip() +
                             tr("\nClick a token to see where it attends; ctrl-click or "
                                "shift-click to add more and combine their rows."));
    connect(m_tokenStrip, &TokenStripWidget::tokenClicked, this, &MainWindow::selectToken);
    connect(m_heatmap, &HeatmapWidget::labelClicked, this,
            [this](int visibleIndex, Qt::KeyboardModifiers modifiers) {
                if (visibleIndex >= 0 && size_t(visibleIndex) < m_heatmapTokens.size())
                    selectToken(m_heatmapTokens[size_t(visibleIndex)], modifiers);
            });
    connect(m_selection, &SelectionStrip::combineChanged, this, &MainWindow::refreshSelection);
    connect(m_selection, &SelectionStrip::clearRequested, this, &MainWindow::clearTokenSelection);
}

void MainWindow::selectToken(int token, Qt::KeyboardModifiers modifiers) {
    if (!m_analysis || token < 0 || token >= m_analysis->tokenCount()) return;
    m_selectedTokens = updateSelection(m_selectedTokens, token, m_selectionAnchor, modifiers);
    m_selectionAnchor = token;
    refreshViews(); // the heatmap marks the selected rows; the token strip and the strip follow
}

void MainWindow::clearTokenSelection() {
    m_selectedTokens.clear();
    m_selectionAnchor = -1;
    refreshViews();
}

std::vector<bool> MainWindow::selectedHeatmapRows() const {
    std::vector<bool> rows(m_heatmapTokens.size(), false);
    for (size_t i = 0; i < m_heatmapTokens.size(); ++i)
        rows[i] = std::binary_search(m_selectedTokens.begin(), m_selectedTokens.end(),
                                     m_heatmapTokens[i]);
    return rows;
}

void MainWindow::refreshSelection() {
    if (!m_analysis || m_selectedTokens.empty() || m_analysis->tokenCount() == 0) {
        m_selection->hide();
        return;
    }
    // The matrix of what the view shows: read through HeadRequests, so that a lazy head is
    // computed off the GUI thread (the strip keeps its last content meanwhile).
    if (!m_selectionRequests) {
        m_selectionRequests = new HeadRequests(this);
        m_selectionRequests->setObjectName(QStringLiteral("selectionRequests"));
    }
    (void)m_selectionRequests->request<ViewMatrix>(
        m_analysis, viewHeads(*m_analysis, m_state),
        [state = m_state](const Analysis& analysis) { return viewMatrix(analysis, state); },
        [this, analysis = m_analysis, tokens = m_selectedTokens, state = m_state](ViewMatrix m) {
            if (analysis == m_analysis && tokens == m_selectedTokens)
                m_selection->setContent(analysis.get(), m, tokens, state);
        });
}

} // namespace attnscope
