#include "rollout.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnscope {

namespace {

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Â_l in double precision (products over many layers stay within 1e-6 of a float64 reference).
MatD residualAttentionD(const Mat& fused, double discard) {
    const Eigen::Index T = fused.rows();
    MatD a = fused.cast<double>(); // [T, T]
    // vit-explain: the floor(T² · discard) smallest entries are dropped, the first token's
    // column excepted. Ties are broken by position so the result does not depend on sort order.
    const Eigen::Index drop = Eigen::Index(std::floor(double(T * T) * discard));
    if (drop > 0) {
        std::vector<Eigen::Index> order(size_t(T * T));
        std::iota(order.begin(), order.end(), Eigen::Index(0));
        const double* values = a.data();
        std::nth_element(order.begin(), order.begin() + (drop - 1), order.end(),
                         [values](Eigen::Index x, Eigen::Index y) {
                             return values[x] < values[y] || (values[x] == values[y] && x < y);
                         });
        for (Eigen::Index k = 0; k < drop; ++k) {
            const Eigen::Index flat = order[size_t(k)];
            if (flat % T != 0) a.data()[flat] = 0.0;
        }
    }
    a += MatD::Identity(T, T);
    for (Eigen::Index i = 0; i < T; ++i)
        a.row(i) /= a.row(i).sum(); // >= 1 thanks to the identity
    return a;
}

Status checkOptions(const Analysis& analysis, const RolloutOptions& options) {
    if (!(options.discard >= 0.0 && options.discard < 1.0))
        return Error{
            QStringLiteral("the discard fraction must be in [0, 1), got %1").arg(options.discard)};
    if (analysis.layerCount() == 0 || analysis.headCount() == 0 || analysis.tokenCount() == 0)
        return Error{QStringLiteral("rollout needs an analysis with attention")};
    return okStatus();
}

} // namespace

Result<HeadFusion> headFusionFromName(const QString& name) {
    if (name == QLatin1String("mean")) return HeadFusion::Mean;
    if (name == QLatin1String("max")) return HeadFusion::Max;
    if (name == QLatin1String("min")) return HeadFusion::Min;
    return Error{QStringLiteral("unknown head fusion \"%1\" (use mean, max or min)").arg(name)};
}

QString headFusionName(HeadFusion fusion) {
    switch (fusion) {
    case HeadFusion::Max:
        return QStringLiteral("max");
    case HeadFusion::Min:
        return QStringLiteral("min");
    case HeadFusion::Mean:
        break;
    }
    return QStringLiteral("mean");
}

Mat fuseHeads(const Analysis& analysis, int layer, HeadFusion fusion) {
    const int heads = analysis.headCount();
    Mat fused = *analysis.streamedAttention(layer, 0); // [T, T]
    for (int h = 1; h < heads; ++h) {
        const auto head = analysis.streamedAttention(layer, h);
        const Mat& a = *head; // [T, T]
        if (fusion == HeadFusion::Max)
            fused = fused.cwiseMax(a);
        else if (fusion == HeadFusion::Min)
            fused = fused.cwiseMin(a);
        else
            fused += a;
    }
    if (fusion == HeadFusion::Mean) fused /= float(heads);
    return fused;
}

Mat residualAttention(const Mat& fused, double discard) {
    return residualAttentionD(fused, discard).cast<float>();
}

Result<std::vector<Mat>> residualAttentionLayers(const Analysis& analysis,
                                                 const RolloutOptions& options) {
    if (auto s = checkOptions(analysis, options); !s) return s.error();
    std::vector<Mat> layers;
    for (int l = 0; l < analysis.layerCount(); ++l)
        layers.push_back(
            residualAttention(fuseHeads(analysis, l, options.fusion), options.discard));
    return layers;
}

Result<Mat> attentionRollout(const Analysis& analysis, const RolloutOptions& options) {
    if (auto s = checkOptions(analysis, options); !s) return s.error();
    const int T = analysis.tokenCount();
    MatD rollout = MatD::Identity(T, T); // [T, T]
    for (int l = 0; l < analysis.layerCount(); ++l)
        rollout = residualAttentionD(fuseHeads(analysis, l, options.fusion), options.discard) *
                  rollout; // Â_l · (Â_{l-1} · … · Â_0)
    return Mat(rollout.cast<float>());
}

Result<Mat> clsPatchGrid(const Mat& rollout) {
    const Eigen::Index patches = rollout.cols() - 1;
    const Eigen::Index side =
        Eigen::Index(std::lround(std::sqrt(double(std::max<Eigen::Index>(patches, 0)))));
    if (rollout.rows() < 1 || patches < 1 || side * side != patches)
        return Error{QStringLiteral("%1 tokens are not [CLS] and a square grid of patches")
                         .arg(rollout.cols())};
    Mat grid(side, side); // [side, side], row-major patches as the model reads them
    for (Eigen::Index p = 0; p < patches; ++p)
        grid(p / side, p % side) = rollout(0, p + 1);
    return grid;
}

} // namespace attnscope
