#include "generate.h"

#include "predict.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnscope {

namespace {

qsizetype codePoints(const QString& s) {
    return s.toUcs4().size();
}

// Gives the step's analysis (made from ids) the prompt's text, offsets and labels, and the
// generated tokens text of their own: the text becomes prompt + decoded continuation, and
// each generated token's offsets cover the characters it added.
void describeGenerated(Analysis& step, const Analysis& prompt, bool promptFromIds,
                       const LoadedModel& model) {
    const int promptTokens = prompt.tokenCount();
    const int total = step.tokenCount();
    step.generatedTokens = total - promptTokens;
    Encoding& e = step.encoding;
    for (int i = 0; i < promptTokens; ++i) { // the prompt's encoding, as tokenised from text
        e.tokens[i] = prompt.encoding.tokens[i];
        e.offsets[size_t(i)] = prompt.encoding.offsets[size_t(i)];
        e.sequenceIds[size_t(i)] = prompt.encoding.sequenceIds[size_t(i)];
        e.specialMask[size_t(i)] = prompt.encoding.specialMask[size_t(i)];
        step.displayTokens[i] = prompt.displayTokens[i];
    }
    const Tokenizer* tokenizer = model.tokenizer();
    if (!tokenizer) {
        step.text = prompt.text;
        return;
    }
    const std::vector<int64_t> promptIds(e.ids.begin(), e.ids.begin() + promptTokens);
    // Special tokens stay in the text (an end-of-text the model wrote shows as such), so the
    // text reads back as the same tokens.
    const QString promptDecoded = tokenizer->decode(promptIds, false);
    const QString allDecoded = tokenizer->decode(e.ids, false);
    const std::vector<int64_t> generatedIds(e.ids.begin() + promptTokens, e.ids.end());
    // Decoding is usually prefix-stable; where it is not (a character split across tokens at
    // the prompt's end), the continuation is decoded on its own.
    const QString continuation = allDecoded.startsWith(promptDecoded)
                                     ? allDecoded.mid(promptDecoded.size())
                                     : tokenizer->decode(generatedIds, false);
    const QString base = promptFromIds ? promptDecoded : prompt.text; // ids come without text
    step.text = base + continuation;
    const qsizetype baseLength = codePoints(base), added = codePoints(continuation);
    const qsizetype promptLength = codePoints(promptDecoded);
    qsizetype begin = 0;
    std::vector<int64_t> ids = promptIds;
    for (int i = promptTokens; i < total; ++i) {
        ids.push_back(e.ids[size_t(i)]);
        // Characters the continuation has after token i (monotone, within the continuation).
        const qsizetype end =
            i + 1 == total ? added
                           : std::clamp(codePoints(tokenizer->decode(ids, false)) - promptLength,
                                        begin, added);
        e.offsets[size_t(i)] = {int(baseLength + begin), int(baseLength + end)};
        step.displayTokens[i] = tokenizer->displayToken(e.tokens[i]);
        begin = end;
    }
}

} // namespace

int64_t chooseToken(const float* logits, int count, const SamplingOptions& options,
                    std::mt19937_64& rng) {
    if (count <= 0) return -1;
    if (options.greedy) return std::max_element(logits, logits + count) - logits; // first max
    const std::vector<double> p = softmaxWithTemperature(logits, count, options.temperature);
    std::vector<int> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    const auto moreProbable = [&](int a, int b) {
        return p[size_t(a)] != p[size_t(b)] ? p[size_t(a)] > p[size_t(b)] : a < b;
    };
    const int k = options.topK > 0 ? std::min(options.topK, count) : count;
    std::partial_sort(order.begin(), order.begin() + k, order.end(), moreProbable);
    double mass = 0;
    for (int i = 0; i < k; ++i)
        mass += p[size_t(order[size_t(i)])];
    // Nucleus over the top-k tokens renormalised (the order in which transformers applies its
    // warpers): keep tokens while the mass before them is below P.
    int kept = 0;
    double keptMass = 0;
    while (kept < k && (kept == 0 || keptMass / mass < options.topP)) {
        keptMass += p[size_t(order[size_t(kept)])];
        ++kept;
    }
    // One uniform draw in [0, 1) from the top 53 bits: the same on every platform.
    const double u = double(rng() >> 11) * 0x1.0p-53 * keptMass;
    double cumulative = 0;
    for (int i = 0; i < kept; ++i) {
        cumulative += p[size_t(order[size_t(i)])];
        if (u < cumulative) return order[size_t(i)];
    }
    return order[size_t(kept - 1)];
}

Result<std::shared_ptr<const Analysis>> generate(const LoadedModel& model,
                                                 const AnalysisRequest& prompt, int newTokens,
                                                 const SamplingOptions& options,
                                                 const GenerationProgress& progress) {
    const ModelConfig& c = model.config();
    if (!c.causal || c.modality != Modality::Text)
        return Error{QStringLiteral("%1 is not a causal language model: only GPT-2, Llama, "
                                    "Qwen2 and GPT-NeoX style models write text (encoders "
                                    "predict masked tokens with `predict`)")
                         .arg(model.displayName())};
    const LanguageModelHead* head = model.languageModelHead();
    if (!head)
        return Error{QStringLiteral("%1 cannot predict tokens: %2")
                         .arg(model.displayName(), model.languageModelHeadProblem())};
    if (newTokens < 1)
        return Error{QStringLiteral("the number of tokens to generate must be >= 1")};
    if (!options.greedy) {
        if (!(options.temperature > 0) || !std::isfinite(options.temperature))
            return Error{QStringLiteral("the temperature must be a positive number")};
        if (options.topK < 0) return Error{QStringLiteral("top-k must be 0 (off) or more")};
        if (!(options.topP > 0 && options.topP <= 1))
            return Error{QStringLiteral("top-p must be in (0, 1]")};
    }

    AnalysisRequest request = prompt;
    request.keep.qkv = true; // the keys and values are what each next step reuses
    auto first = model.analyze(request);
    if (!first) return first.error();
    if (first->tokenCount() == 0) return Error{QStringLiteral("the prompt has no tokens")};
    const int promptTokens = first->tokenCount();
    if (first->truncatedTokens > 0 || promptTokens + newTokens > c.maxPositions)
        return Error{QStringLiteral("the prompt's %1 tokens and %2 new ones exceed the model's "
                                    "%3 positions")
                         .arg(promptTokens + first->truncatedTokens)
                         .arg(newTokens)
                         .arg(c.maxPositions)};
    const auto promptAnalysis = std::make_shared<const Analysis>(std::move(*first));
    std::shared_ptr<const Analysis> current = promptAnalysis;
    if (progress && !progress(0, newTokens, current)) return cancelledError();

    std::mt19937_64 rng(options.seed);
    for (int step = 0; step < newTokens; ++step) {
        const Mat& states = current->forward.lastHiddenState;  // [T, D]
        const Mat logits = head->logits(states.bottomRows(1)); // [1, V]
        const int64_t token = chooseToken(logits.data(), int(logits.cols()), options, rng);
        AnalysisRequest next;
        next.ids = current->encoding.ids;
        next.ids.push_back(token);
        next.keep = request.keep;
        next.previous = current;
        auto analysis = model.analyze(next);
        if (!analysis) return analysis.error();
        describeGenerated(*analysis, *promptAnalysis, !prompt.ids.empty(), model);
        current = std::make_shared<const Analysis>(std::move(*analysis));
        if (progress && !progress(step + 1, newTokens, current)) return cancelledError();
    }
    return current;
}

} // namespace attnscope
