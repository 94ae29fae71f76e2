#include "bench.h"

#include "split_product.h"

#include "file_limits.h"

#include <Eigen/Core>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <algorithm>
#include <chrono>
#include <omp.h>
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
    // The pass's own parallel loops (heads, column splits, the split product) follow OpenMP's
    // count, not Eigen's: --threads sets both.
    omp_set_num_threads(threads);
}

double forwardFlops(const ModelConfig& c, int T) {
    const double D = c.hidden, I = c.intermediate, H = c.heads, KV = c.kvHeads, d = c.headDim;
    const double projections = 2.0 * T * D * (H * d + 2 * KV * d) + 2.0 * T * H * d * D;
    const double mlp =
        (c.family == Family::Llama || c.family == Family::Qwen2 ? 3.0 : 2.0) * 2.0 * T * D * I;
    return c.layers * (projections + mlp) + attentionFlops(c, T);
}

double attentionFlops(const ModelConfig& c, int T) {
    return c.layers * 2.0 * 2.0 * c.heads * double(T) * T * c.headDim; // QK^T and PV
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
        // Peak RSS of the full pass, before the edit below holds a second analysis.
        row.peakRssMb = peakRssMb();
        // Typing at the end: all but the last token come from the cache.
        if (c.causal && T >= 2) {
            AnalysisRequest edit = request;
            edit.keep = KeepOptions::attentionOnly(); // what the window keeps: attention and
            edit.keep.qkv = true;                     // Q/K/V (for this reuse)
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

Result<ProcessDumpRow> benchmarkDumpProcess(const QString& program, const QString& modelArg,
                                            const ModelConfig& config, int tokens,
                                            const QString& format, int repeats,
                                            double gemmPeakGflops) {
    QTemporaryDir dir;
    if (!dir.isValid()) return Error{QStringLiteral("cannot make a temporary folder")};
    std::mt19937 rng(4321);
    std::uniform_int_distribution<int64_t> pick(0, config.vocab - 1);
    QStringList ids;
    for (int t = 0; t < tokens; ++t)
        ids << QString::number(pick(rng));
    const QString output = dir.filePath(QStringLiteral("out.") + format);
    const QStringList args{
        QStringLiteral("dump"),     QStringLiteral("--model"), modelArg, QStringLiteral("--ids"),
        ids.join(QLatin1Char(',')), QStringLiteral("-o"),      output};
    std::vector<double> times;
    for (int r = 0; r < std::max(repeats, 1) + 1; ++r) {
        QFile::remove(output);
        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        const auto start = std::chrono::steady_clock::now();
        child.start(program, args);
        if (!child.waitForFinished(600000) || child.exitStatus() != QProcess::NormalExit ||
            child.exitCode() != 0)
            return Error{
                QStringLiteral("%1 dump failed (exit code %2)").arg(program).arg(child.exitCode())};
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (r > 0) times.push_back(ms); // the first run warms the file cache
    }
    std::sort(times.begin(), times.end());
    ProcessDumpRow row;
    row.tokens = tokens;
    row.processMs = times[times.size() / 2];
    row.outputBytes = double(QFile(output).size());
    row.arithmeticMs = forwardFlops(config, tokens) / (gemmPeakGflops * 1e6);
    // One sequential write of the same size, as the dump does it: bytes in memory (a buffer of
    // the file's size, touched first) through OutputFile, whose commit syncs the file to disk
    // before renaming it.
    std::vector<double> syncedWrites;
    {
        const QByteArray bytes(qsizetype(row.outputBytes), '\x5a');
        for (int r = 0; r < std::max(repeats, 1); ++r) {
            const QString path = dir.filePath(QStringLiteral("write-test-synced.bin"));
            QFile::remove(path);
            Status status = okStatus();
            syncedWrites.push_back(timeMs([&] { status = writeWholeFile(path, bytes); }));
            if (!status) return status.error();
        }
        QFile::remove(dir.filePath(QStringLiteral("write-test-synced.bin")));
    }
    std::sort(syncedWrites.begin(), syncedWrites.end());
    row.writeMs = syncedWrites[syncedWrites.size() / 2];
    // The former measure: one hot 1 MB block written over and over into the file cache.
    const QByteArray block(1 << 20, '\x5a');
    std::vector<double> writes;
    for (int r = 0; r < std::max(repeats, 1); ++r) {
        const QString path = dir.filePath(QStringLiteral("write-test.bin"));
        QFile::remove(path);
        QFile f(path);
        Status status = okStatus();
        writes.push_back(timeMs([&] {
            if (!f.open(QIODevice::WriteOnly)) {
                status = Error{QStringLiteral("cannot write %1").arg(path)};
                return;
            }
            for (qint64 left = qint64(row.outputBytes); left > 0; left -= block.size())
                f.write(block.constData(), std::min<qint64>(left, block.size()));
            f.close();
        }));
        if (!status) return status.error();
    }
    std::sort(writes.begin(), writes.end());
    row.cachedWriteMs = writes[writes.size() / 2];
    return row;
}

Result<double> benchmarkTokenizerOpen(const QString& folder, int repeats) {
    std::vector<double> times;
    for (int r = 0; r < std::max(repeats, 1) + 1; ++r) {
        Status status = okStatus();
        const double ms = timeMs([&] {
            auto t = Tokenizer::fromFolder(folder);
            if (!t) status = t.error();
        });
        if (!status) return status.error();
        if (r > 0) times.push_back(ms); // the first run warms the file cache
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// The rate of an n^3 product `run` at its best of five, after a warm-up.
template <typename Run> static double bestOfFiveGflops(int n, Run&& run) {
    run();
    double best = 1e30;
    for (int r = 0; r < 5; ++r)
        best = std::min(best, timeMs(run));
    return 2.0 * n * n * n / (best * 1e6);
}

double measureGemmPeakGflops() {
    const int n = 1024;
    Mat a = Mat::Random(n, n), b = Mat::Random(n, n), out(n, n);
    return bestOfFiveGflops(n, [&] { out.noalias() = a * b; });
}

double measureSplitProductPeakGflops() {
    if (!splitBf16ProductAvailable()) return 0;
    // 2048^3 (17 GFLOP): at 1024^3 the weights' packing and the input's split weigh more than
    // in a long input's projections, and the peak would read low (a lenient floor).
    const int n = 2048;
    const Mat x = Mat::Random(n, n);
    std::vector<uint16_t> weights(size_t(n) * n);
    for (size_t i = 0; i < weights.size(); ++i)
        weights[i] = uint16_t(0x3c00 + i % 977); // BF16 values in [0.0078, 0.03)
    Mat out(n, n);
    return bestOfFiveGflops(
        n, [&] { splitBf16Product(x.data(), n, n, n, weights.data(), 0, n, out.data(), n); });
}

} // namespace attnscope
