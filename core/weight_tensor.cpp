#include "weight_tensor.h"

#include <cstring>
#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace attnscope {

WeightTensor WeightTensor::fromFloat(FloatTensor tensor) {
    WeightTensor w;
    w.shape = std::move(tensor.shape);
    w.dtype = DType::F32;
    w.data = tensor.data;
    w.owner = std::move(tensor.owner);
    return w;
}

void widenHalfFloats(const uint16_t* src, DType dtype, float* dst, int64_t n) {
    int64_t i = 0;
    if (dtype == DType::BF16) {
        // bf16 is the top half of a float32: a shift, which the compiler vectorises.
        for (; i < n; ++i) {
            const uint32_t bits = uint32_t(src[i]) << 16;
            std::memcpy(dst + i, &bits, 4);
        }
        return;
    }
#ifdef __F16C__
    // The hardware conversion is exact IEEE half -> single (subnormals included).
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(
            dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
    for (; i < n; ++i)
        dst[i] = halfToFloat(src[i]);
}

void WeightTensor::widen(int64_t row, int64_t nRows, int64_t col, int64_t nCols, float* out,
                         int64_t outStride) const {
    const int64_t stride = cols();
    for (int64_t r = 0; r < nRows; ++r) {
        const int64_t offset = (row + r) * stride + col;
        float* dst = out + r * outStride;
        if (isFloat())
            std::memcpy(dst, floats() + offset, size_t(nCols) * sizeof(float));
        else
            widenHalfFloats(static_cast<const uint16_t*>(data) + offset, dtype, dst, nCols);
    }
}

Mat WeightTensor::block(int64_t row, int64_t nRows, int64_t col, int64_t nCols) const {
    Mat out(nRows, nCols);
    widen(row, nRows, col, nCols, out.data(), nCols);
    return out;
}

} // namespace attnscope
