#pragma once
// Layers shown as they are computed: while a pass runs, each layer hands out its Q and K
// (KeepOptions::layerReady) and a PartialPublisher turns them into an immutable Analysis
// snapshot whose ready layers compute a head on demand, by the pass's own code, so a snapshot's
// head equals the final analysis's to the bit. Later layers of a snapshot are empty.
#include "session.h"

#include <memory>
#include <mutex>
#include <vector>

namespace attnscope {

// One layer's inputs to its attention, owned (copies of the pass's Q and K).
struct PublishedLayer {
    Mat q; // [Tq, H*d], after rotary: the rows after `reusedRows`
    Mat k; // [T, KV*d]
    AttentionGeometry geometry;
    // Rows [0, T - Tq) of every head come from this layer of an earlier analysis, which
    // `earlierAnalysis` keeps alive as long as a snapshot lives; null when the pass computes
    // every row.
    const LayerTrace* earlier = nullptr;
    std::shared_ptr<const Analysis> earlierAnalysis;
};

class PartialPublisher {
public:
    // `base`: the analysis being built, before its pass (text, tokens, model id); `layers`: the
    // model's layer count; `previous`: the analysis whose prefix the pass reuses (or null).
    PartialPublisher(const Analysis& base, int layers, double headCacheBytes,
                     std::shared_ptr<const Analysis> previous,
                     std::function<void(std::shared_ptr<const Analysis>)> deliver);
    // The pass's layer callback: copies Q and K, then delivers a snapshot with one more layer.
    void onLayerReady(const ReadyLayer& ready);
    // The cache of heads the snapshots computed, for a final analysis with lazy heads (its heads
    // are computed from the same Q and K by the same code).
    const HeadCache& headCache() const { return m_cache; }

private:
    Analysis m_base; // text, encoding, labels: copied into each snapshot (no forward)
    int m_layerCount = 0;
    std::shared_ptr<const Analysis> m_previous;
    std::function<void(std::shared_ptr<const Analysis>)> m_deliver;
    std::vector<std::shared_ptr<const PublishedLayer>> m_layers; // in order of the pass
    HeadCache m_cache;
    std::mutex m_mutex; // layers arrive on the pass's thread; kept simple for safety
};

} // namespace attnscope
