#include "head_statistics.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

namespace {

// A token made only of punctuation once the tokenizers' word markers are taken off
// (byte-level "Ġ", SentencePiece "▁", WordPiece "##", spaces).
bool isPunctuationToken(QString token) {
    if (token.startsWith(QLatin1String("##"))) token = token.mid(2);
    token.remove(QChar(0x0120)).remove(QChar(0x2581));
    token = token.trimmed();
    if (token.isEmpty()) return false;
    return std::all_of(token.cbegin(), token.cend(), [](QChar c) { return c.isPunct(); });
}

// Patch (row, column) of token t >= 1 on a side × side grid after [CLS].
double patchDistance(int a, int b, int side) {
    const int ra = (a - 1) / side, ca = (a - 1) % side;
    const int rb = (b - 1) / side, cb = (b - 1) % side;
    return std::hypot(double(ra - rb), double(ca - cb));
}

double rowEntropy(const Mat& a, int i) {
    double entropy = 0;
    for (Eigen::Index j = 0; j < a.cols(); ++j)
        if (a(i, j) > 0) entropy -= double(a(i, j)) * std::log(double(a(i, j)));
    return entropy;
}

void accumulate(HeadStatistics& sum, const HeadStatistics& s) {
    sum.previousToken += s.previousToken;
    sum.firstToken += s.firstToken;
    sum.entropy += s.entropy;
    sum.confidence += s.confidence;
    sum.sameToken += s.sameToken;
    sum.nextToken += s.nextToken;
    sum.specialTokens += s.specialTokens;
    sum.punctuation += s.punctuation;
    sum.meanDistance += s.meanDistance;
    sum.entropyUniform += s.entropyUniform;
}

void divide(HeadStatistics& s, double n) {
    s.previousToken /= n;
    s.firstToken /= n;
    s.entropy /= n;
    s.confidence /= n;
    s.sameToken /= n;
    s.nextToken /= n;
    s.specialTokens /= n;
    s.punctuation /= n;
    s.meanDistance /= n;
    s.entropyUniform /= n;
}

} // namespace

TokenClasses tokenClasses(const Analysis& analysis, const Tokenizer* tokenizer,
                          const ModelConfig* config) {
    const int T = analysis.tokenCount();
    const Encoding& e = analysis.encoding;
    TokenClasses classes;
    classes.special.assign(size_t(T), false);
    classes.punctuation.assign(size_t(T), false);
    for (int i = 0; i < T; ++i) {
        const size_t k = size_t(i);
        bool special = (k < e.specialMask.size() && e.specialMask[k]) ||
                       (k < e.sequenceIds.size() && e.sequenceIds[k] < 0);
        // Explicit --ids carry no special mask: ask the tokenizer whether the id is one of its
        // special added tokens (decoding it with special tokens skipped leaves nothing). The
        // unknown token stands for text, as it does in an encoding of text, so it is not.
        if (!special && tokenizer && k < e.ids.size() &&
            !(k < size_t(e.tokens.size()) &&
              e.tokens[i].contains(QLatin1String("unk"), Qt::CaseInsensitive))) {
            const std::vector<int64_t> one{e.ids[k]};
            special =
                tokenizer->decode(one, true).isEmpty() && !tokenizer->decode(one, false).isEmpty();
        }
        classes.special[k] = special;
        const QString token = i < analysis.displayTokens.size() ? analysis.displayTokens[i]
                              : i < e.tokens.size()             ? e.tokens[i]
                                                                : QString();
        classes.punctuation[k] = !special && isPunctuationToken(token);
    }
    if (config && config->modality == Modality::Image) classes.patchPixels = config->patchSize;
    return classes;
}

std::vector<HeadStatistics> headStatistics(const Analysis& analysis) {
    return headStatistics(analysis, tokenClasses(analysis));
}

std::vector<HeadStatistics> headStatistics(const Analysis& analysis, const TokenClasses& classes,
                                           const std::function<bool()>& stop) {
    std::vector<HeadStatistics> out;
    const int T = analysis.tokenCount();
    if (T < 2) return out;
    const auto isSpecial = [&](int j) {
        return size_t(j) < classes.special.size() && classes.special[size_t(j)];
    };
    const auto isPunct = [&](int j) {
        return size_t(j) < classes.punctuation.size() && classes.punctuation[size_t(j)];
    };
    // Image distances: [CLS] then a side × side patch grid.
    const int side = int(std::lround(std::sqrt(double(T - 1))));
    const bool pixels = classes.patchPixels > 0 && side * side == T - 1;
    for (int l = 0; l < analysis.layerCount(); ++l) {
        for (int h = 0; h < analysis.headCount(); ++h) {
            if (stop && stop()) return out;
            const auto head = analysis.streamedAttention(l, h); // lazy heads one at a time
            const Mat& a = *head;                               // [T, T]
            HeadStatistics s{l, h};
            for (int i = 1; i < T; ++i) {
                s.previousToken += a(i, i - 1);
                s.firstToken += a(i, 0);
            }
            s.previousToken /= T - 1;
            s.firstToken /= T - 1;
            for (int i = 0; i + 1 < T; ++i)
                s.nextToken += a(i, i + 1);
            s.nextToken /= T - 1;
            for (int i = 0; i < T; ++i) {
                s.entropy += rowEntropy(a, i);
                s.confidence += a.row(i).maxCoeff();
                s.sameToken += a(i, i);
                for (int j = 0; j < T; ++j) {
                    if (isSpecial(j)) s.specialTokens += a(i, j);
                    if (isPunct(j)) s.punctuation += a(i, j);
                }
            }
            s.entropy /= T;
            s.confidence /= T;
            s.sameToken /= T;
            s.specialTokens /= T;
            s.punctuation /= T;
            if (pixels) {
                for (int i = 1; i < T; ++i)
                    for (int j = 1; j < T; ++j)
                        s.meanDistance += a(i, j) * patchDistance(i, j, side);
                s.meanDistance *= double(classes.patchPixels) / (T - 1);
            } else {
                for (int i = 0; i < T; ++i)
                    for (int j = 0; j < T; ++j)
                        s.meanDistance += a(i, j) * std::abs(i - j);
                s.meanDistance /= T;
            }
            s.entropyUniform = std::log(double(T));
            out.push_back(s);
        }
    }
    return out;
}

std::vector<std::pair<const char*, double>> statisticValues(const HeadStatistics& s) {
    return {{"entropy", s.entropy},
            {"entropy_uniform", s.entropyUniform},
            {"previous_token", s.previousToken},
            {"same_token", s.sameToken},
            {"next_token", s.nextToken},
            {"first_token", s.firstToken},
            {"special_tokens", s.specialTokens},
            {"punctuation", s.punctuation},
            {"confidence", s.confidence},
            {"mean_distance", s.meanDistance}};
}

Result<std::vector<HeadStatistics>>
headStatisticsOverInputs(const LoadedModel& model, const std::vector<AnalysisRequest>& inputs,
                         const ProgressCallback& progress, int* inputsUsed) {
    std::vector<HeadStatistics> sums;
    int used = 0;
    const int total = int(inputs.size());
    for (int k = 0; k < total; ++k) {
        AnalysisRequest request = inputs[size_t(k)];
        request.keep = KeepOptions::attentionOnly(); // attention is all the statistics read
        request.previous.reset();
        auto analysis = model.analyze(request);
        if (!analysis)
            return Error{QStringLiteral("input %1: %2").arg(k + 1).arg(analysis.message())};
        const std::vector<HeadStatistics> stats =
            headStatistics(*analysis, tokenClasses(*analysis, model.tokenizer(), &model.config()));
        if (!stats.empty()) {
            if (sums.empty()) {
                sums = stats;
            } else {
                for (size_t i = 0; i < sums.size(); ++i)
                    accumulate(sums[i], stats[i]);
            }
            ++used;
        }
        if (progress && !progress(k + 1, total)) return Error{QStringLiteral("cancelled")};
    }
    if (inputsUsed) *inputsUsed = used;
    if (used == 0) return Error{QStringLiteral("no input with at least 2 tokens")};
    for (HeadStatistics& s : sums)
        divide(s, used);
    return sums;
}

std::vector<double> inductionScores(const Analysis& analysis, int n) {
    std::vector<double> out;
    const int T = analysis.tokenCount();
    if (n < 2 || 2 * n > T) return out;
    for (int l = 0; l < analysis.layerCount(); ++l)
        for (int h = 0; h < analysis.headCount(); ++h) {
            const auto head = analysis.streamedAttention(l, h);
            const Mat& a = *head; // [T, T]
            double sum = 0;
            for (int i = T - n; i < T; ++i)
                sum += a(i, i - n + 1);
            out.push_back(sum / n);
        }
    return out;
}

std::pair<int, int> mostPatternedHead(const Analysis& analysis) {
    const std::vector<HeadStatistics> stats = headStatistics(analysis);
    if (stats.empty()) return {0, 0};
    const HeadStatistics* best = &stats.front();
    for (const HeadStatistics& s : stats)
        if (s.previousToken > best->previousToken) best = &s;
    if (best->previousToken >= 0.5) return {best->layer, best->head};
    // No previous-token head: the most peaked head whose peak is not just the first token.
    best = nullptr;
    for (const HeadStatistics& s : stats)
        if (s.firstToken < 0.5 && (!best || s.confidence > best->confidence)) best = &s;
    return best ? std::pair{best->layer, best->head} : std::pair{0, 0};
}

double jensenShannonDivergence(const Mat& a, const Mat& b) {
    const Eigen::Index T = std::min(a.rows(), b.rows());
    if (T == 0 || a.cols() != b.cols()) return 0;
    // p log(p / m) with 0 log 0 = 0; m >= p / 2 > 0 wherever p > 0.
    const auto term = [](double p, double m) { return p > 0 ? p * std::log(p / m) : 0.0; };
    double sum = 0;
    for (Eigen::Index i = 0; i < T; ++i) {
        double js = 0;
        for (Eigen::Index j = 0; j < a.cols(); ++j) {
            const double p = a(i, j), q = b(i, j), m = 0.5 * (p + q);
            js += 0.5 * term(p, m) + 0.5 * term(q, m);
        }
        sum += std::max(0.0, js);
    }
    return sum / double(T);
}

std::vector<SimilarHead> headsLike(const Analysis& analysis, int layer, int head) {
    std::vector<SimilarHead> out;
    if (layer < 0 || head < 0 || layer >= analysis.layerCount() || head >= analysis.headCount())
        return out;
    const auto reference = analysis.attention(layer, head); // [T, T]
    for (int l = 0; l < analysis.layerCount(); ++l)
        for (int h = 0; h < analysis.headCount(); ++h)
            if (l != layer || h != head)
                out.push_back(
                    {l, h, jensenShannonDivergence(*reference, *analysis.streamedAttention(l, h))});
    std::stable_sort(out.begin(), out.end(), [](const SimilarHead& x, const SimilarHead& y) {
        return x.distance < y.distance;
    });
    return out;
}

} // namespace attnscope
