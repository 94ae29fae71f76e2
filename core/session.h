#pragma once
// The engine's front door: open a checkpoint folder, analyse a text (or ids, or pixels),
// get back per-layer, per-head attention with the tokens and their character offsets.
// Everything here is const and thread-safe after open(), so a GUI worker thread can call
// analyze() while the GUI thread keeps the shared_ptr.
#include "config.h"
#include "result.h"
#include "tensor.h"
#include "tokenizer/tokenizer.h"

#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace attnscope {

class Model;
struct PrefixReuse;

// What to keep from a forward pass. Attention probabilities are always kept.
struct KeepOptions {
    bool scores = true;       // pre-softmax scaled scores (masked entries = -inf)
    bool qkv = true;          // Q, K, V per layer
    bool hiddenStates = true; // every layer's output
};

// Per-layer record of one forward pass. Shapes: T tokens, H query heads, KV key/value heads,
// d = head_dim, D = hidden.
struct LayerTrace {
    std::vector<Mat> attention; // H x [T, T], softmax probabilities; row = query, column = key
    std::vector<Mat> scores;    // H x [T, T], before softmax (empty if not kept)
    Mat q;                      // [T, H*d]  (after rotary where the family has it)
    Mat k;                      // [T, KV*d]
    Mat v;                      // [T, KV*d]
    Mat hidden;                 // [T, D], this layer's output (empty if not kept)
};

struct ForwardResult {
    std::vector<LayerTrace> layers; // L entries
    Mat embeddings;                 // [T, D], input to the first layer (empty if not kept)
    Mat lastHiddenState;            // [T, D], after the final norm where the family has one

    // Which key/value head query head h reads (grouped-query attention).
    static int kvHeadFor(int h, int heads, int kvHeads) { return h / (heads / kvHeads); }
    // All attention as one [L, H, T, T] tensor (for dumps).
    Tensor attentionTensor() const;
};

struct Analysis;

struct AnalysisRequest {
    QString text;                 // used when ids and pixels are empty
    std::optional<QString> pair;  // second sentence (BERT-style pairs)
    std::vector<int64_t> ids;     // explicit ids bypass the tokenizer
    std::vector<int64_t> typeIds; // with explicit ids; empty = all zero
    Tensor pixelValues;           // [3, H, W] normalised, image models
    KeepOptions keep;
    // An earlier analysis by the same model (e.g. before the last keystroke). For causal
    // models the tokens it shares at the start are not recomputed: their keys and values are
    // reused and only the rows after them run. The result is the same as a full pass.
    std::shared_ptr<const Analysis> previous;
};

struct Analysis {
    QString text;
    Encoding encoding;         // ids, tokens, offsets (code points into text), type ids
    QStringList displayTokens; // readable token strings for labels
    int truncatedTokens = 0;   // tokens dropped to fit max_positions (0 = none)
    int reusedTokens = 0;      // leading tokens taken from AnalysisRequest::previous
    quint64 producedBy = 0;    // LoadedModel::instanceId() of the model that computed it
    ForwardResult forward;

    int tokenCount() const { return encoding.size(); }
    const Mat& attention(int layer, int head) const {
        return forward.layers[layer].attention[head];
    }
};

// Called after each layer; return false to cancel (the analysis then returns an Error
// whose message is "cancelled").
using ProgressCallback = std::function<bool(int layersDone, int layersTotal)>;

class LoadedModel {
public:
    ~LoadedModel();
    // path: a checkpoint folder (config.json + *.safetensors [+ tokenizer files]), or
    // "default" / "default-vision" for the embedded models.
    static Result<std::shared_ptr<const LoadedModel>> open(const QString& path);

    const ModelConfig& config() const { return m_config; }
    const Tokenizer* tokenizer() const { return m_tokenizer.get(); } // null for image models
    QString path() const { return m_path; }
    QString displayName() const;
    // Unique per opened model for the whole process (never reused, unlike an address).
    quint64 instanceId() const { return m_instanceId; }

    Result<Encoding> tokenize(const QString& text, const std::optional<QString>& pair = {}) const;
    Result<Analysis> analyze(const AnalysisRequest& request,
                             const ProgressCallback& progress = {}) const;

private:
    LoadedModel() = default;
    QStringList displayTokens(const Encoding& encoding, const QString& text) const;
    Status checkMemory(int64_t tokens, const KeepOptions& keep) const;
    Result<Analysis> analyzeUnguarded(const AnalysisRequest& request,
                                      const ProgressCallback& progress) const;
    PrefixReuse reusablePrefix(const AnalysisRequest& request,
                               const std::vector<int64_t>& ids) const;
    QString m_path;
    quint64 m_instanceId = 0;
    ModelConfig m_config;
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::unique_ptr<Model> m_model;
};

} // namespace attnscope
