#include "model.h"

#include "blocks.h"

namespace attnscope {

Result<std::unique_ptr<Model>> Model::create(const ModelConfig& config,
                                             const WeightStore& weights) {
    switch (config.family) {
    case Family::Gpt2:
        return createGpt2(config, weights);
    case Family::Bert:
    case Family::DistilBert:
    case Family::Roberta:
        return createBertFamily(config, weights);
    case Family::Llama:
    case Family::Qwen2:
        return createLlamaFamily(config, weights);
    case Family::GptNeoX:
        return createGptNeoX(config, weights);
    case Family::Vit:
        return createVit(config, weights);
    }
    return Error{QStringLiteral("unsupported model family")};
}

Status Model::checkTokens(const ModelConfig& config, const ModelInput& input) {
    if (input.ids.empty()) return Error{QStringLiteral("no tokens to analyse")};
    if (int64_t(input.ids.size()) > config.maxPositions)
        return Error{QStringLiteral("%1 tokens exceed the model's maximum of %2 positions")
                         .arg(input.ids.size())
                         .arg(config.maxPositions)};
    for (int64_t id : input.ids)
        if (id < 0 || id >= config.vocab)
            return Error{QStringLiteral("token id %1 is outside the vocabulary (0..%2)")
                             .arg(id)
                             .arg(config.vocab - 1)};
    if (!input.typeIds.empty()) {
        if (input.typeIds.size() != input.ids.size())
            return Error{QStringLiteral("%1 token type ids given for %2 tokens")
                             .arg(input.typeIds.size())
                             .arg(input.ids.size())};
        const int typeVocab = std::max(config.typeVocab, 1);
        for (int64_t t : input.typeIds)
            if (t < 0 || t >= typeVocab)
                return Error{
                    QStringLiteral("token type id %1 is outside 0..%2").arg(t).arg(typeVocab - 1)};
    }
    return okStatus();
}

Mat PrefixReuse::complete(Mat ForwardResult::*member, Mat&& fresh) const {
    return withPrefix(rows > 0 ? &(earlier->*member) : nullptr, rows, std::move(fresh));
}

ForwardResult::KeptAttention ForwardResult::keptAttention() const {
    KeptAttention kept;
    for (size_t l = 0; l < layers.size(); ++l) {
        std::vector<int> heads;
        for (size_t h = 0; h < layers[l].attention.size(); ++h)
            if (isLazy() || layers[l].attention[h].size() > 0) heads.push_back(int(h));
        if (heads.empty()) continue;
        if (kept.layers.empty()) kept.heads = std::move(heads);
        kept.layers.push_back(int(l));
    }
    return kept;
}

Tensor ForwardResult::attentionTensor() const {
    Tensor out;
    const KeptAttention kept = keptAttention();
    if (kept.layers.empty()) return out;
    const int64_t L = int64_t(kept.layers.size()), H = int64_t(kept.heads.size());
    const int64_t T = attention(kept.layers[0], kept.heads[0])->rows();
    out.shape = {L, H, T, T};
    out.data.resize(size_t(L * H * T * T));
    float* dst = out.data.data();
    for (int l : kept.layers)
        for (int h : kept.heads) {
            // [T, T]: stored, or a lazy head computed on its own (not kept in the cache)
            const auto head = attentionUncached(l, h);
            const Mat& a = *head;
            std::copy(a.data(), a.data() + T * T, dst); // row-major [T, T]
            dst += T * T;
        }
    return out;
}

} // namespace attnscope
