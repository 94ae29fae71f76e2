#pragma once
// Attention computed on demand ("lazy heads"): when keeping every head's [T, T] matrix would
// not fit (layers x heads x T^2 floats), a pass keeps per layer only Q and K after rotary and
// a head's attention is computed when asked for, by the same code as a full pass (bit for bit).
// A bounded, thread-safe cache keeps the heads asked for most recently.
#include "tensor.h"

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>

namespace attnscope {

struct ForwardResult;

// Where a head's [T, T] attention comes from when it is not stored: recomputed from a pass's
// Q and K, or converted from a memory-mapped attention file. Thread-safe (const).
class HeadSource {
public:
    virtual ~HeadSource() = default;
    // [T, T] probabilities of `head` in `layer`; `forward` is the result the source belongs to.
    virtual Mat head(const ForwardResult& forward, int layer, int head) const = 0;
    // Bytes this source holds beyond the ForwardResult (e.g. a mapping: 0 resident).
    virtual double residentBytes() const { return 0; }
};

// Recently used heads, bounded in bytes (least recently used evicted first). Copying gives an
// empty cache with the same bound: a copy of a ForwardResult recomputes into its own cache.
class HeadCache {
public:
    HeadCache() = default;
    HeadCache(const HeadCache& other) : m_state(std::make_shared<State>(other.limitBytes())) {}
    HeadCache& operator=(const HeadCache& other) {
        if (this != &other) m_state = std::make_shared<State>(other.limitBytes());
        return *this;
    }
    // A cache with the same store as `other`: snapshots of one pass (partial_analysis.h) and
    // its final analysis, whose heads are the same, compute each head once.
    static HeadCache sharedWith(const HeadCache& other) {
        HeadCache cache;
        cache.m_state = other.m_state;
        return cache;
    }
    HeadCache(HeadCache&&) = default;
    HeadCache& operator=(HeadCache&&) = default;

    // The cached head, or null. A head evicted while someone still holds it (a view's request
    // that found its heads ready, HeadRequests) is found too, and becomes most recent again:
    // eviction never makes a held head be computed a second time.
    std::shared_ptr<const Mat> find(int layer, int head) const;
    // Stores a computed head (dropping the least recently used ones over the bound) and returns
    // the cached copy: when another thread stored the same head first, that one.
    std::shared_ptr<const Mat> insert(int layer, int head, std::shared_ptr<const Mat> m) const;
    void setLimitBytes(double bytes) const;
    double limitBytes() const;
    double usedBytes() const;
    int size() const;
    // Heads computed and stored since the cache was made (evicted ones counted again when
    // recomputed): lets tests see that eviction happened.
    int64_t insertions() const;

private:
    struct Entry {
        int layer, head;
        std::shared_ptr<const Mat> matrix;
    };
    struct EvictedEntry {
        int layer, head;
        std::weak_ptr<const Mat> matrix;
    };
    struct State {
        explicit State(double limit = 512.0 * 1024 * 1024) : limit(limit) {}
        mutable std::mutex mutex;
        std::list<Entry> entries;        // most recently used first
        std::list<EvictedEntry> evicted; // dropped from `entries`, maybe still held elsewhere
        double limit;
        double used = 0;
        int64_t insertions = 0;
    };
    std::shared_ptr<State> m_state = std::make_shared<State>();
    // Under the mutex: the head as find() returns it.
    static std::shared_ptr<const Mat> findLocked(State& state, int layer, int head);
    // Under the mutex: stores m as most recent and evicts over the bound (never m itself).
    static void storeLocked(State& state, int layer, int head, std::shared_ptr<const Mat> m);
};

// Bytes above which a pass computes heads on demand instead of keeping them: a quarter of
// memoryBudgetBytes(), or $ATTNSCOPE_EAGER_ATTENTION_MB (tests force lazy heads with it).
double eagerAttentionBudgetBytes();
// Bytes the cache of recently used heads may hold: 5 % of memoryBudgetBytes() but at least two
// heads of `tokens` tokens, or $ATTNSCOPE_HEAD_CACHE_MB.
double headCacheBytes(int64_t tokens);

// Max-pooled copy of a [T, T] matrix for thumbnails: [n, n] with n = min(T, maxSide), cell
// (r, c) the largest value of the rows and columns that map to it (so a sharp diagonal stays
// visible). T <= maxSide returns the matrix unchanged.
Mat maxPool(const Mat& full, int maxSide);

} // namespace attnscope
