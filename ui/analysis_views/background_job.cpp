#include "background_job.h"

namespace attnscope {

BackgroundJob::BackgroundJob(QObject* parent) : QObject(parent) {
    m_pool.setMaxThreadCount(1);
}

BackgroundJob::~BackgroundJob() {
    m_current->store(0); // the running job sees a changed id and stops at its next progress call
    m_pool.waitForDone();
}

quint64 BackgroundJob::begin() {
    m_current->store(++m_nextId);
    if (!m_running) {
        m_running = true;
        emit runningChanged(true);
    }
    return m_nextId;
}

bool BackgroundJob::finish(quint64 id) {
    if (id != m_current->load()) return false; // replaced or cancelled meanwhile
    m_running = false;
    emit runningChanged(false);
    return true;
}

void BackgroundJob::cancel() {
    m_current->store(++m_nextId); // no job has this id: the running one stops, results drop
    if (m_running) {
        m_running = false;
        emit runningChanged(false);
    }
}

void BackgroundJob::reportProgress(quint64 id, int done, int total) {
    if (id == m_current->load()) emit progressChanged(done, total);
}

} // namespace attnscope
