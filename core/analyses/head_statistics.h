#pragma once
// Per-head statistics of one analysis, the measures of Clark et al. 2019 ("What does BERT look
// at? An analysis of BERT's attention", BlackboxNLP) and Voita et al. 2019 ("Analyzing
// multi-head self-attention", ACL) that tell heads apart at a glance: how much a head looks at
// the previous / same / next token, at special tokens and the first token (BOS / [CLS]
// "sinks"), at punctuation, how peaked its rows are (entropy against the uniform log T,
// confidence), and how far it looks (mean attention distance; for images in pixels, as
// Dosovitskiy et al. 2021, "An image is worth 16x16 words", figure 7).
// Rows are query tokens; every statistic is a mean over the rows that have the keys it asks
// for (row 0 has no previous token, the last row no next token).
#include "../session.h"

#include <functional>
#include <vector>

namespace attnscope {

struct HeadStatistics {
    int layer = 0;
    int head = 0;
    double previousToken = 0; // mean A[i, i-1] over rows i >= 1
    double firstToken = 0;    // mean A[i, 0] over rows i >= 1
    double entropy = 0;       // mean row entropy in nats
    double confidence = 0;    // mean row maximum
    double sameToken = 0;     // mean A[i, i]
    double nextToken = 0;     // mean A[i, i+1] over rows i <= T-2 (0 for causal models)
    double specialTokens = 0; // mean over rows of Σ A[i, j] over special tokens j
    double punctuation = 0;   // mean over rows of Σ A[i, j] over punctuation tokens j
    double meanDistance = 0;  // mean over rows of Σ_j A[i, j] · distance(i, j) (see TokenClasses)
    double entropyUniform = 0; // log T, the entropy of a uniform row over all T keys
};

// What the statistics need to know about the tokens, one entry per token.
struct TokenClasses {
    std::vector<bool> special;     // [CLS], [SEP], <s>, </s>, BOS ... (added special tokens)
    std::vector<bool> punctuation; // tokens made only of punctuation (after the word markers)
    // Image models: the side of a patch in pixels. Tokens are then [CLS] and a square grid of
    // patches; mean distance is over patch rows and patch keys only, in pixels between patch
    // centres ([CLS] has no place on the image). 0: text, distance |i - j| in tokens.
    int patchPixels = 0;
};

// Classes from the analysis's encoding and display tokens. With a tokenizer, tokens given as
// explicit ids that are the tokenizer's special added tokens count as special too; with a
// config of an image model, distances are in pixels.
TokenClasses tokenClasses(const Analysis& analysis, const Tokenizer* tokenizer = nullptr,
                          const ModelConfig* config = nullptr);

// One entry per layer and head, layer-major. Empty when the analysis has fewer than 2 tokens.
// `stop`, asked before each head, ends the loop early when it returns true (a job whose result
// nobody wants any more: with lazy heads each head is a [T, T] computation); the entries then
// cover only the heads before it.
std::vector<HeadStatistics> headStatistics(const Analysis& analysis, const TokenClasses& classes,
                                           const std::function<bool()>& stop = {});
// Same, with tokenClasses(analysis) (no tokenizer, distances in tokens).
std::vector<HeadStatistics> headStatistics(const Analysis& analysis);

// Every statistic as (JSON key, value), in a fixed order (layer and head not included).
std::vector<std::pair<const char*, double>> statisticValues(const HeadStatistics& s);

// The statistics averaged over several inputs (each input counts once, whatever its length),
// each analysed with attention only. progress(done, total) after each input; returning false
// cancels (Error "cancelled"). Inputs with fewer than 2 tokens are skipped; an Error if none
// is left, or if an input fails (naming its position, from 1).
Result<std::vector<HeadStatistics>>
headStatisticsOverInputs(const LoadedModel& model, const std::vector<AnalysisRequest>& inputs,
                         const ProgressCallback& progress = {}, int* inputsUsed = nullptr);

// Attention of the second copy of a repeated sequence onto the token after the same token's
// first occurrence (Olsson et al. 2022's induction score), for ids laid out as
// [prefix..., s_1..s_n, s_1..s_n] with the copies ending the input: mean over the second copy
// of A[i, i - n + 1]. Returns layer-major scores, one per head.
std::vector<double> inductionScores(const Analysis& analysis, int copyLength);

// The head a newcomer should see first: the one with the clearest previous-token diagonal
// when some head puts at least half its attention there, else the most confident head that
// is not merely a first-token sink. {layer, head}; {0, 0} for an empty analysis.
std::pair<int, int> mostPatternedHead(const Analysis& analysis);

// Distance between two heads as Clark et al. 2019 (section 6) measure it: the Jensen–Shannon
// divergence of their attention rows, JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½ (P + Q), in
// nats (0 … log 2), averaged over the query rows (they sum; the mean keeps inputs of different
// lengths comparable). a, b: [T, T] with the same T.
double jensenShannonDivergence(const Mat& a, const Mat& b);

// Every head ordered by jensenShannonDivergence to head (layer, head) on this analysis,
// closest first, the head itself left out: {layer, head, distance}.
struct SimilarHead {
    int layer = 0;
    int head = 0;
    double distance = 0;
};
std::vector<SimilarHead> headsLike(const Analysis& analysis, int layer, int head);

} // namespace attnscope
