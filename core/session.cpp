#include "session.h"
#include "file_limits.h"

#include "blocks.h"

#include "model.h"
#include "partial_analysis.h"
#include "predict.h"
#include "weights.h"

#include <QDir>
#include <QFileInfo>
#include <atomic>
#include <cmath>
#include <new>
#include <omp.h>
#include <unistd.h>

namespace attnscope {

LoadedModel::~LoadedModel() = default;

namespace {
// ATTNSCOPE_MEMORY_LIMIT_MB in MB; 0 when unset or empty; an error when set to anything but a
// positive number.
Result<double> memoryLimitMb() {
    const QString value = qEnvironmentVariable("ATTNSCOPE_MEMORY_LIMIT_MB").trimmed();
    if (value.isEmpty()) return 0.0; // unset, or set empty: the default
    bool ok = false;
    const double mb = value.toDouble(&ok);
    if (!ok || !std::isfinite(mb) || mb <= 0)
        return Error{QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB must be a positive number of "
                                    "megabytes, not \"%1\"")
                         .arg(value.left(40))};
    return mb;
}
} // namespace

namespace {
// "1.3 MB", "2.41 GB": small models' sizes stay readable (0.001 GB would hide them).
QString readableBytes(double bytes) {
    return bytes < 1e9 ? QStringLiteral("%1 MB").arg(bytes / 1e6, 0, 'f', 1)
                       : QStringLiteral("%1 GB").arg(bytes / 1e9, 0, 'f', 2);
}
} // namespace

Status checkMemoryLimitVariable() {
    if (auto mb = memoryLimitMb(); !mb) return mb.error();
    return okStatus();
}

Status checkTokenizeMemory(qsizetype characters) {
    constexpr double kBytesPerCharacter = 250;
    const double needed = double(characters) * kBytesPerCharacter;
    if (needed > memoryBudgetBytes())
        return Error{QStringLiteral("a text of %1 characters would need about %2 GB to tokenize "
                                    "(this computer allows %3 GB); use a shorter text")
                         .arg(characters)
                         .arg(needed / 1e9, 0, 'f', 2)
                         .arg(memoryBudgetBytes() / 1e9, 0, 'f', 2)};
    return okStatus();
}

double memoryBudgetBytes() {
    const auto limitMb = memoryLimitMb(); // invalid values are refused by checkMemoryLimitVariable
    if (limitMb && *limitMb > 0) return *limitMb * 1024 * 1024;
    const double physical = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
    return physical > 0 ? physical * 0.6 : 8.0 * double(1 << 30);
}

namespace {

// "default" and "default-vision" are the project's own trained models, compiled into the
// binary as Qt resources (resources/models, uncompressed so the weights are used in place).
// ATTNSCOPE_DEFAULT_MODEL / ATTNSCOPE_DEFAULT_VISION_MODEL point them at a folder instead.
QString resolveModelPath(const QString& path) {
    if (path == QLatin1String("default")) {
        const QString env = qEnvironmentVariable("ATTNSCOPE_DEFAULT_MODEL");
        return env.isEmpty() ? QStringLiteral(":/attnscope/models/default") : env;
    }
    if (path == QLatin1String("default-vision")) {
        const QString env = qEnvironmentVariable("ATTNSCOPE_DEFAULT_VISION_MODEL");
        return env.isEmpty() ? QStringLiteral(":/attnscope/models/default-vision") : env;
    }
    return path;
}

} // namespace

Result<std::shared_ptr<const LoadedModel>> LoadedModel::open(const QString& pathIn,
                                                             TokenizerLoading tokenizer,
                                                             const LoadProgressCallback& progress) {
    if (auto limit = checkMemoryLimitVariable(); !limit) return limit.error();
    const QString path = resolveModelPath(pathIn);
    const QFileInfo info(path);
    if (!info.exists())
        return Error{
            path.startsWith(QLatin1String(":/"))
                ? QStringLiteral("the embedded model \"%1\" is not in this build").arg(pathIn)
                : QStringLiteral("model folder %1 does not exist").arg(path)};
    // Pickle weights (pytorch_model.bin, *.pt, ...) are never unpickled: say how to convert.
    if (const QString pickle = pickleOnlyMessage(path); !pickle.isEmpty()) return Error{pickle};
    if (!info.isDir())
        return Error{
            QStringLiteral("%1 is not a folder (expected a checkpoint folder with config.json)")
                .arg(path)};
    const QDir dir(path);
    if (!QFileInfo::exists(dir.filePath(QStringLiteral("config.json"))))
        return Error{QStringLiteral("%1 has no config.json").arg(path)};

    static std::atomic<quint64> nextInstanceId{1};
    auto model = std::shared_ptr<LoadedModel>(new LoadedModel);
    model->m_path = info.absoluteFilePath();
    model->m_instanceId = nextInstanceId++;
    ATTNSCOPE_ASSIGN_OR_RETURN(model->m_config,
                               ModelConfig::fromFile(dir.filePath(QStringLiteral("config.json"))));
    WeightStore weights;
    ATTNSCOPE_ASSIGN_OR_RETURN(weights, WeightStore::openFolder(path));
    // F32 weights are used in place; other float types become float32 copies in memory.
    const double converted = double(weights.convertedFloatBytes());
    if (converted > memoryBudgetBytes())
        return Error{QStringLiteral("%1 stores its weights in 16-bit floats; computing in float32 "
                                    "needs %2 GB for them, more than this computer allows (%3 GB)")
                         .arg(model->displayName())
                         .arg(converted / 1e9, 0, 'f', 3)
                         .arg(memoryBudgetBytes() / 1e9, 0, 'f', 3)};
    // The weights count against the same budget as the analyses: mapped tensors are resident
    // once a pass has read them, widened copies from the start.
    model->m_weightBytes = double(weights.residentBytes());
    if (model->m_weightBytes > memoryBudgetBytes())
        return Error{QStringLiteral("%1's weights take %2 in memory, more than this computer "
                                    "allows (%3; ATTNSCOPE_MEMORY_LIMIT_MB sets it)")
                         .arg(model->displayName(), readableBytes(model->m_weightBytes),
                              readableBytes(memoryBudgetBytes()))};
    try {
        if (progress) weights.setLoadProgress(progress);
        auto created = Model::create(model->m_config, weights);
        // A loader may word a failed get() its own way: a cancel is always just "cancelled".
        if (weights.isLoadCancelled()) return Error{QStringLiteral("cancelled")};
        if (!created) return created.error();
        model->m_model = std::move(created.value());
        // Without a head the model still shows attention; predictions then say why not.
        auto head = LanguageModelHead::load(model->m_config, weights);
        if (weights.isLoadCancelled()) return Error{QStringLiteral("cancelled")};
        // The first pass then runs without page faults.
        if (!weights.prefaultMarked()) return Error{QStringLiteral("cancelled")};
        if (head)
            model->m_head = std::move(head.value());
        else
            model->m_headProblem = head.message();
    } catch (const std::bad_alloc&) {
        return Error{QStringLiteral("out of memory while loading %1").arg(path)};
    }

    if (model->m_config.modality == Modality::Text) {
        const bool hasTokenizerFiles =
            QFileInfo::exists(dir.filePath(QStringLiteral("tokenizer.json"))) ||
            QFileInfo::exists(dir.filePath(QStringLiteral("vocab.json"))) ||
            QFileInfo::exists(dir.filePath(QStringLiteral("vocab.txt")));
        if (hasTokenizerFiles && tokenizer == TokenizerLoading::CheckFilesOnly) {
            for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt", "vocab.txt"})
                if (QFileInfo::exists(dir.filePath(QLatin1String(name))))
                    if (auto s = requireRegularFile(dir.filePath(QLatin1String(name)),
                                                    QStringLiteral("tokenizer file"));
                        !s)
                        return s.error();
        } else if (hasTokenizerFiles) { // without one, the model still runs on explicit ids
            ATTNSCOPE_ASSIGN_OR_RETURN(model->m_tokenizer, Tokenizer::fromFolder(path));
        }
    }
    return std::shared_ptr<const LoadedModel>(std::move(model));
}

QString LoadedModel::displayName() const {
    return QFileInfo(m_path).fileName() == QLatin1String("model")
               ? QFileInfo(QFileInfo(m_path).path()).fileName()
               : QFileInfo(m_path).fileName();
}

Result<Encoding> LoadedModel::tokenize(const QString& text,
                                       const std::optional<QString>& pair) const {
    if (!m_tokenizer && m_config.modality == Modality::Image)
        return Error{QStringLiteral("%1 is an image model: it has no tokenizer (give it an image)")
                         .arg(displayName())};
    if (!m_tokenizer)
        return Error{
            QStringLiteral("%1 has no tokenizer files (tokenizer.json, vocab.json or vocab.txt)")
                .arg(m_path)};
    if (auto s = checkTokenizeMemory(text.size() + (pair ? pair->size() : 0)); !s) return s.error();
    return m_tokenizer->encode(text, pair);
}

// Readable labels. A byte-level token holding only part of a character's UTF-8 bytes (an
// emoji split in two, say) would show as U+FFFD; it is labelled with the characters it came
// from instead, numbered when several tokens share them: " 😀 (1/2)", "😀 (2/2)".
QStringList LoadedModel::displayTokens(const Encoding& e, const QString& text) const {
    QStringList labels;
    for (const QString& t : e.tokens)
        labels << (m_tokenizer ? m_tokenizer->displayToken(t) : t);
    const QList<uint> codePoints = text.toUcs4();
    const auto sourceOf = [&](size_t i) -> std::optional<std::pair<int, int>> {
        if (i >= e.offsets.size() || (i < e.sequenceIds.size() && e.sequenceIds[i] != 0))
            return std::nullopt;
        const auto [b, end] = e.offsets[i];
        if (b < 0 || b >= end || end > codePoints.size()) return std::nullopt;
        return e.offsets[i];
    };
    for (qsizetype i = 0; i < labels.size(); ++i) {
        if (!labels[i].contains(QChar::ReplacementCharacter)) continue;
        const auto range = sourceOf(size_t(i));
        if (!range) continue;
        // Neighbours whose characters overlap this token's are pieces of the same character(s).
        const auto overlap = [&](qsizetype a, qsizetype b) {
            const auto ra = sourceOf(size_t(a)), rb = sourceOf(size_t(b));
            return ra && rb && ra->first < rb->second && rb->first < ra->second;
        };
        qsizetype first = i, last = i;
        while (first > 0 && overlap(first - 1, first))
            --first;
        while (last + 1 < labels.size() && overlap(last, last + 1))
            ++last;
        QString source = QString::fromUcs4(
            reinterpret_cast<const char32_t*>(codePoints.constData()) + range->first,
            range->second - range->first);
        if (last > first)
            source += QStringLiteral(" (%1/%2)").arg(i - first + 1).arg(last - first + 1);
        labels[i] = source;
    }
    return labels;
}

// What one pass keeps grows with layers x heads x T^2; refuse up front what cannot fit rather
// than let the allocation fail half-way (or the machine swap).
Status LoadedModel::checkMemory(int64_t tokens, const KeepOptions& keep, double outputBytesPerValue,
                                bool followedByLayer) const {
    const double perMatrix = double(tokens) * double(tokens) * sizeof(float);
    int keptHeads = 0;
    for (int l = 0; l < m_config.layers; ++l)
        for (int h = 0; h < m_config.heads; ++h)
            keptHeads += keep.keepsAttention(l, h) ? 1 : 0;
    // Kept heads, plus the scores and probabilities each thread builds for a kept head.
    const double matrices = double(keptHeads) * (keep.scores ? 2 : 1) +
                            (keptHeads > 0 ? 2.0 * std::max(1, omp_get_max_threads()) : 0.0);
    const double activations =
        double(m_config.layers) * tokens *
        (m_config.hidden * ((keep.hiddenStates ? 1 : 0) + (keep.attentionInputs ? 2 : 0)) +
         (keep.qkv ? (m_config.heads + 2 * m_config.kvHeads) * m_config.headDim : 0) +
         (keep.attentionInputs ? m_config.heads * m_config.headDim : 0)) *
        sizeof(float);
    // Writing the result out (dump to .npy, .safetensors, .json) copies or formats every kept
    // value again: bytes per value from the caller, for the attention and the last state.
    const double output = outputBytesPerValue * (double(keptHeads) * double(tokens) * tokens +
                                                 double(tokens) * m_config.hidden);
    // Lazy heads: a [128, T] row block per thread, the cache of viewed heads, and the scores and
    // probabilities of heads being computed on demand (two threads at once).
    const double lazy = keep.lazyAttention ? double(std::max(1, omp_get_max_threads())) * 128 *
                                                     double(tokens) * sizeof(float) +
                                                 headCacheBytes(tokens) + 2 * 2 * perMatrix
                                           : 0.0;
    // Snapshots of a pass followed layer by layer keep every layer's Q and K (0.64 GB for a
    // 1B shape at T = 4096) until the final analysis replaces them.
    const double snapshots = followedByLayer ? double(m_config.layers) * tokens *
                                                   (m_config.heads + m_config.kvHeads) *
                                                   m_config.headDim * sizeof(float)
                                             : 0.0;
    // The model's own weights are in the same process: counted so the limit bounds its peak.
    const double needed =
        perMatrix * matrices + activations + output + lazy + snapshots + m_weightBytes;
    const double budget = memoryBudgetBytes();
    if (needed > budget && keep.lazyAttention)
        return Error{QStringLiteral("%1 tokens would need %2 GB even computing its heads on "
                                    "demand (one head's attention alone is %3 GB; this computer "
                                    "allows %4 GB); use a shorter text, or dump fewer heads "
                                    "(--layers, --heads)")
                         .arg(tokens)
                         .arg(needed / 1e9, 0, 'f', 1)
                         .arg(perMatrix / 1e9, 0, 'f', 1)
                         .arg(budget / 1e9, 0, 'f', 1)};
    if (needed > budget)
        return Error{
            QStringLiteral("%1 tokens would need %2 GB to keep %4 attention%5, with the model's "
                           "weights (this computer allows %3 GB); use a shorter text, or dump "
                           "fewer heads (--layers, --heads)")
                .arg(tokens)
                .arg(needed / 1e9, 0, 'f', 1)
                .arg(budget / 1e9, 0, 'f', 1)
                .arg(keep.keepsAllAttention() ? QStringLiteral("every layer's and head's")
                                              : QStringLiteral("the chosen heads'"))
                .arg(outputBytesPerValue > 0 ? QStringLiteral(" and write it out") : QString())};
    return okStatus();
}

// How many leading tokens of `ids` an earlier analysis already computed, usable only when
// the model is causal (later tokens cannot change earlier rows) and the earlier pass kept
// everything this request wants back, plus keys and values.
PrefixReuse LoadedModel::reusablePrefix(const AnalysisRequest& request,
                                        const std::vector<int64_t>& ids) const {
    const Analysis* earlier = request.previous.get();
    if (!earlier || earlier->producedBy != m_instanceId || !m_config.causal || ids.size() < 2)
        return {};
    const ForwardResult& f = earlier->forward;
    if (f.layers.empty() || f.layers[0].k.rows() == 0) return {};
    const KeepOptions& keep = request.keep;
    if ((keep.qkv && f.layers[0].q.rows() == 0) || (keep.scores && f.layers[0].scores.empty()) ||
        (keep.hiddenStates && (f.layers[0].hidden.rows() == 0 || f.embeddings.rows() == 0)) ||
        (keep.attentionInputs && f.layers[0].input.rows() == 0))
        return {};
    // Earlier rows are copied from kept attention: both passes must keep every head, or both
    // compute heads on demand (then only Q, K and V are taken from the earlier pass).
    if (keep.lazyAttention) {
        if (!f.isLazy() || f.layers[0].q.rows() == 0) return {};
    } else if (!keep.keepsAllAttention()) {
        return {};
    }
    if (!keep.lazyAttention)
        for (const LayerTrace& layer : f.layers)
            for (const Mat& a : layer.attention)
                if (a.size() == 0) return {};
    const std::vector<int64_t>& before = earlier->encoding.ids;
    size_t shared = 0;
    while (shared < before.size() && shared < ids.size() && before[shared] == ids[shared])
        ++shared;
    shared =
        std::min({shared, ids.size() - 1, size_t(f.layers[0].k.rows())}); // always run >= 1 row
    return PrefixReuse{&f, int(shared)};
}

Result<std::vector<HeadWeights>> LoadedModel::attentionWeights(int layer) const {
    if (layer < 0 || layer >= m_config.layers)
        return Error{QStringLiteral("layer %1 is outside the model's layers 0..%2")
                         .arg(layer)
                         .arg(m_config.layers - 1)};
    std::vector<HeadWeights> heads;
    for (int h = 0; h < m_config.heads; ++h)
        heads.push_back(m_model->headWeights(layer, h));
    return heads;
}

KeepOptions LoadedModel::keepFor(int64_t tokens, const KeepOptions& asked) const {
    KeepOptions keep = asked;
    const double eager = double(m_config.layers) * m_config.heads * double(tokens) *
                         double(tokens) * sizeof(float) * (asked.scores ? 2 : 1);
    if (!asked.keepsAllAttention() || eager <= eagerAttentionBudgetBytes()) return keep;
    // Too big to keep every head: keep Q, K (and V, for the explainer) and compute heads on
    // demand. Pre-softmax scores are not kept then (another [T, T] per head).
    keep.lazyAttention = true;
    keep.qkv = true;
    keep.scores = false;
    return keep;
}

Result<Analysis> LoadedModel::analyze(const AnalysisRequest& request,
                                      const ProgressCallback& progress) const {
    try {
        auto analysis = analyzeUnguarded(request, progress);
        if (analysis) // NaN/Inf weights or a config such as rope_theta -1: say so, never draw NaN
            if (auto finite = checkFinite(*analysis); !finite) return finite.error();
        return analysis;
    } catch (const std::bad_alloc&) { // checkMemory() is an estimate, not a guarantee
        return Error{QStringLiteral("out of memory while analysing this input")};
    }
}

// Whether the rows of one head that this pass computed (after `reusedTokens`) are finite: the
// pass's own record where it made one (from the softmax sums: reading 4 T² bytes per head, or Q
// and K, again cost more than the softmax), else the values: a kept head's new rows, or for a
// head computed on demand its layer's Q and K (finite Q and K give finite probabilities, the
// softmax of finite scores), read once per layer.
static bool newRowsFinite(const LayerTrace& layer, int head, int reusedTokens) {
    if (layer.attentionFinite.size() == layer.attention.size())
        return layer.attentionFinite[size_t(head)] != 0;
    if (const Mat& a = layer.attention[size_t(head)]; a.size() > 0)
        return allFinite(a.bottomRows(a.rows() - std::min<Eigen::Index>(reusedTokens, a.rows())));
    return head != 0 || layer.q.size() == 0 || (allFinite(layer.q) && allFinite(layer.k));
}

Status LoadedModel::checkFinite(const Analysis& analysis) const {
    const auto& layers = analysis.forward.layers;
    for (size_t l = 0; l < layers.size(); ++l)
        for (size_t h = 0; h < layers[l].attention.size(); ++h)
            // Rows taken from an earlier analysis were checked with it: only the new ones here.
            if (!newRowsFinite(layers[l], int(h), analysis.reusedTokens))
                return Error{QStringLiteral("%1 computed NaN or infinite attention (layer %2, "
                                            "head %3): its weights or config.json (e.g. "
                                            "rope_theta, norm epsilon) are invalid")
                                 .arg(displayName())
                                 .arg(l)
                                 .arg(h)};
    if (!allFinite(analysis.forward.lastHiddenState))
        return Error{QStringLiteral("%1 computed NaN or infinite hidden states: its weights or "
                                    "config.json are invalid")
                         .arg(displayName())};
    return okStatus();
}

Result<Analysis> LoadedModel::analyzeUnguarded(const AnalysisRequest& request,
                                               const ProgressCallback& progress) const {
    Analysis analysis;
    analysis.text = request.text;
    ModelInput input;
    if (m_config.modality == Modality::Image) {
        if (request.pixelValues.data.empty())
            return Error{
                QStringLiteral("%1 is an image model: give it an image").arg(displayName())};
        input.pixels = &request.pixelValues;
    } else if (!request.ids.empty()) {
        Encoding& e = analysis.encoding;
        e.ids = request.ids;
        e.typeIds =
            request.typeIds.empty() ? std::vector<int64_t>(e.ids.size(), 0) : request.typeIds;
        for (int64_t id : e.ids) {
            const QString token = m_tokenizer ? m_tokenizer->idToToken(id) : QString();
            e.tokens << (token.isEmpty() ? QString::number(id) : token);
            e.offsets.emplace_back(0, 0);
            e.sequenceIds.push_back(0);
            e.specialMask.push_back(false);
        }
    } else {
        ATTNSCOPE_ASSIGN_OR_RETURN(analysis.encoding, tokenize(request.text, request.pair));
    }

    if (m_config.modality == Modality::Text) {
        Encoding& e = analysis.encoding;
        const bool fromText = request.ids.empty();
        if (fromText &&
            e.size() > m_config.maxPositions) { // cut text to fit, and say how much was dropped
            analysis.truncatedTokens = e.size() - m_config.maxPositions;
            const size_t n = size_t(m_config.maxPositions);
            e.ids.resize(n);
            while (e.tokens.size() > qsizetype(n))
                e.tokens.removeLast();
            if (e.offsets.size() > n) e.offsets.resize(n);
            if (e.typeIds.size() > n) e.typeIds.resize(n);
            if (e.sequenceIds.size() > n) e.sequenceIds.resize(n);
            if (e.specialMask.size() > n) e.specialMask.resize(n);
        }
        if (e.ids.empty()) return analysis; // empty text: zero tokens, an empty view
        input.ids = e.ids;
        if (e.typeIds.size() == e.ids.size()) input.typeIds = e.typeIds;
        analysis.displayTokens = displayTokens(e, request.text);
    }

    const int64_t tokens = m_config.modality == Modality::Image ? int64_t(m_config.maxPositions)
                                                                : int64_t(input.ids.size());
    const KeepOptions keep = keepFor(tokens, request.keep);
    const bool followedByLayer =
        request.partial && (keep.lazyAttention || keep.keepsAllAttention());
    if (auto s = checkMemory(tokens, keep, request.outputBytesPerValue, followedByLayer); !s)
        return s.error();
    AnalysisRequest reuse = request;
    reuse.keep = keep;
    input.prefix = reusablePrefix(reuse, input.ids);
    analysis.reusedTokens = input.prefix.rows;
    analysis.producedBy = m_instanceId;
    static std::atomic<quint64> nextPassId{1};
    analysis.passId = nextPassId++;
    // Labels first, so that snapshots handed out during the pass carry them.
    if (m_config.modality == Modality::Image) {
        // Tokens are [CLS] (DeiT: then [DIST]) and the patches, row-major.
        const int T = int(tokens); // maxPositions: [CLS] ([DIST]) and the patches
        const int prefix = m_config.prefixTokens();
        const int side = std::max(1, m_config.imageSize / std::max(1, m_config.patchSize));
        Encoding& e = analysis.encoding;
        for (int t = 0; t < T; ++t) {
            const QString label =
                t == 0 ? QStringLiteral("[CLS]")
                : t < prefix
                    ? QStringLiteral("[DIST]")
                    : QStringLiteral("(%1,%2)").arg((t - prefix) / side).arg((t - prefix) % side);
            e.ids.push_back(t);
            e.tokens << label;
            e.offsets.emplace_back(0, 0);
            e.typeIds.push_back(0);
            e.sequenceIds.push_back(t < prefix ? -1 : 0);
            e.specialMask.push_back(t < prefix);
            analysis.displayTokens << label;
        }
    }
    // Snapshots while the pass runs: only for passes that keep every head or compute them all
    // on demand (the final analysis then answers every head, like the snapshots).
    std::unique_ptr<PartialPublisher> publisher;
    KeepOptions passKeep = keep;
    if (followedByLayer) {
        publisher = std::make_unique<PartialPublisher>(
            analysis, m_config.layers, headCacheBytes(tokens), request.previous, request.partial);
        passKeep.layerReady = [p = publisher.get()](const ReadyLayer& r) { p->onLayerReady(r); };
    }
    ATTNSCOPE_ASSIGN_OR_RETURN(analysis.forward, m_model->forward(input, passKeep, progress));
    if (keep.lazyAttention) {
        analysis.forward.lazyHeads = recomputedHeads();
        analysis.forward.headCache.setLimitBytes(headCacheBytes(tokens));
        // The heads the snapshots computed are this analysis's heads (same Q, K and code).
        if (publisher) analysis.forward.headCache = HeadCache::sharedWith(publisher->headCache());
    }

    return analysis;
}

} // namespace attnscope
