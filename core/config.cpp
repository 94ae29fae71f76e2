#include "config.h"
#include "file_limits.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace attnscope {

QString familyName(Family family) {
    switch (family) {
    case Family::Gpt2:
        return QStringLiteral("gpt2");
    case Family::Bert:
        return QStringLiteral("bert");
    case Family::DistilBert:
        return QStringLiteral("distilbert");
    case Family::Roberta:
        return QStringLiteral("roberta");
    case Family::Llama:
        return QStringLiteral("llama");
    case Family::Qwen2:
        return QStringLiteral("qwen2");
    case Family::GptNeoX:
        return QStringLiteral("gpt_neox");
    case Family::Vit:
        return QStringLiteral("vit");
    }
    return QStringLiteral("?");
}

namespace {

// Reads the first present key among `keys` as a number.
double number(const QJsonObject& json, std::initializer_list<const char*> keys, double fallback) {
    for (const char* k : keys) {
        const QJsonValue v = json.value(QLatin1String(k));
        if (v.isDouble()) return v.toDouble();
    }
    return fallback;
}

Result<Activation> parseActivation(const QString& name) {
    if (name == QLatin1String("gelu")) return Activation::GeluErf;
    if (name == QLatin1String("gelu_new") || name == QLatin1String("gelu_pytorch_tanh") ||
        name == QLatin1String("gelu_fast"))
        return Activation::GeluTanh;
    if (name == QLatin1String("silu") || name == QLatin1String("swish")) return Activation::Silu;
    if (name == QLatin1String("relu")) return Activation::Relu;
    if (name == QLatin1String("quick_gelu")) return Activation::GeluQuick;
    return Error{QStringLiteral("unsupported activation function \"%1\"").arg(name)};
}

// Rotary settings: transformers 5.x nests them in rope_parameters, 4.x keeps rope_theta /
// rope_scaling top level. Anything other than plain RoPE is refused rather than computed wrong.
Status parseRope(const QJsonObject& json, ModelConfig& c) {
    c.ropeTheta = number(json, {"rope_theta", "rotary_emb_base"}, c.ropeTheta);
    c.rotaryFraction = number(json, {"rotary_pct", "partial_rotary_factor"}, c.rotaryFraction);
    const QJsonValue params = json.value(QLatin1String("rope_parameters"));
    const QJsonValue scaling = json.value(QLatin1String("rope_scaling"));
    for (const QJsonValue& v : {params, scaling}) {
        if (!v.isObject()) continue;
        const QJsonObject o = v.toObject();
        c.ropeTheta = number(o, {"rope_theta"}, c.ropeTheta);
        c.rotaryFraction = number(o, {"partial_rotary_factor"}, c.rotaryFraction);
        QString type = o.value(QLatin1String("rope_type")).toString();
        if (type.isEmpty()) type = o.value(QLatin1String("type")).toString();
        if (!type.isEmpty() && type != QLatin1String("default"))
            return Error{
                QStringLiteral(
                    "unsupported rope scaling type \"%1\" (only plain RoPE is implemented)")
                    .arg(type)};
    }
    if (c.rotaryFraction <= 0 || c.rotaryFraction > 1)
        return Error{QStringLiteral("invalid rotary fraction %1").arg(c.rotaryFraction)};
    return okStatus();
}

QString typeFound(const QJsonValue& v) {
    switch (v.type()) {
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::String:
        return QStringLiteral("a string (\"%1\")").arg(v.toString().left(40));
    case QJsonValue::Array:
        return QStringLiteral("a list");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Double:
        return QStringLiteral("the number %1").arg(v.toDouble());
    default:
        return QStringLiteral("null");
    }
}

// Keys config.json readers use, with the kind of value each must hold when present (null means
// absent, as in transformers). A wrong type or an impossible value names the key and what was
// found, instead of being read as 0 or a default.
enum class Kind { Count, Index, PositiveNumber, Text };
struct KeyRule {
    const char* key;
    Kind kind;
};
constexpr KeyRule kKeyRules[] = {
    {"n_layer", Kind::Count},
    {"num_hidden_layers", Kind::Count},
    {"n_layers", Kind::Count},
    {"n_head", Kind::Count},
    {"n_heads", Kind::Count},
    {"num_attention_heads", Kind::Count},
    {"num_key_value_heads", Kind::Count},
    {"n_embd", Kind::Count},
    {"hidden_size", Kind::Count},
    {"dim", Kind::Count},
    {"hidden_dim", Kind::Count},
    {"n_inner", Kind::Count},
    {"intermediate_size", Kind::Count},
    {"head_dim", Kind::Count},
    {"n_positions", Kind::Count},
    {"max_position_embeddings", Kind::Count},
    {"vocab_size", Kind::Count},
    {"type_vocab_size", Kind::Index},
    {"image_size", Kind::Count},
    {"patch_size", Kind::Count},
    {"num_channels", Kind::Count},
    {"layer_norm_epsilon", Kind::PositiveNumber},
    {"layer_norm_eps", Kind::PositiveNumber},
    {"rms_norm_eps", Kind::PositiveNumber},
    {"rope_theta", Kind::PositiveNumber},
    {"rotary_emb_base", Kind::PositiveNumber},
    {"rotary_pct", Kind::PositiveNumber},
    {"partial_rotary_factor", Kind::PositiveNumber},
    {"model_type", Kind::Text},
    {"activation_function", Kind::Text},
    {"hidden_act", Kind::Text},
    {"activation", Kind::Text},
    {"position_embedding_type", Kind::Text},
};

Status checkKeyTypes(const QJsonObject& json, const QString& where) {
    for (const KeyRule& rule : kKeyRules) {
        const QJsonValue v = json.value(QLatin1String(rule.key));
        if (v.isUndefined() || v.isNull()) continue;
        const QString key = where + QLatin1String(rule.key);
        if (rule.kind == Kind::Text) {
            if (!v.isString())
                return Error{QStringLiteral("config.json: %1 must be a string, found %2")
                                 .arg(key, typeFound(v))};
            continue;
        }
        const double x = v.toDouble();
        if (rule.kind == Kind::PositiveNumber) {
            if (!v.isDouble() || !std::isfinite(x) || x <= 0)
                return Error{QStringLiteral("config.json: %1 must be a positive number, found %2")
                                 .arg(key, typeFound(v))};
            continue;
        }
        const bool integral = v.isDouble() && std::isfinite(x) && x == std::floor(x);
        const double least = rule.kind == Kind::Count ? 1 : 0;
        if (!integral || x < least || x > 1e9)
            return Error{QStringLiteral("config.json: %1 must be %2 integer, found %3")
                             .arg(key,
                                  rule.kind == Kind::Count ? QStringLiteral("a positive")
                                                           : QStringLiteral("a non-negative"),
                                  typeFound(v))};
    }
    return okStatus();
}

} // namespace

Result<ModelConfig> ModelConfig::fromJson(const QJsonObject& json) {
    if (auto s = checkKeyTypes(json, QString()); !s) return s.error();
    for (const char* nested : {"rope_parameters", "rope_scaling"})
        if (json.value(QLatin1String(nested)).isObject())
            if (auto s = checkKeyTypes(json.value(QLatin1String(nested)).toObject(),
                                       QLatin1String(nested) + QLatin1Char('.'));
                !s)
                return s.error();
    ModelConfig c;
    c.modelType = json.value(QLatin1String("model_type")).toString();
    const QString& t = c.modelType;
    QString act;

    if (t == QLatin1String("gpt2")) {
        c.family = Family::Gpt2;
        c.layers = int(number(json, {"n_layer", "num_hidden_layers"}, 0));
        c.heads = int(number(json, {"n_head", "num_attention_heads"}, 0));
        c.hidden = int(number(json, {"n_embd", "hidden_size"}, 0));
        c.intermediate = int(number(json, {"n_inner"}, 4.0 * c.hidden));
        c.maxPositions = int(number(json, {"n_positions", "max_position_embeddings"}, 1024));
        c.normEps = float(number(json, {"layer_norm_epsilon"}, 1e-5));
        act = json.value(QLatin1String("activation_function")).toString(QStringLiteral("gelu_new"));
        c.causal = true;
        if (json.value(QLatin1String("scale_attn_by_inverse_layer_idx")).toBool())
            return Error{
                QStringLiteral("unsupported GPT-2 option scale_attn_by_inverse_layer_idx")};
        if (json.contains(QLatin1String("scale_attn_weights")) &&
            !json.value(QLatin1String("scale_attn_weights")).toBool(true))
            return Error{QStringLiteral("unsupported GPT-2 option scale_attn_weights=false")};
    } else if (t == QLatin1String("bert") || t == QLatin1String("roberta")) {
        c.family = t == QLatin1String("bert") ? Family::Bert : Family::Roberta;
        c.layers = int(number(json, {"num_hidden_layers"}, 0));
        c.heads = int(number(json, {"num_attention_heads"}, 0));
        c.hidden = int(number(json, {"hidden_size"}, 0));
        c.intermediate = int(number(json, {"intermediate_size"}, 4.0 * c.hidden));
        c.maxPositions = int(number(json, {"max_position_embeddings"}, 512));
        c.typeVocab = int(number(json, {"type_vocab_size"}, 2));
        c.padTokenId = int(number(json, {"pad_token_id"}, c.family == Family::Roberta ? 1 : 0));
        c.normEps = float(number(json, {"layer_norm_eps"}, 1e-12));
        act = json.value(QLatin1String("hidden_act")).toString(QStringLiteral("gelu"));
        const QString pos = json.value(QLatin1String("position_embedding_type"))
                                .toString(QStringLiteral("absolute"));
        if (pos != QLatin1String("absolute"))
            return Error{
                QStringLiteral("unsupported position_embedding_type \"%1\" (only absolute)")
                    .arg(pos)};
        if (c.family == Family::Roberta) // positions start at padding_idx + 1
            c.maxPositions -= c.padTokenId + 1;
        if (json.value(QLatin1String("is_decoder")).toBool())
            return Error{
                QStringLiteral("unsupported: %1 configured as a decoder (is_decoder=true)").arg(t)};
    } else if (t == QLatin1String("distilbert")) {
        c.family = Family::DistilBert;
        c.layers = int(number(json, {"n_layers"}, 6));
        c.heads = int(number(json, {"n_heads"}, 12));
        c.hidden = int(number(json, {"dim"}, 768));
        c.intermediate = int(number(json, {"hidden_dim"}, 3072));
        c.maxPositions = int(number(json, {"max_position_embeddings"}, 512));
        c.normEps = 1e-12f; // fixed in DistilBERT's implementation
        act = json.value(QLatin1String("activation")).toString(QStringLiteral("gelu"));
    } else if (t == QLatin1String("llama") || t == QLatin1String("mistral") ||
               t == QLatin1String("qwen2")) {
        c.family = t == QLatin1String("qwen2") ? Family::Qwen2 : Family::Llama;
        c.layers = int(number(json, {"num_hidden_layers"}, 0));
        c.heads = int(number(json, {"num_attention_heads"}, 0));
        c.kvHeads = int(number(json, {"num_key_value_heads"}, c.heads));
        c.hidden = int(number(json, {"hidden_size"}, 0));
        c.intermediate = int(number(json, {"intermediate_size"}, 0));
        c.maxPositions = int(number(json, {"max_position_embeddings"}, 2048));
        c.normEps = float(number(json, {"rms_norm_eps"}, 1e-6));
        act = json.value(QLatin1String("hidden_act")).toString(QStringLiteral("silu"));
        c.causal = true;
        c.attentionBias =
            c.family == Family::Qwen2 || json.value(QLatin1String("attention_bias")).toBool();
        c.mlpBias = json.value(QLatin1String("mlp_bias")).toBool();
        if (auto s = parseRope(json, c); !s) return s.error();
        const bool sliding = c.family == Family::Qwen2
                                 ? json.value(QLatin1String("use_sliding_window")).toBool()
                                 : json.value(QLatin1String("sliding_window")).isDouble();
        if (sliding)
            return Error{
                QStringLiteral("unsupported: sliding-window attention (sliding_window=%1)")
                    .arg(json.value(QLatin1String("sliding_window")).toVariant().toString())};
        if (number(json, {"pretraining_tp"}, 1) != 1)
            return Error{QStringLiteral("unsupported: pretraining_tp != 1")};
    } else if (t == QLatin1String("gpt_neox")) {
        c.family = Family::GptNeoX;
        c.layers = int(number(json, {"num_hidden_layers"}, 0));
        c.heads = int(number(json, {"num_attention_heads"}, 0));
        c.hidden = int(number(json, {"hidden_size"}, 0));
        c.intermediate = int(number(json, {"intermediate_size"}, 4.0 * c.hidden));
        c.maxPositions = int(number(json, {"max_position_embeddings"}, 2048));
        c.normEps = float(number(json, {"layer_norm_eps"}, 1e-5));
        act = json.value(QLatin1String("hidden_act")).toString(QStringLiteral("gelu"));
        c.causal = true;
        c.parallelResidual = json.value(QLatin1String("use_parallel_residual")).toBool(true);
        c.attentionBias = json.value(QLatin1String("attention_bias")).toBool(true);
        c.rotaryFraction = 0.25;
        if (auto s = parseRope(json, c); !s) return s.error();
    } else if (t == QLatin1String("vit") || t == QLatin1String("deit") ||
               t == QLatin1String("dinov2_vit")) {
        if (t == QLatin1String("dinov2_vit"))
            return Error{QStringLiteral("unsupported model type \"%1\"").arg(t)};
        c.family = Family::Vit;
        c.distillationToken = t == QLatin1String("deit"); // DeiT: [CLS], [DIST], patches
        c.modality = Modality::Image;
        c.layers = int(number(json, {"num_hidden_layers"}, 0));
        c.heads = int(number(json, {"num_attention_heads"}, 0));
        c.hidden = int(number(json, {"hidden_size"}, 0));
        c.intermediate = int(number(json, {"intermediate_size"}, 4.0 * c.hidden));
        c.normEps = float(number(json, {"layer_norm_eps"}, 1e-12));
        act = json.value(QLatin1String("hidden_act")).toString(QStringLiteral("gelu"));
        c.imageSize = int(number(json, {"image_size"}, 224));
        c.patchSize = int(number(json, {"patch_size"}, 16));
        c.channels = int(number(json, {"num_channels"}, 3));
        c.qkvBias = json.value(QLatin1String("qkv_bias")).toBool(true);
        if (c.patchSize <= 0 || c.imageSize < c.patchSize)
            return Error{QStringLiteral("invalid ViT image_size/patch_size")};
        const int side = c.imageSize / c.patchSize;
        c.maxPositions = side * side + c.prefixTokens();
    } else if (t.isEmpty()) {
        return Error{QStringLiteral("config.json has no model_type")};
    } else {
        return Error{
            QStringLiteral("unsupported model type \"%1\" (supported: gpt2, bert, distilbert, "
                           "roberta, llama, mistral, qwen2, gpt_neox, vit, deit)")
                .arg(t)};
    }

    if (c.kvHeads == 0) c.kvHeads = c.heads;
    c.vocab = int(number(json, {"vocab_size"}, 0));
    c.tieWordEmbeddings = json.value(QLatin1String("tie_word_embeddings")).toBool(false);
    auto activation = parseActivation(act);
    if (!activation) return activation.error();
    c.activation = activation.value();

    if (c.layers <= 0 || c.heads <= 0 || c.hidden <= 0 || c.intermediate <= 0)
        return Error{QStringLiteral("config.json for %1 lacks layer/head/hidden sizes").arg(t)};
    if (c.modality == Modality::Text && (c.vocab <= 0 || c.maxPositions <= 0))
        return Error{QStringLiteral("config.json for %1 lacks vocab_size or max positions").arg(t)};
    c.headDim = int(number(json, {"head_dim"}, 0));
    if (c.headDim <= 0) {
        if (c.hidden % c.heads != 0)
            return Error{QStringLiteral("hidden size %1 is not divisible by %2 heads")
                             .arg(c.hidden)
                             .arg(c.heads)};
        c.headDim = c.hidden / c.heads;
    }
    if (c.kvHeads <= 0 || c.heads % c.kvHeads != 0)
        return Error{QStringLiteral("%1 attention heads are not a multiple of %2 key/value heads")
                         .arg(c.heads)
                         .arg(c.kvHeads)};
    if (c.layers > 1000 || c.heads > 1024 || c.hidden > 65536)
        return Error{QStringLiteral("config.json sizes are implausibly large")};
    return c;
}

Result<ModelConfig> ModelConfig::fromFile(const QString& path) {
    // A regular file of at most 16 MB: a config.json that is a FIFO or /dev/zero is refused.
    auto bytes = readBoundedFile(path, kMaxConfigBytes, QStringLiteral("config file"));
    if (!bytes) return bytes.error();
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &err);
    if (err.error != QJsonParseError::NoError)
        return Error{QStringLiteral("%1: invalid JSON (%2)").arg(path, err.errorString())};
    if (!doc.isObject())
        return Error{
            QStringLiteral("%1 must hold a JSON object, found %2")
                .arg(path, doc.isArray() ? QStringLiteral("a list") : QStringLiteral("no object"))};
    return fromJson(doc.object());
}

} // namespace attnscope
