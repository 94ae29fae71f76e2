#pragma once
// Model hyper-parameters read from config.json, normalised across transformers 4.x and 5.x
// spellings and across families. Weights and run state live elsewhere (llama2.c style).
#include "result.h"

#include <QJsonObject>
#include <QString>

namespace attnscope {

enum class Family { Gpt2, Bert, DistilBert, Roberta, Llama, Qwen2, GptNeoX, Vit };
enum class Modality { Text, Image };
enum class Activation { GeluTanh, GeluErf, Silu, Relu, GeluQuick };

QString familyName(Family family);

struct ModelConfig {
    Family family = Family::Gpt2;
    QString modelType; // config.json's model_type, as written
    Modality modality = Modality::Text;
    int layers = 0;       // L
    int heads = 0;        // H, query heads
    int kvHeads = 0;      // key/value heads (== heads unless grouped-query)
    int hidden = 0;       // D
    int headDim = 0;      // D / H unless config gives head_dim
    int intermediate = 0; // MLP width
    int vocab = 0;
    int maxPositions = 0;
    int typeVocab = 0;   // token type embeddings (BERT)
    int padTokenId = -1; // RoBERTa position offset
    float normEps = 1e-5f;
    Activation activation = Activation::GeluTanh;
    bool causal = false;

    // Rotary position embeddings (Llama, Qwen2, GPT-NeoX).
    double ropeTheta = 10000.0;
    double rotaryFraction = 1.0;   // share of head_dim that is rotated (GPT-NeoX rotary_pct)
    bool parallelResidual = false; // GPT-NeoX
    bool attentionBias = false;    // q/k/v/o biases (Llama attention_bias, Qwen2 q/k/v)
    bool mlpBias = false;
    bool tieWordEmbeddings = false;

    // Vision (ViT).
    int imageSize = 0;
    int patchSize = 0;
    int channels = 3;
    bool qkvBias = true;
    bool distillationToken = false; // DeiT: a second learned token after [CLS]
    int prefixTokens() const { return distillationToken ? 2 : 1; } // tokens before the patches

    static Result<ModelConfig> fromJson(const QJsonObject& json);
    static Result<ModelConfig> fromFile(const QString& path);
};

} // namespace attnscope
