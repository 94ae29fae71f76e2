#include "head_requests.h"

#include "figure_export.h"
#include "view_state.h"

#include <algorithm>

namespace attnscope {

HeadRequests::HeadRequests(QObject* parent) : QObject(parent) {
    // One head at a time per view: a newer request waits for at most the head being computed.
    m_pool.setMaxThreadCount(1);
}

namespace {
// The request the pool thread is working on (HeadRequests::isCurrentWorkStale).
thread_local std::shared_ptr<std::atomic<quint64>> currentLatest;
thread_local quint64 currentId = 0;
} // namespace

void HeadRequests::setCurrentWork(std::shared_ptr<std::atomic<quint64>> latest, quint64 id) {
    currentLatest = std::move(latest);
    currentId = id;
}

bool HeadRequests::isCurrentWorkStale() {
    return currentLatest && currentLatest->load() != currentId;
}

HeadRequests::~HeadRequests() {
    m_latest->store(~quint64(0));
    m_pool.clear();
    m_pool.waitForDone();
}

HeldHeads& HeldHeads::add(const Analysis& analysis, const HeadList& heads) {
    if (!m_ready || !analysis.hasLazyAttention()) return *this;
    for (const auto& [layer, head] : heads) {
        auto matrix = analysis.readyAttention(layer, head);
        if (!matrix) {
            m_ready = false;
            m_held.clear();
            break;
        }
        m_held.push_back(std::move(matrix));
    }
    return *this;
}

bool HeadRequests::isReady(const Analysis& analysis, const HeadList& heads) {
    HeldHeads held;
    return held.add(analysis, heads).ready();
}

QString HeadRequests::computingText(const Analysis& analysis, const HeadList& heads) {
    HeadList missing;
    for (const auto& h : heads)
        if (!analysis.isAttentionReady(h.first, h.second)) missing.push_back(h);
    if (missing.empty()) missing = heads;
    if (missing.size() == 1)
        return tr("Computing layer %1, head %2 of %3 tokens…")
            .arg(missing[0].first)
            .arg(missing[0].second)
            .arg(analysis.tokenCount());
    return tr("Computing %1 heads of %2 tokens…").arg(missing.size()).arg(analysis.tokenCount());
}

void HeadRequests::cancel() {
    ++*m_latest;
    setComputing(false);
}

void HeadRequests::setComputing(bool computing) {
    if (computing == m_computing) return;
    m_computing = computing;
    emit computingChanged(computing);
}

HeadList viewHeads(const Analysis& analysis, const ViewState& state) {
    if (state.aggregate == Aggregate::SingleHead) {
        if (!hasHead(analysis, state.layer, state.head)) return {};
        return {{state.layer, state.head}};
    }
    HeadList out;
    for (const auto& [layer, head] : state.checked.checkedHeads())
        if (hasHead(analysis, layer, head)) out.emplace_back(layer, head);
    return out;
}

HeadList paneHeads(const Analysis& analysis, const ViewState& state, int layer, int head) {
    if (head >= 0 || layer < 0 || layer >= analysis.layerCount()) {
        if (!hasHead(analysis, layer, std::max(head, 0))) return {};
        return {{layer, std::max(head, 0)}};
    }
    HeadList out; // kMeanOfLayer / kMaxOfLayer: the layer's checked heads
    for (int h = 0; h < analysis.headCount(); ++h)
        if (state.checked.isChecked(layer, h)) out.emplace_back(layer, h);
    return out;
}

HeadList linksHeads(const Analysis& analysis, const ViewState& state) {
    if (state.aggregate != Aggregate::SingleHead) return viewHeads(analysis, state);
    HeadList out;
    for (int h = 0; h < analysis.headCount(); ++h)
        if (state.checked.isChecked(state.layer, h)) out.emplace_back(state.layer, h);
    if (out.empty() && hasHead(analysis, state.layer, state.head))
        out.emplace_back(state.layer, state.head);
    return out;
}

HeadList allHeads(const Analysis& analysis) {
    HeadList out;
    for (int l = 0; l < analysis.layerCount(); ++l)
        for (int h = 0; h < analysis.headCount(); ++h)
            out.emplace_back(l, h);
    return out;
}

HeadList figureHeads(const Analysis& analysis, const FigureRequest& request) {
    const ViewState& s = request.state;
    HeadList out;
    switch (request.view) {
    case FigureView::Heatmap:
        return viewHeads(analysis, s);
    case FigureView::Links:
        return linksHeads(analysis, s);
    case FigureView::Compare:
        for (const auto& [layer, head] : request.panes)
            for (const auto& h : paneHeads(analysis, s, layer, head))
                out.push_back(h);
        return out;
    case FigureView::Difference:
        if (request.against) return {{s.layer, s.head}};
        for (const auto& [layer, head] : request.panes)
            for (const auto& h : paneHeads(analysis, s, layer, head))
                out.push_back(h);
        return out;
    case FigureView::Grid:
    case FigureView::Rollout:
    case FigureView::Flow:
    case FigureView::Norms:
        break;
    }
    return allHeads(analysis);
}

HeldHeads holdFigureHeads(const Analysis& analysis, const FigureRequest& request) {
    const HeadList heads = figureHeads(analysis, request);
    HeldHeads held;
    held.add(analysis, heads);
    if (request.against) held.add(*request.against, heads);
    return held;
}

} // namespace attnscope
