#pragma once
// `attnscope explain`: one head's attention step by step for one query token, as JSON; and
// `attnscope export --view explain`: the same as the workbench's Explain figure.
#include "session.h"

#include <QSize>

namespace attnscope {

// Runs the analysis (keeping what the explanation needs) and prints the JSON, or writes it to
// `outPath` when not empty. Layer, head and token are checked against the model and input.
Status runExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                  int token, const QString& outPath);

// The Explain panel's figure as .png, .svg or .pdf, `width` wide and as tall as it needs;
// token -1 = the last token.
Status exportExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                     int token, const QString& outPath, int width, bool dark, int scale);

} // namespace attnscope
