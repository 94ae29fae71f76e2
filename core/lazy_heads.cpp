#include "lazy_heads.h"

#include "session.h"
#include "trace.h"

#include <QByteArray>
#include <algorithm>

namespace attnscope {

std::shared_ptr<const Mat> HeadCache::find(int layer, int head) const {
    std::lock_guard lock(m_state->mutex);
    return findLocked(*m_state, layer, head);
}

std::shared_ptr<const Mat> HeadCache::findLocked(State& state, int layer, int head) {
    auto& entries = state.entries;
    for (auto it = entries.begin(); it != entries.end(); ++it)
        if (it->layer == layer && it->head == head) {
            entries.splice(entries.begin(), entries, it); // most recently used
            return entries.front().matrix;
        }
    auto& evicted = state.evicted;
    for (auto it = evicted.begin(); it != evicted.end(); ++it)
        if (it->layer == layer && it->head == head) {
            std::shared_ptr<const Mat> held = it->matrix.lock();
            evicted.erase(it);
            if (held) storeLocked(state, layer, head, held);
            return held;
        }
    return nullptr;
}

static double matrixBytes(const Mat& m) {
    return double(m.size()) * sizeof(float);
}

void HeadCache::storeLocked(State& state, int layer, int head, std::shared_ptr<const Mat> m) {
    auto& entries = state.entries;
    entries.push_front(Entry{layer, head, std::move(m)});
    state.used += matrixBytes(*entries.front().matrix);
    // Evict from the back, but never the head just stored (a head larger than the bound is
    // still returned, and dropped at the next insertion). Evicted heads stay findable while
    // held elsewhere; the record of those nobody holds any more goes.
    state.evicted.remove_if([](const EvictedEntry& e) { return e.matrix.expired(); });
    while (state.used > state.limit && entries.size() > 1) {
        state.used -= matrixBytes(*entries.back().matrix);
        state.evicted.push_back(
            EvictedEntry{entries.back().layer, entries.back().head, entries.back().matrix});
        entries.pop_back();
    }
}

std::shared_ptr<const Mat> HeadCache::insert(int layer, int head,
                                             std::shared_ptr<const Mat> m) const {
    std::lock_guard lock(m_state->mutex);
    // Computed by another thread meanwhile, or an evicted copy still held: that one.
    if (auto existing = findLocked(*m_state, layer, head)) return existing;
    ++m_state->insertions;
    storeLocked(*m_state, layer, head, m);
    return m;
}

void HeadCache::setLimitBytes(double bytes) const {
    std::lock_guard lock(m_state->mutex);
    m_state->limit = bytes;
}

double HeadCache::limitBytes() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->limit;
}

double HeadCache::usedBytes() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->used;
}

int HeadCache::size() const {
    std::lock_guard lock(m_state->mutex);
    return int(m_state->entries.size());
}

int64_t HeadCache::insertions() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->insertions;
}

static double megabytesFromEnvironment(const char* name, double fallback) {
    bool ok = false;
    const double mb = qEnvironmentVariable(name).toDouble(&ok);
    return ok && mb >= 0 ? mb * 1024 * 1024 : fallback;
}

double eagerAttentionBudgetBytes() {
    return megabytesFromEnvironment("ATTNSCOPE_EAGER_ATTENTION_MB", 0.25 * memoryBudgetBytes());
}

double headCacheBytes(int64_t tokens) {
    const double head = double(tokens) * double(tokens) * sizeof(float);
    return megabytesFromEnvironment("ATTNSCOPE_HEAD_CACHE_MB",
                                    std::max(2 * head, 0.05 * memoryBudgetBytes()));
}

Mat maxPool(const Mat& full, int maxSide) {
    const Eigen::Index t = full.rows();
    if (t <= maxSide) return full;
    const Eigen::Index n = maxSide;
    Mat pooled = Mat::Zero(n, n); // [n, n]; attention is >= 0, so 0 is a neutral start
    for (Eigen::Index r = 0; r < t; ++r) {
        const Eigen::Index pr = r * n / t;
        for (Eigen::Index c = 0; c < t; ++c) {
            float& cell = pooled(pr, c * n / t);
            cell = std::max(cell, full(r, c));
        }
    }
    return pooled;
}

std::shared_ptr<const Mat> ForwardResult::readyAttention(int layer, int head) const {
    static const auto empty = std::make_shared<const Mat>();
    if (layer < 0 || head < 0 || size_t(layer) >= layers.size()) return empty;
    const LayerTrace& trace = layers[size_t(layer)];
    if (size_t(head) >= trace.attention.size()) return empty;
    const Mat& stored = trace.attention[size_t(head)];
    if (stored.size() > 0 || !lazyHeads)
        return std::shared_ptr<const Mat>(std::shared_ptr<const Mat>(), &stored); // not owned
    return headCache.find(layer, head);
}

std::shared_ptr<const Mat> ForwardResult::attention(int layer, int head) const {
    if (auto ready = readyAttention(layer, head)) return ready;
    auto computed = std::make_shared<const Mat>(lazyHeads->head(*this, layer, head));
    return headCache.insert(layer, head, std::move(computed));
}

std::shared_ptr<const Mat> ForwardResult::attentionUncached(int layer, int head) const {
    if (auto ready = readyAttention(layer, head)) return ready;
    return std::make_shared<const Mat>(lazyHeads->head(*this, layer, head));
}

bool ForwardResult::isAttentionReady(int layer, int head) const {
    return readyAttention(layer, head) != nullptr;
}

} // namespace attnscope
