#include "analysis_dump.h"

#include "dump.h"
#include "file_limits.h"
#include "safetensors.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace attnscope {

namespace {

// Elements [offset, offset + prod(shape[dim:])) of data as nested arrays.
QJsonArray nestedJson(const Tensor& t, size_t dim, int64_t offset) {
    QJsonArray out;
    int64_t stride = 1;
    for (size_t d = dim + 1; d < t.shape.size(); ++d)
        stride *= t.shape[d];
    for (int64_t k = 0; k < t.shape[dim]; ++k) {
        if (dim + 1 == t.shape.size())
            out.append(double(t.data[size_t(offset + k)]));
        else
            out.append(nestedJson(t, dim + 1, offset + k * stride));
    }
    return out;
}

QJsonArray int64Json(const std::vector<int64_t>& values) {
    QJsonArray a;
    for (int64_t v : values)
        a.append(qint64(v));
    return a;
}

Status writeBytes(const QString& path, const QByteArray& bytes) {
    return writeWholeFile(path, bytes); // atomic for files; devices written in place
}

} // namespace

Tensor matrixTensor(const Mat& m) {
    Tensor t;
    t.shape = {int64_t(m.rows()), int64_t(m.cols())};
    t.data.assign(m.data(), m.data() + m.size()); // row-major: C order
    return t;
}

Status writeAnalysisTensors(const Analysis& analysis, const LoadedModel& model,
                            const std::vector<NamedTensor>& tensors, const QString& path,
                            const std::map<QString, QString>& metadata) {
    if (tensors.empty()) return Error{QStringLiteral("nothing to write to %1").arg(path)};
    const Encoding& e = analysis.encoding;
    QJsonArray tokens, offsets;
    for (const QString& token : e.tokens)
        tokens.append(token);
    for (const auto& [b, end] : e.offsets)
        offsets.append(QJsonArray{b, end});
    const bool text = model.config().modality == Modality::Text;

    if (path.endsWith(QLatin1String(".safetensors"))) {
        std::vector<TensorToWrite> out;
        for (const auto& [name, t] : tensors)
            out.push_back(makeF32(name, t.shape, t.data.data()));
        if (text)
            out.push_back(
                makeI64(QStringLiteral("input_ids"), {int64_t(e.ids.size())}, e.ids.data()));
        std::map<QString, QString> meta = metadata;
        meta[QStringLiteral("tokens")] =
            QString::fromUtf8(QJsonDocument(tokens).toJson(QJsonDocument::Compact));
        meta[QStringLiteral("offsets")] =
            QString::fromUtf8(QJsonDocument(offsets).toJson(QJsonDocument::Compact));
        meta[QStringLiteral("family")] = familyName(model.config().family);
        meta[QStringLiteral("format")] = QStringLiteral("pt");
        return writeSafeTensors(path, out, meta);
    }
    if (path.endsWith(QLatin1String(".npy"))) return writeNpy(path, tensors.front().second);
    if (path.endsWith(QLatin1String(".json"))) {
        QJsonObject root = encodingJson(e);
        root.insert(QStringLiteral("family"), familyName(model.config().family));
        root.insert(QStringLiteral("text"), analysis.text);
        for (const auto& [key, value] : metadata)
            root.insert(key, value);
        for (const auto& [name, t] : tensors) {
            root.insert(name + QStringLiteral("_shape"), int64Json(t.shape));
            root.insert(name, t.shape.empty() ? QJsonArray() : nestedJson(t, 0, 0));
        }
        return writeBytes(path, QJsonDocument(root).toJson(QJsonDocument::Compact));
    }
    return Error{
        QStringLiteral("unknown output format for %1 (use .safetensors, .json or .npy)").arg(path)};
}

Status writeStatisticsJson(const std::vector<HeadStatistics>& statistics, const QString& path) {
    QJsonArray heads;
    for (const HeadStatistics& s : statistics) {
        QJsonObject o{{"layer", s.layer}, {"head", s.head}};
        for (const auto& [key, value] : statisticValues(s))
            o.insert(QLatin1String(key), value);
        heads.append(o);
    }
    return writeBytes(path, QJsonDocument(heads).toJson(QJsonDocument::Indented));
}

} // namespace attnscope
