#pragma once
// Dense float32 matrices used throughout the forward passes. Row-major so that a [T, D]
// activation matrix has one token per contiguous row, as in the checkpoints' layout.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace attnscope {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::Matrix<float, 1, Eigen::Dynamic, Eigen::RowMajor>; // row vector
using MatMap = Eigen::Map<Mat>;
using ConstMatMap = Eigen::Map<const Mat>;

// Whether every entry is finite. Eigen's allFinite() is not vectorised (80 ms for a
// [4096, 2048] Q, checked once per layer of a long pass); x * 0 is 0 for finite x and NaN
// for NaN or +-inf, and a vectorised sum carries any NaN through (2 ms for the same Q).
template <typename Derived> bool allFinite(const Eigen::DenseBase<Derived>& m) {
    return (m.derived().array() * typename Derived::Scalar(0)).sum() == typename Derived::Scalar(0);
}

// A tensor of any rank, contiguous, row-major (C order). Used for outputs whose rank > 2.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
};

} // namespace attnscope
