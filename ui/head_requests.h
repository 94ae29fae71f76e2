#pragma once
// How views read lazy heads (core/lazy_heads.h) without computing them on the GUI thread.
//
// A view hands request() the heads its content reads and two functions: work() builds the
// content (a matrix, a renderer) from the analysis, done() shows it. When every head is
// already there (an eager pass, or heads in the cache) both run at once on the caller's
// thread: no delay, no flicker, the very same code. Otherwise request() returns false (the
// view shows computingText() meanwhile), work() runs on a one-thread pool and done() comes
// back queued on this object's thread — unless a newer request or cancel() came meanwhile:
// every request gets an id and results of older ids are dropped (as the heatmap does).
#include "session.h"

#include <QObject>
#include <QThreadPool>
#include <atomic>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace attnscope {

struct ViewState;

using HeadList = std::vector<std::pair<int, int>>; // (layer, head)

// Heads found ready (stored or cached), held: while held, a cached head stays findable even
// when other views' heads evict it (HeadCache::find), so work that found its heads ready and
// runs at once on the GUI thread never computes one there.
class HeldHeads {
public:
    // Holds these heads of `analysis` if every one is ready; ready() turns false otherwise.
    HeldHeads& add(const Analysis& analysis, const HeadList& heads);
    bool ready() const { return m_ready; }

private:
    bool m_ready = true;
    std::vector<std::shared_ptr<const Mat>> m_held;
};

class HeadRequests : public QObject {
    Q_OBJECT
public:
    explicit HeadRequests(QObject* parent = nullptr);
    ~HeadRequests() override; // drops what is pending and waits for the running work

    // Whether reading these heads returns without computing anything.
    static bool isReady(const Analysis& analysis, const HeadList& heads);
    // "Computing layer 3, head 5 of 4096 tokens…" or "Computing 12 heads of 4096 tokens…",
    // for the heads that are not ready yet.
    static QString computingText(const Analysis& analysis, const HeadList& heads);

    // See above. Returns true when done() has already run (ready heads), false when the work
    // went to the pool (or, for a null analysis, when there was nothing to do).
    template <typename T>
    bool request(std::shared_ptr<const Analysis> analysis, const HeadList& heads,
                 std::function<T(const Analysis&)> work, std::function<void(T)> done) {
        if (!analysis) {
            cancel();
            return false;
        }
        HeldHeads held;
        held.add(*analysis, heads);
        return run<T>(
            std::move(held), [analysis, work = std::move(work)] { return work(*analysis); },
            std::move(done));
    }
    // The same for work that reads more than one analysis (a difference of two texts, a
    // figure): the caller holds what it reads (HeldHeads::add for each analysis); the heads stay
    // held while work() runs.
    template <typename T>
    bool run(HeldHeads held, std::function<T()> work, std::function<void(T)> done) {
        const bool ready = held.ready();
        if (ready)
            return run<T>(
                true, [held = std::move(held), work = std::move(work)] { return work(); },
                std::move(done));
        return run<T>(false, std::move(work), std::move(done));
    }
    // Work that reads no head, or whose heads the caller knows are ready and held.
    template <typename T>
    bool run(bool ready, std::function<T()> work, std::function<void(T)> done) {
        const quint64 id = ++*m_latest;
        if (ready) {
            setComputing(false);
            done(work());
            return true;
        }
        setComputing(true);
        auto latest = m_latest;
        auto stale = m_stale;
        m_pool.start([this, id, latest, stale, work = std::move(work), done = std::move(done)] {
            if (latest->load() != id) { // superseded before it started
                ++*stale;
                return;
            }
            setCurrentWork(latest, id);
            auto result = std::make_shared<T>(work());
            setCurrentWork(nullptr, 0);
            QMetaObject::invokeMethod(
                this,
                [this, id, result, done] {
                    if (m_latest->load() != id) { // superseded while it ran
                        ++*m_stale;
                        return;
                    }
                    setComputing(false);
                    done(std::move(*result));
                    emit delivered();
                },
                Qt::QueuedConnection);
        });
        return false;
    }
    void cancel(); // results of every request so far are dropped
    // For work() running on a pool: whether its request was superseded, cancelled or its
    // HeadRequests destroyed since it started, so long work (every head of a long input) can
    // stop early; its result is dropped anyway. False outside such work.
    static bool isCurrentWorkStale();
    bool isComputing() const { return m_computing; }
    // Requests computed on the pool whose result was never shown: skipped because a newer one
    // came before they started, or dropped when they arrived.
    int staleRequests() const { return m_stale->load(); }
    void waitForIdle() { m_pool.waitForDone(); } // tests and destructors

signals:
    void computingChanged(bool computing);
    void delivered(); // done() of a request computed on the pool has run

private:
    void setComputing(bool computing);
    static void setCurrentWork(std::shared_ptr<std::atomic<quint64>> latest, quint64 id);
    QThreadPool m_pool;
    std::shared_ptr<std::atomic<quint64>> m_latest = std::make_shared<std::atomic<quint64>>(0);
    bool m_computing = false;
    std::shared_ptr<std::atomic<int>> m_stale = std::make_shared<std::atomic<int>>(0);
};

// The heads each view reads, for HeadRequests::isReady (their code is in view_state.cpp and
// figures.cpp): the selected head or the checked heads (viewMatrix), one pane's head or its
// layer's checked heads (paneMatrix), and token links (linksFigure).
HeadList viewHeads(const Analysis& analysis, const ViewState& state);
HeadList paneHeads(const Analysis& analysis, const ViewState& state, int layer, int head);
HeadList linksHeads(const Analysis& analysis, const ViewState& state);
// Every head of the analysis (statistics, similar heads).
HeadList allHeads(const Analysis& analysis);
// The heads an exported figure of the window reads (figure_export.h), of `analysis`; a
// difference against another text reads the same heads of request.against.
struct FigureRequest;
HeadList figureHeads(const Analysis& analysis, const FigureRequest& request);
// The heads prepareFigure / exportNumbers of this request read (of both texts for a
// difference), held if all are ready: ready() says whether they return without computing one.
HeldHeads holdFigureHeads(const Analysis& analysis, const FigureRequest& request);

} // namespace attnscope
