#pragma once
// `attnscope explain`: one head's attention step by step for one query token, as JSON.
#include "session.h"

namespace attnscope {

// Runs the analysis (keeping what the explanation needs) and prints the JSON, or writes it to
// `outPath` when not empty. Layer, head and token are checked against the model and input.
Status runExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                  int token, const QString& outPath);

} // namespace attnscope
