#pragma once
// Letting a causal model write: N tokens chosen one at a time from its next-token
// distribution, each step running only the new token's row and reusing the keys and values of
// the text so far (PrefixReuse). The result is an ordinary Analysis of prompt + generated
// tokens, so every view and every dump works on it; Analysis::generatedTokens marks the tail.
#include "result.h"
#include "session.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <random>

namespace attnscope {

struct SamplingOptions {
    bool greedy = true;       // argmax (lowest id on ties); the options below are then unused
    double temperature = 1.0; // > 0: logits are divided by it before the softmax
    int topK = 0;             // keep the K most probable tokens (0 = all)
    double topP = 1.0;        // then the fewest most probable tokens whose mass reaches P
    uint64_t seed = 0;        // the same seed, model and prompt give the same tokens
};

// The sampling rule on one row of logits [V]. Shared with tests; `rng` is advanced by one draw
// when sampling (none when greedy).
int64_t chooseToken(const float* logits, int count, const SamplingOptions& options,
                    std::mt19937_64& rng);

// Called with the prompt's analysis (done = 0) and after each generated token; return false to
// stop (generate() then returns the error "cancelled").
using GenerationProgress =
    std::function<bool(int done, int total, const std::shared_ptr<const Analysis>& soFar)>;

// Writes exactly `newTokens` tokens after the prompt (an end-of-text token does not stop it).
// Errors: not a causal model, no LM head, prompt without tokens, prompt + new tokens longer
// than the model's positions, bad sampling options.
Result<std::shared_ptr<const Analysis>> generate(const LoadedModel& model,
                                                 const AnalysisRequest& prompt, int newTokens,
                                                 const SamplingOptions& options,
                                                 const GenerationProgress& progress = {});

} // namespace attnscope
