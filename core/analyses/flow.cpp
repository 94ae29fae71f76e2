#include "flow.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>

namespace attnscope {

namespace {

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Residual amounts below this count as zero (capacities are at most 1; float inputs carry
// about 1e-7 relative precision, so nothing meaningful is lost).
constexpr double kEpsilon = 1e-12;

// Dinic's maximum flow (Dinic 1970) specialised to the layered graph: nodes (m, i),
// m = 0 … L, i = 0 … T-1; edges (m, i) -> (m-1, j) with capacity cap[m-1](i, j). The residual
// graph has those edges with cap - flow, and reverse edges (m-1, j) -> (m, i) with flow.
// One instance per thread; reset() before each source/sink pair.
class LayeredMaxFlow {
public:
    explicit LayeredMaxFlow(const std::vector<MatD>& capacities)
        : m_cap(capacities), m_L(int(capacities.size())),
          m_T(capacities.empty() ? 0 : int(capacities[0].rows())) {
        m_flow.assign(size_t(m_L), MatD::Zero(m_T, m_T)); // L × [T, T], flow on each edge
        m_level.assign(size_t((m_L + 1) * m_T), -1);
        m_next.assign(size_t((m_L + 1) * m_T), 0);
        m_queue.reserve(size_t((m_L + 1) * m_T));
    }

    double run(int source, int sink) {
        for (MatD& f : m_flow)
            f.setZero();
        m_sink = sink;
        double total = 0;
        while (buildLevels(source)) {
            std::fill(m_next.begin(), m_next.end(), 0);
            while (true) {
                const double pushed = push(m_L, source, std::numeric_limits<double>::infinity());
                if (pushed <= kEpsilon) break;
                total += pushed;
            }
        }
        return total;
    }

private:
    int node(int m, int i) const { return m * m_T + i; }

    // Residual capacity of neighbour k of (m, i): k < T is (m-1, k) downwards, k >= T is
    // (m+1, k-T) upwards along a reverse edge. 0 where there is no such node.
    double residual(int m, int i, int k) const {
        if (k < m_T) return m > 0 ? m_cap[size_t(m - 1)](i, k) - m_flow[size_t(m - 1)](i, k) : 0.0;
        return m < m_L ? m_flow[size_t(m)](k - m_T, i) : 0.0;
    }

    // BFS levels from the source over residual edges; true if the sink is reachable.
    bool buildLevels(int source) {
        std::fill(m_level.begin(), m_level.end(), -1);
        m_queue.clear();
        m_level[size_t(node(m_L, source))] = 0;
        m_queue.push_back(node(m_L, source));
        for (size_t q = 0; q < m_queue.size(); ++q) {
            const int m = m_queue[q] / m_T, i = m_queue[q] % m_T;
            const int level = m_level[size_t(m_queue[q])];
            for (int k = 0; k < 2 * m_T; ++k) {
                const int target = k < m_T ? node(m - 1, k) : node(m + 1, k - m_T);
                if (residual(m, i, k) <= kEpsilon || m_level[size_t(target)] >= 0) continue;
                m_level[size_t(target)] = level + 1;
                m_queue.push_back(target);
            }
        }
        return m_level[size_t(node(0, m_sink))] >= 0;
    }

    // Blocking-flow DFS along strictly increasing levels, with current-arc pointers.
    double push(int m, int i, double limit) {
        if (m == 0 && i == m_sink) return limit;
        const int here = node(m, i);
        for (int& k = m_next[size_t(here)]; k < 2 * m_T; ++k) {
            const int tm = k < m_T ? m - 1 : m + 1, ti = k < m_T ? k : k - m_T;
            if (tm < 0 || tm > m_L) continue;
            if (m_level[size_t(node(tm, ti))] != m_level[size_t(here)] + 1) continue;
            const double room = residual(m, i, k);
            if (room <= kEpsilon) continue;
            const double pushed = push(tm, ti, std::min(limit, room));
            if (pushed > kEpsilon) {
                if (k < m_T)
                    m_flow[size_t(m - 1)](i, k) += pushed;
                else
                    m_flow[size_t(m)](ti, i) -= pushed;
                return pushed;
            }
        }
        return 0.0;
    }

    const std::vector<MatD>& m_cap; // L × [T, T]
    int m_L, m_T;
    int m_sink = 0;
    std::vector<MatD> m_flow;
    std::vector<int> m_level; // [(L+1) · T], -1 = not reached
    std::vector<int> m_next;  // current arc per node, 0 … 2T
    std::vector<int> m_queue;
};

std::vector<MatD> toDouble(const std::vector<Mat>& layers) {
    std::vector<MatD> out;
    out.reserve(layers.size());
    for (const Mat& m : layers)
        out.push_back(m.cast<double>());
    return out;
}

} // namespace

double attentionMaxFlow(const std::vector<Mat>& layers, int source, int sink) {
    if (layers.empty()) return 0;
    const std::vector<MatD> capacities = toDouble(layers);
    return LayeredMaxFlow(capacities).run(source, sink);
}

Result<Mat> attentionFlow(const std::vector<Mat>& layers, const ProgressCallback& progress) {
    if (layers.empty() || layers[0].rows() == 0)
        return Error{QStringLiteral("attention flow needs at least one layer of attention")};
    const int T = int(layers[0].rows());
    for (const Mat& m : layers)
        if (m.rows() != T || m.cols() != T)
            return Error{QStringLiteral("attention flow needs square [T, T] layers of one size")};
    const std::vector<MatD> capacities = toDouble(layers);
    Mat flow(T, T); // [T, T]; row = output token, column = input token
    const int total = T * T;
    std::atomic<int> done{0};
    std::atomic<bool> stop{false};
    // The pairs of one output token run in parallel; progress is reported (and cancellation
    // asked for) from the calling thread only, OpenMP's thread 0, after each of its pairs.
    for (int source = 0; source < T && !stop; ++source) {
#pragma omp parallel
        {
            LayeredMaxFlow solver(capacities);
#pragma omp for schedule(dynamic)
            for (int sink = 0; sink < T; ++sink) {
                if (stop.load(std::memory_order_relaxed)) continue;
                flow(source, sink) = float(solver.run(source, sink));
                const int finished = done.fetch_add(1) + 1;
                if (progress && omp_get_thread_num() == 0 && !progress(finished, total))
                    stop = true;
            }
        }
    }
    if (stop) return Error{QStringLiteral("cancelled")};
    if (progress && !progress(total, total)) return Error{QStringLiteral("cancelled")};
    return flow;
}

Result<Mat> attentionFlow(const Analysis& analysis, const RolloutOptions& options,
                          const ProgressCallback& progress) {
    auto layers = residualAttentionLayers(analysis, options);
    if (!layers) return layers.error();
    return attentionFlow(*layers, progress);
}

} // namespace attnscope
