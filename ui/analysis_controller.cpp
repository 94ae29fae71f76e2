#include "analysis_controller.h"

#include "image/image_decode.h"

#include <QElapsedTimer>
#include <QMetaObject>
#include <QRunnable>

namespace attnscope {

struct AnalysisController::JobResult {
    std::optional<Result<Analysis>> result;
    double elapsedMs = 0;
};

AnalysisController::AnalysisController(QObject* parent)
    : QObject(parent), m_currentId(std::make_shared<std::atomic<quint64>>(0)) {
    qRegisterMetaType<std::shared_ptr<const attnscope::Analysis>>();
    qRegisterMetaType<std::shared_ptr<const attnscope::LoadedModel>>();
    // One analysis at a time plus model loads beside it.
    m_pool.setMaxThreadCount(2);
    m_pool.setExpiryTimeout(-1);
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(60);
    connect(&m_debounce, &QTimer::timeout, this, [this] { startPending(); });
    m_heldPartialTimer.setSingleShot(true);
    connect(&m_heldPartialTimer, &QTimer::timeout, this, [this] {
        if (!m_heldPartial || !m_running) return;
        auto held = std::move(m_heldPartial);
        onPartialAnalysis(m_heldPartialId, std::move(held), 0); // dropped if superseded
    });
}

AnalysisController::~AnalysisController() {
    m_currentId->store(~quint64(0)); // every running job sees itself superseded
    m_pool.waitForDone();
}

void AnalysisController::setModel(std::shared_ptr<const LoadedModel> model) {
    m_model = std::move(model);
    ++m_latestLoadId; // a load still in flight no longer matters: it stops
    m_cancelLoadsUpTo->store(m_latestLoadId);
    m_loadingModel = false;
    emit modelChanged(m_model);
    if (m_hasText) requestAnalysisNow(m_lastText);
    updateBusy();
}

void AnalysisController::cancelModelLoad() {
    if (!m_loadingModel) return;
    m_cancelLoadsUpTo->store(m_latestLoadId);
}

void AnalysisController::openModel(const QString& path) {
    const quint64 loadId = ++m_latestLoadId;
    m_cancelLoadsUpTo->store(loadId - 1); // an open still running is superseded: it stops
    m_loadingModel = true;
    emit modelLoadingStarted(path);
    updateBusy();
    m_pool.start(
        QRunnable::create([this, path, loadId, cancelUpTo = m_cancelLoadsUpTo, hook = m_loadHook] {
            QElapsedTimer sinceReport;
            sinceReport.start();
            bool reported = false; // the first report always goes out
            const auto progress = [&](LoadStage stage, int64_t done, int64_t total) {
                // Reports are throttled (a checkpoint has hundreds of tensors); the last one of a
                // stage always goes out.
                if (!reported || sinceReport.elapsed() >= 50 || done == total) {
                    reported = true;
                    sinceReport.restart();
                    QMetaObject::invokeMethod(
                        this,
                        [this, path, loadId, stage, done, total] {
                            if (loadId == m_latestLoadId && m_loadingModel)
                                emit modelLoadProgress(path, int(stage), double(done) / 1e6,
                                                       double(total) / 1e6);
                        },
                        Qt::QueuedConnection);
                }
                if (hook) hook(done);
                return cancelUpTo->load() < loadId;
            };
            auto result = std::make_shared<Result<std::shared_ptr<const LoadedModel>>>(
                LoadedModel::open(path, LoadedModel::TokenizerLoading::Read, progress));
            QMetaObject::invokeMethod(
                this,
                [this, path, loadId, result] {
                    if (loadId != m_latestLoadId) return; // superseded by a later open
                    m_loadingModel = false;
                    if (!result->ok() && result->message() == QLatin1String("cancelled")) {
                        emit modelLoadCancelled(path); // the model, text and views stay
                        updateBusy();
                        return;
                    }
                    if (!result->ok()) {
                        const QString message = result->message();
                        emit errorOccurred(
                            message.contains(path)
                                ? tr("Could not open the model: %1").arg(message)
                                : tr("Could not open model \"%1\": %2").arg(path, message));
                        updateBusy();
                        return;
                    }
                    setModel(result->value());
                },
                Qt::QueuedConnection);
        }));
}

void AnalysisController::requestIdsAnalysis(const std::vector<int64_t>& ids) {
    m_debounce.stop(); // analysed now, whatever the debounce
    m_lastText.clear();
    m_hasText = true;
    m_pendingText = QString();
    m_pendingIds = ids;
    m_currentId->store(++m_latestId); // cancels the running job, if any
    startPending();
    updateBusy();
}

void AnalysisController::requestAnalysis(const QString& text) {
    m_lastText = text;
    m_hasText = true;
    m_pendingText = text;
    m_pendingIds.clear();
    m_currentId->store(++m_latestId); // cancels the running job, if any
    // Leading edge: an edit after a quiet spell starts at once, so a single keystroke shows
    // its result after one (incremental) pass. Edits that follow within the interval are
    // coalesced into one job when the interval ends.
    const bool quiet = !m_debounce.isActive() && !m_running;
    m_debounce.start();
    if (quiet) startPending(/*ignoreDebounce=*/true);
    updateBusy();
}

void AnalysisController::requestAnalysisNow(const QString& text) {
    requestAnalysis(text);
    m_debounce.stop();
    startPending();
}

void AnalysisController::setKeepAttentionInputs(bool keep) {
    if (keep == m_keepAttentionInputs) return;
    m_keepAttentionInputs = keep;
    // The current analysis, or the one running (started without them), lacks the inputs.
    const bool lacking = m_running || (m_analysis && m_analysis->layerCount() > 0 &&
                                       m_analysis->forward.layers[0].input.rows() == 0);
    if (keep && lacking && m_hasText && !m_pendingText) requestAnalysisNow(m_lastText);
}

void AnalysisController::requestImageAnalysis(const QImage& rgb888) {
    m_picture = rgb888;
    requestAnalysisNow(QString());
}

void AnalysisController::cancel() {
    m_partial.reset();
    m_heldPartial.reset();
    m_pendingText.reset();
    m_debounce.stop();
    m_currentId->store(++m_latestId);
    updateBusy();
}

void AnalysisController::adopt(std::shared_ptr<const Analysis> analysis, double elapsedMs) {
    if (!analysis) return;
    cancel(); // a running job's result is now stale and will be dropped
    m_lastText = analysis->text;
    m_hasText = true;
    m_analysis = std::move(analysis);
    m_deliveredId = m_latestId;
    m_elapsedMs = elapsedMs;
    emit analysisReady(m_analysis);
}

void AnalysisController::startPending(bool ignoreDebounce) {
    if (m_running || !m_pendingText || !m_model || (m_debounce.isActive() && !ignoreDebounce)) {
        updateBusy();
        return;
    }
    const bool imageModel = m_model->config().modality == Modality::Image;
    if (imageModel && m_picture.isNull()) { // nothing to analyse until a picture is given
        m_pendingText.reset();
        updateBusy();
        return;
    }
    const QString text = *m_pendingText;
    const std::vector<int64_t> ids = std::move(m_pendingIds);
    m_pendingText.reset();
    m_pendingIds.clear();
    const quint64 id = m_latestId;
    m_running = true;
    updateBusy();

    std::shared_ptr<const LoadedModel> model = m_model;
    std::shared_ptr<std::atomic<quint64>> current = m_currentId;
    std::shared_ptr<const Analysis> previous = m_analysis; // immutable, safe to share
    const std::optional<QString> pair = m_pair;
    const bool keepAttentionInputs = m_keepAttentionInputs;
    const QImage picture = imageModel ? m_picture : QImage(); // shared, copied on write
    const std::function<void(int)> partialHook = m_partialHook;
    const int partialDelayMs = m_partialDelayMs;
    m_pool.start(QRunnable::create([this, model, current, text, pair, id, previous,
                                    keepAttentionInputs, picture, partialHook, partialDelayMs,
                                    ids] {
        auto job = std::make_shared<JobResult>();
        QElapsedTimer timer;
        timer.start();
        if (current->load() == id) {
            AnalysisRequest request;
            request.text = text;
            request.ids = ids;
            request.pair = ids.empty() ? pair : std::nullopt;
            // The GUI shows attention; scores and hidden states are skipped to save memory.
            // Q/K/V are kept (3 x T x hidden per layer, small next to T x T per head) so that
            // typing at the end of the text recomputes only the new tokens of a causal model.
            request.keep.scores = false;
            request.keep.qkv = true;
            request.keep.hiddenStates = false;
            request.keep.attentionInputs = keepAttentionInputs; // the explainer is open
            request.previous = previous;
            // Layers appear as they are computed: each snapshot goes to the GUI thread (in
            // order, before the final result), unless the request was superseded meanwhile.
            request.partial = [this, current, id, partialHook, partialDelayMs,
                               &timer](std::shared_ptr<const Analysis> partial) {
                if (current->load() != id) return;
                // One that comes before the delay is held until it ends (the final result
                // may come first and make it moot); each holds every ready layer.
                const int heldMs = std::max(0, partialDelayMs - int(timer.elapsed()));
                const int ready = partial->layersReady();
                QMetaObject::invokeMethod(
                    this, [this, id, partial, heldMs] { onPartialAnalysis(id, partial, heldMs); },
                    Qt::QueuedConnection);
                if (partialHook) partialHook(ready);
            };
            Status input = okStatus();
            if (!picture.isNull()) { // the model's own resize and normalisation, off the GUI
                auto processor = imageProcessorFor(*model);
                auto pixels = processor ? pixelValuesFor(picture, *processor)
                                        : Result<Tensor>(processor.error());
                if (pixels)
                    request.pixelValues = std::move(*pixels);
                else
                    input = pixels.error();
            }
            if (!input)
                job->result.emplace(input.error());
            else
                job->result.emplace(model->analyze(
                    request, [current, id](int, int) { return current->load() == id; }));
        }
        job->elapsedMs = double(timer.nsecsElapsed()) / 1e6;
        QMetaObject::invokeMethod(
            this, [this, id, job] { onAnalysisFinished(id, job); }, Qt::QueuedConnection);
    }));
}

void AnalysisController::onPartialAnalysis(quint64 id, std::shared_ptr<const Analysis> partial,
                                           int heldMs) {
    if (id != m_latestId) { // an older edit's layer: its text is no longer the one shown
        ++m_droppedPartials;
        return;
    }
    if (heldMs > 0) { // the pass is young: shown when the delay ends, if still running then
        m_heldPartial = std::move(partial);
        m_heldPartialId = id;
        if (!m_heldPartialTimer.isActive()) m_heldPartialTimer.start(heldMs);
        return;
    }
    m_heldPartial.reset(); // older than this one
    m_heldPartialTimer.stop();
    m_partial = std::move(partial);
    emit partialAnalysisReady(m_partial);
}

void AnalysisController::onAnalysisFinished(quint64 id, std::shared_ptr<JobResult> job) {
    m_running = false;
    ++m_completedJobs;
    m_partial.reset(); // the final analysis (or an error, or a newer pass) takes over
    m_heldPartial.reset();
    m_heldPartialTimer.stop();
    if (id != m_latestId || !job->result) {
        ++m_droppedResults; // stale: a newer request exists (it is pending or starts now)
    } else if (!job->result->ok()) {
        if (job->result->message() != QLatin1String("cancelled"))
            emit errorOccurred(job->result->message());
    } else {
        m_analysis = std::make_shared<const Analysis>(std::move(job->result->value()));
        m_deliveredId = id;
        m_elapsedMs = job->elapsedMs;
        emit analysisReady(m_analysis);
    }
    startPending();
    updateBusy();
}

void AnalysisController::updateBusy() {
    const bool busy = m_running || m_loadingModel || (m_pendingText.has_value() && m_model);
    if (busy == m_busy) return;
    m_busy = busy;
    emit busyChanged(busy);
}

} // namespace attnscope
