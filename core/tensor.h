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
