#pragma once
// A loaded network: weights (memory-mapped, read-only) plus a forward pass that records
// attention. Run state lives in ForwardResult, so one Model serves many threads at once.
#include "config.h"
#include "head_weights.h"
#include "result.h"
#include "trace.h"
#include "weights.h"

#include <memory>

namespace attnscope {

// The first `rows` tokens are the same as in an earlier pass that kept Q/K/V and hidden
// states: a causal model then computes only the rows after them (typing at the end of a text).
struct PrefixReuse {
    const ForwardResult* earlier = nullptr;
    int rows = 0;
    const LayerTrace* layer(size_t l) const { return rows > 0 ? &earlier->layers[l] : nullptr; }
    // The ids still to compute.
    std::vector<int64_t> newIds(const std::vector<int64_t>& ids) const {
        return {ids.begin() + rows, ids.end()};
    }
    // The whole matrix: the earlier pass's first `rows` rows of `member`, then `fresh`.
    Mat complete(Mat ForwardResult::*member, Mat&& fresh) const;
};

struct ModelInput {
    std::vector<int64_t> ids;       // [T] token ids (text models)
    std::vector<int64_t> typeIds;   // [T] segment ids, empty = all zero
    const Tensor* pixels = nullptr; // [3, H, W] (image models)
    PrefixReuse prefix;             // honoured by causal families only
};

class Model {
public:
    virtual ~Model() = default;
    static Result<std::unique_ptr<Model>> create(const ModelConfig& config,
                                                 const WeightStore& weights);

    virtual Result<ForwardResult> forward(const ModelInput& input, const KeepOptions& keep,
                                          const ProgressCallback& progress) const = 0;
    // Head `head` of layer `layer` (both in range: the caller checks).
    virtual HeadWeights headWeights(int layer, int head) const = 0;

protected:
    // Shared input checks: non-empty, ids within vocab, length within max positions.
    static Status checkTokens(const ModelConfig& config, const ModelInput& input);
};

Result<std::unique_ptr<Model>> createGpt2(const ModelConfig&, const WeightStore&);
Result<std::unique_ptr<Model>> createBertFamily(const ModelConfig&, const WeightStore&);
Result<std::unique_ptr<Model>> createLlamaFamily(const ModelConfig&, const WeightStore&);
Result<std::unique_ptr<Model>> createGptNeoX(const ModelConfig&, const WeightStore&);
Result<std::unique_ptr<Model>> createVit(const ModelConfig&, const WeightStore&);

} // namespace attnscope
