#pragma once
// Writing an analysis to disk for other tools: safetensors, JSON, or NumPy .npy.
#include "result.h"
#include "session.h"

#include <QJsonArray>
#include <QJsonObject>

namespace attnscope {

using NamedTensor = std::pair<QString, Tensor>;

// Format chosen by the extension of `path` (.safetensors, .json, .npy).
// Writes atomically: an existing file is only replaced once the new one is complete.
// `analyses` (results of dump --analysis) are written beside the attentions under their names
// (JSON: nested arrays, the shape under NAME_shape); an .npy file holds the first of them
// instead of the attentions.
Status writeDump(const Analysis& analysis, const LoadedModel& model, const QString& path,
                 const std::vector<NamedTensor>& analyses = {});

// Row-major values of this shape as nested JSON arrays (a matrix: [rows][columns]).
QJsonArray tensorJson(const float* data, const std::vector<int64_t>& shape);
QJsonArray matrixJson(const Mat& m);
QJsonArray vectorJson(const Vec& v);
// Memory writeDump needs per attention value on top of the analysis, by the format of `path`
// (AnalysisRequest::outputBytesPerValue): .npy one float32 copy, .safetensors none (streamed
// head by head), .json a JSON value (16 bytes) plus its text (up to about 24 bytes) and growth.
double dumpBytesPerValue(const QString& path);

// One float32 tensor as a NumPy .npy file (format 1.0, little-endian, C order), atomically.
Status writeNpy(const QString& path, const Tensor& tensor);

// The JSON object `attnscope info` prints.
QJsonObject modelInfoJson(const LoadedModel& model);
// The JSON object `attnscope tokenize` prints.
QJsonObject encodingJson(const Encoding& encoding);

} // namespace attnscope
