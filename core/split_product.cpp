#include "split_product.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <omp.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define ATTNSCOPE_HAS_AMX_CODE 1
#include <cpuid.h>
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports once they are inlined here (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace attnscope {

#ifdef ATTNSCOPE_HAS_AMX_CODE
namespace {

// The functions that use the tile unit or BF16 conversions are compiled for it whatever the
// build's -march, and only called after the CPU said it has them.
#define ATTNSCOPE_AMX_TARGET                                                                    \
    __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))

constexpr int64_t kTile = 16;        // tile rows (inputs or k pairs) and output columns
constexpr int64_t kStep = 32;        // inputs per tile row: 32 BF16 = 64 bytes
constexpr int64_t kParts = 3;        // BF16 parts per float32 input
constexpr int64_t kPanelRows = 128;  // input rows split and kept per thread (in L2)
constexpr int64_t kBlockCols = 256;  // outputs accumulated in one L2 block of sums
constexpr int64_t kBlockSteps = 8;   // k steps between reloads of those sums (operands in L1)
constexpr int64_t kSliceWords = int64_t(1) << 23; // packed weights per slice: 32 MB

bool askKernelAndCpu() {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amxBf16 = d & (1u << 22), amxTile = d & (1u << 24), avx512f = b & (1u << 16),
               avx512bw = b & (1u << 30);
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
    const bool avx512bf16 = a & (1u << 5);
    if (!(amxBf16 && amxTile && avx512f && avx512bw && avx512bf16)) return false;
    // Linux hands out the tile registers' state only on request (arch_prctl, kernel >= 5.16).
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
}

bool hardwareAvailable() {
    static const bool available = askKernelAndCpu();
    return available;
}

bool enabledAtStart() {
    const char* env = std::getenv("ATTNSCOPE_AMX");
    return !(env && std::strcmp(env, "0") == 0);
}
std::atomic<bool> switchedOn{enabledAtStart()};

struct AlignedBuffer {
    std::unique_ptr<void, decltype(&std::free)> memory{nullptr, &std::free};
    size_t capacity = 0;
    template <typename T> T* get(size_t count) {
        const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
        if (bytes > capacity) {
            memory.reset(std::aligned_alloc(64, bytes));
            capacity = memory ? bytes : 0;
        }
        return static_cast<T*>(memory.get());
    }
};

struct TileConfig {
    uint8_t palette = 1, startRow = 0;
    uint8_t reserved[14] = {};
    uint16_t bytesPerRow[16] = {};
    uint8_t rows[16] = {};
};

ATTNSCOPE_AMX_TARGET void configureTiles() {
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
        config.rows[t] = kTile;
        config.bytesPerRow[t] = 64;
    }
    _tile_loadconfig(&config);
}

// Weights [out, in] BF16, outputs [begin, begin + n): packed as [outTile][kStep] tiles of the
// tile unit's pair layout, [16 k pairs][16 outputs] of 32 bits (two consecutive inputs' weights
// of one output), zero past `in` and past the last output.
void packWeights(const uint16_t* w, int64_t in, int64_t begin, int64_t n, int64_t steps,
                 uint32_t* packed) {
    const int64_t outTiles = (n + kTile - 1) / kTile;
#pragma omp parallel for schedule(static)
    for (int64_t ot = 0; ot < outTiles; ++ot) {
        for (int64_t s = 0; s < steps; ++s) {
            uint32_t* tile = packed + (ot * steps + s) * kTile * kTile;
            for (int64_t j = 0; j < kTile; ++j) {
                const int64_t o = ot * kTile + j;
                const uint16_t* row = w + (begin + o) * in;
                for (int64_t p = 0; p < kTile; ++p) {
                    const int64_t k = s * kStep + 2 * p;
                    uint32_t pair = 0;
                    if (o < n && k < in) pair = row[k];
                    if (o < n && k + 1 < in) pair |= uint32_t(row[k + 1]) << 16;
                    tile[p * kTile + j] = pair;
                }
            }
        }
    }
}

// 16 BF16 values widened back to float32 (exact).
ATTNSCOPE_AMX_TARGET inline __m512 widen(__m256i halves) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(halves), 16));
}

// Input rows [first, first + panelRows) of x, zero past `rows` and past `in`, split into three
// BF16 parts (each the remainder of the ones before, rounded to nearest even): packed as
// [kStep][rowTile][part] tiles of [16 rows][32 inputs].
ATTNSCOPE_AMX_TARGET void splitPanel(const float* x, int64_t rows, int64_t in, int64_t xStride,
                                     int64_t first, int64_t panelRows, int64_t steps,
                                     uint16_t* packed) {
    const int64_t rowTiles = panelRows / kTile;
    for (int64_t s = 0; s < steps; ++s) {
        const int64_t k = s * kStep;
        for (int64_t rt = 0; rt < rowTiles; ++rt) {
            uint16_t* tile = packed + (s * rowTiles + rt) * kParts * kTile * kStep;
            for (int64_t i = 0; i < kTile; ++i) {
                const int64_t r = first + rt * kTile + i;
                __m512 lo, hi; // inputs k .. k+15, k+16 .. k+31
                if (r < rows && k + kStep <= in) {
                    lo = _mm512_loadu_ps(x + r * xStride + k);
                    hi = _mm512_loadu_ps(x + r * xStride + k + 16);
                } else {
                    alignas(64) float padded[kStep] = {};
                    if (r < rows)
                        for (int64_t j = 0; j < kStep && k + j < in; ++j)
                            padded[j] = x[r * xStride + k + j];
                    lo = _mm512_load_ps(padded);
                    hi = _mm512_load_ps(padded + 16);
                }
                for (int64_t part = 0; part < kParts; ++part) {
                    const __m512i bf = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
                    _mm512_store_si512(tile + (part * kTile + i) * kStep, bf);
                    lo = _mm512_sub_ps(lo, widen(_mm512_castsi512_si256(bf)));
                    hi = _mm512_sub_ps(hi, widen(_mm512_extracti64x4_epi64(bf, 1)));
                }
            }
        }
    }
}

// Sums for the panel's rows and output tiles [tile0, tile0 + tiles) (at most kBlockCols / 16),
// over all k steps, into `sums` laid out [rowTile][outTile][16][16].
ATTNSCOPE_AMX_TARGET void panelBlock(const uint16_t* panel, int64_t rowTiles,
                                     const uint32_t* packedWeights, int64_t steps,
                                     int64_t tile0, int64_t tiles, float* sums) {
    constexpr int64_t tileWords = kTile * kTile, partElems = kTile * kStep;
    constexpr int64_t blockTiles = kBlockCols / kTile;
    for (int64_t s0 = 0; s0 < steps; s0 += kBlockSteps) {
        const int64_t sn = std::min(kBlockSteps, steps - s0);
        for (int64_t rt = 0; rt < rowTiles; rt += 2) {
            for (int64_t ot = 0; ot < tiles; ot += 2) {
                const bool two = ot + 1 < tiles;
                float* c00 = sums + (rt * blockTiles + ot) * tileWords;
                float* c01 = two ? c00 + tileWords : c00;
                float* c10 = c00 + blockTiles * tileWords;
                float* c11 = two ? c10 + tileWords : c10;
                if (s0 == 0) {
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                } else {
                    _tile_loadd(0, c00, 64);
                    _tile_loadd(1, c01, 64);
                    _tile_loadd(2, c10, 64);
                    _tile_loadd(3, c11, 64);
                }
                const uint32_t* w0 = packedWeights + ((tile0 + ot) * steps + s0) * tileWords;
                const uint32_t* w1 = two ? w0 + steps * tileWords : w0;
                for (int64_t s = 0; s < sn; ++s) {
                    _tile_loadd(6, w0 + s * tileWords, 64);
                    _tile_loadd(7, w1 + s * tileWords, 64);
                    const uint16_t* a = panel + ((s0 + s) * rowTiles + rt) * kParts * partElems;
                    for (int64_t part = 0; part < kParts; ++part) {
                        _tile_loadd(4, a + part * partElems, 64);
                        _tile_loadd(5, a + (kParts + part) * partElems, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                }
                _tile_stored(0, c00, 64);
                _tile_stored(2, c10, 64);
                if (two) {
                    _tile_stored(1, c01, 64);
                    _tile_stored(3, c11, 64);
                }
            }
        }
    }
}

// The block's sums (laid out as panelBlock leaves them) to y's rows [first, first + nRows) and
// columns [tile0 * 16, tile0 * 16 + cols).
void copySums(const float* sums, int64_t first, int64_t nRows, int64_t tile0, int64_t cols,
              float* y, int64_t yStride) {
    constexpr int64_t blockTiles = kBlockCols / kTile;
    for (int64_t i = 0; i < nRows; ++i) {
        float* out = y + (first + i) * yStride + tile0 * kTile;
        const float* row = sums + ((i / kTile) * blockTiles * kTile + i % kTile) * kTile;
        for (int64_t c = 0; c < cols; c += kTile)
            std::memcpy(out + c, row + c * kTile, sizeof(float) * std::min(kTile, cols - c));
    }
}

ATTNSCOPE_AMX_TARGET void releaseTiles() {
    _tile_release();
}

} // namespace

bool splitBf16Product(const float* x, int64_t rows, int64_t in, int64_t xStride,
                      const uint16_t* w, int64_t begin, int64_t n, float* y, int64_t yStride) {
    if (!splitBf16ProductAvailable() || rows <= 0 || in <= 0 || n <= 0) return false;
    const int64_t steps = (in + kStep - 1) / kStep;
    // Rows split per thread: whole pairs of 16-row tiles, no more than the input has.
    const int64_t panelRows = std::min(kPanelRows, (rows + 2 * kTile - 1) / (2 * kTile) * 2 * kTile);
    const int64_t panels = (rows + panelRows - 1) / panelRows;
    const int threads = omp_in_parallel() ? 1 : std::max(1, omp_get_max_threads());
    // Outputs per slice of packed weights (whole blocks), so that e.g. a 128k-word LM head is
    // packed a slice at a time rather than as one 500 MB copy.
    const int64_t sliceCols =
        std::max<int64_t>(kBlockCols, kSliceWords / (steps * kTile) / kBlockCols * kBlockCols);
    thread_local AlignedBuffer packedWeightsBuffer;
    for (int64_t s0 = 0; s0 < n; s0 += sliceCols) {
        const int64_t sliceN = std::min(sliceCols, n - s0);
        const int64_t outTiles = (sliceN + kTile - 1) / kTile;
        uint32_t* packedWeights =
            packedWeightsBuffer.get<uint32_t>(size_t(outTiles * steps * kTile * kTile));
        if (!packedWeights) return false;
        packWeights(w, in, begin + s0, sliceN, steps, packedWeights);
        // Work items: panels, each for a group of output blocks. Few panels (short inputs) are
        // shared out by output blocks too, so that every core has work.
        const int64_t blocks = (outTiles * kTile + kBlockCols - 1) / kBlockCols;
        const int64_t groups = panels >= 2 * threads ? 1 : std::min<int64_t>(blocks, 2 * threads);
        const int64_t items = panels * groups;
        bool failed = false;
#pragma omp parallel num_threads(threads) reduction(|| : failed)
        {
            thread_local AlignedBuffer panelBuffer, sumsBuffer;
            uint16_t* panel =
                panelBuffer.get<uint16_t>(size_t(panelRows * steps * kStep * kParts));
            float* sums = sumsBuffer.get<float>(size_t(panelRows * kBlockCols));
            if (!panel || !sums) failed = true;
            int64_t panelInBuffer = -1;
            bool configured = false;
#pragma omp for schedule(dynamic)
            for (int64_t item = 0; item < items; ++item) {
                if (!panel || !sums) continue;
                if (!configured) {
                    configureTiles();
                    configured = true;
                }
                const int64_t p = item / groups, g = item % groups;
                const int64_t first = p * panelRows;
                if (panelInBuffer != p) {
                    splitPanel(x, rows, in, xStride, first, panelRows, steps, panel);
                    panelInBuffer = p;
                }
                const int64_t b0 = blocks * g / groups, b1 = blocks * (g + 1) / groups;
                for (int64_t b = b0; b < b1; ++b) {
                    const int64_t tile0 = b * (kBlockCols / kTile);
                    const int64_t tiles = std::min(kBlockCols / kTile, outTiles - tile0);
                    panelBlock(panel, panelRows / kTile, packedWeights, steps, tile0, tiles,
                               sums);
                    copySums(sums, first, std::min(panelRows, rows - first), tile0,
                             std::min(tiles * kTile, sliceN - tile0 * kTile), y + s0, yStride);
                }
            }
            if (configured) releaseTiles();
        }
        // Only when a buffer could not be allocated; the caller then computes all of y again.
        if (failed) return false;
    }
    return true;
}

bool splitBf16ProductAvailable() {
    return switchedOn && hardwareAvailable();
}

#else

bool splitBf16Product(const float*, int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t,
                      float*, int64_t) {
    return false;
}
bool splitBf16ProductAvailable() {
    return false;
}

#endif

void setSplitBf16ProductEnabled(bool enabled) {
#ifdef ATTNSCOPE_HAS_AMX_CODE
    switchedOn = enabled;
#else
    (void)enabled;
#endif
}

} // namespace attnscope
