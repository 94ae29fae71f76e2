#pragma once
// Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", ACL 2020,
// section 4): the layers as a flow network. Nodes are the tokens at every layer boundary,
// (m, i) for m = 0 (the input embeddings) … L (the last layer's output); node (m, i) has an
// edge to (m-1, j) of capacity Â_{m-1}[i, j], where Â_l = rownorm(fuse_h(A_l) + I) is the
// residual-corrected attention that rollout also uses (rollout.h). flow[i, j] is the value of
// a maximum flow from output token (L, i) to input token (0, j). Unlike rollout, which
// multiplies, flow takes the best way through the graph: a path's share is limited by its
// narrowest edge, and parallel paths add up.
//
// Values are the raw maximum-flow values (each <= 1, since the source's edges sum to 1); the
// authors' notebook additionally divides each row by its sum before plotting.
#include "../result.h"
#include "../trace.h"
#include "rollout.h"

#include <vector>

namespace attnscope {

// Maximum flow from (L, source) to (0, sink) through layers = L × [T, T] capacities (layer l's
// rows are the nodes of boundary l+1, its columns those of boundary l). Dinic's algorithm on
// the residual graph in double precision.
double attentionMaxFlow(const std::vector<Mat>& layers, int source, int sink);

// flow [T, T] for every (output, input) pair; the sinks of one output token run in parallel.
// progress(pairsDone, T²) from the calling thread, after each pair it solves and once at the
// end; returning false cancels (Error "cancelled").
Result<Mat> attentionFlow(const std::vector<Mat>& layers, const ProgressCallback& progress = {});

// Same on an analysis: layers from residualAttentionLayers(analysis, options).
Result<Mat> attentionFlow(const Analysis& analysis, const RolloutOptions& options = {},
                          const ProgressCallback& progress = {});

} // namespace attnscope
