#pragma once
// `attnscope explain`: one head's attention step by step for one query token, as JSON; and
// `attnscope export --view explain`: the same as the workbench's Explain figure.
#include "figure_frame.h"
#include "session.h"
#include "view_state.h"

#include <QSize>

namespace attnscope {

// Runs the analysis (keeping what the explanation needs) and prints the JSON, or writes it to
// `outPath` when not empty. Layer, head and token are checked against the model and input.
Status runExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                  int token, const QString& outPath);

// The Explain panel's figure as .png, .svg or .pdf, `width` wide and as tall as it needs;
// token -1 = the last token. theme: the state's dark / print / transparent; options: title and
// caption around it (figure_frame.h).
Status exportExplain(const LoadedModel& model, AnalysisRequest request, int layer, int head,
                     int token, const QString& outPath, int width, const ViewState& theme,
                     int scale, const FigureOptions& options = {});

} // namespace attnscope
