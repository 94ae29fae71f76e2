#pragma once
// The engine's front door: open a checkpoint folder, analyse a text (or ids, or pixels),
// get back per-layer, per-head attention with the tokens and their character offsets.
// Everything here is const and thread-safe after open(), so a GUI worker thread can call
// analyze() while the GUI thread keeps the shared_ptr.
#include "config.h"
#include "head_weights.h"
#include "result.h"
#include "tensor.h"
#include "tokenizer/tokenizer.h"
#include "trace.h"
#include "weights.h"

#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace attnscope {

class Model;
struct PrefixReuse;
class LanguageModelHead;

struct Analysis;

// What one model and its analyses (or an opened attention file) may take: 60 % of this
// computer's memory, or $ATTNSCOPE_MEMORY_LIMIT_MB when set.
double memoryBudgetBytes();
// An invalid $ATTNSCOPE_MEMORY_LIMIT_MB (0, negative, not a number) is an error, not ignored;
// opening a model or an attention file checks it.
Status checkMemoryLimitVariable();
// Tokenizing (tokens, offsets, and the JSON `tokenize` prints) takes about 250 bytes per
// character of text (measured: 0.96 GB for 4 MB); refused up front when over the budget.
Status checkTokenizeMemory(qsizetype characters);

struct AnalysisRequest {
    QString text;                 // used when ids and pixels are empty
    std::optional<QString> pair;  // second sentence (BERT-style pairs)
    std::vector<int64_t> ids;     // explicit ids bypass the tokenizer
    std::vector<int64_t> typeIds; // with explicit ids; empty = all zero
    Tensor pixelValues;           // [3, H, W] normalised, image models
    KeepOptions keep;
    // Bytes per kept attention value (and per last-hidden-state value) that the caller will
    // need on top of the analysis to write it out (dump.h: dumpBytesPerValue), so that the
    // memory guard refuses up front what output building would not fit.
    double outputBytesPerValue = 0;
    // An earlier analysis by the same model (e.g. before the last keystroke). For causal
    // models the tokens it shares at the start are not recomputed: their keys and values are
    // reused and only the rows after them run. The result is the same as a full pass.
    std::shared_ptr<const Analysis> previous;
    // Called on the pass's thread each time one more layer's attention is known, with an
    // immutable snapshot: layers [0, layersReady()) answer attention() (computed on demand
    // from the layer's Q and K, the same bits as the final analysis), later ones are empty.
    // Only for passes that keep every head (the GUI's). partial_analysis.h.
    std::function<void(std::shared_ptr<const Analysis>)> partial;
};

struct Analysis {
    QString text;
    Encoding encoding;         // ids, tokens, offsets (code points into text), type ids
    QStringList displayTokens; // readable token strings for labels
    int truncatedTokens = 0;   // tokens dropped to fit max_positions (0 = none)
    int reusedTokens = 0;      // leading tokens taken from AnalysisRequest::previous
    int generatedTokens = 0;   // the last N tokens were written by the model (generate.h)
    quint64 producedBy = 0;    // LoadedModel::instanceId() of the model that computed it
    ForwardResult forward;
    // -1 when complete; in a snapshot handed out while the pass runs (AnalysisRequest::partial),
    // how many layers (from the first) have their attention known.
    int partialLayers = -1;
    // Unique per LoadedModel::analyze() call (0: not made by one); its snapshots carry it too,
    // so a view can keep what it drew of a snapshot's layers when the next one arrives.
    quint64 passId = 0;

    int tokenCount() const { return encoding.size(); }
    int layerCount() const { return int(forward.layers.size()); }
    bool isPartial() const { return partialLayers >= 0; }
    int layersReady() const { return isPartial() ? partialLayers : layerCount(); }
    bool isLayerReady(int layer) const { return layer >= 0 && layer < layersReady(); }
    int headCount() const {
        return forward.layers.empty() ? 0 : int(forward.layers[0].attention.size());
    }
    // Views read attention only through this: [T, T], stored, or computed on demand and cached
    // when the pass kept no [T, T] matrices (lazy_heads.h). Hold the pointer while using it;
    // safe from any thread. isAttentionReady() says whether the call would compute.
    std::shared_ptr<const Mat> attention(int layer, int head) const {
        return isLayerReady(layer) ? forward.attention(layer, head) : emptyAttention();
    }
    bool isAttentionReady(int layer, int head) const {
        return isLayerReady(layer) && forward.isAttentionReady(layer, head);
    }
    // attention() when it returns without computing, else null (held: see ForwardResult).
    std::shared_ptr<const Mat> readyAttention(int layer, int head) const {
        return isLayerReady(layer) ? forward.readyAttention(layer, head) : nullptr;
    }
    bool hasLazyAttention() const { return forward.isLazy(); }
    // For passes over every head (statistics, rollout, thumbnails): a lazy head not in the cache
    // is computed for this caller only, so memory holds one head at a time per caller.
    std::shared_ptr<const Mat> streamedAttention(int layer, int head) const {
        return isLayerReady(layer) ? forward.attentionUncached(layer, head) : emptyAttention();
    }
    static std::shared_ptr<const Mat> emptyAttention() { // of a layer not yet ready
        static const auto empty = std::make_shared<const Mat>();
        return empty;
    }
};

class LoadedModel {
public:
    ~LoadedModel();
    // path: a checkpoint folder (config.json + *.safetensors [+ tokenizer files]), or
    // "default" / "default-vision" for the embedded models.
    // What open() reads besides the weights: a command that never tokenizes (`info`) only
    // checks that the tokenizer files are regular files, leaving tokenizer() null.
    enum class TokenizerLoading { Read, CheckFilesOnly };
    // `progress` hears how far reading the weights is and may cancel (weights.h); opening then
    // fails with "cancelled" and nothing stays loaded.
    static Result<std::shared_ptr<const LoadedModel>>
    open(const QString& path, TokenizerLoading tokenizer = TokenizerLoading::Read,
         const LoadProgressCallback& progress = {});

    const ModelConfig& config() const { return m_config; }
    const Tokenizer* tokenizer() const { return m_tokenizer.get(); } // null for image models
    QString path() const { return m_path; }
    QString displayName() const;
    // Unique per opened model for the whole process (never reused, unlike an address).
    quint64 instanceId() const { return m_instanceId; }

    Result<Encoding> tokenize(const QString& text, const std::optional<QString>& pair = {}) const;
    Result<Analysis> analyze(const AnalysisRequest& request,
                             const ProgressCallback& progress = {}) const;
    // Logits over the vocabulary (predict.h); null when the checkpoint has no such head, with
    // languageModelHeadProblem() saying why.
    const LanguageModelHead* languageModelHead() const { return m_head.get(); }
    QString languageModelHeadProblem() const { return m_headProblem; }
    // Bytes the opened weights take in memory (mapped tensors plus widened copies); counted
    // by the memory guard with every analysis.
    double weightBytes() const { return m_weightBytes; }
    // The attention weights of layer `layer`, one entry per query head: its slices of W_Q,
    // W_K, W_V, W_O and biases (copies, in one orientation for every family; head_weights.h).
    Result<std::vector<HeadWeights>> attentionWeights(int layer) const;

private:
    LoadedModel() = default;
    QStringList displayTokens(const Encoding& encoding, const QString& text) const;
    // The request's KeepOptions, switched to lazy heads when every head's [T, T] would exceed
    // eagerAttentionBudgetBytes().
    KeepOptions keepFor(int64_t tokens, const KeepOptions& asked) const;
    // followedByLayer: snapshots hand out each layer as it is computed (AnalysisRequest::partial),
    // holding a copy of its Q and K until the final analysis replaces them.
    Status checkMemory(int64_t tokens, const KeepOptions& keep, double outputBytesPerValue = 0,
                       bool followedByLayer = false) const;
    Status checkFinite(const Analysis& analysis) const;
    Result<Analysis> analyzeUnguarded(const AnalysisRequest& request,
                                      const ProgressCallback& progress) const;
    PrefixReuse reusablePrefix(const AnalysisRequest& request,
                               const std::vector<int64_t>& ids) const;
    QString m_path;
    quint64 m_instanceId = 0;
    ModelConfig m_config;
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::unique_ptr<Model> m_model;
    std::shared_ptr<const LanguageModelHead> m_head;
    QString m_headProblem;
    double m_weightBytes = 0; // WeightStore::residentBytes() at open
};

} // namespace attnscope
