#include "safetensors.h"

#include "file_limits.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace attnscope {

namespace {

struct DTypeEntry {
    const char* name;
    DType dtype;
    int size;
};
constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::F64, 8},   {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2},   {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
    {"BOOL", DType::Bool, 1},
};

bool parseDType(const QString& name, DType* out) {
    for (const auto& e : kDTypes)
        if (name == QLatin1String(e.name)) {
            *out = e.dtype;
            return true;
        }
    return false;
}

template <typename T> T readLE(const uchar* p) {
    T v;
    std::memcpy(&v, p, sizeof(T)); // x86-64 and aarch64 are little-endian
    return v;
}

constexpr qint64 kMaxHeaderBytes = 100 * 1024 * 1024;

} // namespace

int dtypeSize(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype) return e.size;
    return 0;
}

QString dtypeName(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype) return QString::fromLatin1(e.name);
    return QStringLiteral("?");
}

float halfToFloat(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) {
                mantissa <<= 1;
                --exponent;
            }
            mantissa &= 0x3ff;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bfloat16ToFloat(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

SafeTensorsFile::~SafeTensorsFile() = default;

Result<std::shared_ptr<SafeTensorsFile>> SafeTensorsFile::open(const QString& path) {
    // Memory-mapped: only a regular file (a FIFO would block, /dev/zero map endless zeros).
    if (auto regular = requireRegularFile(path, QStringLiteral("safetensors file")); !regular)
        return regular.error();
    auto file = std::make_unique<QFile>(path);
    if (!file->open(QIODevice::ReadOnly))
        return Error{QStringLiteral("cannot open %1: %2").arg(path, file->errorString())};
    const qint64 size = file->size();
    if (size < 8)
        return Error{
            QStringLiteral("%1 is not a safetensors file (only %2 bytes)").arg(path).arg(size)};
    const uchar* base = size > 0 ? file->map(0, size) : nullptr;
    if (!base) return Error{QStringLiteral("cannot memory-map %1").arg(path)};

    const uint64_t headerLen = readLE<uint64_t>(base);
    if (headerLen > uint64_t(kMaxHeaderBytes) || qint64(headerLen) > size - 8)
        return Error{
            QStringLiteral("%1: corrupt safetensors header (header length %2 exceeds file size %3)")
                .arg(path)
                .arg(headerLen)
                .arg(size)};

    QJsonParseError parseError;
    const QByteArray headerBytes(reinterpret_cast<const char*>(base + 8), qsizetype(headerLen));
    const QJsonDocument doc = QJsonDocument::fromJson(headerBytes, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject())
        return Error{QStringLiteral("%1: corrupt safetensors header (invalid JSON: %2)")
                         .arg(path, parseError.errorString())};

    auto st = std::shared_ptr<SafeTensorsFile>(new SafeTensorsFile);
    st->m_path = path;
    st->m_data = base + 8 + headerLen;
    st->m_dataSize = size - 8 - qint64(headerLen);

    const QJsonObject header = doc.object();
    std::vector<std::pair<qint64, qint64>> ranges;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__")) {
            st->m_metadata = it.value().toObject();
            continue;
        }
        const QJsonObject entry = it.value().toObject();
        auto bad = [&](const QString& why) {
            return Error{QStringLiteral("%1: corrupt safetensors header: tensor \"%2\" %3")
                             .arg(path, it.key(), why)};
        };
        TensorInfo info;
        info.name = it.key();
        if (!parseDType(entry.value(QLatin1String("dtype")).toString(), &info.dtype))
            return bad(QStringLiteral("has unknown dtype \"%1\"")
                           .arg(entry.value(QLatin1String("dtype")).toString()));
        const QJsonValue shapeValue = entry.value(QLatin1String("shape"));
        if (!shapeValue.isArray()) return bad(QStringLiteral("has no shape"));
        int64_t numel = 1;
        for (const QJsonValue& d : shapeValue.toArray()) {
            const double dim = d.toDouble(-1);
            // The range first: converting 1e300 to an integer is undefined behaviour.
            if (!d.isDouble() || !(dim >= 0 && dim <= 1e15) || dim != std::floor(dim))
                return bad(QStringLiteral("has an invalid shape"));
            info.shape.push_back(int64_t(dim));
            if (info.shape.back() != 0 &&
                numel > std::numeric_limits<int64_t>::max() / 16 / info.shape.back())
                return bad(QStringLiteral("has a shape too large"));
            numel *= info.shape.back();
        }
        const QJsonArray offsets = entry.value(QLatin1String("data_offsets")).toArray();
        if (offsets.size() != 2 || !offsets[0].isDouble() || !offsets[1].isDouble())
            return bad(QStringLiteral("has no valid data_offsets"));
        // Checked as doubles first: converting 1e300 to an integer is undefined behaviour.
        const double begin = offsets[0].toDouble(), end = offsets[1].toDouble();
        if (!(begin >= 0) || !(end >= begin) || end > 1e15 || begin != std::floor(begin) ||
            end != std::floor(end))
            return bad(QStringLiteral("has invalid data_offsets"));
        info.begin = qint64(begin);
        info.end = qint64(end);
        if (info.end > st->m_dataSize)
            return bad(
                QStringLiteral(
                    "points past the end of the file (truncated? needs %1 bytes, file has %2)")
                    .arg(info.end)
                    .arg(st->m_dataSize));
        if (info.end - info.begin != numel * dtypeSize(info.dtype))
            return bad(QStringLiteral("byte range %1 does not match shape x dtype size %2")
                           .arg(info.end - info.begin)
                           .arg(numel * dtypeSize(info.dtype)));
        if (info.end > info.begin) ranges.emplace_back(info.begin, info.end);
        st->m_tensors.insert(info.name, info);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            return Error{
                QStringLiteral("%1: corrupt safetensors header: tensor byte ranges overlap")
                    .arg(path)};

    st->m_file = std::move(file);
    st->m_self = st;
    return st;
}

const TensorInfo* SafeTensorsFile::find(const QString& name) const {
    auto it = m_tensors.constFind(name);
    return it == m_tensors.constEnd() ? nullptr : &it.value();
}

QStringList SafeTensorsFile::names() const {
    QStringList list = m_tensors.keys();
    list.sort();
    return list;
}

int64_t SafeTensorsFile::tensorBytes() const {
    int64_t bytes = 0;
    for (const TensorInfo& info : m_tensors)
        bytes += info.end - info.begin;
    return bytes;
}

Result<FloatTensor> SafeTensorsFile::floatTensor(const QString& name) const {
    const TensorInfo* info = find(name);
    if (!info) return Error{QStringLiteral("%1: tensor \"%2\" not found").arg(m_path, name)};
    FloatTensor out;
    out.shape = info->shape;
    const int64_t n = info->numel();
    const uchar* src = bytes(*info);
    if (info->dtype == DType::F32 && reinterpret_cast<uintptr_t>(src) % alignof(float) == 0) {
        out.data = reinterpret_cast<const float*>(src); // zero-copy into the mapping
        out.owner = m_self.lock();
        return out;
    }
    std::lock_guard<std::mutex> lock(m_convertedMutex);
    if (auto cached = m_converted.value(name).lock()) {
        out.data = cached->data();
        out.owner = cached;
        return out;
    }
    auto buffer = std::make_shared<std::vector<float>>(size_t(n));
    float* dst = buffer->data();
    switch (info->dtype) {
    case DType::F32:
        std::memcpy(dst, src, size_t(n) * 4);
        break;
    case DType::F16:
        for (int64_t i = 0; i < n; ++i)
            dst[i] = halfToFloat(readLE<uint16_t>(src + 2 * i));
        break;
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i)
            dst[i] = bfloat16ToFloat(readLE<uint16_t>(src + 2 * i));
        break;
    case DType::F64:
        for (int64_t i = 0; i < n; ++i)
            dst[i] = float(readLE<double>(src + 8 * i));
        break;
    default:
        return Error{QStringLiteral("%1: tensor \"%2\" has dtype %3, expected a float type")
                         .arg(m_path, name, dtypeName(info->dtype))};
    }
    out.data = dst;
    out.owner = buffer;
    m_converted.insert(name, buffer);
    return out;
}

Result<std::vector<int64_t>> SafeTensorsFile::int64Tensor(const QString& name) const {
    const TensorInfo* info = find(name);
    if (!info) return Error{QStringLiteral("%1: tensor \"%2\" not found").arg(m_path, name)};
    const int64_t n = info->numel();
    std::vector<int64_t> out(static_cast<size_t>(n), 0);
    const uchar* src = bytes(*info);
    for (int64_t i = 0; i < n; ++i) {
        switch (info->dtype) {
        case DType::I64:
            out[i] = readLE<int64_t>(src + 8 * i);
            break;
        case DType::I32:
            out[i] = readLE<int32_t>(src + 4 * i);
            break;
        case DType::I16:
            out[i] = readLE<int16_t>(src + 2 * i);
            break;
        case DType::I8:
            out[i] = readLE<int8_t>(src + i);
            break;
        case DType::U8:
            out[i] = readLE<uint8_t>(src + i);
            break;
        default:
            return Error{QStringLiteral("%1: tensor \"%2\" has dtype %3, expected an integer type")
                             .arg(m_path, name, dtypeName(info->dtype))};
        }
    }
    return out;
}

TensorToWrite makeF32(const QString& name, const std::vector<int64_t>& shape, const float* data) {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return {name,  DType::F32,
            shape, QByteArray(reinterpret_cast<const char*>(data), qsizetype(n * 4)),
            0,     {}};
}

TensorToWrite makeI64(const QString& name, const std::vector<int64_t>& shape, const int64_t* data) {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return {name,  DType::I64,
            shape, QByteArray(reinterpret_cast<const char*>(data), qsizetype(n * 8)),
            0,     {}};
}

TensorToWrite referF32(const QString& name, const std::vector<int64_t>& shape, const float* data) {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    TensorToWrite t{name, DType::F32, shape, {}, 0, {}};
    if (!data) return t; // as makeF32: no data, no bytes
    t.streamedBytes = n * 4;
    t.stream = [data, bytes = t.streamedBytes](QIODevice& device) {
        device.write(reinterpret_cast<const char*>(data), bytes);
    };
    return t;
}

Status writeSafeTensors(const QString& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<QString, QString>& metadata) {
    QJsonObject header;
    if (!metadata.empty()) {
        QJsonObject meta;
        for (const auto& [k, v] : metadata)
            meta.insert(k, v);
        header.insert(QStringLiteral("__metadata__"), meta);
    }
    qint64 offset = 0;
    for (const auto& t : tensors) {
        QJsonArray shape;
        for (int64_t d : t.shape)
            shape.append(qint64(d));
        QJsonObject entry{{"dtype", dtypeName(t.dtype)},
                          {"shape", shape},
                          {"data_offsets", QJsonArray{offset, offset + t.byteCount()}}};
        header.insert(t.name, entry);
        offset += t.byteCount();
    }
    QByteArray headerBytes = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (headerBytes.size() % 8 != 0)
        headerBytes.append(' '); // keep data 8-aligned
    // Atomic for files (a failed write never clobbers an existing one); devices and FIFOs are
    // written in place; every write is checked.
    OutputFile out(path);
    if (auto s = out.open(); !s) return s;
    const uint64_t len = uint64_t(headerBytes.size());
    out.device()->write(reinterpret_cast<const char*>(&len), 8);
    out.device()->write(headerBytes);
    for (const auto& t : tensors) {
        if (t.stream)
            t.stream(*out.device());
        else
            out.device()->write(t.bytes);
    }
    return out.commit();
}

} // namespace attnscope
