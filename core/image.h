#pragma once
// Image preprocessing as Hugging Face's ViTImageProcessor does it: resize to the model's size
// with PIL's bilinear filter (antialiased when shrinking), rescale to [0, 1], normalise with
// the processor's mean and std. Input is 8-bit RGB, already decoded by the caller. Models with
// one input channel (e.g. the Fashion-MNIST default) get the picture as greyscale first,
// converted as PIL's convert("L") does, so any photo becomes their input.
#include "result.h"
#include "tensor.h"

#include <QString>
#include <array>

namespace attnscope {

struct ImageProcessorConfig {
    int width = 224, height = 224;
    int channels = 3; // 3 = RGB; 1 = greyscale (ITU-R 601-2 luma, as PIL's "L")
    bool doResize = true, doRescale = true, doNormalize = true;
    double rescaleFactor = 1.0 / 255.0;
    std::array<double, 3> mean{0.5, 0.5, 0.5};
    std::array<double, 3> std{0.5, 0.5, 0.5};

    // Reads preprocessor_config.json from a model folder; defaults to `defaultSize` square.
    // `channels` is the model's num_channels (1 or 3); mean and std then have that many values.
    static Result<ImageProcessorConfig> fromFolder(const QString& dir, int defaultSize,
                                                   int channels = 3);
};

// rgb: height rows of `stride` bytes, 3 bytes per pixel. Returns pixel values [C, H, W] with
// C = config.channels.
Result<Tensor> preprocessImage(const uint8_t* rgb, int width, int height, int stride,
                               const ImageProcessorConfig& config);

} // namespace attnscope
