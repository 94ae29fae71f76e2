#pragma once
// Per-head statistics of one analysis, the measures of Clark et al. 2019 ("What does BERT look
// at?") and Voita et al. 2019 that tell heads apart at a glance: how much a head looks at the
// previous token, at the first token (BOS / [CLS] "sinks"), and how peaked its rows are.
// Rows are query tokens; every statistic is a mean over the rows that have the keys it asks
// for (row 0 has no previous token).
#include "../session.h"

#include <vector>

namespace attnscope {

struct HeadStatistics {
    int layer = 0;
    int head = 0;
    double previousToken = 0; // mean A[i, i-1] over rows i >= 1
    double firstToken = 0;    // mean A[i, 0] over rows i >= 1
    double entropy = 0;       // mean row entropy in nats (uniform over j keys: log j)
    double confidence = 0;    // mean row maximum
};

// One entry per layer and head, layer-major. Empty when the analysis has fewer than 2 tokens.
std::vector<HeadStatistics> headStatistics(const Analysis& analysis);

// Attention of the second copy of a repeated sequence onto the token after the same token's
// first occurrence (Olsson et al. 2022's induction score), for ids laid out as
// [prefix..., s_1..s_n, s_1..s_n] with the copies ending the input: mean over the second copy
// of A[i, i - n + 1]. Returns layer-major scores, one per head.
std::vector<double> inductionScores(const Analysis& analysis, int copyLength);

// The head a newcomer should see first: the one with the clearest previous-token diagonal
// when some head puts at least half its attention there, else the most confident head that
// is not merely a first-token sink. {layer, head}; {0, 0} for an empty analysis.
std::pair<int, int> mostPatternedHead(const Analysis& analysis);

} // namespace attnscope
