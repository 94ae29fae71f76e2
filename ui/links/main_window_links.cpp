// MainWindow's token links view: its renderer is built through HeadRequests, so a lazy head
// (core/lazy_heads.h) is computed off the GUI thread, "Computing layer L, head H…" shown
// meanwhile; eager analyses draw at once. The renderer keeps each head's links above a floor
// (LinkWeights), not the [T, T] heads; a threshold below that floor rebuilds it the same way.
#include "figures.h"
#include "compare/compare_view.h"
#include "head_requests.h"
#include "links/links_widget.h"
#include "main_window.h"

namespace attnscope {

namespace {
struct LinksContent {
    LinksRenderer renderer;
    std::vector<int> tokens; // visible index -> token index
    QString emptyReason;     // when the renderer is empty
};
} // namespace

void MainWindow::refreshLinks() {
    if (!m_linkRequests) {
        m_linkRequests = new HeadRequests(this);
        m_linkRequests->setObjectName(QStringLiteral("linkRequests"));
    }
    ViewState state = m_state;
    state.hoveredToken = -1; // the widget keeps its own (pinned) focus
    const HeadList heads = linksHeads(*m_analysis, state);
    m_linksFloor = linksKeptFloor(state.linkThreshold);
    const ChromePalette chrome = m_state.chrome();
    const bool now = m_linkRequests->request<LinksContent>(
        m_analysis, heads,
        [state](const Analysis& analysis) {
            LinksContent content;
            content.renderer = linksFigure(analysis, state, &content.tokens);
            if (content.renderer.isEmpty())
                content.emptyReason = viewMatrix(analysis, state).emptyReason;
            return content;
        },
        [this, chrome](LinksContent content) {
            if (content.renderer.isEmpty())
                m_links->clear(content.emptyReason, chrome);
            else
                m_links->setContent(std::move(content.renderer), content.tokens);
        });
    if (!now) m_links->clear(HeadRequests::computingText(*m_analysis, heads), chrome);
}

void MainWindow::setLinkThreshold(double threshold) {
    m_state.linkThreshold = threshold;
    m_links->setThreshold(threshold);
    // Side by side: its token-link panes are built at the same threshold.
    bool linkPanes = false;
    for (int i = 0; i < m_compare->paneCount(); ++i)
        linkPanes = linkPanes || m_compare->paneView(i) == CompareView::PaneView::Links;
    if (linkPanes) {
        if (currentView() == View::Compare)
            refreshView(View::Compare);
        else
            m_viewDirty[size_t(View::Compare)] = true;
    }
    if (threshold >= m_linksFloor) return; // every line it draws is kept
    // Lines between the threshold and the floor were not kept: read the heads again (on the
    // pool when they must be computed; an older request still running is dropped by its id).
    if (currentView() == View::Links)
        refreshView(View::Links);
    else
        m_viewDirty[size_t(View::Links)] = true;
}

} // namespace attnscope
