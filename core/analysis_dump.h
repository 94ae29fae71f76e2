#pragma once
// Writing derived analyses (rollout, flow, norms, statistics) for other tools, in the formats
// `dump` writes: safetensors, JSON or NumPy .npy, chosen by the extension of the path.
#include "analyses/head_statistics.h"
#include "result.h"
#include "session.h"

#include <utility>
#include <vector>

namespace attnscope {

using NamedTensor = std::pair<QString, Tensor>;

// OUT.safetensors: the tensors as F32, input_ids I64 [T] (text models), metadata "tokens",
//                  "offsets", "family" and `metadata`.
// OUT.json:        ids, tokens, offsets, type_ids, family, `metadata`; each tensor as nested
//                  arrays under its name, its shape under NAME_shape.
// OUT.npy:         the first tensor only.
// Atomic, as writeDump.
Status writeAnalysisTensors(const Analysis& analysis, const LoadedModel& model,
                            const std::vector<NamedTensor>& tensors, const QString& path,
                            const std::map<QString, QString>& metadata = {});

// A [rows, cols] matrix as a Tensor of that shape.
Tensor matrixTensor(const Mat& m);

// Head statistics as JSON: an array with one object per head, {"layer", "head", then one key
// per statistic (statisticValues order)}. Atomic.
Status writeStatisticsJson(const std::vector<HeadStatistics>& statistics, const QString& path);

} // namespace attnscope
