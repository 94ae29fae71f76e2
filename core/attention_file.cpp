#include "attention_file.h"
#include "file_limits.h"

#include "safetensors.h"
#include "tokenizer/tokenizer.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <cmath>
#include <cstring>
#include <optional>

namespace attnscope {

namespace {

// One layer's attention as stored: H heads of [T, T], contiguous, C order.
struct LayerBlock {
    const uchar* data = nullptr;
    DType dtype = DType::F32;
    int64_t heads = 0;
    int64_t tokens = 0;
};

// What the container held, before conversion.
struct RawAttention {
    std::vector<LayerBlock> layers;
    QJsonObject metadata;             // safetensors only
    std::vector<int64_t> inputIds;    // safetensors `input_ids`, when present
    std::shared_ptr<const void> keep; // keeps the mapping alive until converted
    AttentionFileInfo info;
};

float readFloat(const uchar* p, DType dtype) {
    switch (dtype) {
    case DType::F16: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        return halfToFloat(h);
    }
    case DType::BF16: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        return bfloat16ToFloat(h);
    }
    default: {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    }
}

// A shape [L, H, T, T], [H, T, T] (one layer) or [T, T] (one head), with an optional leading
// batch of one, as {layers, heads, tokens}.
std::optional<std::array<int64_t, 3>> attentionShape(std::vector<int64_t> shape) {
    if (shape.size() < 2) return std::nullopt; // a scalar or a vector is not [T, T]
    if (shape.size() == 5 && shape[0] == 1) shape.erase(shape.begin());
    while (shape.size() < 4)
        shape.insert(shape.begin(), 1);
    if (shape.size() != 4 || shape[2] != shape[3] || shape[0] < 1 || shape[1] < 1 || shape[2] < 1)
        return std::nullopt;
    return std::array<int64_t, 3>{shape[0], shape[1], shape[2]};
}

QString shapeText(const std::vector<int64_t>& shape) {
    QStringList parts;
    for (int64_t d : shape)
        parts << QString::number(d);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

Result<RawAttention> readSafeTensors(const QString& path) {
    auto opened = SafeTensorsFile::open(path);
    if (!opened) return Error{opened.message()};
    std::shared_ptr<SafeTensorsFile> file = *opened;
    RawAttention raw;
    raw.keep = file;
    raw.metadata = file->metadata();
    raw.info.format = QStringLiteral("safetensors");
    auto blockOf = [&](const TensorInfo& t, int64_t wantLayers) -> Result<LayerBlock> {
        if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
            return Error{QStringLiteral("%1: tensor \"%2\" is %3; attention must be F32, F16 or "
                                        "BF16")
                             .arg(path, t.name, dtypeName(t.dtype))};
        const auto s = attentionShape(t.shape);
        if (!s || (*s)[0] != wantLayers)
            return Error{QStringLiteral("%1: tensor \"%2\" has shape %3; expected %4")
                             .arg(path, t.name, shapeText(t.shape),
                                  wantLayers == 1 ? QStringLiteral("[heads, T, T]")
                                                  : QStringLiteral("[layers, heads, T, T]"))};
        raw.info.dtype = dtypeName(t.dtype);
        return LayerBlock{file->bytes(t), t.dtype, (*s)[1], (*s)[2]};
    };
    if (const TensorInfo* all = file->find(QStringLiteral("attentions"))) {
        const auto s = attentionShape(all->shape);
        if (!s)
            return Error{QStringLiteral("%1: tensor \"attentions\" has shape %2; expected [layers, "
                                        "heads, T, T]")
                             .arg(path, shapeText(all->shape))};
        auto first = blockOf(*all, (*s)[0]);
        if (!first) return Error{first.message()};
        const int64_t layerBytes = (*s)[1] * (*s)[2] * (*s)[2] * dtypeSize(all->dtype);
        for (int64_t l = 0; l < (*s)[0]; ++l) {
            LayerBlock b = *first;
            b.data += l * layerBytes;
            raw.layers.push_back(b);
        }
        raw.info.layout = QStringLiteral("attentions [layers, heads, T, T]");
    } else {
        for (int l = 0;; ++l) {
            const TensorInfo* t = file->find(QStringLiteral("attentions.%1").arg(l));
            if (!t) break;
            auto block = blockOf(*t, 1);
            if (!block) return Error{block.message()};
            raw.layers.push_back(*block);
        }
        raw.info.layout = QStringLiteral("attentions.N [heads, T, T]");
    }
    if (raw.layers.empty())
        return Error{QStringLiteral("%1 holds no attention: expected a tensor \"attentions\" "
                                    "[layers, heads, T, T] or \"attentions.0\", \"attentions.1\", "
                                    "… [heads, T, T]")
                         .arg(path)};
    if (file->find(QStringLiteral("input_ids"))) {
        auto ids = file->int64Tensor(QStringLiteral("input_ids"));
        if (ids) raw.inputIds = *ids;
    }
    return raw;
}

// NumPy's .npy header: magic, version, header length, then a Python dict literal.
struct NpyArray {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    qint64 dataOffset = 0; // from the start of the .npy bytes
};

Result<NpyArray> parseNpy(const uchar* bytes, qint64 size, const QString& what) {
    if (size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0)
        return Error{QStringLiteral("%1 is not a NumPy .npy array").arg(what)};
    const int major = bytes[6];
    qint64 headerLength = 0, preamble = 0;
    if (major == 1) {
        headerLength = bytes[8] | (bytes[9] << 8);
        preamble = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return Error{QStringLiteral("%1: truncated .npy header").arg(what)};
        headerLength = qint64(bytes[8]) | (qint64(bytes[9]) << 8) | (qint64(bytes[10]) << 16) |
                       (qint64(bytes[11]) << 24);
        preamble = 12;
    } else {
        return Error{QStringLiteral("%1: .npy version %2 is not supported").arg(what).arg(major)};
    }
    if (preamble + headerLength > size)
        return Error{QStringLiteral("%1: truncated .npy header").arg(what)};
    const QString header = QString::fromLatin1(reinterpret_cast<const char*>(bytes + preamble),
                                               qsizetype(headerLength));
    static const QRegularExpression descr(QStringLiteral("'descr'\\s*:\\s*'([^']*)'"));
    static const QRegularExpression fortran(QStringLiteral("'fortran_order'\\s*:\\s*(\\w+)"));
    static const QRegularExpression shape(QStringLiteral("'shape'\\s*:\\s*\\(([^)]*)\\)"));
    const auto d = descr.match(header), f = fortran.match(header), s = shape.match(header);
    if (!d.hasMatch() || !f.hasMatch() || !s.hasMatch())
        return Error{QStringLiteral("%1: unreadable .npy header").arg(what)};
    NpyArray out;
    const QString type = d.captured(1);
    if (type == QLatin1String("<f4"))
        out.dtype = DType::F32;
    else if (type == QLatin1String("<f2"))
        out.dtype = DType::F16;
    else
        return Error{QStringLiteral("%1: .npy dtype %2 is not supported (use float32 or float16, "
                                    "little-endian)")
                         .arg(what, type)};
    if (f.captured(1) != QLatin1String("False"))
        return Error{QStringLiteral("%1: Fortran-order .npy arrays are not supported (save a "
                                    "C-order array)")
                         .arg(what)};
    for (const QString& part : s.captured(1).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const qint64 v = part.trimmed().toLongLong(&ok);
        if (!ok || v < 0) return Error{QStringLiteral("%1: bad .npy shape").arg(what)};
        out.shape.push_back(v);
    }
    out.dataOffset = preamble + headerLength;
    double bytesNeeded = dtypeSize(out.dtype);
    for (int64_t v : out.shape)
        bytesNeeded *= double(v);
    if (double(out.dataOffset) + bytesNeeded > double(size))
        return Error{QStringLiteral("%1: the .npy data is truncated (%2 bytes for shape %3)")
                         .arg(what)
                         .arg(size - out.dataOffset)
                         .arg(shapeText(out.shape))};
    return out;
}

struct MappedFile {
    std::shared_ptr<QFile> file;
    const uchar* data = nullptr;
    qint64 size = 0;
};

Result<MappedFile> mapFile(const QString& path) {
    auto file = std::make_shared<QFile>(path);
    if (!QFileInfo(path).isFile() || !file->open(QIODevice::ReadOnly))
        return Error{QStringLiteral("cannot open %1").arg(path)};
    MappedFile m;
    m.size = file->size();
    m.data = m.size > 0 ? file->map(0, m.size) : nullptr;
    if (!m.data) return Error{QStringLiteral("cannot read %1 (empty or not mappable)").arg(path)};
    m.file = std::move(file);
    return m;
}

Result<RawAttention> blocksFromNpy(const NpyArray& a, const uchar* base, const QString& what) {
    const auto s = attentionShape(a.shape);
    if (!s)
        return Error{QStringLiteral("%1 has shape %2; expected [layers, heads, T, T]")
                         .arg(what, shapeText(a.shape))};
    RawAttention raw;
    const int64_t layerBytes = (*s)[1] * (*s)[2] * (*s)[2] * dtypeSize(a.dtype);
    for (int64_t l = 0; l < (*s)[0]; ++l)
        raw.layers.push_back(
            LayerBlock{base + a.dataOffset + l * layerBytes, a.dtype, (*s)[1], (*s)[2]});
    raw.info.dtype = dtypeName(a.dtype);
    return raw;
}

Result<RawAttention> readNpy(const QString& path) {
    auto mapped = mapFile(path);
    if (!mapped) return Error{mapped.message()};
    auto array = parseNpy(mapped->data, mapped->size, path);
    if (!array) return Error{array.message()};
    auto raw = blocksFromNpy(*array, mapped->data, path);
    if (!raw) return raw;
    raw->keep = mapped->file;
    raw->info.format = QStringLiteral("npy");
    raw->info.layout = QStringLiteral("[layers, heads, T, T]");
    return raw;
}

uint32_t le32(const uchar* p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint16_t le16(const uchar* p) {
    return uint16_t(p[0] | (p[1] << 8));
}

// np.savez writes a zip of .npy members, stored (not deflated). Members are found through
// the central directory; "attentions.npy" [L, H, T, T] or "attentions.N.npy" [H, T, T].
Result<RawAttention> readNpz(const QString& path) {
    auto mapped = mapFile(path);
    if (!mapped) return Error{mapped.message()};
    const uchar* z = mapped->data;
    const qint64 size = mapped->size;
    qint64 eocd = -1;
    for (qint64 i = size - 22; i >= std::max<qint64>(0, size - 22 - 65535); --i)
        if (le32(z + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd < 0) return Error{QStringLiteral("%1 is not a .npz (zip) file").arg(path)};
    const int entries = le16(z + eocd + 10);
    qint64 at = le32(z + eocd + 16);
    if (le32(z + eocd + 16) == 0xffffffffu || le16(z + eocd + 10) == 0xffff)
        return Error{QStringLiteral("%1 is a ZIP64 archive (over 4 GB): save the attention as "
                                    ".safetensors or .npy instead")
                         .arg(path)};
    struct Member {
        qint64 data = 0, size = 0;
    };
    std::map<QString, Member> members;
    for (int e = 0; e < entries; ++e) {
        if (at + 46 > size || le32(z + at) != 0x02014b50)
            return Error{QStringLiteral("%1: damaged zip directory").arg(path)};
        const int method = le16(z + at + 10);
        const qint64 compressed = le32(z + at + 20);
        const int nameLength = le16(z + at + 28), extraLength = le16(z + at + 30),
                  commentLength = le16(z + at + 32);
        const qint64 local = le32(z + at + 42);
        if (at + 46 + nameLength > size)
            return Error{QStringLiteral("%1: damaged zip directory").arg(path)};
        const QString name =
            QString::fromUtf8(reinterpret_cast<const char*>(z + at + 46), nameLength);
        at += 46 + nameLength + extraLength + commentLength;
        if (!name.startsWith(QLatin1String("attentions"))) continue;
        if (method != 0)
            return Error{QStringLiteral("%1 is compressed (np.savez_compressed); save it with "
                                        "np.savez, or as .safetensors or .npy")
                             .arg(path)};
        if (local + 30 > size || le32(z + local) != 0x04034b50)
            return Error{QStringLiteral("%1: damaged zip member %2").arg(path, name)};
        const qint64 data = local + 30 + le16(z + local + 26) + le16(z + local + 28);
        if (data + compressed > size)
            return Error{QStringLiteral("%1: zip member %2 is truncated").arg(path, name)};
        members[name] = Member{data, compressed};
    }
    auto member = [&](const QString& name) -> Result<RawAttention> {
        const Member m = members.at(name);
        auto array = parseNpy(z + m.data, m.size, path + QLatin1Char(':') + name);
        if (!array) return Error{array.message()};
        return blocksFromNpy(*array, z + m.data, path + QLatin1Char(':') + name);
    };
    RawAttention raw;
    if (members.count(QStringLiteral("attentions.npy"))) {
        auto all = member(QStringLiteral("attentions.npy"));
        if (!all) return all;
        raw = std::move(*all);
        raw.info.layout = QStringLiteral("attentions [layers, heads, T, T]");
    } else {
        for (int l = 0; members.count(QStringLiteral("attentions.%1.npy").arg(l)); ++l) {
            auto layer = member(QStringLiteral("attentions.%1.npy").arg(l));
            if (!layer) return layer;
            if (layer->layers.size() != 1)
                return Error{
                    QStringLiteral("%1: attentions.%2 must be [heads, T, T]").arg(path).arg(l)};
            raw.layers.push_back(layer->layers[0]);
            raw.info.dtype = layer->info.dtype;
        }
        raw.info.layout = QStringLiteral("attentions.N [heads, T, T]");
    }
    if (raw.layers.empty())
        return Error{QStringLiteral("%1 holds no attention: expected attentions.npy or "
                                    "attentions.0.npy, attentions.1.npy, …")
                         .arg(path)};
    raw.keep = mapped->file;
    raw.info.format = QStringLiteral("npz");
    return raw;
}

Result<QStringList> stringList(const QJsonValue& value, const QString& what) {
    const QJsonArray array = value.isObject()
                                 ? value.toObject().value(QStringLiteral("tokens")).toArray()
                                 : value.toArray();
    if (!value.isArray() && !(value.isObject() && value.toObject().value("tokens").isArray()))
        return Error{QStringLiteral("%1: expected a JSON list of token strings, or an object with "
                                    "\"tokens\"")
                         .arg(what)};
    QStringList out;
    for (const QJsonValue& v : array) {
        if (!v.isString())
            return Error{QStringLiteral("%1: every token must be a string").arg(what)};
        out << v.toString();
    }
    return out;
}

Result<QStringList> readTokensFile(const QString& path) {
    // Far more than any token list; a pipe (<(...)) is read up to the same limit.
    if (fileKind(path) == FileKind::Missing)
        return Error{QStringLiteral("cannot open tokens file %1").arg(path)};
    auto bytes = readBoundedFile(path, kMaxTokensJsonBytes, QStringLiteral("tokens file"), true);
    if (!bytes) return bytes.error();
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &error);
    if (error.error != QJsonParseError::NoError)
        return Error{QStringLiteral("tokens file %1: %2").arg(path, error.errorString())};
    return stringList(doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object()), path);
}

// A list stored as a JSON string in safetensors metadata.
std::optional<QJsonArray> metadataArray(const QJsonObject& metadata, const char* key) {
    const QJsonValue v = metadata.value(QLatin1String(key));
    if (!v.isString()) return std::nullopt;
    const QJsonDocument doc = QJsonDocument::fromJson(v.toString().toUtf8());
    if (!doc.isArray()) return std::nullopt;
    return doc.array();
}

bool looksSpecial(const QString& token) {
    static const QRegularExpression special(
        QStringLiteral("^(\\[[A-Z]+\\]|<\\|[^|]+\\|>|</?s>|<(pad|unk|mask|bos|eos|cls|sep)>)$"));
    return special.match(token).hasMatch();
}

// Heads of a file too big to convert whole: converted from the mapping when asked for, so only
// the heads in use are resident. Non-finite values (which the eager loader refuses up front,
// having read everything) are drawn as 0 rather than read at open.
class MappedHeads final : public HeadSource {
public:
    MappedHeads(std::vector<LayerBlock> layers, std::shared_ptr<const void> mapping)
        : m_layers(std::move(layers)), m_mapping(std::move(mapping)) {}
    Mat head(const ForwardResult&, int layer, int head) const override {
        const LayerBlock& block = m_layers[size_t(layer)];
        const int64_t T = block.tokens, cells = T * T;
        Mat m(T, T); // [T, T]
        convertHead(block, head, m);
        for (int64_t i = 0; i < cells; ++i)
            if (!std::isfinite(m.data()[i])) m.data()[i] = 0;
        return m;
    }
    // Converts head h of `block` into m [T, T]; false when a value is NaN or infinite.
    static bool convertHead(const LayerBlock& block, int64_t h, Mat& m) {
        const int64_t cells = block.tokens * block.tokens;
        const int size = dtypeSize(block.dtype);
        const uchar* src = block.data + h * cells * size;
        float* dst = m.data();
        bool finite = true;
        for (int64_t i = 0; i < cells; ++i) {
            dst[i] = readFloat(src + i * size, block.dtype);
            finite = finite && std::isfinite(dst[i]);
        }
        return finite;
    }

private:
    std::vector<LayerBlock> m_layers;
    std::shared_ptr<const void> m_mapping; // keeps the file mapped while heads are read
};

} // namespace

QStringList displayTokensWithoutTokenizer(const QStringList& tokens) {
    // Byte-level vocabularies mark a leading space with Ġ (U+0120) and a newline with Ċ.
    const bool byteLevel = std::any_of(tokens.begin(), tokens.end(), [](const QString& t) {
        return t.contains(QChar(0x0120)) || t.contains(QChar(0x010A));
    });
    QStringList out;
    for (const QString& token : tokens)
        out << Tokenizer::displayToken(token, byteLevel);
    return out;
}

Result<Analysis> openAttentionFile(const QString& path, const QString& tokensPath,
                                   AttentionFileInfo* infoOut) {
    if (auto limit = checkMemoryLimitVariable(); !limit) return limit.error();
    const QString suffix = QFileInfo(path).suffix().toLower();
    Result<RawAttention> read =
        suffix == QLatin1String("safetensors") ? readSafeTensors(path)
        : suffix == QLatin1String("npy")       ? readNpy(path)
        : suffix == QLatin1String("npz")
            ? readNpz(path)
            : Result<RawAttention>(Error{QStringLiteral("%1: an attention file must end in "
                                                        ".safetensors, .npy or .npz")
                                             .arg(path)});
    if (!read) return Error{read.message()};
    RawAttention& raw = *read;
    const int64_t L = int64_t(raw.layers.size());
    const int64_t H = raw.layers[0].heads, T = raw.layers[0].tokens;
    for (int64_t l = 1; l < L; ++l)
        if (raw.layers[size_t(l)].heads != H || raw.layers[size_t(l)].tokens != T)
            return Error{QStringLiteral("%1: layer %2 has %3 heads of %4 tokens, layer 0 has %5 of "
                                        "%6")
                             .arg(path)
                             .arg(l)
                             .arg(raw.layers[size_t(l)].heads)
                             .arg(raw.layers[size_t(l)].tokens)
                             .arg(H)
                             .arg(T)};
    const double bytes = double(L) * double(H) * double(T) * double(T) * 4.0;
    // Bigger than eager attention may be: heads stay in the mapping, converted on demand, and
    // only the cache of converted heads (plus one head per reader) counts as resident.
    const bool mapped = bytes > eagerAttentionBudgetBytes();
    const double resident = headCacheBytes(T) + 4.0 * double(T) * double(T) * 4.0;
    if ((mapped ? resident : bytes) > memoryBudgetBytes())
        return Error{
            QStringLiteral("%1: %2 layers × %3 heads × (%4 tokens)² of attention need %5 GB "
                           "as float32, more than this computer allows (%6 GB)")
                .arg(path)
                .arg(L)
                .arg(H)
                .arg(T)
                .arg(bytes / 1e9, 0, 'f', 1)
                .arg(memoryBudgetBytes() / 1e9, 0, 'f', 1)};

    // Tokens: the side file, else the file's own, else positions.
    QStringList tokens;
    bool fromFile = false;
    if (!tokensPath.isEmpty()) {
        auto list = readTokensFile(tokensPath);
        if (!list) return Error{list.message()};
        tokens = *list;
        fromFile = true;
    } else if (auto stored = metadataArray(raw.metadata, "tokens")) {
        auto list = stringList(*stored, path + QStringLiteral(" (metadata \"tokens\")"));
        if (!list) return Error{list.message()};
        tokens = *list;
        fromFile = true;
    } else {
        for (int64_t i = 0; i < T; ++i)
            tokens << QString::number(i);
    }
    if (tokens.size() != T)
        return Error{
            QStringLiteral("%1 tokens for attention over %2 tokens").arg(tokens.size()).arg(T)};

    Analysis analysis;
    Encoding& e = analysis.encoding;
    e.tokens = tokens;
    QStringList display;
    if (auto stored = metadataArray(raw.metadata, "display_tokens");
        stored && tokensPath.isEmpty() && stored->size() == T) {
        for (const QJsonValue& v : *stored)
            display << v.toString();
    } else {
        display = displayTokensWithoutTokenizer(tokens);
    }
    analysis.displayTokens = display;
    std::vector<bool> special(size_t(T), false);
    if (auto stored = metadataArray(raw.metadata, "special");
        stored && tokensPath.isEmpty() && stored->size() == T) {
        for (qsizetype i = 0; i < stored->size(); ++i)
            special[size_t(i)] = (*stored)[i].toBool() || (*stored)[i].toInt() != 0;
    } else {
        for (qsizetype i = 0; i < T; ++i)
            special[size_t(i)] = looksSpecial(tokens[i]);
    }
    // The text: as stored, else the labels joined (offsets then point into it).
    const QJsonValue storedText = raw.metadata.value(QStringLiteral("text"));
    const bool spaced = std::none_of(display.begin(), display.end(),
                                     [](const QString& t) { return t.startsWith(' '); });
    for (int64_t i = 0; i < T; ++i) {
        e.ids.push_back(size_t(i) < raw.inputIds.size() && int64_t(raw.inputIds.size()) == T
                            ? raw.inputIds[size_t(i)]
                            : i);
        e.typeIds.push_back(0);
        e.sequenceIds.push_back(special[size_t(i)] ? -1 : 0);
        e.specialMask.push_back(special[size_t(i)]);
        if (storedText.isString()) {
            e.offsets.emplace_back(0, 0);
            continue;
        }
        if (special[size_t(i)]) {
            e.offsets.emplace_back(0, 0);
            continue;
        }
        if (spaced && !analysis.text.isEmpty()) analysis.text += QLatin1Char(' ');
        const int begin = int(analysis.text.toUcs4().size());
        analysis.text += display[i];
        e.offsets.emplace_back(begin, int(analysis.text.toUcs4().size()));
    }
    if (storedText.isString()) analysis.text = storedText.toString();

    // Converted to float32, one head at a time, straight from the mapping (or, for a file
    // bigger than eager attention may be, when a view asks for the head).
    analysis.forward.layers.resize(size_t(L));
    for (int64_t l = 0; l < L; ++l)
        analysis.forward.layers[size_t(l)].attention.resize(size_t(H));
    if (mapped) {
        analysis.forward.lazyHeads = std::make_shared<const MappedHeads>(raw.layers, raw.keep);
        analysis.forward.headCache.setLimitBytes(headCacheBytes(T));
    }
    for (int64_t l = 0; l < L && !mapped; ++l) {
        const LayerBlock& block = raw.layers[size_t(l)];
        LayerTrace& trace = analysis.forward.layers[size_t(l)];
        for (int64_t h = 0; h < H; ++h) {
            Mat& m = trace.attention[size_t(h)]; // [T, T]
            m.resize(T, T);
            if (!MappedHeads::convertHead(block, h, m))
                return Error{QStringLiteral("%1: layer %2, head %3 holds NaN or infinite values")
                                 .arg(path)
                                 .arg(l)
                                 .arg(h)};
        }
    }
    raw.info.path = path;
    raw.info.tokensFromFile = fromFile;
    if (infoOut) *infoOut = raw.info;
    return analysis;
}

QJsonObject attentionFileInfoJson(const Analysis& analysis, const AttentionFileInfo& info) {
    return QJsonObject{
        {"source", "attention file"},
        {"path", info.path},
        {"format", info.format},
        {"layout", info.layout},
        {"dtype", info.dtype},
        {"layers", analysis.layerCount()},
        {"heads", analysis.headCount()},
        {"tokens", analysis.tokenCount()},
        {"token_strings", info.tokensFromFile ? "from file" : "positions"},
        {"modality", "text"},
    };
}

} // namespace attnscope
