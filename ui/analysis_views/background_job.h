#pragma once
// One long computation at a time off the GUI thread, for the analyses panels: start() cancels
// the running job (through its progress callback) and runs the new one on a private pool; its
// progress and result come back on the owner's thread through queued calls, and results of a
// job that is no longer the latest are dropped. The destructor cancels and waits, so no job
// outlives its owner.
#include "trace.h"

#include <QObject>
#include <QThreadPool>
#include <atomic>
#include <functional>
#include <memory>

namespace attnscope {

class BackgroundJob : public QObject {
    Q_OBJECT
public:
    explicit BackgroundJob(QObject* parent = nullptr);
    ~BackgroundJob() override;

    // work(progress) runs on a worker thread; it should call progress(done, total) now and
    // then and stop (returning anything) when it returns false. done(result) runs on this
    // object's thread unless the job was cancelled or replaced meanwhile.
    template <typename T>
    void start(std::function<T(const ProgressCallback&)> work, std::function<void(T)> done) {
        const quint64 id = begin();
        auto current = m_current;
        m_pool.start([this, id, current, work = std::move(work), done = std::move(done)] {
            const ProgressCallback progress = [this, id, current](int k, int n) {
                if (current->load() != id) return false;
                QMetaObject::invokeMethod(
                    this, [this, id, k, n] { reportProgress(id, k, n); }, Qt::QueuedConnection);
                return true;
            };
            auto result = std::make_shared<T>(work(progress));
            QMetaObject::invokeMethod(
                this,
                [this, id, done, result] {
                    if (finish(id)) done(std::move(*result));
                },
                Qt::QueuedConnection);
        });
    }
    void cancel(); // the running job stops at its next progress call; its result is dropped
    bool isRunning() const { return m_running; }
    quint64 latestId() const { return m_current->load(); }

signals:
    void progressChanged(int done, int total);
    void runningChanged(bool running);

private:
    quint64 begin();
    bool finish(quint64 id);
    void reportProgress(quint64 id, int done, int total);

    QThreadPool m_pool;
    std::shared_ptr<std::atomic<quint64>> m_current = std::make_shared<std::atomic<quint64>>(0);
    quint64 m_nextId = 0;
    bool m_running = false;
};

} // namespace attnscope
