#include "image.h"
#include "file_limits.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cmath>
#include <vector>

namespace attnscope {

Result<ImageProcessorConfig> ImageProcessorConfig::fromFolder(const QString& dir, int defaultSize,
                                                              int channels) {
    ImageProcessorConfig c;
    c.width = c.height = defaultSize;
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
    const QJsonValue size = o.value(QLatin1String("size"));
    if (size.isObject()) {
        const QJsonObject s = size.toObject();
        if (s.contains(QLatin1String("shortest_edge")))
            return Error{
                QStringLiteral("%1: resizing by shortest_edge is not supported").arg(f.fileName())};
        c.height = s.value(QLatin1String("height")).toInt(c.height);
        c.width = s.value(QLatin1String("width")).toInt(c.width);
    } else if (size.isDouble()) {
        c.width = c.height = size.toInt();
    }
    if (o.value(QLatin1String("do_center_crop")).toBool())
        return Error{QStringLiteral("%1: center cropping is not supported").arg(f.fileName())};
    c.doResize = o.value(QLatin1String("do_resize")).toBool(true);
    c.doRescale = o.value(QLatin1String("do_rescale")).toBool(true);
    c.doNormalize = o.value(QLatin1String("do_normalize")).toBool(true);
    c.rescaleFactor = o.value(QLatin1String("rescale_factor")).toDouble(c.rescaleFactor);
    const int resample = o.value(QLatin1String("resample")).toInt(2);
    if (resample != 2)
        return Error{QStringLiteral("%1: only bilinear resampling (2) is supported, got %2")
                         .arg(f.fileName())
                         .arg(resample)};
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

namespace {

// PIL's separable resampling weights for one axis (bilinear filter, support widened by the
// scale when shrinking so every input pixel contributes).
struct AxisWeights {
    std::vector<int> first;             // first input index per output index
    std::vector<std::vector<double>> w; // weights per output index
};

AxisWeights bilinearWeights(int inSize, int outSize) {
    AxisWeights a;
    const double scale = double(inSize) / outSize;
    const double filterScale = std::max(scale, 1.0);
    const double support = 1.0 * filterScale;
    for (int o = 0; o < outSize; ++o) {
        const double center = (o + 0.5) * scale;
        const int lo = std::max(int(center - support + 0.5), 0);
        const int hi = std::min(int(center + support + 0.5), inSize);
        std::vector<double> weights;
        double total = 0;
        for (int i = lo; i < hi; ++i) {
            const double x = std::abs((i - center + 0.5) / filterScale);
            const double w = x < 1.0 ? 1.0 - x : 0.0;
            weights.push_back(w);
            total += w;
        }
        for (double& w : weights)
            w = total > 0 ? w / total : 0;
        a.first.push_back(lo);
        a.w.push_back(std::move(weights));
    }
    return a;
}

} // namespace

Result<Tensor> preprocessImage(const uint8_t* rgb, int width, int height, int stride,
                               const ImageProcessorConfig& config) {
    if (width <= 0 || height <= 0) return Error{QStringLiteral("the image is empty")};
    if (int64_t(width) * height > 100'000'000)
        return Error{QStringLiteral("the image is too large (%1 x %2)").arg(width).arg(height)};
    const int outW = config.doResize ? config.width : width;
    const int outH = config.doResize ? config.height : height;
    const int C = config.channels;
    if (C != 1 && C != 3) return Error{QStringLiteral("unsupported channel count %1").arg(C)};
    if (outW <= 0 || outH <= 0 || int64_t(outW) * outH > 100'000'000)
        return Error{QStringLiteral("invalid target size %1 x %2").arg(outW).arg(outH)};
    // The channels the model reads, 8-bit: RGB as given, or PIL's "L" luma (integer formula,
    // so a grey pixel keeps its exact value).
    std::vector<uint8_t> source(size_t(height) * width * C);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const uint8_t* px = rgb + size_t(y) * stride + size_t(x) * 3;
            uint8_t* dst = &source[(size_t(y) * width + x) * C];
            if (C == 3)
                std::copy(px, px + 3, dst);
            else
                dst[0] = uint8_t((px[0] * 19595u + px[1] * 38470u + px[2] * 7471u + 0x8000u) >> 16);
        }
    // Horizontal pass then vertical pass, like PIL; values kept in [0, 255] floats.
    std::vector<double> horizontal(size_t(height) * outW * C);
    const AxisWeights wx = bilinearWeights(width, outW);
    for (int y = 0; y < height; ++y)
        for (int ox = 0; ox < outW; ++ox)
            for (int c = 0; c < C; ++c) {
                double sum = 0;
                for (size_t k = 0; k < wx.w[size_t(ox)].size(); ++k)
                    sum += wx.w[size_t(ox)][k] *
                           source[(size_t(y) * width + size_t(wx.first[size_t(ox)] + int(k))) * C +
                                  c];
                horizontal[(size_t(y) * outW + ox) * C + c] =
                    std::clamp(std::round(sum), 0.0, 255.0);
            }
    const AxisWeights wy = bilinearWeights(height, outH);
    Tensor out;
    out.shape = {C, outH, outW};
    out.data.resize(size_t(C) * outH * outW);
    for (int oy = 0; oy < outH; ++oy)
        for (int ox = 0; ox < outW; ++ox)
            for (int c = 0; c < C; ++c) {
                double sum = 0;
                for (size_t k = 0; k < wy.w[size_t(oy)].size(); ++k)
                    sum += wy.w[size_t(oy)][k] *
                           horizontal[(size_t(wy.first[size_t(oy)] + int(k)) * outW + ox) * C + c];
                double v = std::clamp(std::round(sum), 0.0, 255.0);
                if (config.doRescale) v *= config.rescaleFactor;
                if (config.doNormalize) v = (v - config.mean[size_t(c)]) / config.std[size_t(c)];
                out.data[(size_t(c) * outH + oy) * outW + ox] = float(v);
            }
    return out;
}

} // namespace attnscope
