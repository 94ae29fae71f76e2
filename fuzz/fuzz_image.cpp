// Fuzz target: picture decoding as the window and `--image` do it (PNG, JPEG, BMP, GIF, ...
// through Qt's readers, PIL's conversion rules), then the ViT preprocessing of the result.
#include "fuzz_support.h"
#include "image/image_decode.h"

#include <QGuiApplication>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    static int argc = 1;
    static char name[] = "attnscope-fuzz";
    static char* argv[] = {name, nullptr};
    static QGuiApplication app(argc, argv); // image plugins need a (offscreen) application
    auto image = decodeImageData(QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)),
                                 QStringLiteral("fuzz input"));
    if (!image || image->width() * qint64(image->height()) > 4'000'000) return 0;
    ImageProcessorConfig config; // a small input keeps each run fast
    config.width = config.height = 32;
    (void)pixelValuesFor(*image, config);
    return 0;
}
