#include "dump.h"

#include "file_limits.h"
#include "safetensors.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace attnscope {

namespace {

QJsonArray tokensJson(const QStringList& tokens) {
    QJsonArray a;
    for (const QString& t : tokens)
        a.append(t);
    return a;
}

QJsonArray int64Json(const std::vector<int64_t>& values) {
    QJsonArray a;
    for (int64_t v : values)
        a.append(qint64(v));
    return a;
}

QJsonArray offsetsJson(const std::vector<std::pair<int, int>>& offsets) {
    QJsonArray a;
    for (const auto& [b, e] : offsets)
        a.append(QJsonArray{b, e});
    return a;
}

Status writeBytes(const QString& path, const QByteArray& header, const char* data, qint64 size) {
    OutputFile out(path); // atomic for files; devices and FIFOs written in place; errors checked
    if (auto s = out.open(); !s) return s;
    out.device()->write(header);
    if (size > 0) out.device()->write(data, size);
    return out.commit();
}

} // namespace

// NumPy format 1.0: magic, header dict padded so the data starts 64-byte aligned.
static QByteArray npyHeader(const std::vector<int64_t>& shapeDims) {
    QStringList dims;
    for (int64_t d : shapeDims)
        dims << QString::number(d);
    QString shape = dims.join(QStringLiteral(", "));
    if (shapeDims.size() == 1) shape += QLatin1Char(',');
    QByteArray dict = QStringLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (%1), }")
                          .arg(shape)
                          .toLatin1();
    const int preamble = 10;
    while ((preamble + dict.size() + 1) % 64 != 0)
        dict.append(' ');
    dict.append('\n');
    QByteArray header("\x93NUMPY\x01\x00", 8);
    const uint16_t len = uint16_t(dict.size());
    header.append(char(len & 0xff)).append(char(len >> 8)).append(dict);
    return header;
}

Status writeNpy(const QString& path, const Tensor& t) {
    return writeBytes(path, npyHeader(t.shape), reinterpret_cast<const char*>(t.data.data()),
                      qint64(t.data.size() * 4));
}

// [L', H', T, T] of the kept attention (empty when none is kept), as
// ForwardResult::attentionTensor() would shape it.
static std::vector<int64_t> keptAttentionShape(const ForwardResult& forward) {
    const ForwardResult::KeptAttention kept = forward.keptAttention();
    if (kept.layers.empty()) return {};
    const Mat& stored = forward.layers[size_t(kept.layers[0])].attention[size_t(kept.heads[0])];
    const int64_t T = stored.size() > 0 ? stored.rows()
                                        : forward.attentionUncached(kept.layers[0], kept.heads[0])
                                              ->rows(); // a lazy head: computed once for T
    return {int64_t(kept.layers.size()), int64_t(kept.heads.size()), T, T};
}

// Writes the kept attention, [L', H', T, T] row-major, head by head straight from each head's
// own matrix (a lazy head is computed on its own, not cached): the bytes of
// ForwardResult::attentionTensor() without assembling it in memory.
static void streamKeptAttention(const ForwardResult& forward, QIODevice& device) {
    const ForwardResult::KeptAttention kept = forward.keptAttention();
    for (int l : kept.layers)
        for (int h : kept.heads) {
            const std::shared_ptr<const Mat> head = forward.attentionUncached(l, h); // [T, T]
            device.write(reinterpret_cast<const char*>(head->data()), qint64(head->size()) * 4);
        }
}

// The kept attention as one .npy [L', H', T, T]: header, then head after head.
static Status writeAttentionNpy(const QString& path, const ForwardResult& forward) {
    OutputFile out(path); // atomic for files; devices and FIFOs written in place; errors checked
    if (auto s = out.open(); !s) return s;
    out.device()->write(npyHeader(keptAttentionShape(forward)));
    streamKeptAttention(forward, *out.device());
    return out.commit();
}

OverlappedDump::OverlappedDump(QString path, int layers, int heads, const KeepOptions& keep)
    : m_path(std::move(path)) {
    const FileKind kind = fileKind(m_path);
    // Devices and FIFOs are written in place: what went out could not be taken back.
    m_enabled = m_path.endsWith(QLatin1String(".npy")) &&
                (kind == FileKind::Regular || kind == FileKind::Missing) && !keep.lazyAttention;
    const auto listed = [](const std::vector<int>& only, int x) {
        return only.empty() || std::find(only.begin(), only.end(), x) != only.end();
    };
    for (int l = 0; l < layers; ++l)
        if (listed(keep.onlyLayers, l)) m_layers.push_back(l);
    for (int h = 0; h < heads; ++h)
        if (listed(keep.onlyHeads, h)) m_heads.push_back(h);
}

OverlappedDump::~OverlappedDump() = default; // an uncommitted file is removed

void OverlappedDump::install(KeepOptions& keep) {
    if (m_enabled)
        keep.attentionDone = [this](int layer, const LayerTrace& trace) {
            onAttentionDone(layer, trace);
        };
}

void OverlappedDump::discard() {
    m_enabled = false;
    m_out.reset(); // the temporary file is removed
    m_written.clear();
}

void OverlappedDump::onAttentionDone(int layer, const LayerTrace& trace) {
    if (!m_enabled || std::find(m_layers.begin(), m_layers.end(), layer) == m_layers.end()) return;
    // Layers must come in ascending order, each once: the file's order.
    if (m_written.size() >= m_layers.size() || m_layers[m_written.size()] != layer)
        return discard();
    std::vector<const float*> heads;
    for (int h : m_heads) {
        const Mat* a = size_t(h) < trace.attention.size() ? &trace.attention[size_t(h)] : nullptr;
        if (!a || a->size() == 0 || a->rows() != a->cols() ||
            (m_tokens > 0 && a->rows() != m_tokens))
            return discard(); // computed on demand, or not [T, T]: written after the pass
        m_tokens = a->rows();
        heads.push_back(a->data());
    }
    if (!m_out) {
        m_out = std::make_unique<OutputFile>(m_path);
        if (!m_out->open()) return discard(); // writeDump gives the error after the pass
        m_out->device()->write(
            npyHeader({int64_t(m_layers.size()), int64_t(m_heads.size()), m_tokens, m_tokens}));
    }
    for (const float* head : heads) // [T, T] each
        m_out->device()->write(reinterpret_cast<const char*>(head),
                               qint64(m_tokens) * m_tokens * 4);
    m_out->startWriteback();
    m_written.push_back(std::move(heads));
}

std::optional<Status> OverlappedDump::finish(const ForwardResult& forward) {
    if (!m_enabled || !m_out || forward.isLazy()) {
        discard();
        return std::nullopt;
    }
    // Exactly the kept heads, in the file's order, and the bytes written are those the result
    // holds (the same buffers: nothing rewrites attention after its layer).
    const ForwardResult::KeptAttention kept = forward.keptAttention();
    bool same =
        kept.layers == m_layers && kept.heads == m_heads && m_written.size() == m_layers.size();
    for (size_t i = 0; same && i < m_layers.size(); ++i)
        for (size_t j = 0; same && j < m_heads.size(); ++j) {
            const Mat& a = forward.layers[size_t(m_layers[i])].attention[size_t(m_heads[j])];
            same = a.data() == m_written[i][j] && a.rows() == m_tokens && a.cols() == m_tokens;
        }
    if (!same) {
        discard();
        return std::nullopt;
    }
    Status status = m_out->commit();
    m_out.reset();
    m_enabled = false;
    return status;
}

// The "attentions" entry of a .safetensors dump, streamed head by head when the file is
// written; the same bytes and header as makeF32 over attentionTensor().
static TensorToWrite streamedAttentionEntry(const ForwardResult& forward) {
    const std::vector<int64_t> shape = keptAttentionShape(forward);
    if (shape.empty()) // nothing kept: as makeF32 writes an empty tensor
        return makeF32(QStringLiteral("attentions"), {}, nullptr);
    TensorToWrite t{QStringLiteral("attentions"), DType::F32, shape, {}, 0, {}};
    t.streamedBytes = shape[0] * shape[1] * shape[2] * shape[3] * 4;
    t.stream = [&forward](QIODevice& device) { streamKeptAttention(forward, device); };
    return t;
}

QJsonObject modelInfoJson(const LoadedModel& model) {
    const ModelConfig& c = model.config();
    return QJsonObject{
        {"family", familyName(c.family)},
        {"model_type", c.modelType},
        {"layers", c.layers},
        {"heads", c.heads},
        {"kv_heads", c.kvHeads},
        {"hidden", c.hidden},
        {"head_dim", c.headDim},
        {"vocab", c.vocab},
        {"max_positions", c.maxPositions},
        {"modality", c.modality == Modality::Image ? "image" : "text"},
        {"path", model.path()},
        // What the weights take in memory: mapped tensors (16-bit ones stay 16-bit) plus the
        // float32 copies of the rest (norms, biases, F64).
        {"weight_bytes", model.weightBytes()},
    };
}

QJsonArray tensorJson(const float* data, const std::vector<int64_t>& shape) {
    QJsonArray a;
    if (shape.empty()) return a;
    int64_t inner = 1;
    for (size_t r = 1; r < shape.size(); ++r)
        inner *= shape[r];
    const std::vector<int64_t> rest(shape.begin() + 1, shape.end());
    for (int64_t i = 0; i < shape[0]; ++i) {
        if (rest.empty())
            a.append(double(data[i]));
        else
            a.append(tensorJson(data + i * inner, rest));
    }
    return a;
}

QJsonArray matrixJson(const Mat& m) {
    return tensorJson(m.data(), {m.rows(), m.cols()});
}

QJsonArray vectorJson(const Vec& v) {
    return tensorJson(v.data(), {v.size()});
}

QJsonObject encodingJson(const Encoding& e) {
    return QJsonObject{{"ids", int64Json(e.ids)},
                       {"tokens", tokensJson(e.tokens)},
                       {"offsets", offsetsJson(e.offsets)},
                       {"type_ids", int64Json(e.typeIds)}};
}

static QJsonArray specialJson(const Encoding& e) {
    QJsonArray out;
    for (size_t i = 0; i < size_t(e.size()); ++i)
        out.append((i < e.specialMask.size() && e.specialMask[i]) ||
                           (i < e.sequenceIds.size() && e.sequenceIds[i] < 0)
                       ? 1
                       : 0);
    return out;
}

double dumpBytesPerValue(const QString& path) {
    if (path.endsWith(QLatin1String(".npy"))) return 4;
    // Streamed head by head from the pass's own matrices (no copy of the attention); the
    // last hidden state and analyses are written from where they are.
    if (path.endsWith(QLatin1String(".safetensors"))) return 0;
    if (path.endsWith(QLatin1String(".json"))) return 48; // measured: 42 per value at T = 2000
    return 0;
}

Status writeDump(const Analysis& analysis, const LoadedModel& model, const QString& path,
                 const std::vector<NamedTensor>& analyses, OverlappedDump* overlapped) {
    const Mat& last = analysis.forward.lastHiddenState; // [T, D]
    const Encoding& e = analysis.encoding;
    const bool text = model.config().modality == Modality::Text;

    if (overlapped) {
        if (analyses.empty() && path.endsWith(QLatin1String(".npy")))
            if (std::optional<Status> written = overlapped->finish(analysis.forward))
                return *written;
        overlapped->discard(); // not this file
    }
    if (path.endsWith(QLatin1String(".npy")))
        return analyses.empty() ? writeAttentionNpy(path, analysis.forward)
                                : writeNpy(path, analyses.front().second);
    if (path.endsWith(QLatin1String(".safetensors"))) {
        // Nothing is copied: [L', H', T, T] attention goes to the file head by head, the
        // other tensors straight from where they are.
        std::vector<TensorToWrite> tensors;
        tensors.push_back(streamedAttentionEntry(analysis.forward));
        const std::vector<int64_t> attentionShape = tensors.back().shape;
        if (text)
            tensors.push_back(
                makeI64(QStringLiteral("input_ids"), {int64_t(e.ids.size())}, e.ids.data()));
        tensors.push_back(
            referF32(QStringLiteral("last_hidden_state"), {last.rows(), last.cols()}, last.data()));
        for (const auto& [name, t] : analyses)
            tensors.push_back(referF32(name, t.shape, t.data.data()));
        const auto compact = [](const QJsonArray& a) {
            return QString::fromUtf8(QJsonDocument(a).toJson(QJsonDocument::Compact));
        };
        std::map<QString, QString> meta{
            {QStringLiteral("tokens"), compact(tokensJson(e.tokens))},
            {QStringLiteral("offsets"), compact(offsetsJson(e.offsets))},
            {QStringLiteral("family"), familyName(model.config().family)},
            {QStringLiteral("format"), QStringLiteral("pt")},
            // For reopening without the model (attention_file.h): the labels as the views
            // show them, which tokens are special, and the text.
            {QStringLiteral("display_tokens"), compact(tokensJson(analysis.displayTokens))},
            {QStringLiteral("special"), compact(specialJson(e))},
            {QStringLiteral("text"), analysis.text},
        };
        if (attentionShape.size() == 4 && (attentionShape[0] != analysis.layerCount() ||
                                           attentionShape[1] != analysis.headCount())) {
            // Only some heads were kept (dump --layers/--heads): say which.
            const ForwardResult::KeptAttention kept = analysis.forward.keptAttention();
            QJsonArray layers, heads;
            for (int l : kept.layers)
                layers.append(l);
            for (int h : kept.heads)
                heads.append(h);
            meta[QStringLiteral("attention_layers")] = compact(layers);
            meta[QStringLiteral("attention_heads")] = compact(heads);
        }
        // Written by `generate`: the last N tokens are the model's.
        if (analysis.generatedTokens > 0)
            meta[QStringLiteral("generated")] = QString::number(analysis.generatedTokens);
        return writeSafeTensors(path, tensors, meta);
    }
    if (path.endsWith(QLatin1String(".json"))) {
        const std::vector<int64_t> attentionsShape = keptAttentionShape(analysis.forward);
        QJsonObject root = encodingJson(e);
        root.insert(QStringLiteral("family"), familyName(model.config().family));
        root.insert(QStringLiteral("text"), analysis.text);
        if (analysis.generatedTokens > 0)
            root.insert(QStringLiteral("generated"), analysis.generatedTokens);
        root.insert(QStringLiteral("attentions_shape"), int64Json(attentionsShape));
        QJsonArray layers;
        const auto kept = analysis.forward.keptAttention(); // all, or --layers/--heads
        for (int l : kept.layers) {
            QJsonArray heads;
            for (int h : kept.heads)
                heads.append(matrixJson(*analysis.forward.attentionUncached(l, h)));
            layers.append(heads);
        }
        root.insert(QStringLiteral("attentions"), layers);
        root.insert(QStringLiteral("last_hidden_state"), matrixJson(last));
        for (const auto& [name, t] : analyses) {
            root.insert(name, tensorJson(t.data.data(), t.shape));
            root.insert(name + QStringLiteral("_shape"), int64Json(t.shape));
        }
        const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Compact);
        return writeBytes(path, bytes, nullptr, 0);
    }
    return Error{
        QStringLiteral("unknown output format for %1 (use .safetensors, .json or .npy)").arg(path)};
}

} // namespace attnscope
