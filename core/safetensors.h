#pragma once
// safetensors: 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw bytes. Files are memory-mapped; F32 tensors
// whose bytes are 4-aligned are used in place, other float types are converted to float32.
#include "result.h"
#include "tensor.h"

#include <QByteArray>
#include <QFile>
#include <QHash>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace attnscope {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

int dtypeSize(DType dtype);
QString dtypeName(DType dtype);

struct TensorInfo {
    QString name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    qint64 begin = 0; // byte offsets relative to the data section
    qint64 end = 0;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
};

// A float32 view of a tensor: either pointing into the mapped file or owning a converted copy.
// Keeps the mapping alive through `owner`.
struct FloatTensor {
    std::vector<int64_t> shape;
    const float* data = nullptr;
    std::shared_ptr<const void> owner;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
    int64_t rows() const { return shape.size() >= 2 ? shape[0] : 1; }
    int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
    // Matrix view: a 1-D tensor [n] is a [1, n] row; a 2-D tensor [r, c] is itself.
    ConstMatMap matrix() const { return ConstMatMap(data, rows(), cols()); }
};

class SafeTensorsFile {
public:
    ~SafeTensorsFile();
    static Result<std::shared_ptr<SafeTensorsFile>> open(const QString& path);

    QString path() const { return m_path; }
    const TensorInfo* find(const QString& name) const;
    QStringList names() const;
    // Bytes of tensor data in the file (mapped; resident once read).
    int64_t tensorBytes() const;
    const QJsonObject& metadata() const { return m_metadata; }

    Result<FloatTensor> floatTensor(const QString& name) const;
    Result<std::vector<int64_t>> int64Tensor(const QString& name) const;
    const uchar* bytes(const TensorInfo& info) const { return m_data + info.begin; }

private:
    SafeTensorsFile() = default;
    QString m_path;
    std::unique_ptr<QFile> m_file;
    const uchar* m_data = nullptr; // start of the data section in the mapping
    qint64 m_dataSize = 0;
    QHash<QString, TensorInfo> m_tensors;
    QJsonObject m_metadata;
    std::weak_ptr<SafeTensorsFile> m_self;
    // float32 copies of non-F32 tensors still in use: a tensor read twice (tied input and
    // output embeddings) is converted and held once.
    mutable std::mutex m_convertedMutex;
    mutable QHash<QString, std::weak_ptr<const std::vector<float>>> m_converted;
};

// Writing: each entry's bytes must already be in the dtype's little-endian layout. An entry
// either holds its bytes, or is streamed: `streamedBytes` says how many there are (the header
// is written first, so sizes must be known) and `stream` writes exactly that many to the
// device when the entry's turn comes, so a large tensor need not be assembled in memory.
struct TensorToWrite {
    QString name;
    DType dtype;
    std::vector<int64_t> shape;
    QByteArray bytes;
    qint64 streamedBytes = 0;
    std::function<void(QIODevice&)> stream;
    qint64 byteCount() const { return stream ? streamedBytes : qint64(bytes.size()); }
};
TensorToWrite makeF32(const QString& name, const std::vector<int64_t>& shape, const float* data);
TensorToWrite makeI64(const QString& name, const std::vector<int64_t>& shape, const int64_t* data);
// A float32 entry written from `data` when the file is written (no copy): `data` must stay
// valid until writeSafeTensors returns.
TensorToWrite referF32(const QString& name, const std::vector<int64_t>& shape, const float* data);
Status writeSafeTensors(const QString& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<QString, QString>& metadata = {});

// Half-precision conversions used by readers and by compact storage.
float halfToFloat(uint16_t h);
float bfloat16ToFloat(uint16_t h);

} // namespace attnscope
