#pragma once
// Image preprocessing as Hugging Face's ViTImageProcessor / DeiTImageProcessor do it with PIL:
// resize to the processor's size with PIL's resampling filter (bilinear by default, bicubic for
// DeiT; antialiased when shrinking), optionally crop the centre, rescale to [0, 1], normalise
// with the processor's mean and std. The resize reproduces PIL's 8-bit arithmetic exactly
// (fixed-point coefficients, rounding to 8 bits after the horizontal and after the vertical
// pass), so pixel values equal what `transformers` computes from the same decoded pixels.
// Input is 8-bit RGB, already decoded by the caller (ui/image/image_decode.h). Models with one
// input channel (e.g. the Fashion-MNIST default) get the picture as greyscale first, converted
// as PIL's convert("L") does, so any photo becomes their input.
#include "result.h"
#include "tensor.h"

#include <QRectF>
#include <QString>
#include <array>

namespace attnscope {

// PIL's resampling filters, numbered as PIL numbers them (preprocessor_config.json "resample").
enum class ResampleFilter { Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 };

struct ImageProcessorConfig {
    int width = 224, height = 224; // size after resizing
    int channels = 3;              // 3 = RGB; 1 = greyscale (ITU-R 601-2 luma, as PIL's "L")
    bool doResize = true, doRescale = true, doNormalize = true;
    ResampleFilter resample = ResampleFilter::Bilinear;
    bool doCenterCrop = false;
    int cropWidth = 224, cropHeight = 224; // with doCenterCrop
    double rescaleFactor = 1.0 / 255.0;
    std::array<double, 3> mean{0.5, 0.5, 0.5};
    std::array<double, 3> std{0.5, 0.5, 0.5};

    // Reads preprocessor_config.json from a model folder; defaults to `defaultSize` square.
    // `channels` is the model's num_channels (1 or 3); mean and std then have that many values.
    static Result<ImageProcessorConfig> fromFolder(const QString& dir, int defaultSize,
                                                   int channels = 3);

    // Size of the model's input for a source picture of this size (after resize and crop).
    int outputWidth(int sourceWidth) const;
    int outputHeight(int sourceHeight) const;
    // The part of a sourceWidth x sourceHeight picture that becomes the model's input, in source
    // pixel coordinates (pixel edges: the whole picture is (0, 0, w, h)). Drawing this part of
    // the picture over the model's input rectangle aligns every patch exactly: PIL's resize maps
    // pixel edges onto pixel edges, and the centre crop cuts whole resized pixels.
    QRectF inputRegion(int sourceWidth, int sourceHeight) const;
};

// rgb: height rows of `stride` bytes, 3 bytes per pixel. Returns pixel values [C, H, W] with
// C = config.channels.
Result<Tensor> preprocessImage(const uint8_t* rgb, int width, int height, int stride,
                               const ImageProcessorConfig& config);

// The 8-bit picture the model sees before rescaling and normalising: [H, W, C] bytes, C =
// config.channels (resized and cropped exactly as preprocessImage does).
struct ModelPicture {
    int width = 0, height = 0, channels = 3;
    std::vector<uint8_t> bytes; // [height, width, channels]
};
Result<ModelPicture> resizeForModel(const uint8_t* rgb, int width, int height, int stride,
                                    const ImageProcessorConfig& config);

} // namespace attnscope
