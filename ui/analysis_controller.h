#pragma once
// Runs model loading and analyses off the GUI thread.
//
// requestAnalysis() starts at once after a quiet spell; edits that follow are debounced (60 ms
// by default) and coalesced: at most one analysis runs and at most one (the newest text) waits.
// Every request gets an increasing id; a running job whose id is no longer the latest is cancelled
// through the ProgressCallback, and any result that arrives for an older id is dropped, so
// analysisReady() only ever carries the latest text. Results are delivered on the controller's
// (GUI) thread through queued calls.
#include "session.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <QTimer>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace attnscope {

class AnalysisController : public QObject {
    Q_OBJECT
public:
    explicit AnalysisController(QObject* parent = nullptr);
    ~AnalysisController() override; // cancels and waits for its worker threads

    std::shared_ptr<const LoadedModel> model() const { return m_model; }
    void setModel(std::shared_ptr<const LoadedModel> model); // synchronous; re-analyses last text
    std::shared_ptr<const Analysis> analysis() const { return m_analysis; }
    // The running pass's latest snapshot (Analysis::isPartial()), or null: set by
    // partialAnalysisReady(), cleared when that request's final analysis (or error) arrives.
    std::shared_ptr<const Analysis> partialAnalysis() const { return m_partial; }
    int droppedPartials() const { return m_droppedPartials; } // snapshots of superseded edits
    // Snapshots go out only once a pass has run this long (default 200 ms): a keystroke's
    // short pass shows its final result straight away instead of a layer at a time.
    void setPartialDelayMs(int ms) { m_partialDelayMs = ms; }
    int partialDelayMs() const { return m_partialDelayMs; }
    // Tests: called on the worker thread after each snapshot is queued for delivery, with the
    // snapshot's ready layers (a test can block the pass there, deterministically).
    void setPartialHookForTests(std::function<void(int layersReady)> hook) {
        m_partialHook = std::move(hook);
    }

    int debounceInterval() const { return m_debounce.interval(); }
    void setDebounceInterval(int ms) { m_debounce.setInterval(ms); }

    // Second sentence for the next analyses (BERT-style pairs); nullopt = none.
    void setPair(const std::optional<QString>& pair) { m_pair = pair; }
    std::optional<QString> pair() const { return m_pair; }

    // Keep what the explainer shows (KeepOptions::attentionInputs) in the next analyses. Turned
    // on while the current analysis lacks them, the current text is analysed again at once, so
    // the explanation and the views always come from one pass.
    void setKeepAttentionInputs(bool keep);
    bool keepsAttentionInputs() const { return m_keepAttentionInputs; }

    bool isBusy() const { return m_busy; }
    bool isLoadingModel() const { return m_loadingModel; }
    // Tests: called on the loading thread after each progress report (may block there).
    void setLoadHookForTests(std::function<void(int64_t done)> hook) {
        m_loadHook = std::move(hook);
    }
    quint64 latestRequestId() const { return m_latestId; }
    quint64 lastDeliveredId() const { return m_deliveredId; }
    double lastElapsedMs() const {
        return m_elapsedMs;
    } // compute time of the last delivered result
    QString lastText() const { return m_lastText; }
    QImage picture() const { return m_picture; }
    int completedJobs() const { return m_completedJobs; }   // finished or cancelled, stale included
    int droppedResults() const { return m_droppedResults; } // stale results not delivered

public slots:
    // Opens a checkpoint folder (or "default") on a worker thread. On success modelChanged() is
    // emitted and the last text is analysed again; on failure errorOccurred() and the previous
    // model stays.
    void openModel(const QString& path);
    // Debounced, coalesced analysis of text with the current model (deferred until one is loaded).
    void requestAnalysis(const QString& text);
    // Like requestAnalysis() but without the debounce delay.
    void requestAnalysisNow(const QString& text);
    // Explicit token ids instead of a text (no tokenizer needed), analysed now; the next
    // requestAnalysis() goes back to text.
    void requestIdsAnalysis(const std::vector<int64_t>& ids);
    // Image models: analyses this picture (RGB888, ui/image/image_decode.h) now, and again
    // whenever another image model is opened. The worker resizes it with the model's processor.
    void requestImageAnalysis(const QImage& rgb888);
    // The picture the next image model analyses (a session being opened), not analysed now.
    void setPicture(const QImage& rgb888) { m_picture = rgb888; }
    // Drops the pending request and cancels the running one.
    void cancel();
    // Stops the model being opened (reading its weights stops within a batch of pages);
    // modelLoadCancelled() follows and the current model, text and views stay as they are.
    void cancelModelLoad();
    // An analysis made elsewhere with this model (a generated text, generate.h) becomes the
    // current one, as if analysed from its text: pending work is dropped, analysisReady() is
    // emitted, and the next edit reuses its keys and values. elapsedMs: what computing it took.
    void adopt(std::shared_ptr<const Analysis> analysis, double elapsedMs);

signals:
    void analysisReady(std::shared_ptr<const attnscope::Analysis> analysis);
    // While the latest request's pass runs: a snapshot with one more layer ready (layers appear
    // as they are computed). Never for a superseded request; analysisReady() follows.
    void partialAnalysisReady(std::shared_ptr<const attnscope::Analysis> partial);
    void errorOccurred(const QString& message);
    void busyChanged(bool busy);
    void modelLoadingStarted(const QString& path);
    // Opening `path`: `done` of `total` MB (weights.h: LoadStage); at most ~20 a second.
    void modelLoadProgress(const QString& path, int stage, double doneMb, double totalMb);
    void modelLoadCancelled(const QString& path);
    void modelChanged(std::shared_ptr<const attnscope::LoadedModel> model);

private:
    struct JobResult;
    void startPending(bool ignoreDebounce = false);
    void onAnalysisFinished(quint64 id, std::shared_ptr<JobResult> result);
    void onPartialAnalysis(quint64 id, std::shared_ptr<const Analysis> partial, int heldMs);
    void updateBusy();

    std::shared_ptr<const LoadedModel> m_model;
    std::shared_ptr<const Analysis> m_analysis;
    std::shared_ptr<const Analysis> m_partial;
    int m_droppedPartials = 0;
    int m_partialDelayMs = 200;
    // A snapshot that came before the delay ended (of the latest request), shown when it ends.
    std::shared_ptr<const Analysis> m_heldPartial;
    quint64 m_heldPartialId = 0;
    QTimer m_heldPartialTimer;
    std::function<void(int)> m_partialHook;
    QThreadPool m_pool;
    QTimer m_debounce;
    std::optional<QString> m_pendingText;
    std::vector<int64_t> m_pendingIds; // with m_pendingText: ids to analyse instead of it
    QString m_lastText;
    std::optional<QString> m_pair;
    QImage m_picture; // image models' input; null = none yet
    bool m_hasText = false;
    bool m_running = false;
    bool m_busy = false;
    bool m_loadingModel = false;
    bool m_keepAttentionInputs = false;
    quint64 m_latestId = 0;
    quint64 m_deliveredId = 0;
    quint64 m_latestLoadId = 0;
    // Read by the opening thread's progress callback: the load stops when this passes its id.
    std::shared_ptr<std::atomic<quint64>> m_cancelLoadsUpTo =
        std::make_shared<std::atomic<quint64>>(0);
    std::function<void(int64_t)> m_loadHook;
    double m_elapsedMs = 0;
    int m_completedJobs = 0;
    int m_droppedResults = 0;
    // Read by the running job's ProgressCallback: it stops when this moves past its own id.
    std::shared_ptr<std::atomic<quint64>> m_currentId;
};

} // namespace attnscope

Q_DECLARE_METATYPE(std::shared_ptr<const attnscope::Analysis>)
Q_DECLARE_METATYPE(std::shared_ptr<const attnscope::LoadedModel>)
