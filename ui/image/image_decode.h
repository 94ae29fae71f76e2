#pragma once
// Decoding pictures for image models, shared by the window and the command line: a file, bytes
// (drag and drop) or a QImage (clipboard) becomes 8-bit RGB the way PIL's
// Image.open(f).convert("RGB") makes it, which is what Hugging Face's processors are given;
// then core/image.h resizes and normalises it for the model.
//
// Odd pictures: alpha is dropped (not blended: PIL's convert("RGB") keeps the colour channels
// as stored), greyscale is replicated to R = G = B, palette images take their palette colours,
// 16-bit channels keep their high byte (PIL's reading of 16-bit RGB PNGs), animated images give
// their first frame, CMYK JPEGs come out as RGB through Qt's decoder. Pictures above
// kMaxImagePixels are refused before they are decoded, so a huge file cannot exhaust memory.
#include "image.h"
#include "result.h"
#include "session.h"
#include "tensor.h"

#include <QByteArray>
#include <QImage>
#include <QString>

namespace attnscope {

constexpr qint64 kMaxImagePixels = 100'000'000; // the core's limit for preprocessImage

// Format_RGB888. Errors name the file and say why (missing, unsupported, corrupt, too large).
Result<QImage> decodeImageFile(const QString& path);
// The same for bytes in memory; `name` is used in messages.
Result<QImage> decodeImageData(const QByteArray& data, const QString& name);
// Any QImage (e.g. from the clipboard) as RGB888, dropping alpha as above.
Result<QImage> toRgb888(const QImage& image);

// The model's image processor (preprocessor_config.json, or the config's image size).
Result<ImageProcessorConfig> imageProcessorFor(const LoadedModel& model);
// Pixel values [C, H, W] for the model from an RGB888 picture.
Result<Tensor> pixelValuesFor(const QImage& rgb, const ImageProcessorConfig& config);

} // namespace attnscope
