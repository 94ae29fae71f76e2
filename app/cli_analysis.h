#pragma once
// `attnscope dump --analysis NAME`: analyses derived from attention (core/analyses), written
// instead of the raw attention. Kept apart from cli.cpp so each analysis is one case here.
#include "result.h"
#include "session.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <functional>

namespace attnscope {

struct AnalysisOptions {
    QCommandLineOption analysis{QStringLiteral("analysis"),
                                QStringLiteral("dump an analysis: rollout, flow or stats."),
                                QStringLiteral("NAME")};
    QCommandLineOption fusion{QStringLiteral("rollout-fusion"),
                              QStringLiteral("Head fusion for rollout and flow: mean, max, min."),
                              QStringLiteral("FUSION"), QStringLiteral("mean")};
    QCommandLineOption discard{
        QStringLiteral("rollout-discard"),
        QStringLiteral("Share of the lowest fused weights dropped per layer (rollout, flow)."),
        QStringLiteral("FRACTION"), QStringLiteral("0")};
    QCommandLineOption inputList{
        QStringLiteral("input-list"),
        QStringLiteral("stats: average over the inputs of this file, one per line."),
        QStringLiteral("FILE")};
    QList<QCommandLineOption> all() const { return {analysis, fusion, discard, inputList}; }
};

// True when any of the options is given (then dump writes an analysis, or refuses).
bool wantsAnalysisDump(const QCommandLineParser& p, const AnalysisOptions& o);

// Runs the analysis and writes it to `out`. buildRequest gives the single input of the
// command line; readImage reads an image file for an image model (--input-list lines).
Status dumpAnalysis(const QCommandLineParser& p, const AnalysisOptions& o, const LoadedModel& model,
                    const std::function<Result<AnalysisRequest>()>& buildRequest,
                    const std::function<Result<Tensor>(const QString&)>& readImage,
                    const QString& out);

} // namespace attnscope
