#include "head_statistics.h"

#include <cmath>

namespace attnscope {

std::vector<HeadStatistics> headStatistics(const Analysis& analysis) {
    std::vector<HeadStatistics> out;
    const int T = analysis.tokenCount();
    if (T < 2) return out;
    for (int l = 0; l < analysis.layerCount(); ++l) {
        for (int h = 0; h < analysis.headCount(); ++h) {
            const Mat& a = analysis.attention(l, h); // [T, T]
            HeadStatistics s{l, h};
            for (int i = 1; i < T; ++i) {
                s.previousToken += a(i, i - 1);
                s.firstToken += a(i, 0);
            }
            s.previousToken /= T - 1;
            s.firstToken /= T - 1;
            for (int i = 0; i < T; ++i) {
                double entropy = 0;
                for (int j = 0; j < T; ++j)
                    if (a(i, j) > 0) entropy -= double(a(i, j)) * std::log(double(a(i, j)));
                s.entropy += entropy;
                s.confidence += a.row(i).maxCoeff();
            }
            s.entropy /= T;
            s.confidence /= T;
            out.push_back(s);
        }
    }
    return out;
}

std::vector<double> inductionScores(const Analysis& analysis, int n) {
    std::vector<double> out;
    const int T = analysis.tokenCount();
    if (n < 2 || 2 * n > T) return out;
    for (int l = 0; l < analysis.layerCount(); ++l)
        for (int h = 0; h < analysis.headCount(); ++h) {
            const Mat& a = analysis.attention(l, h);
            double sum = 0;
            for (int i = T - n; i < T; ++i)
                sum += a(i, i - n + 1);
            out.push_back(sum / n);
        }
    return out;
}

std::pair<int, int> mostPatternedHead(const Analysis& analysis) {
    const std::vector<HeadStatistics> stats = headStatistics(analysis);
    if (stats.empty()) return {0, 0};
    const HeadStatistics* best = &stats.front();
    for (const HeadStatistics& s : stats)
        if (s.previousToken > best->previousToken) best = &s;
    if (best->previousToken >= 0.5) return {best->layer, best->head};
    // No previous-token head: the most peaked head whose peak is not just the first token.
    best = nullptr;
    for (const HeadStatistics& s : stats)
        if (s.firstToken < 0.5 && (!best || s.confidence > best->confidence)) best = &s;
    return best ? std::pair{best->layer, best->head} : std::pair{0, 0};
}

} // namespace attnscope
