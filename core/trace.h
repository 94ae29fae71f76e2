#pragma once
// Run state of one forward pass: what to keep, what each layer recorded, progress reports.
// The engine's low layers (model.h, blocks.h) need only these, not the session front door.
#include "lazy_heads.h"
#include "tensor.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace attnscope {

struct LayerTrace;
struct ReadyLayer;
// Called by the pass, on its own thread, as soon as a layer's queries and keys exist (before its
// attention, MLP and the later layers run).
using LayerReadyCallback = std::function<void(const ReadyLayer&)>;
// Called by the pass, on its own thread, as soon as layer `layer`'s attention is complete (its
// kept heads' [T, T] matrices are final; the layer's MLP and the later layers have not run).
// `trace` stays where it is until the pass returns.
using AttentionDoneCallback = std::function<void(int layer, const LayerTrace& trace)>;

// What to keep from a forward pass. Attention probabilities are always kept.
struct KeepOptions {
    bool scores = true;       // pre-softmax scaled scores (masked entries = -inf)
    bool qkv = true;          // Q, K, V per layer
    bool hiddenStates = true; // every layer's output
    // Attention of only these layers and heads (empty = all). The other heads still run (the
    // next layer needs their output) row block by row block, never as a [T, T] matrix, so one
    // head of a very long input fits in memory. Their LayerTrace::attention entries stay empty.
    std::vector<int> onlyLayers;
    std::vector<int> onlyHeads;
    int layer = -1; // the layer being computed (set by forLayer for multiHeadAttention)
    // No head's [T, T] matrix is kept: every head runs row block by row block, Q and K are
    // kept, and ForwardResult::attention() computes a head when asked (lazy_heads.h). Set by
    // LoadedModel::analyze when every head's attention would exceed eagerAttentionBudgetBytes().
    bool lazyAttention = false;

    bool keepsAttention(int l, int h) const {
        if (lazyAttention) return false;
        auto has = [](const std::vector<int>& list, int x) {
            return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
        };
        return has(onlyLayers, l) && has(onlyHeads, h);
    }
    bool keepsAllAttention() const {
        return !lazyAttention && onlyLayers.empty() && onlyHeads.empty();
    }
    // Attention (always kept) and nothing else: dumps, statistics, benchmarks.
    static KeepOptions attentionOnly() {
        KeepOptions keep;
        keep.scores = keep.qkv = keep.hiddenStates = false;
        return keep;
    }
    KeepOptions forLayer(int l) const {
        KeepOptions k = *this;
        k.layer = l;
        return k;
    }
    // What the explainer shows of each layer's attention step by step: the layer's input, its
    // normalised form and the queries before rotary positions. Off by default (2 x [T, D] plus
    // [T, H*d] per layer), so a window that never explains does not pay for it.
    bool attentionInputs = false;
    // Not what to keep but when to tell: with a callback set, every layer hands out its Q and
    // K before the rest of the layer runs (partial_analysis.h builds views' snapshots from it).
    LayerReadyCallback layerReady;
    // Called as each layer's attention is complete, so a dump can write it while the next
    // layer runs (dump.h, OverlappedDump).
    AttentionDoneCallback attentionDone;
};

// How a layer's attention was computed (set by multiHeadAttention), so that a head can be
// computed again from the kept Q and K.
struct AttentionGeometry {
    int heads = 0, kvHeads = 0, headDim = 0;
    bool causal = false;
};

// A layer whose queries and keys are known, handed out by the pass (KeepOptions::layerReady)
// before the layer's attention is computed: its attention follows from them alone, plus the
// earlier pass's rows when a prefix was reused. Valid only during the callback.
struct ReadyLayer {
    int layer = 0;
    const Mat& q; // [Tq, H*d], the rows after the reused prefix, after rotary
    const Mat& k; // [T, KV*d], all rows
    AttentionGeometry geometry;
    const LayerTrace* earlier = nullptr; // rows [0, T - Tq) came from it (null when Tq == T)
};

// Per-layer record of one forward pass. Shapes: T tokens, H query heads, KV key/value heads,
// d = head_dim, D = hidden.
struct LayerTrace {
    // H x [T, T], softmax probabilities; row = query, column = key. Empty matrices for heads
    // not kept; read through ForwardResult::attention(), which computes lazy heads.
    std::vector<Mat> attention;
    std::vector<Mat> scores; // H x [T, T], before softmax (empty if not kept)
    Mat q;                   // [T, H*d]  (after rotary where the family has it)
    Mat k;                   // [T, KV*d]
    Mat v;                   // [T, KV*d]
    Mat hidden;              // [T, D], this layer's output (empty if not kept)
    // Kept with KeepOptions::attentionInputs, else empty:
    Mat input;      // [T, D], the layer's input (the previous layer's output)
    Mat normed;     // [T, D], input after the pre-attention norm; empty where the family
                    // normalises after attention (BERT family): attention reads `input` there
    Mat qPreRotary; // [T, H*d], queries before rotary; empty in families without rotary
    AttentionGeometry geometry;
    // Per head, set by the pass for every head it computes, kept or not: 1 when every newly
    // computed row of the head's attention is finite (found from the softmax sums, so no
    // second read of [T, T], nor of Q and K for heads computed on demand). Empty when unknown
    // (then a reader checks the values themselves).
    std::vector<char> attentionFinite;
    const Mat& attentionInput() const { return normed.rows() ? normed : input; }
    const Mat& queriesBeforeRotary() const { return qPreRotary.rows() ? qPreRotary : q; }
};

struct ForwardResult {
    std::vector<LayerTrace> layers; // L entries
    Mat embeddings;                 // [T, D], input to the first layer (empty if not kept)
    Mat lastHiddenState;            // [T, D], after the final norm where the family has one
    // Non-null when heads are computed on demand (KeepOptions::lazyAttention, or a mapped
    // attention file); their matrices then go through headCache.
    std::shared_ptr<const HeadSource> lazyHeads;
    HeadCache headCache;

    // Head `head` of `layer` as [T, T]: the stored matrix (valid while this result lives), or
    // computed on demand and cached. An empty matrix for a head a pass did not keep. Safe to
    // call from several threads at once.
    std::shared_ptr<const Mat> attention(int layer, int head) const;
    // As attention(), but a lazy head that is not cached is computed without being cached
    // (thumbnails, statistics and dumps over every head, so that they go head by head and do
    // not evict the heads a view shows).
    std::shared_ptr<const Mat> attentionUncached(int layer, int head) const;
    bool isLazy() const { return lazyHeads != nullptr; }
    // Whether attention(layer, head) returns without computing (stored or cached).
    bool isAttentionReady(int layer, int head) const;
    // attention(layer, head) when that returns without computing, else null. Holding the
    // pointer keeps the head findable in the cache (HeadCache::find) while it is held.
    std::shared_ptr<const Mat> readyAttention(int layer, int head) const;

    // Which key/value head query head h reads (grouped-query attention).
    static int kvHeadFor(int h, int heads, int kvHeads) { return h / (heads / kvHeads); }
    // The layers and heads whose attention was kept (ascending): all (also when lazy), or those
    // of KeepOptions::onlyLayers / onlyHeads (the other heads' matrices are empty).
    struct KeptAttention {
        std::vector<int> layers, heads;
    };
    KeptAttention keptAttention() const;
    // The kept attention as one [L', H', T, T] tensor (for dumps), in keptAttention()'s order.
    Tensor attentionTensor() const;
};

// Called after each layer; return false to cancel (the analysis then returns an Error
// whose message is "cancelled").
using ProgressCallback = std::function<bool(int layersDone, int layersTotal)>;

} // namespace attnscope
