#pragma once
// Image preprocessing as Hugging Face's ViTImageProcessor does it: resize to the model's size
// with PIL's bilinear filter (antialiased when shrinking), rescale to [0, 1], normalise with
// the processor's mean and std. Input is 8-bit RGB, already decoded by the caller.
#include "result.h"
#include "tensor.h"

#include <QString>
#include <array>

namespace attnscope {

struct ImageProcessorConfig {
    int width = 224, height = 224;
    bool doResize = true, doRescale = true, doNormalize = true;
    double rescaleFactor = 1.0 / 255.0;
    std::array<double, 3> mean{0.5, 0.5, 0.5};
    std::array<double, 3> std{0.5, 0.5, 0.5};

    // Reads preprocessor_config.json from a model folder; defaults to `defaultSize` square.
    static Result<ImageProcessorConfig> fromFolder(const QString& dir, int defaultSize);
};

// rgb: height rows of `stride` bytes, 3 bytes per pixel. Returns pixel values [3, H, W].
Result<Tensor> preprocessImage(const uint8_t* rgb, int width, int height, int stride,
                               const ImageProcessorConfig& config);

} // namespace attnscope
