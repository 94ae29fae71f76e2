#include "partial_analysis.h"

#include "blocks.h"

namespace attnscope {
namespace {

// The heads of a snapshot's ready layers, computed from the published Q and K. Ready layers
// are numbered from 0, so layer l is published[l].
class PublishedHeads final : public HeadSource {
public:
    explicit PublishedHeads(std::vector<std::shared_ptr<const PublishedLayer>> layers)
        : m_layers(std::move(layers)) {}
    Mat head(const ForwardResult&, int layer, int head) const override {
        if (layer < 0 || size_t(layer) >= m_layers.size()) return {};
        const PublishedLayer& p = *m_layers[size_t(layer)];
        const Mat* earlier = p.earlier ? &p.earlier->attention[size_t(head)] : nullptr;
        return headAttention(p.q, p.k, p.geometry, head, earlier);
    }
    double residentBytes() const override {
        double bytes = 0;
        for (const auto& p : m_layers)
            bytes += double(p->q.size() + p->k.size()) * sizeof(float);
        return bytes;
    }

private:
    std::vector<std::shared_ptr<const PublishedLayer>> m_layers;
};

} // namespace

PartialPublisher::PartialPublisher(const Analysis& base, int layers, double headCacheBytes,
                                   std::shared_ptr<const Analysis> previous,
                                   std::function<void(std::shared_ptr<const Analysis>)> deliver)
    : m_layerCount(layers), m_previous(std::move(previous)), m_deliver(std::move(deliver)) {
    m_base.text = base.text;
    m_base.encoding = base.encoding;
    m_base.displayTokens = base.displayTokens;
    m_base.truncatedTokens = base.truncatedTokens;
    m_base.reusedTokens = base.reusedTokens;
    m_base.generatedTokens = base.generatedTokens;
    m_base.producedBy = base.producedBy;
    m_base.passId = base.passId;
    m_cache.setLimitBytes(headCacheBytes);
}

void PartialPublisher::onLayerReady(const ReadyLayer& ready) {
    std::lock_guard lock(m_mutex);
    if (ready.layer != int(m_layers.size()))
        return; // layers come in order; anything else is
                // not a pass this publisher follows
    // A layer with NaN or infinite queries or keys is not shown: the final analysis reports it.
    if (!allFinite(ready.q) || !allFinite(ready.k)) return;
    auto published = std::make_shared<PublishedLayer>();
    published->q = ready.q;
    published->k = ready.k;
    published->geometry = ready.geometry;
    // A lazy final pass reads whole Q (the earlier rows completed): it keeps no earlier
    // attention to copy. An eager pass copies the earlier analysis's rows, and so does this.
    if (ready.earlier && !ready.earlier->attention.empty() &&
        ready.earlier->attention[0].size() > 0) {
        published->earlier = ready.earlier;
        published->earlierAnalysis = m_previous;
    } else if (ready.earlier) {
        published->q =
            withPrefix(&ready.earlier->q, int(ready.k.rows() - ready.q.rows()), Mat(ready.q));
    }
    m_layers.push_back(std::move(published));

    auto snapshot = std::make_shared<Analysis>(m_base);
    snapshot->partialLayers = int(m_layers.size());
    snapshot->forward.layers.resize(size_t(m_layerCount));
    for (size_t l = 0; l < snapshot->forward.layers.size(); ++l) {
        LayerTrace& trace = snapshot->forward.layers[l];
        trace.geometry = m_layers.front()->geometry; // every layer has the first one's shape
        trace.attention.resize(size_t(trace.geometry.heads)); // empty: computed on demand
    }
    snapshot->forward.lazyHeads = std::make_shared<const PublishedHeads>(m_layers);
    snapshot->forward.headCache = HeadCache::sharedWith(m_cache);
    if (m_deliver) m_deliver(std::move(snapshot));
}

} // namespace attnscope
