#include "image_decode.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImageReader>

namespace attnscope {

namespace {

Result<QImage> readWith(QImageReader& reader, const QString& name) {
    const QSize size = reader.size(); // from the header, before any pixel is decoded
    if (size.isValid() && qint64(size.width()) * size.height() > kMaxImagePixels)
        return Error{QStringLiteral("image %1 is too large (%2 x %3 pixels; at most %4 million)")
                         .arg(name)
                         .arg(size.width())
                         .arg(size.height())
                         .arg(kMaxImagePixels / 1'000'000)};
    // Qt's own guard (256 MB by default) would refuse large but allowed pictures; ours is the
    // pixel count above, so allow what that count needs at 8 bytes per pixel (16-bit RGBA).
    reader.setAllocationLimit(int(kMaxImagePixels * 8 / (1024 * 1024)) + 1);
    reader.setAutoTransform(false); // PIL ignores EXIF orientation too
    QImage image;
    if (!reader.read(&image) || image.isNull())
        return Error{
            QStringLiteral("cannot read image %1 (%2)")
                .arg(name,
                     reader.error() == QImageReader::FileNotFoundError
                         ? QStringLiteral("no such file")
                     : reader.error() == QImageReader::UnsupportedFormatError
                         ? QStringLiteral("not a supported image format, or corrupt")
                         : QStringLiteral("corrupt or truncated: %1").arg(reader.errorString()))};
    auto rgb = toRgb888(image);
    if (!rgb) return Error{QStringLiteral("image %1: %2").arg(name, rgb.message())};
    return rgb;
}

bool isSixteenBit(QImage::Format f) {
    return f == QImage::Format_RGBA64 || f == QImage::Format_RGBX64 ||
           f == QImage::Format_RGBA64_Premultiplied || f == QImage::Format_Grayscale16;
}

} // namespace

Result<QImage> decodeImageFile(const QString& path) {
    if (!QFileInfo(path).isFile())
        return Error{QStringLiteral("cannot read image %1 (no such file)").arg(path)};
    QImageReader reader(path);
    return readWith(reader, path);
}

Result<QImage> decodeImageData(const QByteArray& data, const QString& name) {
    QBuffer buffer;
    buffer.setData(data);
    buffer.open(QIODevice::ReadOnly);
    QImageReader reader(&buffer);
    return readWith(reader, name);
}

Result<QImage> toRgb888(const QImage& image) {
    if (image.isNull() || image.width() <= 0 || image.height() <= 0)
        return Error{QStringLiteral("the image is empty")};
    if (qint64(image.width()) * image.height() > kMaxImagePixels)
        return Error{QStringLiteral("the image is too large (%1 x %2 pixels)")
                         .arg(image.width())
                         .arg(image.height())};
    QImage rgb(image.size(), QImage::Format_RGB888);
    if (rgb.isNull()) return Error{QStringLiteral("not enough memory for the image")};
    if (isSixteenBit(image.format())) {
        // Each channel's high byte, as PIL reads 16-bit RGB PNGs (Qt would round instead).
        const QImage wide = image.format() == QImage::Format_Grayscale16
                                ? image
                                : image.convertToFormat(QImage::Format_RGBA64);
        for (int y = 0; y < wide.height(); ++y) {
            const auto* src = reinterpret_cast<const quint16*>(wide.constScanLine(y));
            uchar* dst = rgb.scanLine(y);
            const int step = wide.format() == QImage::Format_Grayscale16 ? 1 : 4;
            for (int x = 0; x < wide.width(); ++x)
                for (int c = 0; c < 3; ++c)
                    dst[x * 3 + c] = uchar(src[x * step + (step == 1 ? 0 : c)] >> 8);
        }
        return rgb;
    }
    if (image.hasAlphaChannel() || image.format() == QImage::Format_Indexed8 ||
        image.format() == QImage::Format_Mono || image.format() == QImage::Format_MonoLSB) {
        // Straight (not premultiplied) colours, alpha dropped: PIL's convert("RGB").
        const QImage argb = image.convertToFormat(QImage::Format_ARGB32);
        for (int y = 0; y < argb.height(); ++y) {
            const auto* src = reinterpret_cast<const QRgb*>(argb.constScanLine(y));
            uchar* dst = rgb.scanLine(y);
            for (int x = 0; x < argb.width(); ++x) {
                dst[x * 3] = uchar(qRed(src[x]));
                dst[x * 3 + 1] = uchar(qGreen(src[x]));
                dst[x * 3 + 2] = uchar(qBlue(src[x]));
            }
        }
        return rgb;
    }
    return image.convertToFormat(QImage::Format_RGB888);
}

Result<ImageProcessorConfig> imageProcessorFor(const LoadedModel& model) {
    const ModelConfig& c = model.config();
    if (c.modality != Modality::Image)
        return Error{
            QStringLiteral("%1 is a text model: it does not take images").arg(model.displayName())};
    return ImageProcessorConfig::fromFolder(model.path(), c.imageSize, c.channels);
}

Result<Tensor> pixelValuesFor(const QImage& rgb, const ImageProcessorConfig& config) {
    if (rgb.format() != QImage::Format_RGB888)
        return Error{QStringLiteral("internal: pixelValuesFor needs an RGB888 picture")};
    return preprocessImage(rgb.constBits(), rgb.width(), rgb.height(), int(rgb.bytesPerLine()),
                           config);
}

} // namespace attnscope
