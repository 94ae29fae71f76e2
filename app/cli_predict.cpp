// `attnscope predict` (the most probable next or masked tokens) and `attnscope generate`
// (the model writes N tokens; the result is dumped like `dump`). The work is in core/predict.h
// and core/generate.h.
#include "cli_common.h"

#include "dump.h"
#include "generate.h"
#include "predict.h"
#include "session.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <cmath>
#include <cstdio>

namespace attnscope {

namespace {

using cli::fail;

struct PredictOptions : cli::ModelInputOptions {
    QCommandLineOption position{QStringLiteral("position"),
                                QStringLiteral("Token position to predict from (negative: from "
                                               "the end)."),
                                QStringLiteral("I")};
    QCommandLineOption top{QStringLiteral("top"), QStringLiteral("How many tokens to list."),
                           QStringLiteral("K"), QStringLiteral("10")};
    QCommandLineOption temperature{QStringLiteral("temperature"),
                                   QStringLiteral("Softmax temperature (> 0)."),
                                   QStringLiteral("T")};
    QCommandLineOption tokens{QStringLiteral("tokens"), QStringLiteral("Tokens to generate."),
                              QStringLiteral("N")};
    QCommandLineOption topK{QStringLiteral("top-k"),
                            QStringLiteral("Sample among the K most probable tokens."),
                            QStringLiteral("K")};
    QCommandLineOption topP{QStringLiteral("top-p"),
                            QStringLiteral("Sample among the most probable tokens of mass P."),
                            QStringLiteral("P")};
    QCommandLineOption seed{QStringLiteral("seed"), QStringLiteral("Random seed for sampling."),
                            QStringLiteral("S")};
    QCommandLineOption greedy{QStringLiteral("greedy"),
                              QStringLiteral("Always take the most probable token.")};
};

QString kindName(PredictionKind kind) {
    return kind == PredictionKind::NextToken ? QStringLiteral("next-token")
                                             : QStringLiteral("masked-token");
}

Result<double> positiveNumber(const QCommandLineParser& p, const QCommandLineOption& option,
                              double fallback) {
    if (!p.isSet(option)) return fallback;
    bool ok = false;
    const double v = p.value(option).toDouble(&ok);
    if (!ok || !(v > 0) || !std::isfinite(v))
        return Error{QStringLiteral("--%1 must be a positive number, got \"%2\"")
                         .arg(option.names().first(), p.value(option))};
    return v;
}

Result<int> integer(const QCommandLineParser& p, const QCommandLineOption& option, int minimum) {
    bool ok = false;
    const int v = p.value(option).toInt(&ok);
    if (!ok || v < minimum)
        return Error{QStringLiteral("--%1 must be an integer >= %2, got \"%3\"")
                         .arg(option.names().first())
                         .arg(minimum)
                         .arg(p.value(option))};
    return v;
}

// A text model's input: exactly one of --text / --text-file / --ids.
Result<AnalysisRequest> textRequest(const QCommandLineParser& p, const PredictOptions& o,
                                    const LoadedModel& model) {
    if (model.config().modality != Modality::Text)
        return Error{QStringLiteral("%1 is an image model: it has no tokens to predict")
                         .arg(model.displayName())};
    const int given = int(p.isSet(o.text)) + int(p.isSet(o.textFile)) + int(p.isSet(o.ids));
    if (given != 1)
        return Error{QStringLiteral("give exactly one input: --text, --text-file or --ids")};
    AnalysisRequest request;
    request.keep = KeepOptions::attentionOnly(); // attention and the last state suffice
    if (p.isSet(o.ids)) {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.ids,
                                   cli::parseIdList(p.value(o.ids), QStringLiteral("--ids")));
        if (p.isSet(o.typeIds))
            ATTNSCOPE_ASSIGN_OR_RETURN(
                request.typeIds,
                cli::parseIdList(p.value(o.typeIds), QStringLiteral("--type-ids")));
    } else if (p.isSet(o.textFile)) {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.text, cli::readTextFile(p.value(o.textFile)));
    } else {
        request.text = p.value(o.text);
    }
    if (p.isSet(o.pair)) request.pair = p.value(o.pair);
    return request;
}

void noteTruncation(const Analysis& analysis) {
    if (analysis.truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n",
                     analysis.tokenCount(), analysis.truncatedTokens);
}

int cmdPredict(const QCommandLineParser& p, const PredictOptions& o, const LoadedModel& model) {
    auto request = textRequest(p, o, model);
    if (!request) return fail(request.message());
    auto top = integer(p, o.top, 1);
    if (!top) return fail(top.message());
    auto temperature = positiveNumber(p, o.temperature, 1.0);
    if (!temperature) return fail(temperature.message());
    if (!model.languageModelHead())
        return fail(QStringLiteral("%1 cannot predict tokens: %2")
                        .arg(model.displayName(), model.languageModelHeadProblem()));
    auto analysis = model.analyze(*request);
    if (!analysis) return fail(analysis.message());
    const int T = analysis->tokenCount();
    if (T == 0) return fail(QStringLiteral("the input has no tokens"));
    noteTruncation(*analysis);

    int position = T - 1; // causal: the next token after the text
    if (p.isSet(o.position)) {
        bool ok = false;
        position = p.value(o.position).toInt(&ok);
        if (!ok) return fail(QStringLiteral("--position must be an integer"));
        if (position < 0) position += T; // -1 = the last token
        if (position < 0 || position >= T)
            return fail(QStringLiteral("--position %1 is outside the input's %2 tokens")
                            .arg(p.value(o.position))
                            .arg(T));
    } else if (model.languageModelHead()->kind() == PredictionKind::MaskedToken) {
        const std::vector<int> masks = maskPositions(model, *analysis);
        if (masks.empty())
            return fail(QStringLiteral("%1 predicts masked tokens: put a mask token ([MASK] or "
                                       "<mask>) in the text, or give --position")
                            .arg(model.displayName()));
        position = masks.front();
    }
    auto prediction = predictTokens(model, *analysis, position, *top, *temperature);
    if (!prediction) return fail(prediction.message());

    QJsonArray list;
    for (const TokenScore& s : prediction->top)
        list.append(QJsonObject{{"id", qint64(s.id)},
                                {"token", s.token},
                                {"text", s.text},
                                {"probability", s.probability},
                                {"logit", double(s.logit)}});
    cli::printJson(QJsonObject{{"position", prediction->position},
                               {"kind", kindName(prediction->kind)},
                               {"temperature", *temperature},
                               {"tokens", T},
                               {"top", list}});
    return 0;
}

int cmdGenerate(const QCommandLineParser& p, const PredictOptions& o, const LoadedModel& model) {
    if (!p.isSet(o.output))
        return fail(QStringLiteral("generate needs -o OUT (.safetensors, .json or .npy)"));
    const QString out = p.value(o.output);
    if (!out.endsWith(QLatin1String(".safetensors")) && !out.endsWith(QLatin1String(".json")) &&
        !out.endsWith(QLatin1String(".npy")))
        return fail(QStringLiteral("unknown output format for %1 (use .safetensors, .json or .npy)")
                        .arg(out));
    if (!p.isSet(o.tokens)) return fail(QStringLiteral("generate needs --tokens N"));
    auto count = integer(p, o.tokens, 1);
    if (!count) return fail(count.message());
    auto request = textRequest(p, o, model);
    if (!request) return fail(request.message());

    SamplingOptions sampling;
    const bool sampled =
        p.isSet(o.temperature) || p.isSet(o.topK) || p.isSet(o.topP) || p.isSet(o.seed);
    if (p.isSet(o.greedy) && sampled)
        return fail(QStringLiteral("--greedy cannot be combined with --temperature, --top-k, "
                                   "--top-p or --seed"));
    sampling.greedy = !sampled; // greedy unless a sampling option is given, as transformers
    if (sampled) {
        auto temperature = positiveNumber(p, o.temperature, 1.0);
        if (!temperature) return fail(temperature.message());
        sampling.temperature = *temperature;
        if (p.isSet(o.topK)) {
            auto k = integer(p, o.topK, 0);
            if (!k) return fail(k.message());
            sampling.topK = *k;
        }
        auto topP = positiveNumber(p, o.topP, 1.0);
        if (!topP || *topP > 1) return fail(QStringLiteral("--top-p must be in (0, 1]"));
        sampling.topP = *topP;
        if (p.isSet(o.seed)) {
            bool ok = false;
            sampling.seed = p.value(o.seed).toULongLong(&ok);
            if (!ok) return fail(QStringLiteral("--seed must be a non-negative integer"));
        }
    }
    auto result = generate(model, *request, *count, sampling);
    if (!result) return fail(result.message());
    const Analysis& analysis = **result;
    if (auto s = writeDump(analysis, model, out); !s) return fail(s.message());

    // What was written, for a person reading the terminal; the file holds everything.
    const int T = analysis.tokenCount(), generated = analysis.generatedTokens;
    QJsonArray newIds;
    for (int i = T - generated; i < T; ++i)
        newIds.append(qint64(analysis.encoding.ids[size_t(i)]));
    const int textBegin =
        generated > 0 ? analysis.encoding.offsets[size_t(T - generated)].first : 0;
    const QList<uint> codePoints = analysis.text.toUcs4();
    cli::printJson(QJsonObject{
        {"generated", generated},
        {"prompt_tokens", T - generated},
        {"ids", newIds},
        {"text",
         QString::fromUcs4(reinterpret_cast<const char32_t*>(codePoints.constData()) + textBegin,
                           codePoints.size() - textBegin)},
        {"output", out}});
    return 0;
}

} // namespace

int runPredictCommand(const QStringList& args) {
    const QString command = args.value(0);
    PredictOptions o;
    QCommandLineParser p;
    p.addOptions({o.model, o.text, o.textFile, o.pair, o.ids, o.typeIds, o.position, o.top,
                  o.temperature, o.tokens, o.topK, o.topP, o.seed, o.greedy, o.output});
    QStringList argv = args;
    argv.first() = QStringLiteral("attnscope ") + command;
    if (!p.parse(argv)) return fail(p.errorText());
    if (!p.positionalArguments().isEmpty())
        return fail(
            QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().first()));
    const bool predict = command == QLatin1String("predict");
    for (const QCommandLineOption* option :
         predict ? std::vector<const QCommandLineOption*>{&o.tokens, &o.topK, &o.topP, &o.seed,
                                                          &o.greedy, &o.output}
                 : std::vector<const QCommandLineOption*>{&o.position, &o.top})
        if (p.isSet(*option))
            return fail(
                QStringLiteral("%1 does not take --%2").arg(command, option->names().last()));
    if (!p.isSet(o.model))
        return fail(QStringLiteral("--model is required (a checkpoint folder, or `default`)"));
    auto model = LoadedModel::open(p.value(o.model));
    if (!model) return fail(model.message());
    return predict ? cmdPredict(p, o, **model) : cmdGenerate(p, o, **model);
}

} // namespace attnscope
