#pragma once
// Timing of the forward pass with all attention kept, for `attnscope bench`: milliseconds per
// input length, achieved GFLOP/s, and this machine's measured single-precision GEMM peak.
#include "result.h"
#include "session.h"

#include <vector>

namespace attnscope {

struct BenchRow {
    int tokens = 0;
    double medianMs = 0;
    double gflops = 0;    // useful floating-point work / median time
    double peakRssMb = 0; // process peak resident set after this row
    double editMs = 0;    // causal models: last token changed, earlier ones reused (0 = n/a)
};

// Floating-point operations of one forward pass (matrix products only; 2 per multiply-add).
double forwardFlops(const ModelConfig& config, int tokens);
// The attention products' share of it (QK^T and PV, whole [T, T] matrices); the rest are the
// weights' products (projections and MLP).
double attentionFlops(const ModelConfig& config, int tokens);

// Median of `repeats` runs after one warm-up, for each length in `tokenCounts`.
Result<std::vector<BenchRow>> benchmarkForward(const LoadedModel& model,
                                               const std::vector<int>& tokenCounts, int repeats);

// Milliseconds to open a checkpoint folder (median of `repeats`, warm file cache).
Result<double> benchmarkOpen(const QString& path, int repeats);

// GFLOP/s of a large float32 matrix product on this machine with Eigen (the ceiling).
double measureGemmPeakGflops();
// The same for the tile unit's split product with BF16 weights (split_product.h), what BF16
// checkpoints' projections run on; 0 where it is not available.
double measureSplitProductPeakGflops();

// A whole `attnscope dump` process, spawned as a child and timed from start to exit, beside
// the floor it is held to: its arithmetic at the measured GEMM rate plus one sequential write
// of a file of the output's size.
struct ProcessDumpRow {
    int tokens = 0;
    double processMs = 0;    // median wall time of the child process
    double outputBytes = 0;  // size of the file it wrote
    double arithmeticMs = 0; // forwardFlops / GEMM peak
    // Median time to write outputBytes sequentially in the same folder, from a buffer of that
    // size, the way every output is written (OutputFile: a temporary file, synced to disk,
    // renamed): what the dump's own write must at least cost.
    double writeMs = 0;
    // The same bytes written from one hot 1 MB block into the file cache, never synced (the
    // floor's write until issue 14's fastpath work; kept to compare).
    double cachedWriteMs = 0;
};
// `program` is the attnscope binary, `modelArg` what --model names; `format` the output's
// extension (safetensors, npy, json). Random ids, one untimed run first (file cache warm).
Result<ProcessDumpRow> benchmarkDumpProcess(const QString& program, const QString& modelArg,
                                            const ModelConfig& config, int tokens,
                                            const QString& format, int repeats,
                                            double gemmPeakGflops);

// Milliseconds to read the tokenizer files of a folder (median of `repeats`, warm file cache).
Result<double> benchmarkTokenizerOpen(const QString& folder, int repeats);

int threadCount();
void setThreadCount(int threads);

} // namespace attnscope
