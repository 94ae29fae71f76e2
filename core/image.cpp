#include "image.h"
#include "file_limits.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>
#include <vector>

namespace attnscope {

namespace {

// "size" / "crop_size": {"height": h, "width": w} or one number for a square.
Status readSize(const QJsonObject& o, const char* key, const QString& file, int& width,
                int& height) {
    const QJsonValue size = o.value(QLatin1String(key));
    if (size.isObject()) {
        const QJsonObject s = size.toObject();
        if (s.contains(QLatin1String("shortest_edge")))
            return makeError(
                QStringLiteral("%1: resizing by shortest_edge is not supported").arg(file));
        height = s.value(QLatin1String("height")).toInt(height);
        width = s.value(QLatin1String("width")).toInt(width);
    } else if (size.isDouble()) {
        width = height = size.toInt();
    }
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
        return makeError(QStringLiteral("%1: invalid %2 %3 x %4")
                             .arg(file, QLatin1String(key))
                             .arg(width)
                             .arg(height));
    return okStatus();
}

} // namespace

Result<ImageProcessorConfig> ImageProcessorConfig::fromFolder(const QString& dir, int defaultSize,
                                                              int channels) {
    ImageProcessorConfig c;
    c.width = c.height = c.cropWidth = c.cropHeight = defaultSize;
    if (channels != 1 && channels != 3)
        return Error{QStringLiteral("models with %1 input channels are not supported (1 or 3)")
                         .arg(channels)};
    c.channels = channels;
    QFile f(QDir(dir).filePath(QStringLiteral("preprocessor_config.json")));
    if (fileKind(f.fileName()) == FileKind::Missing) return c;
    auto bytes =
        readBoundedFile(f.fileName(), kMaxConfigBytes, QStringLiteral("image processor config"));
    if (!bytes) return bytes.error();
    QJsonParseError err;
    const QJsonObject o = QJsonDocument::fromJson(*bytes, &err).object();
    if (err.error != QJsonParseError::NoError)
        return Error{QStringLiteral("%1: invalid JSON (%2)").arg(f.fileName(), err.errorString())};
    if (auto s = readSize(o, "size", f.fileName(), c.width, c.height); !s) return s.error();
    c.doCenterCrop = o.value(QLatin1String("do_center_crop")).toBool(false);
    if (c.doCenterCrop) {
        if (auto s = readSize(o, "crop_size", f.fileName(), c.cropWidth, c.cropHeight); !s)
            return s.error();
        if (c.cropWidth > c.width || c.cropHeight > c.height)
            return Error{QStringLiteral("%1: crop_size larger than size (padding is not supported)")
                             .arg(f.fileName())};
    }
    c.doResize = o.value(QLatin1String("do_resize")).toBool(true);
    c.doRescale = o.value(QLatin1String("do_rescale")).toBool(true);
    c.doNormalize = o.value(QLatin1String("do_normalize")).toBool(true);
    c.rescaleFactor = o.value(QLatin1String("rescale_factor")).toDouble(c.rescaleFactor);
    const int resample = o.value(QLatin1String("resample")).toInt(2);
    if (resample < 1 || resample > 5)
        return Error{QStringLiteral("%1: resample %2 is not supported (1 Lanczos, 2 bilinear, 3 "
                                    "bicubic, 4 box, 5 Hamming)")
                         .arg(f.fileName())
                         .arg(resample)};
    c.resample = ResampleFilter(resample);
    for (auto [key, target] : {std::pair{"image_mean", &c.mean}, std::pair{"image_std", &c.std}}) {
        const QJsonValue value = o.value(QLatin1String(key));
        const QJsonArray a = value.toArray();
        if (value.isDouble()) // one number for every channel
            target->fill(value.toDouble());
        else if (a.size() == channels)
            for (int i = 0; i < channels; ++i)
                (*target)[size_t(i)] = a[i].toDouble();
        else if (!value.isUndefined() && !value.isNull())
            return Error{QStringLiteral("%1: %2 must have %3 values for this model")
                             .arg(f.fileName(), QLatin1String(key))
                             .arg(channels)};
    }
    for (int i = 0; i < channels; ++i)
        if (!(c.std[size_t(i)] > 0))
            return Error{QStringLiteral("%1: image_std must be positive").arg(f.fileName())};
    return c;
}

int ImageProcessorConfig::outputWidth(int sourceWidth) const {
    const int resized = doResize ? width : sourceWidth;
    return doCenterCrop ? std::min(cropWidth, resized) : resized;
}

int ImageProcessorConfig::outputHeight(int sourceHeight) const {
    const int resized = doResize ? height : sourceHeight;
    return doCenterCrop ? std::min(cropHeight, resized) : resized;
}

QRectF ImageProcessorConfig::inputRegion(int sourceWidth, int sourceHeight) const {
    const int resizedW = doResize ? width : sourceWidth,
              resizedH = doResize ? height : sourceHeight;
    const int outW = outputWidth(sourceWidth), outH = outputHeight(sourceHeight);
    // transformers' center_crop: top = (h - crop_h) // 2, left = (w - crop_w) // 2.
    const int left = (resizedW - outW) / 2, top = (resizedH - outH) / 2;
    const double sx = double(sourceWidth) / resizedW, sy = double(sourceHeight) / resizedH;
    return QRectF(left * sx, top * sy, outW * sx, outH * sy);
}

namespace {

// PIL's filters (Resample.c), x in input pixels divided by the filter scale.
double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return std::sin(x) / x;
}

double filterValue(ResampleFilter f, double x) {
    switch (f) {
    case ResampleFilter::Box:
        return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
    case ResampleFilter::Bilinear:
        x = std::abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    case ResampleFilter::Hamming:
        x = std::abs(x);
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= M_PI;
        return std::sin(x) / x * (0.54 + 0.46 * std::cos(x));
    case ResampleFilter::Bicubic: {
        constexpr double a = -0.5;
        x = std::abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }
    case ResampleFilter::Lanczos:
        return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
    }
    return 0.0;
}

double filterSupport(ResampleFilter f) {
    switch (f) {
    case ResampleFilter::Box:
        return 0.5;
    case ResampleFilter::Bilinear:
    case ResampleFilter::Hamming:
        return 1.0;
    case ResampleFilter::Bicubic:
        return 2.0;
    case ResampleFilter::Lanczos:
        return 3.0;
    }
    return 1.0;
}

// PIL's 8-bit arithmetic: coefficients in fixed point with this many fraction bits.
constexpr int kPrecisionBits = 32 - 8 - 2;

// One axis of PIL's separable resampling (precompute_coeffs + normalize_coeffs_8bpc): for each
// output index, the first input index and integer weights summing to about 1 << kPrecisionBits.
struct AxisWeights {
    std::vector<int> first;                   // first input index per output index
    std::vector<std::vector<int32_t>> weight; // fixed-point weights per output index
};

AxisWeights axisWeights(int inSize, int outSize, ResampleFilter filter) {
    AxisWeights a;
    const double scale = double(inSize) / outSize;
    const double filterScale = std::max(scale, 1.0);
    const double support = filterSupport(filter) * filterScale;
    const double ss = 1.0 / filterScale;
    for (int o = 0; o < outSize; ++o) {
        const double center = (o + 0.5) * scale;
        const int lo = std::max(int(center - support + 0.5), 0);
        const int hi = std::min(int(center + support + 0.5), inSize);
        std::vector<double> weights;
        double total = 0.0;
        for (int i = lo; i < hi; ++i) {
            const double w = filterValue(filter, (i - center + 0.5) * ss);
            weights.push_back(w);
            total += w;
        }
        std::vector<int32_t> fixed;
        for (double w : weights) {
            if (total != 0.0) w /= total;
            const double scaled = w * (1 << kPrecisionBits);
            fixed.push_back(int32_t(w < 0 ? -0.5 + scaled : 0.5 + scaled)); // truncates to 0
        }
        a.first.push_back(lo);
        a.weight.push_back(std::move(fixed));
    }
    return a;
}

uint8_t clip8(int64_t v) {
    if (v >= (int64_t(1) << kPrecisionBits << 8)) return 255;
    if (v <= 0) return 0;
    return uint8_t(v >> kPrecisionBits);
}

// Resamples [h, w, C] bytes to [h, outW, C] (PIL's ResampleHorizontal_8bpc).
std::vector<uint8_t> resampleRows(const std::vector<uint8_t>& in, int w, int h, int C, int outW,
                                  ResampleFilter filter) {
    const AxisWeights wx = axisWeights(w, outW, filter);
    std::vector<uint8_t> out(size_t(h) * outW * C);
    for (int y = 0; y < h; ++y)
        for (int ox = 0; ox < outW; ++ox) {
            const std::vector<int32_t>& k = wx.weight[size_t(ox)];
            const uint8_t* src = &in[(size_t(y) * w + size_t(wx.first[size_t(ox)])) * C];
            for (int c = 0; c < C; ++c) {
                int64_t sum = int64_t(1) << (kPrecisionBits - 1); // rounds the final shift
                for (size_t i = 0; i < k.size(); ++i)
                    sum += int64_t(src[i * size_t(C) + size_t(c)]) * k[i];
                out[(size_t(y) * outW + ox) * C + c] = clip8(sum);
            }
        }
    return out;
}

// Resamples [h, w, C] bytes to [outH, w, C] (PIL's ResampleVertical_8bpc).
std::vector<uint8_t> resampleColumns(const std::vector<uint8_t>& in, int w, int h, int C, int outH,
                                     ResampleFilter filter) {
    const AxisWeights wy = axisWeights(h, outH, filter);
    std::vector<uint8_t> out(size_t(outH) * w * C);
    const size_t rowBytes = size_t(w) * C;
    for (int oy = 0; oy < outH; ++oy) {
        const std::vector<int32_t>& k = wy.weight[size_t(oy)];
        const uint8_t* src = &in[size_t(wy.first[size_t(oy)]) * rowBytes];
        for (size_t x = 0; x < rowBytes; ++x) {
            int64_t sum = int64_t(1) << (kPrecisionBits - 1);
            for (size_t i = 0; i < k.size(); ++i)
                sum += int64_t(src[i * rowBytes + x]) * k[i];
            out[size_t(oy) * rowBytes + x] = clip8(sum);
        }
    }
    return out;
}

} // namespace

Result<ModelPicture> resizeForModel(const uint8_t* rgb, int width, int height, int stride,
                                    const ImageProcessorConfig& config) {
    if (width <= 0 || height <= 0) return Error{QStringLiteral("the image is empty")};
    if (int64_t(width) * height > 100'000'000)
        return Error{QStringLiteral("the image is too large (%1 x %2)").arg(width).arg(height)};
    const int C = config.channels;
    if (C != 1 && C != 3) return Error{QStringLiteral("unsupported channel count %1").arg(C)};
    const int resizedW = config.doResize ? config.width : width;
    const int resizedH = config.doResize ? config.height : height;
    if (resizedW <= 0 || resizedH <= 0 || int64_t(resizedW) * resizedH > 100'000'000)
        return Error{QStringLiteral("invalid target size %1 x %2").arg(resizedW).arg(resizedH)};
    // The channels the model reads, 8-bit: RGB as given, or PIL's "L" luma (integer formula,
    // so a grey pixel keeps its exact value).
    std::vector<uint8_t> picture(size_t(height) * width * C); // [height, width, C]
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const uint8_t* px = rgb + size_t(y) * stride + size_t(x) * 3;
            uint8_t* dst = &picture[(size_t(y) * width + x) * C];
            if (C == 3)
                std::copy(px, px + 3, dst);
            else
                dst[0] = uint8_t((px[0] * 19595u + px[1] * 38470u + px[2] * 7471u + 0x8000u) >> 16);
        }
    // PIL resizes horizontally, then vertically, each pass only when that size changes; each
    // pass rounds to 8 bits.
    int w = width, h = height;
    if (resizedW != w) {
        picture = resampleRows(picture, w, h, C, resizedW, config.resample);
        w = resizedW;
    }
    if (resizedH != h) {
        picture = resampleColumns(picture, w, h, C, resizedH, config.resample);
        h = resizedH;
    }
    ModelPicture out;
    out.channels = C;
    out.width = config.outputWidth(width);
    out.height = config.outputHeight(height);
    const int left = (w - out.width) / 2, top = (h - out.height) / 2;
    out.bytes.resize(size_t(out.width) * out.height * C);
    for (int y = 0; y < out.height; ++y)
        std::copy_n(&picture[(size_t(y + top) * w + left) * C], size_t(out.width) * C,
                    &out.bytes[size_t(y) * out.width * C]);
    return out;
}

Result<Tensor> preprocessImage(const uint8_t* rgb, int width, int height, int stride,
                               const ImageProcessorConfig& config) {
    ModelPicture picture;
    ATTNSCOPE_ASSIGN_OR_RETURN(picture, resizeForModel(rgb, width, height, stride, config));
    const int C = picture.channels, outW = picture.width, outH = picture.height;
    Tensor out;
    out.shape = {C, outH, outW};
    out.data.resize(size_t(C) * outH * outW);
    // As transformers does it: rescale in float64 then stored as float32; normalise in float32.
    for (int c = 0; c < C; ++c) {
        const float mean = float(config.mean[size_t(c)]), std = float(config.std[size_t(c)]);
        for (int y = 0; y < outH; ++y)
            for (int x = 0; x < outW; ++x) {
                float v = picture.bytes[(size_t(y) * outW + x) * C + c];
                if (config.doRescale) v = float(double(v) * config.rescaleFactor);
                if (config.doNormalize) v = (v - mean) / std;
                out.data[(size_t(c) * outH + y) * outW + x] = v;
            }
    }
    return out;
}

} // namespace attnscope
