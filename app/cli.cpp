// Argument parsing for the headless commands; all work happens in core/ (and ui/ for figures).
#include "cli.h"
#include "cli_common.h"

#include "analyses/norms.h"
#include "attention_file.h"
#include "bench.h"
#include "cli_analysis.h"
#include "cli_explain.h"
#include "dump.h"
#include "figure_export.h"
#include "figures.h"
#include "file_limits.h"
#include "gui_bench.h"
#include "heatmap_export.h"
#include "hfcache.h"
#include "image.h"
#include "image/image_decode.h"
#include "image/image_figure.h"
#include "safetensors.h"
#include "session.h"
#include "session_view.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStringDecoder>
#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <tuple>
#include <unistd.h>

namespace attnscope {

namespace {

constexpr int kErrorExit = 2;

int fail(const QString& message) {
    QString line = message;
    line.replace(QLatin1Char('\n'), QLatin1Char(' '));
    std::fprintf(stderr, "attnscope: error: %s\n", line.toUtf8().constData());
    return kErrorExit;
}

void printJson(const QJsonObject& o) {
    std::fputs(QJsonDocument(o).toJson(QJsonDocument::Indented).constData(), stdout);
}

const char* kUsage =
    "usage: attnscope [--model PATH] [--text TEXT]        open the workbench (GUI)\n"
    "       attnscope --session FILE.attnscope            the workbench on a saved session\n"
    "       attnscope --attention FILE [--tokens J.json]  the workbench on attention, no model\n"
    "       attnscope info --model MODEL\n"
    "       attnscope tokenize --model MODEL (--text S | --text-file F) [--pair S2]\n"
    "       attnscope dump --model MODEL (--text S [--pair S2] | --text-file F | --ids 1,2,3 "
    "[--type-ids 0,0,1]\n"
    "                      | --image FILE | --pixel-values FILE.safetensors) -o "
    "OUT.{safetensors,json,npy}\n"
    "                      [--analysis rollout|flow|stats|norms] [--rollout-fusion mean|max|min]\n"
    "                      [--rollout-discard F] [--input-list F]   derived analyses\n"
    "                      [--layers L,... --heads H,...]   only these heads' attention\n"
    "       attnscope export --model MODEL (--text S [--pair S2] | --text-file F | --ids ... | "
    "--image F)\n"
    "                      [--view heatmap|links|grid|compare|diff] [--layer L] [--head "
    "H|mean|max]\n"
    "                      [--heads 0,3,5] [--compare L:H,L:H,...] [--pane-views V,V,...]\n"
    "                      [--against TEXT]\n"
    "                      [--special show|hide|grey] [--threshold W] [--theme light|dark]\n"
    "                      [--scale 1..4] -o OUT.{png,svg,pdf} [--size WxH]\n"
    "       attnscope export --session FILE.attnscope -o OUT.{png,svg,pdf} [--size WxH] [--scale "
    "1..4]\n"
    "                      [--theme light|dark]   the view a saved session shows\n"
    "                      [--view rollout|flow|norms] [--rollout-fusion F] [--rollout-discard D]\n"
    "                      [--title T] [--caption auto|none|TEXT] [--colorbar on|off]\n"
    "                      [--theme print] [--transparent] [--token I]   figure options\n"
    "                      -o OUT.{csv,npy,json,safetensors}   the numbers of a heatmap view\n"
    "       attnscope predict --model MODEL (--text S | --ids ...) [--position I] [--top K]\n"
    "                      [--temperature T]     most probable next (or masked) tokens, JSON\n"
    "       attnscope generate --model MODEL (--text S | --ids ...) --tokens N [--greedy |\n"
    "                      --temperature T --top-k K --top-p P --seed S]\n"
    "                      -o OUT.{safetensors,json,npy}   the model writes N tokens\n"
    "       attnscope export --model MODEL (--text S | --ids ...) --view explain --layer L --head "
    "H\n"
    "                      [--token I] [--theme light|dark] [--scale 1..4] [--size W] -o OUT\n"
    "       attnscope explain --model MODEL (--text S [--pair S2] | --ids ...) --layer L --head H\n"
    "                      --token I [-o OUT.json]   one head's attention step by step (JSON)\n"
    "       attnscope export --model MODEL --image FILE --view image [--patch I | --cls] [--layer "
    "L]\n"
    "                      [--head H|mean|max] [--opacity 0..1] [--top-mass 0..1]\n"
    "                      [--upsample nearest|smooth] -o OUT.{png,svg,pdf} [--size WxH]\n"
    "       attnscope models                                 models in the Hugging Face cache\n"
    "       attnscope bench --model MODEL [--tokens 16,64,256,1024] [--threads N] [--repeats K]\n"
    "                      [--torch-json FILE]   forward-pass timing table (see tools/bench)\n"
    "                      [--process-dump safetensors|npy|json]   + whole dump processes\n"
    "       attnscope bench --model TOKENIZER_FOLDER [--repeats K]   time reading a tokenizer\n"
    "       attnscope bench --gui-grid --model MODEL [--tokens 64] [--repeats 40]\n"
    "                      edit-to-repaint latency with the all-heads grid showing\n"
    "       attnscope bench --gui-long --model MODEL [--tokens 1024] [-o SHOT.png]\n"
    "                      a long input in the window: edit to first heatmap and to the end\n"
    "MODEL is a checkpoint folder, or `default` (text) or `default-vision` (images).\n";

Result<std::vector<int64_t>> parseIdList(const QString& text, const QString& option) {
    std::vector<int64_t> ids;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const qlonglong v = part.trimmed().toLongLong(&ok);
        if (!ok)
            return Error{
                QStringLiteral("%1: \"%2\" is not an integer").arg(option, part.trimmed())};
        ids.push_back(v);
    }
    if (ids.empty())
        return Error{QStringLiteral("%1 needs a comma-separated list of integers").arg(option)};
    return ids;
}

Result<QString> readTextFile(const QString& path) {
    // At most 64 MB; pipes and devices are read up to that (--text-file /dev/zero stops there).
    auto bytes = readBoundedFile(path, kMaxTextInputBytes, QStringLiteral("text file"), true);
    if (!bytes) return bytes.error();
    QStringDecoder decoder(QStringDecoder::Utf8); // invalid UTF-8 becomes U+FFFD, not an error
    return QString(decoder.decode(*bytes));
}

Result<Tensor> readPixelValues(const QString& path) {
    auto file = SafeTensorsFile::open(path);
    if (!file) return file.error();
    auto t = file.value()->floatTensor(QStringLiteral("pixel_values"));
    if (!t) return t.error();
    std::vector<int64_t> shape = t->shape;
    if (shape.size() == 4 && shape[0] == 1) shape.erase(shape.begin());
    if (shape.size() != 3)
        return Error{QStringLiteral("%1: pixel_values must be [C,H,W] or [1,C,H,W]").arg(path)};
    Tensor out;
    out.shape = shape;
    out.data.assign(t->data, t->data + t->numel());
    return out;
}

// The picture in RGB as PIL would decode it (ui/image/image_decode.h), read bounded first (a
// FIFO or /dev/zero stops at the limit), then decoded from memory.
Result<QImage> decodeQuietly(const QString& path) {
    auto bytes = readBoundedFile(path, kMaxImageBytes, QStringLiteral("image"), true);
    if (!bytes) return bytes.error();
    Result<QImage> image = Error{};
    { // libpng prints its own complaints to stderr; keep the CLI's single error line
        std::fflush(stderr);
        const int savedStderr = dup(2);
        const int devNull = ::open("/dev/null", O_WRONLY);
        if (devNull >= 0) dup2(devNull, 2);
        image = decodeImageData(*bytes, path);
        if (savedStderr >= 0) dup2(savedStderr, 2);
        if (devNull >= 0) ::close(devNull);
        if (savedStderr >= 0) ::close(savedStderr);
    }
    return image;
}

Result<Tensor> readImage(const QString& path, const LoadedModel& model) {
    auto image = decodeQuietly(path);
    if (!image) return image.error();
    auto config = imageProcessorFor(model);
    if (!config) return config.error();
    return pixelValuesFor(*image, *config);
}

// Options shared by the commands that run the model.
struct InputOptions : cli::ModelInputOptions {
    QCommandLineOption image{QStringLiteral("image"), QStringLiteral("Image file (image models)."),
                             QStringLiteral("FILE")};
    QCommandLineOption pixels{QStringLiteral("pixel-values"),
                              QStringLiteral("safetensors with pixel_values [3,H,W]."),
                              QStringLiteral("FILE")};
    QCommandLineOption layer{QStringLiteral("layer"), QStringLiteral("Layer index."),
                             QStringLiteral("L"), QStringLiteral("0")};
    QCommandLineOption head{QStringLiteral("head"), QStringLiteral("Head index."),
                            QStringLiteral("H"), QStringLiteral("0")};
    QCommandLineOption layers{QStringLiteral("layers"),
                              QStringLiteral("dump: only these layers' attention."),
                              QStringLiteral("LIST")};
    QCommandLineOption attention{QStringLiteral("attention"),
                                 QStringLiteral("Attention file to open without a model."),
                                 QStringLiteral("FILE")};
    QCommandLineOption tokens{QStringLiteral("tokens"),
                              QStringLiteral("bench: input lengths to time; with --attention: a "
                                             "JSON file of token strings."),
                              QStringLiteral("LIST"), QStringLiteral("16,64,256,1024")};
    QCommandLineOption threads{QStringLiteral("threads"),
                               QStringLiteral("Threads for the forward pass."),
                               QStringLiteral("N")};
    QCommandLineOption repeats{QStringLiteral("repeats"), QStringLiteral("Timed runs per length."),
                               QStringLiteral("K"), QStringLiteral("5")};
    QCommandLineOption torchJson{
        QStringLiteral("torch-json"),
        QStringLiteral("PyTorch timings from tools/bench/torch_gpt2.py --json."),
        QStringLiteral("FILE")};
    QCommandLineOption size{QStringLiteral("size"), QStringLiteral("Figure size WxH in pixels."),
                            QStringLiteral("WxH"), QStringLiteral("1000x900")};
    QCommandLineOption view{QStringLiteral("view"), QStringLiteral("Figure to export."),
                            QStringLiteral("VIEW"), QStringLiteral("heatmap")};
    QCommandLineOption heads{QStringLiteral("heads"),
                             QStringLiteral("Heads of --layer to aggregate or draw."),
                             QStringLiteral("LIST")};
    QCommandLineOption compare{QStringLiteral("compare"),
                               QStringLiteral("layer:head pairs for compare and diff."),
                               QStringLiteral("PAIRS")};
    QCommandLineOption paneViews{QStringLiteral("pane-views"),
                                 QStringLiteral("compare: heatmap or links for each pane."),
                                 QStringLiteral("LIST")};
    QCommandLineOption against{QStringLiteral("against"),
                               QStringLiteral("Second text for diff (same head)."),
                               QStringLiteral("TEXT")};
    QCommandLineOption theme{QStringLiteral("theme"), QStringLiteral("light or dark."),
                             QStringLiteral("THEME"), QStringLiteral("light")};
    QCommandLineOption scale{QStringLiteral("scale"), QStringLiteral("PNG pixel scale 1..4."),
                             QStringLiteral("N"), QStringLiteral("1")};
    QCommandLineOption special{QStringLiteral("special"),
                               QStringLiteral("Special tokens: show, hide or grey."),
                               QStringLiteral("MODE"), QStringLiteral("show")};
    QCommandLineOption processDump{
        QStringLiteral("process-dump"),
        QStringLiteral("bench: also time whole `attnscope dump` processes writing this format."),
        QStringLiteral("safetensors|npy|json")};
    QCommandLineOption guiGrid{QStringLiteral("gui-grid"),
                               QStringLiteral("Time edits with the all-heads grid showing.")};
    QCommandLineOption guiLong{QStringLiteral("gui-long"),
                               QStringLiteral("Time a long input in the window: edit to first "
                                              "heatmap (layers appear as computed) and to the "
                                              "final analysis.")};
    QCommandLineOption token{QStringLiteral("token"),
                             QStringLiteral("Query token index (explain; figures: kept "
                                            "highlighted)."),
                             QStringLiteral("I")};
    // Figure options (every --view of export; figure_frame.h)
    QCommandLineOption title{QStringLiteral("title"), QStringLiteral("Figure title."),
                             QStringLiteral("TEXT")};
    QCommandLineOption caption{QStringLiteral("caption"),
                               QStringLiteral("Figure caption: auto, none or the text."),
                               QStringLiteral("TEXT")};
    QCommandLineOption colorbar{QStringLiteral("colorbar"),
                                QStringLiteral("Colour bar with its scale: on or off."),
                                QStringLiteral("on|off")};
    QCommandLineOption transparent{QStringLiteral("transparent"),
                                   QStringLiteral("PNG / SVG without a background.")};
    QCommandLineOption threshold{QStringLiteral("threshold"),
                                 QStringLiteral("Links at or below this weight are not drawn."),
                                 QStringLiteral("W"), QStringLiteral("0.05")};
    // --view image
    QCommandLineOption patch{QStringLiteral("patch"),
                             QStringLiteral("Query patch (row-major index) for --view image."),
                             QStringLiteral("I")};
    QCommandLineOption cls{QStringLiteral("cls"),
                           QStringLiteral("Query token [CLS] for --view image (the default).")};
    QCommandLineOption opacity{QStringLiteral("opacity"),
                               QStringLiteral("Overlay opacity 0..1 for --view image."),
                               QStringLiteral("A"), QStringLiteral("0.6")};
    QCommandLineOption topMass{QStringLiteral("top-mass"),
                               QStringLiteral("Keep the patches with this share of the attention "
                                              "mass (DINO), 0..1."),
                               QStringLiteral("X"), QStringLiteral("1")};
    QCommandLineOption upsample{QStringLiteral("upsample"),
                                QStringLiteral("Overlay upsampling: nearest or smooth."),
                                QStringLiteral("MODE"), QStringLiteral("nearest")};
    QCommandLineOption session{QStringLiteral("session"),
                               QStringLiteral("export: draw the view this saved session shows."),
                               QStringLiteral("FILE")};
    AnalysisOptions analyses; // dump --analysis (cli_analysis.h)
};

Result<std::shared_ptr<const LoadedModel>> openModel(const QCommandLineParser& p,
                                                     const InputOptions& o) {
    if (!p.isSet(o.model))
        return Error{QStringLiteral("--model is required (a checkpoint folder, or `default`)")};
    return LoadedModel::open(p.value(o.model));
}

Result<QString> inputText(const QCommandLineParser& p, const InputOptions& o) {
    if (p.isSet(o.textFile)) return readTextFile(p.value(o.textFile));
    return p.value(o.text);
}

Result<AnalysisRequest> buildRequest(const QCommandLineParser& p, const InputOptions& o,
                                     const LoadedModel& model) {
    AnalysisRequest request;
    request.keep = KeepOptions::attentionOnly(); // dumps need attention and the last state only
    const int given = int(p.isSet(o.text) || p.isSet(o.textFile)) + int(p.isSet(o.ids)) +
                      int(p.isSet(o.image)) + int(p.isSet(o.pixels));
    if (given != 1)
        return Error{QStringLiteral(
            "give exactly one input: --text/--text-file, --ids, --image or --pixel-values")};
    const bool imageModel = model.config().modality == Modality::Image;
    if (imageModel != (p.isSet(o.image) || p.isSet(o.pixels)))
        return Error{imageModel
                         ? QStringLiteral("%1 is an image model: give --image or --pixel-values")
                               .arg(model.displayName())
                         : QStringLiteral("%1 is a text model: give --text or --ids")
                               .arg(model.displayName())};
    if (p.isSet(o.ids)) {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.ids,
                                   parseIdList(p.value(o.ids), QStringLiteral("--ids")));
        if (p.isSet(o.typeIds))
            ATTNSCOPE_ASSIGN_OR_RETURN(
                request.typeIds, parseIdList(p.value(o.typeIds), QStringLiteral("--type-ids")));
    } else if (p.isSet(o.image)) {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.pixelValues, readImage(p.value(o.image), model));
    } else if (p.isSet(o.pixels)) {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.pixelValues, readPixelValues(p.value(o.pixels)));
    } else {
        ATTNSCOPE_ASSIGN_OR_RETURN(request.text, inputText(p, o));
        if (p.isSet(o.pair)) request.pair = p.value(o.pair);
    }
    return request;
}

// --attention FILE [--tokens TOKENS.json]: attention computed elsewhere, no model.
Result<Analysis> openAttention(const QCommandLineParser& p, const InputOptions& o,
                               AttentionFileInfo* info = nullptr) {
    if (p.isSet(o.model))
        return Error{QStringLiteral("give either --model or --attention, not both")};
    for (const QCommandLineOption* input : {&o.text, &o.textFile, &o.ids, &o.image, &o.pixels})
        if (p.isSet(*input))
            return Error{QStringLiteral("--attention already holds the tokens; --%1 needs --model")
                             .arg(input->names().first())};
    return openAttentionFile(p.value(o.attention),
                             p.isSet(o.tokens) ? p.value(o.tokens) : QString(), info);
}

int cmdInfo(const QCommandLineParser& p, const InputOptions& o) {
    if (p.isSet(o.attention)) {
        AttentionFileInfo info;
        auto analysis = openAttention(p, o, &info);
        if (!analysis) return fail(analysis.message());
        printJson(attentionFileInfoJson(*analysis, info));
        return 0;
    }
    if (!p.isSet(o.model))
        return fail(QStringLiteral("--model is required (a checkpoint folder, or `default`)"));
    // info prints nothing of the tokenizer: it checks its files but does not read them.
    auto model = LoadedModel::open(p.value(o.model), LoadedModel::TokenizerLoading::CheckFilesOnly);
    if (!model) return fail(model.message());
    printJson(modelInfoJson(**model));
    return 0;
}

int cmdTokenize(const QCommandLineParser& p, const InputOptions& o) {
    if (!p.isSet(o.text) && !p.isSet(o.textFile))
        return fail(QStringLiteral("tokenize needs --text or --text-file"));
    if (!p.isSet(o.model))
        return fail(
            QStringLiteral("--model is required (a checkpoint or tokenizer folder, or `default`)"));
    // A folder holding only tokenizer files is enough here; a checkpoint's tokenizer otherwise.
    std::shared_ptr<const Tokenizer> tokenizer;
    std::shared_ptr<const LoadedModel> model;
    const QString path = p.value(o.model);
    if (QFileInfo(path).isDir() &&
        !QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")))) {
        auto loaded = Tokenizer::fromFolder(path);
        if (!loaded) return fail(loaded.message());
        tokenizer = loaded.value();
    } else {
        auto opened = LoadedModel::open(path);
        if (!opened) return fail(opened.message());
        model = opened.value();
    }
    auto text = inputText(p, o);
    if (!text) return fail(text.message());
    const std::optional<QString> pair =
        p.isSet(o.pair) ? std::optional<QString>(p.value(o.pair)) : std::nullopt;
    if (auto s = checkTokenizeMemory(text->size() + (pair ? pair->size() : 0)); !s)
        return fail(s.message());
    auto encoding = tokenizer ? tokenizer->encode(*text, pair) : model->tokenize(*text, pair);
    if (!encoding) return fail(encoding.message());
    printJson(encodingJson(*encoding));
    return 0;
}

int cmdDump(const QCommandLineParser& p, const InputOptions& o) {
    if (!p.isSet(o.output))
        return fail(QStringLiteral("dump needs -o OUT (.safetensors, .json or .npy)"));
    const QString out = p.value(o.output);
    if (!out.endsWith(QLatin1String(".safetensors")) && !out.endsWith(QLatin1String(".json")) &&
        !out.endsWith(QLatin1String(".npy")))
        return fail(QStringLiteral("unknown output format for %1 (use .safetensors, .json or .npy)")
                        .arg(out));
    // --analysis norms: norm-based attention, written beside the attentions; the other
    // analyses (cli_analysis.cpp) are written instead of them.
    const bool norms =
        p.isSet(o.analyses.analysis) && p.value(o.analyses.analysis) == QLatin1String("norms");
    if (norms && (p.isSet(o.analyses.fusion) || p.isSet(o.analyses.discard) ||
                  p.isSet(o.analyses.inputList)))
        return fail(QStringLiteral("--rollout-fusion, --rollout-discard and --input-list do not "
                                   "apply to --analysis norms"));
    auto model = openModel(p, o);
    if (!model) return fail(model.message());
    if (!norms && wantsAnalysisDump(p, o.analyses)) {
        const LoadedModel& m = **model;
        auto s = dumpAnalysis(
            p, o.analyses, m, [&] { return buildRequest(p, o, m); },
            [&](const QString& file) { return readImage(file, m); }, out);
        return s ? 0 : fail(s.message());
    }
    auto request = buildRequest(p, o, **model);
    if (!request) return fail(request.message());
    if (norms) request->keep = normsKeepOptions();
    // --layers / --heads: only those heads' attention is kept and written, so one head of a
    // very long input fits in memory (the other heads still run, row block by row block).
    const ModelConfig& c = (*model)->config();
    for (const auto& [option, limit, list] :
         {std::tuple{&o.layers, c.layers, &request->keep.onlyLayers},
          std::tuple{&o.heads, c.heads, &request->keep.onlyHeads}}) {
        if (!p.isSet(*option)) continue;
        const QString name = QStringLiteral("--") + option->names().first();
        auto ids = parseIdList(p.value(*option), name);
        if (!ids) return fail(ids.message());
        for (int64_t v : *ids) {
            if (v < 0 || v >= limit)
                return fail(
                    QStringLiteral("%1: %2 is not in 0..%3").arg(name).arg(v).arg(limit - 1));
            if (std::find(list->begin(), list->end(), int(v)) == list->end())
                list->push_back(int(v));
        }
    }
    request->outputBytesPerValue = dumpBytesPerValue(out); // the guard counts the output too
    // An attention .npy is written layer by layer while the pass runs (dump.h).
    OverlappedDump overlapped(out, c.layers, c.heads, request->keep);
    if (!norms) overlapped.install(request->keep);
    auto analysis = (*model)->analyze(*request);
    if (!analysis) return fail(analysis.message());
    if (analysis->tokenCount() == 0) return fail(QStringLiteral("the input has no tokens"));
    if (analysis->truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n",
                     analysis->tokenCount(), analysis->truncatedTokens);
    std::vector<NamedTensor> analyses;
    if (norms) {
        auto result = normBasedAttention(*analysis, **model);
        if (!result) return fail(result.message());
        analyses = {{QStringLiteral("norms"), std::move(result->perHead)},
                    {QStringLiteral("norms_layer"), std::move(result->perLayer)}};
        if (out.endsWith(QLatin1String(".npy")))
            std::fputs("attnscope: note: the .npy file holds norms only; norms_layer needs "
                       ".safetensors or .json\n",
                       stderr);
    }
    if (auto s = writeDump(*analysis, **model, out, analyses, &overlapped); !s)
        return fail(s.message());
    return 0;
}

// --scale 1..4: PNG pixels per layout pixel.
Result<int> parseScale(const QCommandLineParser& p, const InputOptions& o) {
    bool ok = false;
    const int scale = p.value(o.scale).toInt(&ok);
    if (!ok || scale < 1 || scale > 4) return Error{QStringLiteral("--scale must be 1, 2, 3 or 4")};
    return scale;
}

// --size WxH (its default when not given), 100..20000 pixels a side.
Result<QSize> parseSize(const QCommandLineParser& p, const InputOptions& o) {
    const QStringList wh = p.value(o.size).split(QLatin1Char('x'));
    const QSize size = wh.size() == 2 ? QSize(wh[0].toInt(), wh[1].toInt()) : QSize();
    if (size.width() < 100 || size.height() < 100 || size.width() > 20000 || size.height() > 20000)
        return Error{QStringLiteral("--size must be WxH between 100 and 20000 pixels")};
    return size;
}

// --layer L and --head H|mean|max into the view state (no head checked yet).
Status parseLayerAndHead(const QCommandLineParser& p, const InputOptions& o, const ModelConfig& c,
                         ViewState& s) {
    bool ok = false;
    s.layer = p.value(o.layer).toInt(&ok);
    if (!ok || s.layer < 0 || s.layer >= c.layers)
        return Error{QStringLiteral("--layer must be 0..%1").arg(c.layers - 1)};
    const QString head = p.value(o.head);
    s.checked.reset(c.layers, c.heads, false);
    if (head == QLatin1String("mean") || head == QLatin1String("max")) {
        s.aggregate = head == QLatin1String("max") ? Aggregate::Max : Aggregate::Mean;
        s.head = 0;
        return okStatus();
    }
    s.head = head.toInt(&ok);
    if (!ok || s.head < 0 || s.head >= c.heads)
        return Error{QStringLiteral("--head must be 0..%1, mean or max").arg(c.heads - 1)};
    return okStatus();
}

// The figure options added with the workbench views; without any of them `export` behaves as
// it always has (one head's heatmap).
bool usesFigureOptions(const QCommandLineParser& p, const InputOptions& o) {
    for (const QCommandLineOption* option :
         {&o.view, &o.heads, &o.compare, &o.against, &o.theme, &o.scale, &o.special, &o.threshold,
          &o.paneViews, &o.title, &o.caption, &o.colorbar, &o.transparent, &o.token})
        if (p.isSet(*option)) return true;
    if (isNumbersPath(p.value(o.output))) return true;
    const QString head = p.value(o.head);
    return head == QLatin1String("mean") || head == QLatin1String("max");
}

// "L:H,L:H,..." with H a head, "mean" or "max". Panes outside the model are kept for
// `compare` (that pane says so; a note goes to stderr) and refused for `diff`.
Result<std::vector<std::pair<int, int>>> parsePanes(const QString& text, const ModelConfig& c,
                                                    bool keepMissing) {
    std::vector<std::pair<int, int>> panes;
    QStringList missing;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QStringList lh = part.trimmed().split(QLatin1Char(':'));
        bool okL = false, okH = false;
        const QString headText = lh.value(1).trimmed();
        const int l = lh.value(0).toInt(&okL);
        // A head, or the mean / max over the layer's heads (all, or those given by --heads).
        int h = headText == QLatin1String("mean")  ? (okH = true, kMeanOfLayer)
                : headText == QLatin1String("max") ? (okH = true, kMaxOfLayer)
                                                   : headText.toInt(&okH);
        if (lh.size() != 2 || !okL || !okH || l < 0 || h < kMaxOfLayer)
            return Error{QStringLiteral("--compare: \"%1\" is not layer:head").arg(part.trimmed())};
        if (l >= c.layers || h >= c.heads) {
            const QString where = QStringLiteral("--compare: %1:%2 is outside the model's %3 "
                                                 "layers × %4 heads")
                                      .arg(l)
                                      .arg(lh.value(1).trimmed())
                                      .arg(c.layers)
                                      .arg(c.heads);
            if (!keepMissing) return Error{where};
            missing << where;
        }
        panes.emplace_back(l, h);
    }
    if (!panes.empty() && missing.size() == qsizetype(panes.size()))
        return Error{QStringLiteral("--compare: none of the panes is in this model (%1 layers × "
                                    "%2 heads)")
                         .arg(c.layers)
                         .arg(c.heads)};
    for (const QString& where : missing)
        std::fprintf(stderr, "attnscope: note: %s; its pane says so\n", qPrintable(where));
    return panes;
}

// The analysis to draw: from a model (request), or from an attention file (no model: --against
// and anything else that needs one is refused).
using Analyse = std::function<Result<Analysis>(const AnalysisRequest&)>;

// --title, --caption, --colorbar, --transparent and --token (checked against T later).
Status parseFigureOptions(const QCommandLineParser& p, const InputOptions& o, FigureRequest& f) {
    if (p.isSet(o.title)) f.options.title = p.value(o.title);
    if (p.isSet(o.caption)) applyCaptionArgument(f.options, p.value(o.caption));
    if (p.isSet(o.colorbar)) {
        const QString bar = p.value(o.colorbar);
        if (bar != QLatin1String("on") && bar != QLatin1String("off"))
            return makeError(QStringLiteral("--colorbar must be on or off"));
        f.options.colorBar = bar == QLatin1String("on") ? ColorBarMode::On : ColorBarMode::Off;
    }
    f.state.transparent = p.isSet(o.transparent);
    if (p.isSet(o.token)) {
        bool ok = false;
        const int token = p.value(o.token).toInt(&ok);
        if (!ok || token < 0) return makeError(QStringLiteral("--token must be a token index"));
        f.options.queryTokens = {token};
    }
    return okStatus();
}

// The matrix of --view norms: norm-based attention of --layer, or of --head H of it.
Status addNorms(FigureRequest& figure, const QCommandLineParser& p, const InputOptions& o,
                const Analysis& analysis, const LoadedModel* model) {
    if (!model) return makeError(QStringLiteral("--view norms needs --model (the weights)"));
    auto norms = normBasedAttention(analysis, *model);
    if (!norms) return makeError(norms.message());
    const int64_t T = analysis.tokenCount();
    const int layer = figure.state.layer, head = p.isSet(o.head) ? figure.state.head : -1;
    const Tensor& t = head < 0 ? norms->perLayer : norms->perHead;
    const int64_t index = head < 0 ? layer : int64_t(layer) * analysis.headCount() + head;
    figure.norms = std::make_shared<const Mat>(ConstMatMap(t.data.data() + index * T * T, T, T));
    figure.normsTitle = head < 0 ? QStringLiteral("Norm-based attention, layer %1: ‖Σ_h α_ij "
                                                  "f_h(x_j)‖")
                                       .arg(layer)
                                 : QStringLiteral("Norm-based attention, layer %1 head %2: ‖α_ij "
                                                  "f(x_j)‖")
                                       .arg(layer)
                                       .arg(head);
    return okStatus();
}

int exportView(const QCommandLineParser& p, const InputOptions& o, const ModelConfig& c,
               const Analyse& analyse, AnalysisRequest request,
               const LoadedModel* model = nullptr) {
    FigureRequest figure;
    auto view = figureViewFromName(p.value(o.view));
    if (!view) return fail(view.message());
    figure.view = *view;
    ViewState& s = figure.state;
    bool ok = false;
    if (auto st = parseLayerAndHead(p, o, c, s); !st) return fail(st.message());
    if (p.isSet(o.heads)) {
        auto list = parseIdList(p.value(o.heads), QStringLiteral("--heads"));
        if (!list) return fail(list.message());
        for (int64_t h : *list) {
            if (h < 0 || h >= c.heads)
                return fail(
                    QStringLiteral("--heads: %1 is not a head (0..%2)").arg(h).arg(c.heads - 1));
            // Panes pick their own layers: there the listed heads count in every layer.
            const bool panes =
                figure.view == FigureView::Compare || figure.view == FigureView::Difference;
            for (int l = panes ? 0 : s.layer; l < (panes ? c.layers : s.layer + 1); ++l)
                s.checked.setChecked(l, int(h), true);
        }
    } else if (figure.view == FigureView::Grid || figure.view == FigureView::Compare ||
               figure.view == FigureView::Difference) {
        s.checked.reset(c.layers, c.heads, true); // no head faded; L:mean is over all heads
    } else if (s.aggregate != Aggregate::SingleHead ||
               (figure.view == FigureView::Links && !p.isSet(o.head))) {
        for (int h = 0; h < c.heads; ++h) // aggregates and links: every head of the layer
            s.checked.setChecked(s.layer, h, true);
    } else {
        s.checked.setChecked(s.layer, s.head, true);
    }
    if (auto st = applyThemeName(s, p.value(o.theme)); !st) return fail(st.message());
    if (auto st = parseFigureOptions(p, o, figure); !st) return fail(st.message());
    const QString output = p.value(o.output);
    if (figure.state.transparent && output.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
        return fail(QStringLiteral("--transparent needs a .png or .svg file (PDF pages are shown "
                                   "and printed on white)"));
    if (model) figure.options.modelName = model->displayName();
    if (figure.view == FigureView::Rollout || figure.view == FigureView::Flow) {
        auto fusion = headFusionFromName(p.value(o.analyses.fusion));
        if (!fusion) return fail(fusion.message());
        figure.rollout.fusion = *fusion;
        figure.rollout.discard = p.value(o.analyses.discard).toDouble(&ok);
        if (!ok || figure.rollout.discard < 0 || figure.rollout.discard >= 1)
            return fail(QStringLiteral("--rollout-discard must be in [0, 1)"));
    }
    if (figure.view == FigureView::Norms) {
        if (!model) return fail(QStringLiteral("--view norms needs --model (the weights)"));
        request.keep = normsKeepOptions();
    }
    const QString special = p.value(o.special);
    if (special == QLatin1String("show"))
        s.specialTokens = SpecialTokenMode::Show;
    else if (special == QLatin1String("hide"))
        s.specialTokens = SpecialTokenMode::HideRenormalise;
    else if (special == QLatin1String("grey"))
        s.specialTokens = SpecialTokenMode::Grey;
    else
        return fail(QStringLiteral("--special must be show, hide or grey"));
    s.linkThreshold = p.value(o.threshold).toDouble(&ok);
    if (!ok || s.linkThreshold < 0 || s.linkThreshold >= 1)
        return fail(QStringLiteral("--threshold must be a weight in [0, 1)"));
    auto scale = parseScale(p, o);
    if (!scale) return fail(scale.message());
    figure.scale = *scale;
    if (p.isSet(o.size)) { // else a size that suits the view
        auto size = parseSize(p, o);
        if (!size) return fail(size.message());
        figure.size = *size;
    }
    if (p.isSet(o.compare)) {
        auto panes = parsePanes(p.value(o.compare), c, figure.view == FigureView::Compare);
        if (!panes) return fail(panes.message());
        figure.panes = *panes;
    }
    if (figure.view == FigureView::Compare &&
        (figure.panes.size() < 2 || figure.panes.size() > size_t(kMaxComparePanes)))
        return fail(QStringLiteral("--view compare needs --compare with 2 to 4 layer:head pairs "
                                   "(up to %1 for a figure of chosen heads), e.g. --compare "
                                   "0:1,0:2")
                        .arg(kMaxComparePanes));
    if (p.isSet(o.paneViews)) {
        const QStringList kinds = p.value(o.paneViews).split(QLatin1Char(','));
        if (figure.view != FigureView::Compare || kinds.size() != qsizetype(figure.panes.size()))
            return fail(QStringLiteral("--pane-views goes with --view compare: one of heatmap or "
                                       "links for each --compare pane"));
        for (const QString& kind : kinds) {
            if (kind.trimmed() != QLatin1String("heatmap") &&
                kind.trimmed() != QLatin1String("links"))
                return fail(QStringLiteral("--pane-views: \"%1\" is not heatmap or links")
                                .arg(kind.trimmed()));
            figure.linkPanes.push_back(kind.trimmed() == QLatin1String("links"));
        }
    }
    if (figure.view == FigureView::Difference) {
        if (p.isSet(o.against) == (figure.panes.size() == 2))
            return fail(QStringLiteral("--view diff needs either --compare A,B (two layer:head "
                                       "pairs) or --against TEXT"));
        if (p.isSet(o.against) && s.aggregate != Aggregate::SingleHead)
            return fail(QStringLiteral("--against compares one head: give --head H"));
    }
    auto analysis = analyse(request);
    if (!analysis) return fail(analysis.message());
    if (analysis->tokenCount() == 0) return fail(QStringLiteral("the input has no tokens"));
    if (analysis->truncatedTokens > 0)
        std::fprintf(stderr, "attnscope: note: input cut to %d tokens; %d tokens dropped\n",
                     analysis->tokenCount(), analysis->truncatedTokens);
    if (figure.view == FigureView::Difference && p.isSet(o.against)) {
        AnalysisRequest other = request;
        other.text = p.value(o.against);
        other.ids.clear();
        other.typeIds.clear();
        auto against = analyse(other);
        if (!against) return fail(against.message());
        figure.against = std::make_shared<const Analysis>(std::move(*against));
    }
    for (int token : figure.options.queryTokens)
        if (token >= analysis->tokenCount())
            return fail(QStringLiteral("--token must be 0..%1 (the input has %2 tokens)")
                            .arg(analysis->tokenCount() - 1)
                            .arg(analysis->tokenCount()));
    if (figure.view == FigureView::Norms)
        if (auto st = addNorms(figure, p, o, *analysis, model); !st) return fail(st.message());
    const auto shared = std::make_shared<const Analysis>(std::move(*analysis));
    if (isNumbersPath(output)) {
        if (auto status = exportNumbers(*shared, figure, output); !status)
            return fail(status.message());
        return 0;
    }
    if (auto status = exportFigure(shared, figure, output); !status) return fail(status.message());
    return 0;
}

// export --view explain: the workbench's Explain figure of --layer, --head and --token (default:
// the last token), --size's width wide and as tall as the figure needs.
int exportExplainView(const QCommandLineParser& p, const InputOptions& o, const LoadedModel& model,
                      const AnalysisRequest& request) {
    bool okLayer = false, okHead = false, okToken = true;
    const int layer = p.value(o.layer).toInt(&okLayer), head = p.value(o.head).toInt(&okHead);
    const int token = p.isSet(o.token) ? p.value(o.token).toInt(&okToken) : -1;
    if (!okLayer || !okHead || !okToken || (p.isSet(o.token) && token < 0))
        return fail(QStringLiteral("--view explain takes integers --layer L --head H [--token I]"));
    auto scale = parseScale(p, o);
    if (!scale) return fail(scale.message());
    ViewState theme;
    if (auto st = applyThemeName(theme, p.value(o.theme)); !st) return fail(st.message());
    if (p.isSet(o.colorbar))
        return fail(QStringLiteral("--view explain has no colour bar (its vectors are strips, "
                                   "values on hover in the window)"));
    theme.transparent = p.isSet(o.transparent);
    if (theme.transparent && p.value(o.output).endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
        return fail(QStringLiteral("--transparent needs a .png or .svg file (PDF pages are shown "
                                   "and printed on white)"));
    FigureOptions options;
    if (p.isSet(o.title)) options.title = p.value(o.title);
    if (p.isSet(o.caption)) applyCaptionArgument(options, p.value(o.caption));
    const int width =
        p.isSet(o.size) ? p.value(o.size).section(QLatin1Char('x'), 0, 0).toInt() : 900;
    if (width < 360 || width > 20000)
        return fail(QStringLiteral("--size: the explain figure needs a width of 360 to 20000 "
                                   "pixels (its height follows the content)"));
    if (auto s = exportExplain(model, request, layer, head, token, p.value(o.output), width, theme,
                               *scale, options);
        !s)
        return fail(s.message());
    return 0;
}

// export --view image: the picture, its patch grid and one attention row over it.
int exportImageView(const QCommandLineParser& p, const InputOptions& o, const LoadedModel& model) {
    const ModelConfig& c = model.config();
    if (c.modality != Modality::Image)
        return fail(QStringLiteral("--view image needs an image model; %1 is a text model")
                        .arg(model.displayName()));
    if (!p.isSet(o.image)) return fail(QStringLiteral("--view image needs --image FILE"));
    if (p.isSet(o.patch) && p.isSet(o.cls)) return fail(QStringLiteral("give --patch or --cls"));
    ImageFigureRequest figure;
    ViewState& s = figure.state;
    bool ok = false;
    if (auto st = parseLayerAndHead(p, o, c, s); !st) return fail(st.message());
    if (s.aggregate != Aggregate::SingleHead) // mean / max over every head of the layer
        for (int h = 0; h < c.heads; ++h)
            s.checked.setChecked(s.layer, h, true);
    if (auto st = applyThemeName(s, p.value(o.theme)); !st) return fail(st.message());
    if (p.isSet(o.colorbar) || p.isSet(o.token))
        return fail(QStringLiteral("--view image takes --title, --caption, --theme and "
                                   "--transparent (its colours run from 0 to the row's maximum; "
                                   "the query is --patch or --cls)"));
    if (p.isSet(o.title)) figure.options.title = p.value(o.title);
    if (p.isSet(o.caption)) applyCaptionArgument(figure.options, p.value(o.caption));
    figure.options.modelName = model.displayName();
    s.transparent = p.isSet(o.transparent);
    if (s.transparent && p.value(o.output).endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
        return fail(QStringLiteral("--transparent needs a .png or .svg file (PDF pages are shown "
                                   "and printed on white)"));
    figure.overlay.opacity = p.value(o.opacity).toDouble(&ok);
    if (!ok || figure.overlay.opacity < 0 || figure.overlay.opacity > 1)
        return fail(QStringLiteral("--opacity must be between 0 and 1"));
    figure.overlay.topMass = p.value(o.topMass).toDouble(&ok);
    if (!ok || !(figure.overlay.topMass > 0) || figure.overlay.topMass > 1)
        return fail(QStringLiteral("--top-mass must be in (0, 1]"));
    const QString upsample = p.value(o.upsample);
    if (upsample != QLatin1String("nearest") && upsample != QLatin1String("smooth"))
        return fail(QStringLiteral("--upsample must be nearest or smooth"));
    figure.overlay.smooth = upsample == QLatin1String("smooth");
    auto scale = parseScale(p, o);
    if (!scale) return fail(scale.message());
    figure.scale = *scale;
    if (p.isSet(o.size)) { // else a size that suits the view
        auto size = parseSize(p, o);
        if (!size) return fail(size.message());
        figure.size = *size;
    }
    auto picture = decodeQuietly(p.value(o.image));
    if (!picture) return fail(picture.message());
    auto processor = imageProcessorFor(model);
    if (!processor) return fail(processor.message());
    AnalysisRequest request;
    request.keep = KeepOptions::attentionOnly();
    auto pixels = pixelValuesFor(*picture, *processor);
    if (!pixels) return fail(pixels.message());
    request.pixelValues = std::move(*pixels);
    auto analysis = model.analyze(request);
    if (!analysis) return fail(analysis.message());
    const PatchLayout layout = patchLayoutFor(c, analysis->tokenCount());
    if (p.isSet(o.patch)) {
        const int patch = p.value(o.patch).toInt(&ok);
        if (!ok || patch < 0 || patch >= layout.patches())
            return fail(QStringLiteral("--patch must be 0..%1 (%2 x %3 patches, row-major)")
                            .arg(layout.patches() - 1)
                            .arg(layout.rows)
                            .arg(layout.columns));
        figure.queryToken = layout.prefixTokens + patch;
    }
    if (auto st = exportImageFigure(*analysis, *picture, *processor, c, figure, p.value(o.output));
        !st)
        return fail(st.message());
    return 0;
}

// export --session FILE: the session names the model or attention file, the input and the view;
// only the output's size, scale and theme may be given beside it.
int exportSessionView(const QCommandLineParser& p, const InputOptions& o) {
    for (const QCommandLineOption* option :
         {&o.model,     &o.attention, &o.tokens,  &o.text,     &o.textFile,   &o.pair,
          &o.ids,       &o.typeIds,   &o.image,   &o.pixels,   &o.view,       &o.layer,
          &o.head,      &o.heads,     &o.compare, &o.against,  &o.paneViews,  &o.special,
          &o.threshold, &o.token,     &o.patch,   &o.cls,      &o.opacity,    &o.topMass,
          &o.upsample,  &o.title,     &o.caption, &o.colorbar, &o.transparent})
        if (p.isSet(*option))
            return fail(QStringLiteral("--session holds the model, input and view; --%1 cannot "
                                       "be given with it (only --size, --scale, --theme)")
                            .arg(option->names().first()));
    SessionExportOptions options;
    auto scale = parseScale(p, o);
    if (!scale) return fail(scale.message());
    options.scale = *scale;
    if (p.isSet(o.size)) {
        auto size = parseSize(p, o);
        if (!size) return fail(size.message());
        options.size = *size;
    }
    if (p.isSet(o.theme)) {
        const QString theme = p.value(o.theme);
        if (theme != QLatin1String("light") && theme != QLatin1String("dark"))
            return fail(QStringLiteral("--theme with --session must be light or dark, not \"%1\"")
                            .arg(theme));
        options.dark = theme == QLatin1String("dark");
    }
    if (auto st = exportSession(p.value(o.session), options, p.value(o.output)); !st)
        return fail(st.message());
    return 0;
}

int cmdExport(const QCommandLineParser& p, const InputOptions& o) {
    if (!p.isSet(o.output))
        return fail(QStringLiteral("export needs -o OUT (.png, .svg or .pdf; a heatmap's numbers: "
                                   ".csv, .npy, .json or .safetensors)"));
    if (p.isSet(o.session)) return exportSessionView(p, o);
    if (p.isSet(o.attention)) {
        if (p.isSet(o.against))
            return fail(QStringLiteral("--against needs --model (it analyses a second text)"));
        auto file = openAttention(p, o);
        if (!file) return fail(file.message());
        ModelConfig shape; // only the numbers of layers and heads are used
        shape.layers = file->layerCount();
        shape.heads = file->headCount();
        auto shared = std::make_shared<Analysis>(std::move(*file));
        return exportView(
            p, o, shape,
            // Called once (--against is refused above), so the attention moves out, not copied.
            [shared](const AnalysisRequest&) -> Result<Analysis> { return std::move(*shared); },
            AnalysisRequest{});
    }
    auto model = openModel(p, o);
    if (!model) return fail(model.message());
    if (p.value(o.view) == QLatin1String("image")) return exportImageView(p, o, **model);
    auto request = buildRequest(p, o, **model);
    if (!request) return fail(request.message());
    if (p.value(o.view) == QLatin1String("explain"))
        return exportExplainView(p, o, **model, *request);
    const auto analyse = [&](const AnalysisRequest& r) { return (*model)->analyze(r); };
    if (usesFigureOptions(p, o))
        return exportView(p, o, (*model)->config(), analyse, *request, model->get());
    bool okLayer = false, okHead = false;
    const int layer = p.value(o.layer).toInt(&okLayer), head = p.value(o.head).toInt(&okHead);
    const ModelConfig& c = (*model)->config();
    if (!okLayer || layer < 0 || layer >= c.layers)
        return fail(QStringLiteral("--layer must be 0..%1").arg(c.layers - 1));
    if (!okHead || head < 0 || head >= c.heads)
        return fail(QStringLiteral("--head must be 0..%1").arg(c.heads - 1));
    auto size = parseSize(p, o);
    if (!size) return fail(size.message());
    auto analysis = (*model)->analyze(*request);
    if (!analysis) return fail(analysis.message());
    if (analysis->tokenCount() == 0) return fail(QStringLiteral("the input has no tokens"));
    if (auto s = exportHeatmap(*analysis, layer, head, p.value(o.output), *size); !s)
        return fail(s.message());
    return 0;
}

int benchGuiGrid(const QCommandLineParser& p, const InputOptions& o,
                 std::shared_ptr<const LoadedModel> model) {
    bool ok = false;
    const int tokens = p.isSet(o.tokens) ? p.value(o.tokens).toInt(&ok) : (ok = true, 64);
    if (!ok || tokens < 4 || tokens > 4096)
        return fail(QStringLiteral("--gui-grid takes one --tokens count (4..4096)"));
    const int edits = p.isSet(o.repeats) ? p.value(o.repeats).toInt(&ok) : (ok = true, 40);
    if (!ok || edits < 1 || edits > 10000)
        return fail(QStringLiteral("--repeats must be a positive number of edits"));
    auto bench = benchmarkGuiGrid(std::move(model), tokens, edits);
    if (!bench) return fail(bench.message());
    const GuiGridBench& b = *bench;
    std::printf("all-heads grid, %d layers x %d heads, %d tokens, window %dx%d, tiles %.0f px, "
                "%d threads\n",
                b.layers, b.heads, b.tokens, b.window.width(), b.window.height(), b.tile,
                threadCount());
    std::printf("edit to repaint (%zu edits of the last word): median %.1f ms, p95 %.1f ms, "
                "max %.1f ms\n",
                b.editToRepaintMs.size(), percentile(b.editToRepaintMs, 50),
                percentile(b.editToRepaintMs, 95), percentile(b.editToRepaintMs, 100));
    std::printf("  of which analysis on the worker: median %.1f ms, p95 %.1f ms\n",
                percentile(b.analysisMs, 50), percentile(b.analysisMs, 95));
    std::printf(
        "  the window's part (edit to repaint minus analysis): median %.1f ms, p95 %.1f ms\n",
        percentile(b.guiMs, 50), percentile(b.guiMs, 95));
    std::printf("grid repaint (%zu full repaints): median %.2f ms, p95 %.2f ms\n",
                b.repaintMs.size(), percentile(b.repaintMs, 50), percentile(b.repaintMs, 95));
    std::printf("colouring all %d thumbnails for a new analysis: median %.1f ms\n",
                b.layers * b.heads, percentile(b.colouringMs, 50));
    std::printf("32 x 32 heads (synthetic, %d tokens, %.0f px tiles fitted to the width): first "
                "paint %.1f ms, repaint median %.2f ms, p95 %.2f ms\n",
                b.tokens, b.wideTile, b.wideFirstPaintMs, percentile(b.wideRepaintMs, 50),
                percentile(b.wideRepaintMs, 95));
    return 0;
}

int benchGuiLong(const QCommandLineParser& p, const InputOptions& o,
                 std::shared_ptr<const LoadedModel> model) {
    bool ok = false;
    const int tokens = p.isSet(o.tokens) ? p.value(o.tokens).toInt(&ok) : (ok = true, 1024);
    if (!ok || tokens < 2 || tokens > 1000000)
        return fail(QStringLiteral("--gui-long takes one --tokens count (2 or more)"));
    const QString shot = p.value(o.output);
    if (!shot.isEmpty() && !shot.endsWith(QLatin1String(".png"), Qt::CaseInsensitive))
        return fail(QStringLiteral("--gui-long -o writes a PNG screenshot: give a .png name"));
    auto bench = benchmarkGuiLong(std::move(model), tokens, shot);
    if (!bench) return fail(bench.message());
    const GuiLongBench& b = *bench;
    std::printf("long input in the window: %d layers x %d heads, %d tokens (%s heads), window "
                "%dx%d, %d threads\n",
                b.layers, b.heads, b.tokens, b.lazyHeads ? "on-demand" : "kept", b.window.width(),
                b.window.height(), threadCount());
    std::printf("edit to first heatmap (layer 0, head 0, %s): %.0f ms\n",
                b.firstHeatmapFromSnapshot ? "from the running pass" : "after the pass",
                b.firstHeatmapMs);
    if (!b.layerReadyMs.empty())
        std::printf("edit to layer ready: first %.0f ms, last %.0f ms (%zu of %d layers shown "
                    "while running)\n",
                    b.layerReadyMs.front(), b.layerReadyMs.back(), b.layerReadyMs.size(), b.layers);
    std::printf("edit to final analysis: %.0f ms (the pass on the worker: %.0f ms); heatmap "
                "repainted at %.0f ms\n",
                b.finalMs, b.analysisMs, b.finalHeatmapMs);
    std::printf("peak RSS: %.0f MB up to the final heatmap, %.0f MB with the interactions after "
                "the pass\n",
                b.passPeakRssMb, b.peakRssMb);
    std::printf("floor: %.2f TFLOP at the SGEMM peak %.1f GFLOP/s (before %.1f, after %.1f) = "
                "%.0f ms; the pass takes %.2f x floor\n",
                b.passFlops / 1e12, b.sgemmPeakGflops(),
                b.peakBeforeGflops, b.peakAfterGflops, b.floorMs(), b.analysisMs / b.floorMs());
    if (b.splitPeakGflops > 0)
        std::printf("BF16 weights' products on the tile unit (AMX, exact 3-part split): peak %.1f "
                    "GFLOP/s after the pass; for a BF16 checkpoint, the floor with the weights' "
                    "%.2f TFLOP at that peak and "
                    "the attention's %.2f TFLOP at the SGEMM peak = %.0f ms; the pass takes %.2f x "
                    "that floor\n",
                    b.splitPeakGflops, (b.passFlops - b.attentionFlops) / 1e12,
                    b.attentionFlops / 1e12, b.mixedFloorMs(), b.analysisMs / b.mixedFloorMs());
    std::printf("GUI thread CPU from the edit to the final heatmap: %.0f ms\n", b.guiThreadCpuMs);
    std::printf("after the pass (median of 7): heatmap repaint %.1f ms, hover a cell (token strip, "
                "repaint) %.1f ms; token links view: filled and painted %.0f ms, repaint %.1f ms\n",
                b.heatmapRepaintMs, b.hoverMs, b.linksFirstMs, b.linksRepaintMs);
    std::printf("token links keep %zu links of %d heads: %.1f MB (the heads' [T, T] floats: %.0f "
                "MB)\n",
                b.linksKept, b.linksHeads, b.linksKeptMb, b.linksDenseMb);
    if (!shot.isEmpty()) {
        std::printf("screenshot mid-pass (%d of %d layers ready): %s\n", b.screenshotLayersReady,
                    b.layers, qPrintable(shot));
        std::printf("screenshots after the pass: %s (a cell hovered), %s (token links)\n",
                    qPrintable(b.hoverShot), qPrintable(b.linksShot));
    }
    return 0;
}

int cmdBench(const QCommandLineParser& p, const InputOptions& o) {
    const QString path = p.value(o.model);
    if (QFileInfo(path).isDir() &&
        !QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")))) {
        // A folder of tokenizer files only: time reading them.
        auto ms = benchmarkTokenizerOpen(path, std::max(1, p.value(o.repeats).toInt()));
        if (!ms) return fail(ms.message());
        auto tokenizer = Tokenizer::fromFolder(path);
        if (!tokenizer) return fail(tokenizer.message());
        std::printf("tokenizer %s: %d tokens, read in %.1f ms (median of %d)\n", qPrintable(path),
                    (*tokenizer)->vocabSize(), *ms, std::max(1, p.value(o.repeats).toInt()));
        return 0;
    }
    const QString processFormat = p.value(o.processDump);
    if (p.isSet(o.processDump) && processFormat != QLatin1String("safetensors") &&
        processFormat != QLatin1String("npy") && processFormat != QLatin1String("json"))
        return fail(QStringLiteral("--process-dump takes safetensors, npy or json"));
    auto model = openModel(p, o);
    if (!model) return fail(model.message());
    if (p.isSet(o.guiGrid)) {
        if (p.isSet(o.threads)) setThreadCount(std::max(1, p.value(o.threads).toInt()));
        return benchGuiGrid(p, o, *model);
    }
    if (p.isSet(o.guiLong)) {
        if (p.isSet(o.threads)) setThreadCount(std::max(1, p.value(o.threads).toInt()));
        return benchGuiLong(p, o, *model);
    }
    if (p.isSet(o.threads)) {
        const int n = p.value(o.threads).toInt();
        if (n < 1 || n > 1024) return fail(QStringLiteral("--threads must be a positive number"));
        setThreadCount(n);
    }
    auto lengths = parseIdList(p.value(o.tokens), QStringLiteral("--tokens"));
    if (!lengths) return fail(lengths.message());
    std::map<int, double> torchMs;
    if (p.isSet(o.torchJson)) {
        auto bytes = readBoundedFile(p.value(o.torchJson), kMaxConfigBytes,
                                     QStringLiteral("timings file"), true);
        if (!bytes) return fail(bytes.message());
        for (const QJsonValue& v : QJsonDocument::fromJson(*bytes).array())
            torchMs[v.toObject().value(QStringLiteral("T")).toInt()] =
                v.toObject().value(QStringLiteral("ms")).toDouble();
    }
    const double peak = measureGemmPeakGflops();
    auto openMs = benchmarkOpen(p.value(o.model), 5);
    if (!openMs) return fail(openMs.message());
    std::vector<int> counts(lengths->begin(), lengths->end());
    auto rows = benchmarkForward(**model, counts, p.value(o.repeats).toInt());
    if (!rows) return fail(rows.message());
    std::printf("model %s, %d threads, Eigen SGEMM peak %.1f GFLOP/s, model open %.1f ms\n",
                qPrintable((*model)->displayName()), threadCount(), peak, *openMs);
    if (const double splitPeak = measureSplitProductPeakGflops(); splitPeak > 0)
        std::printf("BF16 weights' products on the tile unit (AMX, exact 3-part split): peak %.1f "
                    "GFLOP/s\n",
                    splitPeak);
    std::printf("%6s %12s %12s %7s %9s %8s %10s %10s\n", "T", "attnscope ms", "PyTorch ms", "ratio",
                "GFLOP/s", "% peak", "peak RSS", "edit ms");
    for (const BenchRow& r : *rows) {
        const auto t = torchMs.find(r.tokens);
        const QString torch =
            t == torchMs.end() ? QStringLiteral("-") : QString::number(t->second, 'f', 1);
        const QString ratio = t == torchMs.end() ? QStringLiteral("-")
                                                 : QString::number(r.medianMs / t->second, 'f', 2);
        const QString edit = r.editMs > 0 ? QString::number(r.editMs, 'f', 1) : QStringLiteral("-");
        std::printf("%6d %12.1f %12s %7s %9.1f %7.0f%% %7.0f MB %10s\n", r.tokens, r.medianMs,
                    qPrintable(torch), qPrintable(ratio), r.gflops, 100.0 * r.gflops / peak,
                    r.peakRssMb, qPrintable(edit));
    }
    if (!p.isSet(o.processDump)) return 0;
    // Whole processes, as a script runs them: start, open, tokens, pass, write, exit.
    std::printf("\nwhole `attnscope dump -o out.%s` process (median of %d after a warm-up)\n",
                qPrintable(processFormat), std::max(1, p.value(o.repeats).toInt()));
    // write ms: the file's bytes from memory through the atomic writer, synced to disk as the
    // dump's own commit does; cached ms: the same size into the file cache only (not synced).
    std::printf("%6s %12s %12s %12s %12s %9s %9s %8s %10s\n", "T", "process ms", "in-process",
                "arithmetic", "write ms", "floor ms", "/ floor", "file MB", "cached ms");
    for (const BenchRow& r : *rows) {
        auto d =
            benchmarkDumpProcess(QCoreApplication::applicationFilePath(), path, (*model)->config(),
                                 r.tokens, processFormat, p.value(o.repeats).toInt(), peak);
        if (!d) return fail(d.message());
        const double floor = d->arithmeticMs + d->writeMs;
        std::printf("%6d %12.1f %12.1f %12.1f %12.1f %9.1f %9.2f %8.1f %10.1f\n", d->tokens,
                    d->processMs, r.medianMs, d->arithmeticMs, d->writeMs, floor,
                    d->processMs / floor, d->outputBytes / 1e6, d->cachedWriteMs);
    }
    return 0;
}

int cmdExplain(const QCommandLineParser& p, const InputOptions& o) {
    for (const QCommandLineOption* option : {&o.layer, &o.head, &o.token})
        if (!p.isSet(*option))
            return fail(QStringLiteral("explain needs --layer L --head H --token I"));
    bool okLayer = false, okHead = false, okToken = false;
    const int layer = p.value(o.layer).toInt(&okLayer), head = p.value(o.head).toInt(&okHead),
              token = p.value(o.token).toInt(&okToken);
    if (!okLayer || !okHead || !okToken)
        return fail(QStringLiteral("--layer, --head and --token take integers"));
    auto model = openModel(p, o);
    if (!model) return fail(model.message());
    auto request = buildRequest(p, o, **model);
    if (!request) return fail(request.message());
    const QString out = p.isSet(o.output) ? p.value(o.output) : QString();
    if (auto s = runExplain(**model, *request, layer, head, token, out); !s)
        return fail(s.message());
    return 0;
}

int cmdModels() {
    const QString dir = hfHubCacheDir();
    QJsonArray list;
    for (const CachedModel& m : listCachedModels(dir))
        list.append(QJsonObject{{"repo", m.repoId},
                                {"revision", m.revision},
                                {"path", m.path},
                                {"model_type", m.modelType}});
    printJson(QJsonObject{{"cache", dir}, {"models", list}});
    return 0;
}

} // namespace

bool isCliCommand(const QString& word) {
    static const QStringList commands{
        QStringLiteral("info"),     QStringLiteral("tokenize"), QStringLiteral("dump"),
        QStringLiteral("export"),   QStringLiteral("models"),   QStringLiteral("bench"),
        QStringLiteral("predict"),  QStringLiteral("generate"), QStringLiteral("explain"),
        QStringLiteral("help"),     QStringLiteral("--help"),   QStringLiteral("-h"),
        QStringLiteral("--version")};
    return commands.contains(word);
}

int runCli(const QStringList& args) {
    const QString command = args.value(0);
    if (command == QLatin1String("help") || command == QLatin1String("--help") ||
        command == QLatin1String("-h")) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (command == QLatin1String("--version")) {
        std::puts("attnscope " ATTNSCOPE_VERSION);
        return 0;
    }
    if (command == QLatin1String("predict") || command == QLatin1String("generate"))
        return runPredictCommand(args); // cli_predict.cpp
    InputOptions o;
    QCommandLineParser p;
    p.addOptions({o.model,   o.text,     o.textFile,    o.pair,      o.ids,        o.typeIds,
                  o.image,   o.pixels,   o.output,      o.layer,     o.head,       o.size,
                  o.tokens,  o.threads,  o.repeats,     o.torchJson, o.view,       o.heads,
                  o.compare, o.against,  o.theme,       o.scale,     o.special,    o.threshold,
                  o.guiGrid, o.guiLong,  o.paneViews,   o.attention, o.layers,     o.token,
                  o.patch,   o.cls,      o.opacity,     o.topMass,   o.upsample,   o.title,
                  o.caption, o.colorbar, o.transparent, o.session,   o.processDump});
    p.addOptions(o.analyses.all());
    QStringList argv = args;
    argv.first() = QStringLiteral("attnscope ") + command;
    if (!p.parse(argv)) return fail(p.errorText());
    if (!p.positionalArguments().isEmpty())
        return fail(
            QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().first()));
    // export --view rollout|flow takes the rollout options (and nothing else of --analysis).
    const bool rolloutFigure =
        command == QLatin1String("export") &&
        (p.value(o.view) == QLatin1String("rollout") || p.value(o.view) == QLatin1String("flow")) &&
        !p.isSet(o.analyses.analysis) && !p.isSet(o.analyses.inputList);
    if (command != QLatin1String("dump") && !rolloutFigure && wantsAnalysisDump(p, o.analyses))
        return fail(QStringLiteral("--analysis and its options apply to `dump`"));
    if (command != QLatin1String("export") && p.isSet(o.session))
        return fail(QStringLiteral("--session applies to `export` (the GUI opens sessions from "
                                   "File → Open Session…)"));
    if (command == QLatin1String("info")) return cmdInfo(p, o);
    if (command == QLatin1String("tokenize")) return cmdTokenize(p, o);
    if (command == QLatin1String("dump")) return cmdDump(p, o);
    if (command == QLatin1String("export")) return cmdExport(p, o);
    if (command == QLatin1String("models")) return cmdModels();
    if (command == QLatin1String("explain")) return cmdExplain(p, o);
    if (command == QLatin1String("bench")) return cmdBench(p, o);
    return fail(QStringLiteral("unknown command \"%1\"").arg(command));
}

namespace cli { // shared with the other command files (cli_common.h)
int fail(const QString& message) {
    return attnscope::fail(message);
}
void printJson(const QJsonObject& object) {
    attnscope::printJson(object);
}
Result<std::vector<int64_t>> parseIdList(const QString& text, const QString& option) {
    return attnscope::parseIdList(text, option);
}
Result<QString> readTextFile(const QString& path) {
    return attnscope::readTextFile(path);
}
} // namespace cli

} // namespace attnscope
