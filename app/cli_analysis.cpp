#include "cli_analysis.h"

#include "analyses/flow.h"
#include "analyses/head_statistics.h"
#include "analyses/rollout.h"
#include "analysis_dump.h"
#include "file_limits.h"

#include <QFile>
#include <QStringDecoder>
#include <cstdio>

namespace attnscope {

namespace {

Result<RolloutOptions> rolloutOptions(const QCommandLineParser& p, const AnalysisOptions& o) {
    RolloutOptions options;
    ATTNSCOPE_ASSIGN_OR_RETURN(options.fusion, headFusionFromName(p.value(o.fusion)));
    bool ok = false;
    options.discard = p.value(o.discard).toDouble(&ok);
    if (!ok || !(options.discard >= 0.0 && options.discard < 1.0))
        return Error{QStringLiteral("--rollout-discard must be a fraction in [0, 1), got \"%1\"")
                         .arg(p.value(o.discard))};
    return options;
}

void noteTruncation(const Analysis& analysis) {
    if (analysis.truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n",
                     analysis.tokenCount(), analysis.truncatedTokens);
}

Result<Analysis> analyzeOne(const LoadedModel& model,
                            const std::function<Result<AnalysisRequest>()>& buildRequest) {
    auto request = buildRequest();
    if (!request) return request.error();
    auto analysis = model.analyze(*request);
    if (!analysis) return analysis.error();
    if (analysis->tokenCount() == 0) return Error{QStringLiteral("the input has no tokens")};
    noteTruncation(*analysis);
    return analysis;
}

// One request per non-blank line: the text, or for an image model an image file's path.
Result<std::vector<AnalysisRequest>>
readInputList(const QString& path, const LoadedModel& model,
              const std::function<Result<Tensor>(const QString&)>& readImage) {
    auto bytes = readBoundedFile(path, kMaxTextInputBytes, QStringLiteral("input list"), true);
    if (!bytes) return bytes.error();
    QStringDecoder decoder(QStringDecoder::Utf8);
    const QString all = decoder.decode(*bytes);
    std::vector<AnalysisRequest> requests;
    const bool image = model.config().modality == Modality::Image;
    for (QString line : all.split(QLatin1Char('\n'))) {
        if (line.endsWith(QLatin1Char('\r'))) line.chop(1);
        if (line.trimmed().isEmpty()) continue;
        AnalysisRequest request;
        if (image) {
            auto pixels = readImage(line.trimmed());
            if (!pixels)
                return Error{QStringLiteral("%1, line %2: %3")
                                 .arg(path)
                                 .arg(requests.size() + 1)
                                 .arg(pixels.message())};
            request.pixelValues = std::move(*pixels);
        } else {
            request.text = line;
        }
        requests.push_back(std::move(request));
    }
    if (requests.empty()) return Error{QStringLiteral("%1 has no inputs (one per line)").arg(path)};
    return requests;
}

Status dumpStatistics(const QCommandLineParser& p, const AnalysisOptions& o,
                      const LoadedModel& model,
                      const std::function<Result<AnalysisRequest>()>& buildRequest,
                      const std::function<Result<Tensor>(const QString&)>& readImage,
                      const QString& out) {
    if (!out.endsWith(QLatin1String(".json")))
        return Error{QStringLiteral("--analysis stats writes JSON: use -o OUT.json")};
    if (p.isSet(o.inputList)) {
        auto requests = readInputList(p.value(o.inputList), model, readImage);
        if (!requests) return requests.error();
        auto stats = headStatisticsOverInputs(model, *requests);
        if (!stats) return stats.error();
        return writeStatisticsJson(*stats, out);
    }
    auto analysis = analyzeOne(model, buildRequest);
    if (!analysis) return analysis.error();
    if (analysis->tokenCount() < 2)
        return Error{QStringLiteral("head statistics need at least 2 tokens")};
    const auto stats =
        headStatistics(*analysis, tokenClasses(*analysis, model.tokenizer(), &model.config()));
    return writeStatisticsJson(stats, out);
}

} // namespace

bool wantsAnalysisDump(const QCommandLineParser& p, const AnalysisOptions& o) {
    for (const QCommandLineOption& option : o.all())
        if (p.isSet(option)) return true;
    return false;
}

Status dumpAnalysis(const QCommandLineParser& p, const AnalysisOptions& o, const LoadedModel& model,
                    const std::function<Result<AnalysisRequest>()>& buildRequest,
                    const std::function<Result<Tensor>(const QString&)>& readImage,
                    const QString& out) {
    if (!p.isSet(o.analysis))
        return Error{QStringLiteral("--rollout-fusion, --rollout-discard and --input-list need "
                                    "--analysis (rollout, flow or stats)")};
    const QString name = p.value(o.analysis);
    const bool usesFusion = name == QLatin1String("rollout") || name == QLatin1String("flow");
    if (!usesFusion && (p.isSet(o.fusion) || p.isSet(o.discard)))
        return Error{QStringLiteral("--rollout-fusion and --rollout-discard apply to --analysis "
                                    "rollout or flow")};
    if (name != QLatin1String("stats") && p.isSet(o.inputList))
        return Error{QStringLiteral("--input-list applies to --analysis stats")};

    if (name == QLatin1String("stats"))
        return dumpStatistics(p, o, model, buildRequest, readImage, out);
    if (usesFusion) {
        auto options = rolloutOptions(p, o);
        if (!options) return options.error();
        auto analysis = analyzeOne(model, buildRequest);
        if (!analysis) return analysis.error();
        const std::map<QString, QString> meta{
            {QStringLiteral("analysis"), name},
            {QStringLiteral("rollout_fusion"), headFusionName(options->fusion)},
            {QStringLiteral("rollout_discard"), QString::number(options->discard)}};
        std::vector<NamedTensor> tensors;
        if (name == QLatin1String("rollout")) {
            auto rollout = attentionRollout(*analysis, *options);
            if (!rollout) return rollout.error();
            tensors.emplace_back(QStringLiteral("rollout"), matrixTensor(*rollout));
            if (model.config().modality == Modality::Image) // R[CLS, patches] on the grid
                if (auto grid = clsPatchGrid(*rollout))
                    tensors.emplace_back(QStringLiteral("rollout_cls_grid"), matrixTensor(*grid));
        } else {
            auto flow = attentionFlow(*analysis, *options);
            if (!flow) return flow.error();
            tensors.emplace_back(QStringLiteral("flow"), matrixTensor(*flow));
        }
        return writeAnalysisTensors(*analysis, model, tensors, out, meta);
    }
    return Error{QStringLiteral("unknown analysis \"%1\" (use rollout, flow, stats or norms)").arg(name)};
}

} // namespace attnscope
