#include "bench.h"

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <random>
#include <sys/resource.h>

namespace attnscope {

namespace {
double peakRssMb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

template <typename F> double timeMs(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}
} // namespace

int threadCount() {
    return Eigen::nbThreads();
}
void setThreadCount(int threads) {
    Eigen::setNbThreads(threads);
}

double forwardFlops(const ModelConfig& c, int T) {
    const double D = c.hidden, I = c.intermediate, H = c.heads, KV = c.kvHeads, d = c.headDim;
    const double projections = 2.0 * T * D * (H * d + 2 * KV * d) + 2.0 * T * H * d * D;
    const double mlp =
        (c.family == Family::Llama || c.family == Family::Qwen2 ? 3.0 : 2.0) * 2.0 * T * D * I;
    const double attention = 2.0 * 2.0 * H * double(T) * T * d; // QK^T and PV
    return c.layers * (projections + mlp + attention);
}

Result<std::vector<BenchRow>> benchmarkForward(const LoadedModel& model,
                                               const std::vector<int>& tokenCounts, int repeats) {
    std::vector<BenchRow> rows;
    std::mt19937 rng(1234);
    const ModelConfig& c = model.config();
    if (c.modality != Modality::Text) return Error{QStringLiteral("bench runs text models")};
    for (int T : tokenCounts) {
        if (T <= 0 || T > c.maxPositions)
            return Error{QStringLiteral("%1 tokens do not fit the model's %2 positions")
                             .arg(T)
                             .arg(c.maxPositions)};
        AnalysisRequest request;
        std::uniform_int_distribution<int64_t> pick(0, c.vocab - 1);
        for (int t = 0; t < T; ++t)
            request.ids.push_back(pick(rng));
        request.keep = KeepOptions::attentionOnly(); // all attention kept, nothing else
        Status status = okStatus();
        auto run = [&] {
            auto a = model.analyze(request);
            if (!a) status = a.error();
        };
        run(); // warm-up
        if (!status) return status.error();
        std::vector<double> times;
        for (int r = 0; r < std::max(repeats, 1); ++r)
            times.push_back(timeMs(run));
        std::sort(times.begin(), times.end());
        BenchRow row;
        row.tokens = T;
        row.medianMs = times[times.size() / 2];
        row.gflops = forwardFlops(c, T) / (row.medianMs * 1e6);
        // Typing at the end: all but the last token come from the cache. Skipped for long inputs,
        // whose full-precision scores would inflate the attention-only peak RSS reported below.
        if (c.causal && T >= 2 && T <= 256) {
            AnalysisRequest edit = request;
            edit.keep = KeepOptions{}; // the GUI keeps Q/K/V and hidden states for this
            auto base = model.analyze(edit);
            if (!base) return base.error();
            edit.previous = std::make_shared<const Analysis>(std::move(base.value()));
            std::vector<double> editTimes;
            for (int r = 0; r < std::max(repeats, 1) * 2; ++r) {
                edit.ids.back() = pick(rng);
                editTimes.push_back(timeMs([&] {
                    auto a = model.analyze(edit);
                    if (!a) status = a.error();
                }));
            }
            if (!status) return status.error();
            std::sort(editTimes.begin(), editTimes.end());
            row.editMs = editTimes[editTimes.size() / 2];
        }
        row.peakRssMb = peakRssMb();
        rows.push_back(row);
    }
    return rows;
}

Result<double> benchmarkOpen(const QString& path, int repeats) {
    std::vector<double> times;
    for (int r = 0; r < std::max(repeats, 1) + 1; ++r) {
        Status status = okStatus();
        const double ms = timeMs([&] {
            auto m = LoadedModel::open(path);
            if (!m) status = m.error();
        });
        if (!status) return status.error();
        if (r > 0) times.push_back(ms); // the first run warms the file cache
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

double measureGemmPeakGflops() {
    const int n = 1024;
    Mat a = Mat::Random(n, n), b = Mat::Random(n, n), out(n, n);
    out.noalias() = a * b; // warm-up
    double best = 1e30;
    for (int r = 0; r < 5; ++r)
        best = std::min(best, timeMs([&] { out.noalias() = a * b; }));
    return 2.0 * n * n * n / (best * 1e6);
}

} // namespace attnscope
