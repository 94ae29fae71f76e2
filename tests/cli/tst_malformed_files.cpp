// Malformed files generated from the fixtures (issue 15), run through the library and a sample
// through the CLI. Every reader of untrusted files gets: truncations at every structural boundary
// (and a sample of other offsets), flipped header bytes, wrong JSON types, absurd sizes and
// shapes, NaN/Inf values, vocabulary/embedding mismatches and, for safetensors, offsets out of
// range or overlapping. The library must return an error with a one-line message (or, where a
// mutation may be harmless, a valid result), never crash; the CLI must exit 2 with exactly one
// line on stderr, never die of a signal, and run within a bounded address space, so an
// allocation far beyond what the file justifies fails the test.
#include "cli_support.h"

#include "attention_file.h"
#include "config.h"
#include "image/image_decode.h"
#include "safetensors.h"
#include "session.h"
#include "tokenizer/tokenizer.h"

#include <QGuiApplication>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sys/resource.h>

using namespace attnscope;
using namespace clitest;

namespace {

// How a case is read by the library (and which command the CLI runs on it).
enum class Runner {
    Model,     // a model folder: LoadedModel::open, then analyze ids (and a text)
    Config,    // a lone config.json: ModelConfig::fromFile
    Tokenizer, // tokenizer.json: Tokenizer::fromTokenizerJson, then encode
    Attention, // an attention file: openAttentionFile
    Image,     // a picture: decodeImageData
};

struct MalformedCase {
    QString reader; // what is malformed, for the counts: "safetensors", "config.json", ...
    QString name;
    Runner runner = Runner::Model;
    // Files of the case: for Model, the folder's files (name -> bytes); otherwise one entry,
    // the file to read (its name gives the format).
    std::map<QString, QByteArray> files;
    bool mustFail = true;    // false: the mutation may leave a valid file (then it must work)
    QString messageMustName; // when not empty, the error message must contain it
};

QByteArray readAll(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QString llamaDir() {
    return oraclePath(QStringLiteral("llama/model"));
}

// The base text model: Llama (rotary positions, grouped-query heads, RMSNorm), 1.3 MB. Read
// once: cases hold implicitly shared copies, so unchanged files are recognised (and linked to
// the fixture instead of written again).
const std::map<QString, QByteArray>& baseModelFiles() {
    static const std::map<QString, QByteArray> files = [] {
        std::map<QString, QByteArray> read;
        for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"})
            read[QLatin1String(name)] =
                readAll(llamaDir() + QLatin1Char('/') + QLatin1String(name));
        return read;
    }();
    return files;
}

// ------------------------------------------------------------ safetensors structure (own parser)

struct TensorSpan {
    QString name;
    qint64 begin = 0, end = 0; // relative to the data section
    QJsonArray shape;
};

struct SafeTensorsLayout {
    quint64 headerLength = 0;
    QJsonObject header;
    std::vector<TensorSpan> tensors; // in data order
    qint64 dataStart() const { return 8 + qint64(headerLength); }
};

SafeTensorsLayout parseLayout(const QByteArray& bytes) {
    SafeTensorsLayout layout;
    layout.headerLength = qFromLittleEndian<quint64>(bytes.constData());
    layout.header = QJsonDocument::fromJson(bytes.mid(8, qsizetype(layout.headerLength))).object();
    for (auto it = layout.header.begin(); it != layout.header.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__")) continue;
        const QJsonObject entry = it.value().toObject();
        const QJsonArray offsets = entry.value(QLatin1String("data_offsets")).toArray();
        layout.tensors.push_back({it.key(), qint64(offsets[0].toDouble()),
                                  qint64(offsets[1].toDouble()),
                                  entry.value(QLatin1String("shape")).toArray()});
    }
    std::sort(layout.tensors.begin(), layout.tensors.end(),
              [](const TensorSpan& a, const TensorSpan& b) { return a.begin < b.begin; });
    return layout;
}

// The same file with a new header (padded to 8 bytes as writers do); data unchanged.
QByteArray withHeader(const QByteArray& bytes, const SafeTensorsLayout& layout,
                      const QByteArray& header) {
    QByteArray padded = header;
    while (padded.size() % 8)
        padded.append(' ');
    QByteArray out(8, '\0');
    qToLittleEndian<quint64>(quint64(padded.size()), out.data());
    return out + padded + bytes.mid(layout.dataStart());
}

QByteArray withEntry(const QByteArray& bytes, const SafeTensorsLayout& layout,
                     const QString& tensor, const QString& key, const QJsonValue& value) {
    QJsonObject header = layout.header;
    QJsonObject entry = header.value(tensor).toObject();
    if (value.isUndefined())
        entry.remove(key);
    else
        entry.insert(key, value);
    header.insert(tensor, entry);
    return withHeader(bytes, layout, QJsonDocument(header).toJson(QJsonDocument::Compact));
}

QByteArray withFloat(QByteArray bytes, qint64 at, float value) {
    std::memcpy(bytes.data() + at, &value, sizeof value);
    return bytes;
}

// Offsets of the structural characters of a JSON text ({ } [ ] : , and quotes).
std::vector<qsizetype> jsonBoundaries(const QByteArray& json) {
    std::vector<qsizetype> at;
    for (qsizetype i = 0; i < json.size(); ++i)
        if (json[i] != '\0' && std::strchr("{}[]:,\"", json[i])) at.push_back(i);
    return at;
}

// At most `count` of `positions`, evenly spread (always the first and the last).
std::vector<qsizetype> spread(const std::vector<qsizetype>& positions, size_t count) {
    if (positions.size() <= count) return positions;
    std::vector<qsizetype> out;
    for (size_t i = 0; i < count; ++i)
        out.push_back(positions[i * (positions.size() - 1) / (count - 1)]);
    return out;
}

// ------------------------------------------------------------ the generators, one per reader

void addSafeTensorsCases(std::vector<MalformedCase>& cases) {
    const auto base = baseModelFiles();
    const QByteArray weights = base.at(QStringLiteral("model.safetensors"));
    const SafeTensorsLayout layout = parseLayout(weights);
    auto add = [&](const QString& reader, const QString& name, const QByteArray& bytes,
                   bool mustFail = true) {
        MalformedCase c{reader, name, Runner::Model, base, mustFail, {}};
        c.files[QStringLiteral("model.safetensors")] = bytes;
        cases.push_back(std::move(c));
    };

    // Truncated: inside the length, around the header's end, at every tensor's first and last
    // byte, and at 40 other offsets; every tensor's bytes are needed, so each must fail.
    std::set<qsizetype> cuts;
    for (qsizetype n = 0; n <= 9; ++n)
        cuts.insert(n);
    for (qsizetype n : {layout.dataStart() - 1, layout.dataStart(), layout.dataStart() + 1})
        cuts.insert(n);
    for (const TensorSpan& t : layout.tensors)
        for (qint64 n : {t.begin, t.begin + 1, t.end - 1})
            cuts.insert(layout.dataStart() + n);
    for (int i = 1; i <= 40; ++i)
        cuts.insert(qsizetype(i) * (weights.size() - 1) / 41);
    for (const qsizetype n :
         spread(jsonBoundaries(weights.mid(8, qsizetype(layout.headerLength))), 40))
        cuts.insert(8 + n);
    for (qsizetype n : cuts)
        if (n < weights.size())
            add(QStringLiteral("safetensors"), QStringLiteral("truncated at %1").arg(n),
                weights.left(n));

    // Header length: each byte flipped or set to 0xFF, zero, and absurd values.
    for (int i = 0; i < 8; ++i) {
        QByteArray flipped = weights;
        flipped[i] = char(flipped[i] ^ 0x80);
        add(QStringLiteral("safetensors"), QStringLiteral("length byte %1 flipped").arg(i),
            flipped);
        flipped[i] = char(0xFF);
        add(QStringLiteral("safetensors"), QStringLiteral("length byte %1 = 0xFF").arg(i), flipped);
    }
    for (quint64 length : {quint64(0), quint64(1) << 63, ~quint64(0), quint64(weights.size())}) {
        QByteArray bad = weights;
        qToLittleEndian<quint64>(length, bad.data());
        add(QStringLiteral("safetensors"), QStringLiteral("header length %1").arg(length), bad);
    }
    // Flipped header bytes (may give another valid header, e.g. a tensor renamed: then the
    // model lacks it; either way no crash).
    QRandomGenerator random(15);
    for (int i = 0; i < 60; ++i) {
        QByteArray flipped = weights;
        const qsizetype at = 8 + qsizetype(random.bounded(quint32(layout.headerLength)));
        flipped[at] = char(flipped[at] ^ (1 << random.bounded(8)));
        add(QStringLiteral("safetensors"), QStringLiteral("header byte %1 flipped").arg(at),
            flipped, false);
    }
    // Headers that are not objects.
    for (const char* header : {"[]", "null", "5", "\"x\"", "{", "{\"a\":", ""})
        add(QStringLiteral("safetensors"), QStringLiteral("header %1").arg(QLatin1String(header)),
            withHeader(weights, layout, header));

    // Entry mutations on a sample of tensors (the embedding, a projection, a norm, the last).
    std::vector<const TensorSpan*> sample;
    for (const TensorSpan& t : layout.tensors)
        if (t.name.contains(QLatin1String("embed_tokens")) ||
            t.name.contains(QLatin1String("layers.0.self_attn.q_proj")) ||
            t.name.contains(QLatin1String("layers.1.input_layernorm")) ||
            &t == &layout.tensors.back())
            sample.push_back(&t);
    const qint64 dataSize = weights.size() - layout.dataStart();
    for (const TensorSpan* t : sample) {
        const QString n = t->name;
        auto entry = [&](const QString& what, const QString& key, const QJsonValue& value) {
            add(QStringLiteral("safetensors"), n + QLatin1Char(' ') + what,
                withEntry(weights, layout, n, key, value));
        };
        entry(QStringLiteral("dtype F99"), QStringLiteral("dtype"), QStringLiteral("F99"));
        entry(QStringLiteral("dtype number"), QStringLiteral("dtype"), 7);
        entry(QStringLiteral("dtype I64"), QStringLiteral("dtype"), QStringLiteral("I64"));
        entry(QStringLiteral("dtype F16"), QStringLiteral("dtype"), QStringLiteral("F16"));
        entry(QStringLiteral("dtype missing"), QStringLiteral("dtype"), QJsonValue::Undefined);
        entry(QStringLiteral("shape negative"), QStringLiteral("shape"), QJsonArray{-1, 64});
        entry(QStringLiteral("shape huge"), QStringLiteral("shape"), QJsonArray{1e12, 1e12, 1e12});
        entry(QStringLiteral("shape 1e300"), QStringLiteral("shape"), QJsonArray{1e300});
        entry(QStringLiteral("shape fractional"), QStringLiteral("shape"), QJsonArray{2.5, 4});
        entry(QStringLiteral("shape string"), QStringLiteral("shape"), QStringLiteral("64"));
        entry(QStringLiteral("shape of strings"), QStringLiteral("shape"), QJsonArray{"a", "b"});
        entry(QStringLiteral("shape scalar"), QStringLiteral("shape"), QJsonArray{});
        entry(QStringLiteral("shape missing"), QStringLiteral("shape"), QJsonValue::Undefined);
        // The same number of values in another shape: the model's shape check must catch it.
        const qint64 values = (t->end - t->begin) / 4;
        if (t->shape.size() > 1)
            entry(QStringLiteral("shape flattened"), QStringLiteral("shape"), QJsonArray{values});
        if (values % 2 == 0 && values > 2)
            entry(QStringLiteral("shape [2, n/2]"), QStringLiteral("shape"),
                  QJsonArray{2, values / 2});
        auto offsets = [&](const QString& what, const QJsonValue& value) {
            entry(QStringLiteral("offsets ") + what, QStringLiteral("data_offsets"), value);
        };
        offsets(QStringLiteral("past the end"),
                QJsonArray{dataSize, dataSize + (t->end - t->begin)});
        offsets(QStringLiteral("end past the end"), QJsonArray{t->begin, dataSize + 1});
        offsets(QStringLiteral("reversed"), QJsonArray{t->end, t->begin});
        offsets(QStringLiteral("negative"), QJsonArray{-4, t->end - t->begin - 4});
        offsets(QStringLiteral("1e300"), QJsonArray{1e300, 1e300});
        offsets(QStringLiteral("-1e300"), QJsonArray{-1e300, t->end - t->begin});
        offsets(QStringLiteral("2^63"), QJsonArray{9.3e18, 9.3e18 + double(t->end - t->begin)});
        offsets(QStringLiteral("fractional"), QJsonArray{t->begin + 0.5, t->end + 0.5});
        offsets(QStringLiteral("one long"), QJsonArray{t->begin, t->end + 4});
        offsets(QStringLiteral("one value"), QJsonArray{t->begin});
        offsets(QStringLiteral("strings"), QJsonArray{"0", "4"});
        offsets(QStringLiteral("missing"), QJsonValue::Undefined);
        // Overlapping another tensor of the file (shifted into its neighbour's bytes).
        const qint64 shift = t->begin >= 4 ? -4 : 4;
        offsets(QStringLiteral("overlapping a neighbour"),
                QJsonArray{t->begin + shift, t->end + shift});
        // Removed from the header: the model must say it lacks it.
        QJsonObject header = layout.header;
        header.remove(n);
        add(QStringLiteral("safetensors"), n + QStringLiteral(" removed"),
            withHeader(weights, layout, QJsonDocument(header).toJson(QJsonDocument::Compact)));
    }
    // Two tensors on exactly the same bytes.
    {
        const TensorSpan& a = layout.tensors[0];
        for (const TensorSpan& b : layout.tensors)
            if (&b != &a && b.end - b.begin == a.end - a.begin) {
                add(QStringLiteral("safetensors"),
                    QStringLiteral("%1 on %2's bytes").arg(b.name, a.name),
                    withEntry(weights, layout, b.name, QStringLiteral("data_offsets"),
                              QJsonArray{a.begin, a.end}));
                break;
            }
    }
    // Metadata of the wrong type is ignored by readers (it only carries labels).
    {
        QJsonObject header = layout.header;
        header.insert(QStringLiteral("__metadata__"), 5);
        add(QStringLiteral("safetensors"), QStringLiteral("metadata a number"),
            withHeader(weights, layout, QJsonDocument(header).toJson(QJsonDocument::Compact)),
            false);
    }

    // NaN / Inf weights: refused when a pass produces NaN/Inf (never drawn as a blank map).
    for (const TensorSpan* t : sample) {
        const qint64 first = layout.dataStart() + t->begin;
        const qint64 row1 = t->name.contains(QLatin1String("embed_tokens"))
                                ? first + t->shape[1].toInteger() * 4 // id 1's row
                                : first;
        for (float bad :
             {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
              -std::numeric_limits<float>::infinity()}) {
            add(QStringLiteral("weights NaN/Inf"),
                QStringLiteral("%1 = %2").arg(t->name).arg(double(bad)),
                withFloat(weights, row1, bad),
                !t->name.contains(QLatin1String("lm_head"))); // the LM head is not in the pass
        }
        add(QStringLiteral("weights NaN/Inf"), t->name + QStringLiteral(" = 3e38"),
            withFloat(weights, row1, 3e38f), false);
    }
}

void addShardIndexCases(std::vector<MalformedCase>& cases) {
    auto base = baseModelFiles();
    const QByteArray weights = base.at(QStringLiteral("model.safetensors"));
    base.erase(QStringLiteral("model.safetensors"));
    base[QStringLiteral("model-00001-of-00001.safetensors")] = weights;
    QJsonObject map;
    for (const TensorSpan& t : parseLayout(weights).tensors)
        map.insert(t.name, QStringLiteral("model-00001-of-00001.safetensors"));
    const QByteArray index =
        QJsonDocument(QJsonObject{{"metadata", QJsonObject{{"total_size", weights.size()}}},
                                  {"weight_map", map}})
            .toJson();
    auto add = [&](const QString& name, const QByteArray& bytes, bool mustFail = true) {
        MalformedCase c{QStringLiteral("shard index"), name, Runner::Model, base, mustFail, {}};
        c.files[QStringLiteral("model.safetensors.index.json")] = bytes;
        cases.push_back(std::move(c));
    };
    for (const qsizetype n : spread(jsonBoundaries(index), 30))
        add(QStringLiteral("truncated at %1").arg(n), index.left(n));
    auto withMap = [&](const QJsonValue& weightMap) {
        return QJsonDocument(QJsonObject{{"weight_map", weightMap}}).toJson();
    };
    add(QStringLiteral("weight_map a list"), withMap(QJsonArray{1, 2}));
    add(QStringLiteral("weight_map a number"), withMap(5));
    add(QStringLiteral("weight_map empty"), withMap(QJsonObject{}));
    add(QStringLiteral("index a list"), "[]");
    for (const char* shard :
         {"../model.safetensors", "/etc/passwd", "missing.safetensors", "", "config.json", "."}) {
        QJsonObject bad = map;
        bad.insert(map.begin().key(), QLatin1String(shard));
        add(QStringLiteral("shard \"%1\"").arg(QLatin1String(shard)), withMap(bad));
    }
    QJsonObject numeric = map;
    numeric.insert(map.begin().key(), 7);
    add(QStringLiteral("shard a number"), withMap(numeric));
}

void addConfigCases(std::vector<MalformedCase>& cases) {
    const auto base = baseModelFiles();
    const QByteArray config = base.at(QStringLiteral("config.json"));
    const QJsonObject json = QJsonDocument::fromJson(config).object();
    auto addModel = [&](const QString& name, const QByteArray& bytes, bool mustFail,
                        const QString& key = {}) {
        MalformedCase c{QStringLiteral("config.json"), name, Runner::Model, base, mustFail, key};
        c.files[QStringLiteral("config.json")] = bytes;
        cases.push_back(std::move(c));
    };
    for (const qsizetype n : spread(jsonBoundaries(config), 60))
        addModel(QStringLiteral("truncated at %1").arg(n), config.left(n), true);
    // Keys the readers use must hold their type; a wrong one is named in the message.
    const QStringList checked = {"hidden_size",
                                 "intermediate_size",
                                 "max_position_embeddings",
                                 "num_attention_heads",
                                 "num_hidden_layers",
                                 "num_key_value_heads",
                                 "head_dim",
                                 "vocab_size",
                                 "rms_norm_eps",
                                 "model_type",
                                 "hidden_act"};
    const QList<QPair<QString, QJsonValue>> wrong = {{"a string", QStringLiteral("big")},
                                                     {"true", true},
                                                     {"a list", QJsonArray{4}},
                                                     {"an object", QJsonObject{}},
                                                     {"-1", -1},
                                                     {"0.5", 0.5},
                                                     {"1e300", 1e300},
                                                     {"-1e300", -1e300},
                                                     {"0", 0}};
    for (auto it = json.begin(); it != json.end(); ++it)
        for (const auto& [what, value] : checked.contains(it.key()) ? wrong : wrong.mid(0, 2)) {
            // model_type and hidden_act are strings; a string for them is another name.
            const bool stringKey =
                it.key() == QLatin1String("model_type") || it.key() == QLatin1String("hidden_act");
            // An epsilon may be any positive number (0.5 and 1e300 are odd but valid).
            const bool positiveEpsilon = it.key() == QLatin1String("rms_norm_eps") &&
                                         value.isDouble() && value.toDouble() > 0;
            const bool mustFail =
                checked.contains(it.key()) && !(stringKey && value.isString()) && !positiveEpsilon;
            QJsonObject bad = json;
            bad.insert(it.key(), value);
            addModel(it.key() + QStringLiteral(" = ") + what, QJsonDocument(bad).toJson(),
                     mustFail || (stringKey && value.isString()), mustFail ? it.key() : QString());
        }
    // Absurd sizes: the config alone must be refused or the weights must disagree.
    for (const char* key : {"num_hidden_layers", "num_attention_heads", "hidden_size", "vocab_size",
                            "max_position_embeddings", "intermediate_size"})
        for (double value : {3.0, 1e6, 1e9}) {
            QJsonObject bad = json;
            bad.insert(QLatin1String(key), value);
            addModel(QStringLiteral("%1 = %2").arg(QLatin1String(key)).arg(value),
                     QJsonDocument(bad).toJson(),
                     !(QLatin1String(key) == QLatin1String("max_position_embeddings")));
        }
    for (const char* text : {"[]", "null", "5", "\"config\"", "", "{}"})
        addModel(QStringLiteral("config %1").arg(QLatin1String(text)), text, true);

    // The other families' configs, read alone, with wrong types for every key.
    for (const char* family : {"gpt2", "bert", "gpt_neox", "qwen2", "vit", "distilbert"}) {
        const QByteArray other =
            readAll(oraclePath(QStringLiteral("%1/model/config.json").arg(QLatin1String(family))));
        const QJsonObject otherJson = QJsonDocument::fromJson(other).object();
        for (auto it = otherJson.begin(); it != otherJson.end(); ++it)
            for (const auto& [what, value] : wrong.mid(0, 3)) {
                QJsonObject bad = otherJson;
                bad.insert(it.key(), value);
                MalformedCase c{
                    QStringLiteral("config.json"),
                    QStringLiteral("%1: %2 = %3").arg(QLatin1String(family), it.key(), what),
                    Runner::Config,
                    {},
                    false,
                    {}};
                c.files[QStringLiteral("config.json")] = QJsonDocument(bad).toJson();
                cases.push_back(std::move(c));
            }
    }
}

void addTokenizerCases(std::vector<MalformedCase>& cases) {
    auto add = [&](const QString& name, const QByteArray& bytes, bool mustFail) {
        MalformedCase c{
            QStringLiteral("tokenizer.json"), name, Runner::Tokenizer, {}, mustFail, {}};
        c.files[QStringLiteral("tokenizer.json")] = bytes;
        cases.push_back(std::move(c));
    };
    struct Source {
        const char* name;
        QString path;
    };
    const Source sources[] = {
        {"llama", llamaDir() + QStringLiteral("/tokenizer.json")},
        {"bert", oraclePath(QStringLiteral("bert/model/tokenizer.json"))},
        {"unigram", oraclePath(QStringLiteral("tokenizers-more/unigram/tokenizer.json"))},
        {"wordlevel", oraclePath(QStringLiteral("tokenizers-more/wordlevel/tokenizer.json"))},
        {"byte-fallback",
         oraclePath(QStringLiteral("tokenizers-more/byte-fallback-bpe/tokenizer.json"))},
    };
    for (const Source& source : sources) {
        const QByteArray bytes = readAll(source.path);
        const QString family = QLatin1String(source.name);
        for (const qsizetype n : spread(jsonBoundaries(bytes), 40))
            add(QStringLiteral("%1 truncated at %2").arg(family).arg(n), bytes.left(n), true);
        const QJsonObject json = QJsonDocument::fromJson(bytes).object();
        const QJsonObject model = json.value(QLatin1String("model")).toObject();
        auto withModelKey = [&](const QString& key, const QJsonValue& value) {
            QJsonObject m = model, j = json;
            m.insert(key, value);
            j.insert(QStringLiteral("model"), m);
            return QJsonDocument(j).toJson(QJsonDocument::Compact);
        };
        auto withKey = [&](const QString& key, const QJsonValue& value) {
            QJsonObject j = json;
            j.insert(key, value);
            return QJsonDocument(j).toJson(QJsonDocument::Compact);
        };
        add(family + QStringLiteral(" model.type unknown"),
            withModelKey(QStringLiteral("type"), QStringLiteral("Nope")), true);
        add(family + QStringLiteral(" model.vocab a number"),
            withModelKey(QStringLiteral("vocab"), 5), true);
        add(family + QStringLiteral(" model.vocab a string"),
            withModelKey(QStringLiteral("vocab"), QStringLiteral("x")), true);
        add(family + QStringLiteral(" model a list"),
            withKey(QStringLiteral("model"), QJsonArray{}), true);
        if (model.contains(QLatin1String("merges"))) {
            add(family + QStringLiteral(" merges an object"),
                withModelKey(QStringLiteral("merges"), QJsonObject{}), true);
            add(family + QStringLiteral(" merges of numbers"),
                withModelKey(QStringLiteral("merges"), QJsonArray{1, 2}), true);
            add(family + QStringLiteral(" merges of missing tokens"),
                withModelKey(QStringLiteral("merges"), QJsonArray{"qqqqq zzzzz"}), true);
        }
        if (model.value(QLatin1String("vocab")).isObject()) {
            // Ids as strings, negative, huge, fractional; two tokens on one id (may be valid).
            QJsonObject vocab = model.value(QLatin1String("vocab")).toObject();
            const QString first = vocab.begin().key();
            for (const auto& [what, value] :
                 QList<QPair<QString, QJsonValue>>{{"a string", QStringLiteral("3")},
                                                   {"negative", -3},
                                                   {"1e300", 1e300},
                                                   {"2.5", 2.5},
                                                   {"null", QJsonValue::Null}}) {
                QJsonObject v = vocab;
                v.insert(first, value);
                add(family + QStringLiteral(" vocab id ") + what,
                    withModelKey(QStringLiteral("vocab"), v), true);
            }
            QJsonObject v = vocab;
            v.insert(QStringLiteral("zzzz-new"), vocab.begin().value());
            add(family + QStringLiteral(" two tokens on one id"),
                withModelKey(QStringLiteral("vocab"), v), false);
            v = vocab;
            v.insert(QStringLiteral("zzzz-far"), 1e9);
            add(family + QStringLiteral(" vocab id 1e9"), withModelKey(QStringLiteral("vocab"), v),
                false);
        }
        for (const char* key : {"normalizer", "pre_tokenizer", "post_processor", "decoder"}) {
            add(family + QStringLiteral(" %1 unknown type").arg(QLatin1String(key)),
                withKey(QLatin1String(key), QJsonObject{{"type", "Nope"}}), true);
            add(family + QStringLiteral(" %1 a number").arg(QLatin1String(key)),
                withKey(QLatin1String(key), 5), false);
            add(family + QStringLiteral(" %1 a list").arg(QLatin1String(key)),
                withKey(QLatin1String(key), QJsonArray{1}), false);
        }
        add(family + QStringLiteral(" added_tokens an object"),
            withKey(QStringLiteral("added_tokens"), QJsonObject{}), false);
        add(family + QStringLiteral(" added token without content"),
            withKey(QStringLiteral("added_tokens"), QJsonArray{QJsonObject{{"id", 1}}}), false);
        add(family + QStringLiteral(" added token id -1"),
            withKey(QStringLiteral("added_tokens"),
                    QJsonArray{QJsonObject{{"id", -1}, {"content", "<x>"}, {"special", true}}}),
            false);
        add(family + QStringLiteral(" added token empty"),
            withKey(QStringLiteral("added_tokens"),
                    QJsonArray{QJsonObject{{"id", 7}, {"content", ""}, {"special", true}}}),
            false);
        QRandomGenerator random(151);
        for (int i = 0; i < 12; ++i) {
            QByteArray flipped = bytes;
            const qsizetype at = qsizetype(random.bounded(quint32(bytes.size())));
            flipped[at] = char(flipped[at] ^ (1 << random.bounded(8)));
            add(family + QStringLiteral(" byte %1 flipped").arg(at), flipped, false);
        }
    }
}

// A tokenizer whose vocabulary is larger than the model's embedding: the model must refuse the
// ids it cannot embed (never read past the embedding).
void addVocabMismatchCases(std::vector<MalformedCase>& cases) {
    const auto base = baseModelFiles();
    QJsonObject tokenizer =
        QJsonDocument::fromJson(base.at(QStringLiteral("tokenizer.json"))).object();
    QJsonArray added = tokenizer.value(QLatin1String("added_tokens")).toArray();
    for (int id : {2000, 2001, 5000, 1000000}) {
        QJsonArray more = added;
        more.append(QJsonObject{{"id", id},
                                {"content", "<beyond>"},
                                {"single_word", false},
                                {"lstrip", false},
                                {"rstrip", false},
                                {"normalized", false},
                                {"special", true}});
        tokenizer.insert(QStringLiteral("added_tokens"), more);
        MalformedCase c{QStringLiteral("vocab/embedding"),
                        QStringLiteral("added token id %1").arg(id),
                        Runner::Model,
                        base,
                        true,
                        {}};
        c.files[QStringLiteral("tokenizer.json")] = QJsonDocument(tokenizer).toJson();
        cases.push_back(std::move(c));
    }
    // config.json's vocabulary disagreeing with the embedding's rows.
    QJsonObject config = QJsonDocument::fromJson(base.at(QStringLiteral("config.json"))).object();
    for (int vocab : {1999, 2001, 4000, 1}) {
        config.insert(QStringLiteral("vocab_size"), vocab);
        MalformedCase c{QStringLiteral("vocab/embedding"),
                        QStringLiteral("vocab_size %1").arg(vocab),
                        Runner::Model,
                        base,
                        true,
                        {}};
        c.files[QStringLiteral("config.json")] = QJsonDocument(config).toJson();
        cases.push_back(std::move(c));
    }
}

QByteArray npy(const QByteArray& descr, const QByteArray& shape, const QByteArray& data,
               const QByteArray& fortran = "False") {
    QByteArray header =
        "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': (" + shape + "), }";
    while ((header.size() + 11) % 64)
        header.append(' ');
    header.append('\n');
    QByteArray out("\x93NUMPY\x01\x00", 8);
    out.append(char(header.size() & 0xff)).append(char(header.size() >> 8));
    return out + header + data;
}

void addAttentionCases(std::vector<MalformedCase>& cases) {
    // [2, 2, 3, 3] causal rows (each sums to one).
    std::vector<float> values;
    for (int lh = 0; lh < 4; ++lh)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j)
                values.push_back(j <= i ? 1.0f / float(i + 1) : 0.0f);
    const QByteArray data(reinterpret_cast<const char*>(values.data()),
                          qsizetype(values.size() * 4));
    const QByteArray good = npy("<f4", "2, 2, 3, 3", data);
    auto add = [&](const QString& file, const QString& name, const QByteArray& bytes,
                   bool mustFail = true) {
        MalformedCase c{
            QStringLiteral("attention file"), name, Runner::Attention, {}, mustFail, {}};
        c.files[file] = bytes;
        cases.push_back(std::move(c));
    };
    const qsizetype headerEnd = good.size() - data.size();
    std::set<qsizetype> cuts;
    for (qsizetype n = 0; n <= 11; ++n)
        cuts.insert(n);
    for (qsizetype n = headerEnd - 2; n < good.size(); n += 4)
        cuts.insert(n);
    for (qsizetype n : cuts)
        add(QStringLiteral("a.npy"), QStringLiteral("npy truncated at %1").arg(n), good.left(n));
    for (const auto& [what, shape] :
         QList<QPair<QString, QByteArray>>{{"absurd shape", "100000, 100000, 100000, 100000"},
                                           {"shape 2^62", "4611686018427387904, 1, 1, 1"},
                                           {"negative shape", "-2, 2, 3, 3"},
                                           {"not square", "2, 2, 3, 4"},
                                           {"five dimensions", "2, 1, 2, 3, 3"},
                                           {"empty shape", ""},
                                           {"shape of words", "a, b"},
                                           {"zero tokens", "2, 2, 0, 0"}})
        add(QStringLiteral("a.npy"), QStringLiteral("npy ") + what, npy("<f4", shape, data));
    for (const char* descr : {"<i8", "<f8", ">f4", "|b1", "<U4", "garbage"})
        add(QStringLiteral("a.npy"), QStringLiteral("npy descr %1").arg(QLatin1String(descr)),
            npy(descr, "2, 2, 3, 3", data));
    add(QStringLiteral("a.npy"), QStringLiteral("npy fortran order"),
        npy("<f4", "2, 2, 3, 3", data, "True"), false);
    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        std::vector<float> poisoned = values;
        poisoned[7] = bad;
        add(QStringLiteral("a.npy"), QStringLiteral("npy value %1").arg(double(bad)),
            npy("<f4", "2, 2, 3, 3",
                QByteArray(reinterpret_cast<const char*>(poisoned.data()),
                           qsizetype(poisoned.size() * 4))));
    }
    QByteArray badMagic = good;
    badMagic[1] = 'X';
    add(QStringLiteral("a.npy"), QStringLiteral("npy bad magic"), badMagic);
    QByteArray badLength = good;
    badLength[8] = char(0xFF);
    badLength[9] = char(0xFF);
    add(QStringLiteral("a.npy"), QStringLiteral("npy header length 65535"), badLength);

    // safetensors attention: written by the library's writer, then mutated.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("a.safetensors"));
    if (!writeSafeTensors(path,
                          {makeF32(QStringLiteral("attentions"), {2, 2, 3, 3}, values.data())},
                          {{QStringLiteral("tokens"), QStringLiteral("[\"a\",\"b\",\"c\"]")}}))
        return;
    const QByteArray st = readAll(path);
    const SafeTensorsLayout layout = parseLayout(st);
    for (qsizetype n : spread(jsonBoundaries(st.left(layout.dataStart())), 25))
        add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors truncated at %1").arg(n),
            st.left(n));
    for (qsizetype n = layout.dataStart(); n < st.size(); n += 20)
        add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors truncated at %1").arg(n),
            st.left(n));
    add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors not square"),
        withEntry(st, layout, QStringLiteral("attentions"), QStringLiteral("shape"),
                  QJsonArray{2, 2, 9, 1}));
    add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors I32"),
        withEntry(st, layout, QStringLiteral("attentions"), QStringLiteral("dtype"),
                  QStringLiteral("I32")));
    add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors NaN"),
        withFloat(st, layout.dataStart() + 8, std::numeric_limits<float>::quiet_NaN()));
    for (const char* tokens : {"[\"a\"]", "5", "[1,2,3]", "{", "[\"a\",\"b\",\"c\",\"d\"]"}) {
        QJsonObject header = layout.header;
        header.insert(QStringLiteral("__metadata__"),
                      QJsonObject{{"tokens", QLatin1String(tokens)}});
        add(QStringLiteral("a.safetensors"),
            QStringLiteral("safetensors metadata tokens %1").arg(QLatin1String(tokens)),
            withHeader(st, layout, QJsonDocument(header).toJson(QJsonDocument::Compact)), false);
    }
    {
        QJsonObject header = layout.header;
        header.remove(QStringLiteral("attentions"));
        add(QStringLiteral("a.safetensors"), QStringLiteral("safetensors without attentions"),
            withHeader(st, layout, QJsonDocument(header).toJson(QJsonDocument::Compact)));
    }
    // npz: a stored zip of the npy, truncated at a sample of offsets; and a non-zip.
    add(QStringLiteral("a.npz"), QStringLiteral("npz not a zip"), good);
    add(QStringLiteral("a.npz"), QStringLiteral("npz empty"), QByteArray());
}

// PNG chunks: offsets of each chunk's length, type, data and CRC.
std::vector<qsizetype> pngBoundaries(const QByteArray& png) {
    std::vector<qsizetype> at{0, 1, 7, 8};
    qsizetype pos = 8;
    while (pos + 8 <= png.size()) {
        const qsizetype length = qFromBigEndian<quint32>(png.constData() + pos);
        for (qsizetype n : {pos, pos + 4, pos + 8, pos + 8 + length, pos + 12 + length})
            at.push_back(n);
        pos += 12 + length;
    }
    return at;
}

quint32 crc32(const QByteArray& bytes) {
    quint32 crc = 0xFFFFFFFFu;
    for (char c : bytes) {
        crc ^= quint8(c);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// The PNG with IHDR's width and height replaced (CRC recomputed, so only the size is wrong).
QByteArray pngWithSize(QByteArray png, quint32 width, quint32 height) {
    qToBigEndian<quint32>(width, png.data() + 16);
    qToBigEndian<quint32>(height, png.data() + 20);
    qToBigEndian<quint32>(crc32(png.mid(12, 17)), png.data() + 29);
    return png;
}

void addImageCases(std::vector<MalformedCase>& cases) {
    auto add = [&](const QString& file, const QString& name, const QByteArray& bytes,
                   bool mustFail) {
        MalformedCase c{QStringLiteral("image"), name, Runner::Image, {}, mustFail, {}};
        c.files[file] = bytes;
        cases.push_back(std::move(c));
    };
    const QString images = QStringLiteral(ATTNSCOPE_TEST_DATA "/images/");
    for (const char* name : {"tiny-5x3.png", "grey-40x30.png", "palette-40x30.png",
                             "rgb16-45x35.png", "alpha-30x20.png"}) {
        const QByteArray png = readAll(images + QLatin1String(name));
        for (qsizetype n : pngBoundaries(png))
            if (n < png.size())
                // Before IHDR's data is complete nothing can be decoded; later cuts may still
                // give a (partial) picture, as other decoders do.
                add(QStringLiteral("p.png"),
                    QStringLiteral("%1 truncated at %2").arg(QLatin1String(name)).arg(n),
                    png.left(n), n < 29);
        for (const auto& [w, h] : QList<QPair<quint32, quint32>>{{100000, 100000},
                                                                 {0, 0},
                                                                 {0x7FFFFFFF, 1},
                                                                 {1, 0x7FFFFFFF},
                                                                 {0xFFFFFFFF, 0xFFFFFFFF}})
            add(QStringLiteral("p.png"),
                QStringLiteral("%1 IHDR %2 x %3").arg(QLatin1String(name)).arg(w).arg(h),
                pngWithSize(png, w, h), true);
        QRandomGenerator random(1515);
        for (int i = 0; i < 10; ++i) {
            QByteArray flipped = png;
            const qsizetype at = qsizetype(random.bounded(quint32(png.size())));
            flipped[at] = char(flipped[at] ^ (1 << random.bounded(8)));
            add(QStringLiteral("p.png"),
                QStringLiteral("%1 byte %2 flipped").arg(QLatin1String(name)).arg(at), flipped,
                false);
        }
    }
    for (const char* name : {"cmyk-40x30.jpg", "animated-32x24.gif"}) {
        const QByteArray bytes = readAll(images + QLatin1String(name));
        const QString file = QStringLiteral("p.") + QFileInfo(QLatin1String(name)).suffix();
        for (int i = 0; i <= 20; ++i) {
            const qsizetype n = qsizetype(i) * bytes.size() / 20;
            add(file, QStringLiteral("%1 truncated at %2").arg(QLatin1String(name)).arg(n),
                bytes.left(n), n < 10);
        }
    }
    add(QStringLiteral("p.png"), QStringLiteral("empty"), QByteArray(), true);
    add(QStringLiteral("p.png"), QStringLiteral("text"), "not a picture at all", true);
}

const std::vector<MalformedCase>& allCases() {
    static const std::vector<MalformedCase> cases = [] {
        std::vector<MalformedCase> all;
        addSafeTensorsCases(all);
        addShardIndexCases(all);
        addConfigCases(all);
        addTokenizerCases(all);
        addVocabMismatchCases(all);
        addAttentionCases(all);
        addImageCases(all);
        return all;
    }();
    return cases;
}

// Writes the case's files into `dir`; returns the path to read (the folder, or the one file).
QString materialise(const MalformedCase& c, const QString& dir) {
    QDir(dir).removeRecursively();
    QDir().mkpath(dir);
    const auto& base = baseModelFiles();
    for (const auto& [name, bytes] : c.files) {
        const auto original = base.find(name);
        if (original != base.end() && bytes.isSharedWith(original->second)) {
            QFile::link(llamaDir() + QLatin1Char('/') + name, dir + QLatin1Char('/') + name);
            continue;
        }
        QFile file(dir + QLatin1Char('/') + name);
        if (file.open(QIODevice::WriteOnly)) file.write(bytes);
    }
    return c.runner == Runner::Model ? dir : dir + QLatin1Char('/') + c.files.begin()->first;
}

// ATTNSCOPE_MALFORMED_DUMP=DIR writes every case's malformed file as an input for the fuzz
// target that reads it (DIR/<target>/<case>), so the fuzzers' sanitizer build can replay them:
// fuzz/fuzz_<target> -runs=0 DIR/<target>.
void dumpForFuzzers(const MalformedCase& c, int index) {
    const QString root = qEnvironmentVariable("ATTNSCOPE_MALFORMED_DUMP");
    if (root.isEmpty()) return;
    const auto& base = baseModelFiles();
    for (const auto& [name, bytes] : c.files) {
        const auto original = base.find(name);
        if (original != base.end() && bytes.isSharedWith(original->second)) continue;
        QString target;
        QByteArray input = bytes;
        if (name.endsWith(QLatin1String(".index.json")))
            target = QStringLiteral("shard_index");
        else if (c.runner == Runner::Attention) {
            target = QStringLiteral("attention_file"); // selector byte: the format
            input.prepend(char(name.endsWith(QLatin1String(".safetensors")) ? 0
                               : name.endsWith(QLatin1String(".npy"))       ? 1
                                                                            : 2));
        } else if (c.runner == Runner::Image)
            target = QStringLiteral("image");
        else if (name.endsWith(QLatin1String(".safetensors")))
            target = QStringLiteral("safetensors");
        else if (name == QLatin1String("config.json"))
            target = QStringLiteral("config");
        else if (name == QLatin1String("tokenizer.json"))
            target = QStringLiteral("tokenizer_json");
        else
            continue;
        QDir().mkpath(root + QLatin1Char('/') + target);
        QFile file(QStringLiteral("%1/%2/case-%3").arg(root, target).arg(index));
        if (file.open(QIODevice::WriteOnly)) file.write(input);
    }
}

// The library's answer for a case: an error message, or empty when the case was read fine.
QString readWithLibrary(const MalformedCase& c, const QString& path) {
    switch (c.runner) {
    case Runner::Model: {
        auto model = LoadedModel::open(path);
        if (!model) return model.message();
        AnalysisRequest ids;
        ids.ids = {1, 2, 3};
        ids.keep = KeepOptions::attentionOnly();
        if (auto a = (*model)->analyze(ids); !a) return a.message();
        if ((*model)->tokenizer()) {
            AnalysisRequest text;
            text.text = QStringLiteral("Hello <beyond> world, the cat sat.");
            text.keep = KeepOptions::attentionOnly();
            if (auto a = (*model)->analyze(text); !a) return a.message();
        }
        return {};
    }
    case Runner::Config: {
        auto config = ModelConfig::fromFile(path);
        return config ? QString() : config.message();
    }
    case Runner::Tokenizer: {
        auto tokenizer = Tokenizer::fromTokenizerJson(path);
        if (!tokenizer) return tokenizer.message();
        auto encoding = (*tokenizer)->encode(QStringLiteral("Hello wörld, the cat sat. 😀"));
        if (!encoding) return encoding.message();
        (void)(*tokenizer)->decode(encoding->ids);
        return {};
    }
    case Runner::Attention: {
        auto analysis = openAttentionFile(path);
        return analysis ? QString() : analysis.message();
    }
    case Runner::Image: {
        auto image = decodeImageData(readAll(path), QFileInfo(path).fileName());
        return image ? QString() : image.message();
    }
    }
    return {};
}

// The CLI command for a case (reading it as the library did).
QStringList cliArguments(const MalformedCase& c, const QString& path, const QString& out) {
    switch (c.runner) {
    case Runner::Model: // a text, so tokenizer ids beyond the embedding are reached too
        return {"dump", "--model", path, "--text", "Hello <beyond> world, the cat sat.", "-o", out};
    case Runner::Config:
    case Runner::Tokenizer: {
        // The case's file in a copy of the Llama folder.
        const QString dir = QFileInfo(path).absolutePath();
        for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"})
            if (!QFileInfo::exists(dir + QLatin1Char('/') + QLatin1String(name)))
                QFile::copy(llamaDir() + QLatin1Char('/') + QLatin1String(name),
                            dir + QLatin1Char('/') + QLatin1String(name));
        if (c.runner == Runner::Config) return {"info", "--model", dir};
        return {"tokenize", "--model", dir, "--text", "Hello world"};
    }
    case Runner::Attention:
        return {"info", "--attention", path};
    case Runner::Image:
        return {"dump", "--model", "default-vision", "--image", path, "-o", out};
    }
    return {};
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true; // reserves terabytes of address space: no RLIMIT_AS
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// The CLI's address space for these cases: the program, Qt, its threads' stacks and the small
// Llama fixture fit many times over; an allocation sized by an absurd header does not.
constexpr rlim_t kCliAddressSpace = rlim_t(3) << 30;

CliRun runBounded(const QStringList& args) {
    CliRun r;
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("2"));
    p.setProcessEnvironment(env);
    if (!kAddressSanitizer)
        p.setChildProcessModifier([] {
            const rlimit limit{kCliAddressSpace, kCliAddressSpace};
            ::setrlimit(RLIMIT_AS, &limit);
        });
    p.start(binary(), args);
    r.started = p.waitForStarted(20000);
    if (!r.started) return r;
    p.closeWriteChannel();
    r.finished = p.waitForFinished(60000);
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.status = p.exitStatus();
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

qint64 peakResidentKb() {
    for (const QByteArray& line : readAll(QStringLiteral("/proc/self/status")).split('\n'))
        if (line.startsWith("VmHWM:")) return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

} // namespace

class TestMalformedFiles : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QHash<QString, int> m_triedByReader, m_refusedByReader, m_cliByReader;

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY(QFileInfo::exists(llamaDir() + QStringLiteral("/model.safetensors")));
        QVERIFY(!allCases().empty());
        // The valid Llama folder itself must load and run, or every "must fail" would pass.
        MalformedCase valid{QStringLiteral("valid"),
                            QStringLiteral("valid"),
                            Runner::Model,
                            baseModelFiles(),
                            false,
                            {}};
        const QString message = readWithLibrary(valid, materialise(valid, m_dir.filePath("valid")));
        QVERIFY2(message.isEmpty(), qPrintable(message));
    }

    void library_data() {
        QTest::addColumn<int>("index");
        const auto& cases = allCases();
        for (int i = 0; i < int(cases.size()); ++i)
            QTest::addRow("%d %s: %s", i, qPrintable(cases[size_t(i)].reader),
                          qPrintable(cases[size_t(i)].name.left(90)))
                << i;
    }

    // Every case through the library: an error with a one-line message, or (where the mutation
    // may leave a valid file) a result.
    void library() {
        QFETCH(int, index);
        const MalformedCase& c = allCases()[size_t(index)];
        dumpForFuzzers(c, index);
        const QString message = readWithLibrary(c, materialise(c, m_dir.filePath("case")));
        ++m_triedByReader[c.reader];
        if (!message.isEmpty()) ++m_refusedByReader[c.reader];
        if (c.mustFail) QVERIFY2(!message.isEmpty(), "accepted a malformed file");
        if (!message.isEmpty()) {
            QVERIFY2(!message.contains(QLatin1Char('\n')), qPrintable(message));
            QVERIFY2(message.size() < 600, qPrintable(message));
        }
        if (!c.messageMustName.isEmpty())
            QVERIFY2(message.contains(c.messageMustName), qPrintable(message));
    }

    void cli_data() {
        QTest::addColumn<int>("index");
        // Up to 5 refused cases per reader, spread over its cases.
        QHash<QString, std::vector<int>> byReader;
        const auto& cases = allCases();
        for (int i = 0; i < int(cases.size()); ++i)
            if (cases[size_t(i)].mustFail) byReader[cases[size_t(i)].reader].push_back(i);
        for (auto it = byReader.begin(); it != byReader.end(); ++it) {
            const std::vector<int>& list = it.value();
            const size_t take = std::min<size_t>(5, list.size());
            for (size_t k = 0; k < take; ++k) {
                const int i = list[k * list.size() / take];
                QTest::addRow("%d %s: %s", i, qPrintable(cases[size_t(i)].reader),
                              qPrintable(cases[size_t(i)].name.left(90)))
                    << i;
            }
        }
    }

    // A sample through the real binary, in a bounded address space: exit 2, exactly one line
    // "attnscope: error: …" on stderr, no signal, no output file left.
    void cli() {
        QFETCH(int, index);
        const MalformedCase& c = allCases()[size_t(index)];
        const QString path = materialise(c, m_dir.filePath("cli-case"));
        const QString out = m_dir.filePath("out.npy");
        QFile::remove(out);
        const CliRun r = runBounded(cliArguments(c, path, out));
        ++m_cliByReader[c.reader];
        QVERIFY2(r.finished, qPrintable(QStringLiteral("hung: ") + r.describe()));
        QVERIFY2(r.status == QProcess::NormalExit,
                 qPrintable(QStringLiteral("signal: ") + r.describe()));
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.errLines().first().startsWith(QLatin1String("attnscope: error: ")),
                 qPrintable(r.describe()));
        QVERIFY(!QFileInfo::exists(out));
    }

    void cleanupTestCase() {
        QStringList counts;
        int total = 0;
        for (auto it = m_triedByReader.begin(); it != m_triedByReader.end(); ++it) {
            counts << QStringLiteral("%1 %2 (%3 refused, %4 through the CLI)")
                          .arg(it.key())
                          .arg(it.value())
                          .arg(m_refusedByReader.value(it.key()))
                          .arg(m_cliByReader.value(it.key()));
            total += it.value();
        }
        counts.sort();
        qInfo("malformed cases: %d: %s", total, qPrintable(counts.join(QStringLiteral("; "))));
        // The library read every case in this process: its peak stays far below what absurd
        // headers (terabytes) would ask for.
        const qint64 peakKb = peakResidentKb();
        qInfo("peak resident memory of the library run: %lld MB", peakKb / 1024);
        QVERIFY(peakKb > 0 && peakKb < 1536 * 1024);
    }
};

int main(int argc, char** argv) {
    QGuiApplication app(argc, argv); // image decoding uses Qt's image plugins
    TestMalformedFiles test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_malformed_files.moc"
