#pragma once
// A weight tensor as the checkpoint stores it. F32 is used in place in the mapping (F64 and
// unaligned data become a float32 copy); F16/BF16 stay 16-bit in the mapping and are widened to
// float32 a block at a time where a product or a lookup reads them, so a BF16 checkpoint takes
// half the memory of a widened one. Widening is exact: every value equals the float32 copy's.
#include "safetensors.h"

namespace attnscope {

struct WeightTensor {
    std::vector<int64_t> shape;
    DType dtype = DType::F32; // F32, F16 or BF16
    const void* data = nullptr;
    std::shared_ptr<const void> owner; // keeps the mapping (or the float32 copy) alive

    // A float32 tensor (in the mapping or a copy) viewed as a weight.
    static WeightTensor fromFloat(FloatTensor tensor);

    bool empty() const { return data == nullptr; }
    bool isFloat() const { return dtype == DType::F32; }
    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
    // Matrix view as FloatTensor's: a 1-D tensor [n] is a [1, n] row, [a, ..., z] is [a, ...*z]
    // (ViT's patch kernel [D, C, p, p] is [D, C*p*p]).
    int64_t rows() const { return shape.size() >= 2 ? shape[0] : 1; }
    int64_t cols() const { return rows() == 0 ? 0 : numel() / rows(); }
    int64_t bytes() const { return numel() * (isFloat() ? 4 : 2); }

    // Float32 only: the values in place.
    const float* floats() const { return static_cast<const float*>(data); }
    ConstMatMap matrix() const { return ConstMatMap(floats(), rows(), cols()); }

    // The [nRows, nCols] block at (row, col) of the matrix view, as float32, into `out` whose
    // rows are `outStride` floats apart.
    void widen(int64_t row, int64_t nRows, int64_t col, int64_t nCols, float* out,
               int64_t outStride) const;
    // The same block as a new matrix [nRows, nCols].
    Mat block(int64_t row, int64_t nRows, int64_t col, int64_t nCols) const;
    // Rows [begin, begin+n) of the matrix view [n, cols].
    Mat rowBlock(int64_t begin, int64_t n) const { return block(begin, n, 0, cols()); }
};

// n 16-bit floats (F16 or BF16, little-endian, 2-byte aligned) widened to float32, bit-exact
// with halfToFloat/bfloat16ToFloat.
void widenHalfFloats(const uint16_t* src, DType dtype, float* dst, int64_t n);

} // namespace attnscope
