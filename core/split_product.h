#pragma once
// Products of float32 inputs with BF16 weights on the CPU's tile unit (Intel AMX), exact to
// float32: each input value is split into three BF16 parts whose sum is the value (8 + 8 + 8
// significand bits hold float32's 24), every part times a BF16 weight is exact in float32, and
// the tile unit sums those exact products in float32. So each output is a float32 sum of the
// exact products x_k w_k, like a float32 GEMM's, only in another order; it runs at several times
// the float32 GEMM's rate because the tile unit multiplies 16 times as many BF16 pairs per cycle.
// Where the CPU or the kernel has no AMX, nothing is computed and the caller uses float32.
#include <cstdint>

namespace attnscope {

// y[r, j - begin] = sum_k x[r, k] w[j, k] for j in [begin, begin + n), r < rows, with
// x [rows, in] (rows xStride floats apart), w [out, in] BF16 (row j at w + j * in) and y rows
// yStride floats apart. Runs on all OpenMP threads (one thread inside a parallel region).
// Returns false, writing nothing, where the split product is not available or is switched off.
// Inputs beyond BF16's range (|x| > 3.39e38) become infinite and denormal parts are flushed (the
// tile unit's rule): outputs stay within float32 roundings of the exact sums otherwise.
bool splitBf16Product(const float* x, int64_t rows, int64_t in, int64_t xStride,
                      const uint16_t* w, int64_t begin, int64_t n, float* y, int64_t yStride);

// Whether the CPU and kernel allow the tile unit (asked once) and it is switched on.
bool splitBf16ProductAvailable();

// Switches the split product on or off (on by default where available; the environment variable
// ATTNSCOPE_AMX=0 switches it off at start): tests compare both paths, benchmarks time both.
void setSplitBf16ProductEnabled(bool enabled);

} // namespace attnscope
