#include "norms.h"

#include <Eigen/Dense>
#include <cmath>

namespace attnscope {

Result<NormAttention> normBasedAttention(const Analysis& analysis, const LoadedModel& model) {
    const int64_t L = analysis.layerCount(), H = analysis.headCount(), T = analysis.tokenCount();
    NormAttention out;
    out.perHead.shape = {L, H, T, T};
    out.perHead.data.assign(size_t(L * H * T * T), 0.0f);
    out.perLayer.shape = {L, T, T};
    out.perLayer.data.assign(size_t(L * T * T), 0.0f);
    for (int64_t l = 0; l < L; ++l) {
        const LayerTrace& trace = analysis.forward.layers[size_t(l)];
        if (trace.v.rows() != T)
            return Error{QStringLiteral("norm-based attention needs the values of the forward pass "
                                        "(KeepOptions::qkv)")};
        auto weights = model.attentionWeights(int(l));
        if (!weights) return weights.error();
        const int d = int((*weights)[0].wo.rows());
        // f[h] [T, D]: every token's value through head h's rows of W_O.
        std::vector<Mat> f(static_cast<size_t>(H));
        std::vector<Vec> fNorm(static_cast<size_t>(H)); // [T] each: ||f_h(x_j)||
        for (int64_t h = 0; h < H; ++h) {
            const HeadWeights& w = (*weights)[size_t(h)];
            f[size_t(h)] = trace.v.middleCols(w.kvHead * d, d) * w.wo;
            fNorm[size_t(h)] = f[size_t(h)].rowwise().norm().transpose();
        }
        // ||sum_h a_h f_h(x_j)||^2 = a^T G_j a with G_j[h, h'] = f_h(x_j) . f_h'(x_j): an H x H
        // Gram matrix per key instead of a D-wide sum per (query, key) pair. Formed pair by pair
        // for all keys at once (element-wise, in double), not as T small matrix products.
        std::vector<Eigen::MatrixXd> fd;
        for (const Mat& m : f)
            fd.push_back(m.cast<double>());
        std::vector<Eigen::MatrixXd> gram(static_cast<size_t>(T), Eigen::MatrixXd(H, H));
        for (int64_t h = 0; h < H; ++h)
            for (int64_t g = h; g < H; ++g) {
                const Eigen::VectorXd dots =
                    fd[size_t(h)].cwiseProduct(fd[size_t(g)]).rowwise().sum(); // [T]
                for (int64_t j = 0; j < T; ++j)
                    gram[size_t(j)](h, g) = gram[size_t(j)](g, h) = dots[j];
            }
        float* perHead = out.perHead.data.data() + l * H * T * T;
        float* perLayer = out.perLayer.data.data() + l * T * T;
        const bool causal = model.config().causal;      // keys after the query stay 0
        std::vector<std::shared_ptr<const Mat>> alphas; // H x [T, T], this layer's attention
        for (int64_t h = 0; h < H; ++h)
            alphas.push_back(analysis.streamedAttention(int(l), int(h)));
#pragma omp parallel for schedule(dynamic, 16) if (T >= 64)
        for (int64_t i = 0; i < T; ++i) {
            Eigen::VectorXd a(H);
            for (int64_t j = 0; j < (causal ? i + 1 : T); ++j) {
                for (int64_t h = 0; h < H; ++h) {
                    const float alpha = (*alphas[size_t(h)])(i, j);
                    a[h] = alpha;
                    perHead[(h * T + i) * T + j] = alpha * fNorm[size_t(h)][j];
                }
                const double squared = a.dot(gram[size_t(j)] * a);
                perLayer[i * T + j] = float(std::sqrt(std::max(squared, 0.0)));
            }
        }
    }
    return out;
}

} // namespace attnscope
