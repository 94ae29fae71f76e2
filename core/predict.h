#pragma once
// The step the rest of the engine leaves out: from the last hidden state to a probability for
// every token of the vocabulary. Causal models predict the next token at every position;
// encoders (BERT, RoBERTa, DistilBERT) predict the token hidden behind [MASK] / <mask>, through
// their masked-LM head, when the checkpoint was saved with one.
#include "blocks.h"
#include "config.h"
#include "result.h"
#include "tensor.h"

#include <QString>
#include <memory>
#include <vector>

namespace attnscope {

class WeightStore;
class LoadedModel;
struct Analysis;

enum class PredictionKind {
    NextToken,  // causal LM head: row t gives the token after position t
    MaskedToken // masked-LM head: row t gives the token at position t
};

class LanguageModelHead {
public:
    // The head the checkpoint defines, or an error saying why there is none (image models,
    // encoders saved without their masked-LM weights, shapes that do not match config.json).
    static Result<std::shared_ptr<const LanguageModelHead>> load(const ModelConfig& config,
                                                                 const WeightStore& weights);

    PredictionKind kind() const { return m_kind; }
    int vocab() const { return m_decoder.outFeatures(); }
    // True when the output projection is the input embedding matrix (tie_word_embeddings, or
    // no separate head weight in the file).
    bool tiedToEmbeddings() const { return m_tied; }
    // hidden [n, D] (rows of ForwardResult::lastHiddenState) -> logits [n, V]
    Mat logits(const Mat& hidden) const;

private:
    PredictionKind m_kind = PredictionKind::NextToken;
    bool m_tied = false;
    // Masked-LM heads first transform the state: dense [D, D], activation, LayerNorm [D].
    bool m_hasTransform = false;
    Linear m_transform;
    Activation m_activation = Activation::GeluErf;
    LayerNorm m_transformNorm;
    Linear m_decoder; // [V, D] (+ bias [V] in masked-LM heads)
};

// Probabilities softmax(logits / temperature) over one row of logits, accumulated in double.
// temperature must be > 0.
std::vector<double> softmaxWithTemperature(const float* logits, int count, double temperature);

struct TokenScore {
    int64_t id = 0;
    QString token;          // raw vocabulary string ("Ġthe"); the id when the model has none
    QString text;           // readable form (" the")
    float logit = 0;        // before the temperature
    double probability = 0; // softmax(logits / temperature)
};

struct Prediction {
    PredictionKind kind = PredictionKind::NextToken;
    int position = 0;            // the row of the analysis the prediction is read from
    std::vector<TokenScore> top; // descending probability (ties: lower id first)
};

// The k most probable tokens at `position` of an analysis made by `model`. For causal models
// that is the next token after `position`; for encoders the token at `position` (usually a
// mask token). Errors: no head, position out of range, temperature <= 0, k < 1.
Result<Prediction> predictTokens(const LoadedModel& model, const Analysis& analysis, int position,
                                 int topK, double temperature = 1.0);

// Positions holding the tokenizer's mask token ([MASK] or <mask>), in order; empty when the
// tokenizer has none or the input holds none.
std::vector<int> maskPositions(const LoadedModel& model, const Analysis& analysis);

} // namespace attnscope
