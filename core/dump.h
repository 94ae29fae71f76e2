#pragma once
// Writing an analysis to disk for other tools: safetensors, JSON, or NumPy .npy.
#include "result.h"
#include "session.h"

#include <QJsonObject>

namespace attnscope {

// Format chosen by the extension of `path` (.safetensors, .json, .npy).
// Writes atomically: an existing file is only replaced once the new one is complete.
Status writeDump(const Analysis& analysis, const LoadedModel& model, const QString& path);
// Memory writeDump needs per attention value on top of the analysis, by the format of `path`
// (AnalysisRequest::outputBytesPerValue): .npy one float32 copy, .safetensors two (tensor and
// file bytes), .json a JSON value (16 bytes) plus its text (up to about 24 bytes) and growth.
double dumpBytesPerValue(const QString& path);

// One float32 tensor as a NumPy .npy file (format 1.0, little-endian, C order), atomically.
Status writeNpy(const QString& path, const Tensor& tensor);

// The JSON object `attnscope info` prints.
QJsonObject modelInfoJson(const LoadedModel& model);
// The JSON object `attnscope tokenize` prints.
QJsonObject encodingJson(const Encoding& encoding);

} // namespace attnscope
