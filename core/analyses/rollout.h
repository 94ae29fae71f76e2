#pragma once
// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers",
// ACL 2020, section 3): raw attention of one layer says nothing about how information mixed in
// earlier layers, so rollout multiplies the layers' attention, each with the residual
// connection added as an identity:
//     Â_l = rownorm(fuse_h(A_l) + I),   R = Â_{L-1} · … · Â_0        (both [T, T])
// R[i, j] is how much of output token i traces back to input token j. The heads of a layer are
// fused by their element-wise mean (the paper), or max / min (as in Gildenblat's vit-explain).
// vit-explain also discards the lowest fraction of each fused matrix before adding I; here the
// first token's column (the ViT [CLS] / BOS) is never discarded.
#include "../result.h"
#include "../session.h"

#include <QString>
#include <vector>

namespace attnscope {

enum class HeadFusion { Mean, Max, Min };

struct RolloutOptions {
    HeadFusion fusion = HeadFusion::Mean;
    // Share of the T² entries of each fused layer, the smallest first, set to 0 before + I
    // (entries of column 0 are kept). 0 <= discard < 1.
    double discard = 0.0;
};

// "mean", "max" or "min"; an Error naming the choices otherwise.
Result<HeadFusion> headFusionFromName(const QString& name);
QString headFusionName(HeadFusion fusion);

// fuse_h(A_l): the element-wise mean / max / min of layer `layer`'s heads. [T, T]
Mat fuseHeads(const Analysis& analysis, int layer, HeadFusion fusion);

// Â_l = rownorm(discard(fused) + I) for a fused [T, T] layer matrix. [T, T], rows sum to 1.
Mat residualAttention(const Mat& fused, double discard);

// Â_l of every layer with the given options: L × [T, T]. Error for a bad discard fraction or
// an analysis without attention.
Result<std::vector<Mat>> residualAttentionLayers(const Analysis& analysis,
                                                 const RolloutOptions& options);

// R = Â_{L-1} · … · Â_0. [T, T]; row i = output token i, column j = input token j.
Result<Mat> attentionRollout(const Analysis& analysis, const RolloutOptions& options = {});

// For image models ([CLS] then the patches row-major): R[0, 1..] on the patch grid,
// [side, side]. Error if T - 1 is not a square number.
Result<Mat> clsPatchGrid(const Mat& rollout);

} // namespace attnscope
