// Pictures become the pixel values Hugging Face's processors compute with PIL: every picture in
// tests/data/images (noisy, single-pixel detail, JPEG, tall, wide, large, tiny, alpha, grey,
// palette, 16-bit, animated) against PIL-made pixel values (make_reference.py there), within
// 1e-6; odd and broken pictures are loaded or refused with a message, never a crash.
#include "image/image_decode.h"
#include "safetensors.h"

#include <QDir>
#include <QFile>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {

const QString kImages = QStringLiteral(ATTNSCOPE_TEST_DATA "/images/");

QJsonObject casesJson() {
    QFile f(kImages + QStringLiteral("cases.json"));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// A processor as the model folder would hold it: written to preprocessor_config.json and read
// back through the same parser as any checkpoint.
Result<ImageProcessorConfig> processorFromJson(const QJsonObject& json, const QString& dir) {
    QFile f(QDir(dir).filePath(QStringLiteral("preprocessor_config.json")));
    if (!f.open(QIODevice::WriteOnly)) return Error{QStringLiteral("cannot write config")};
    f.write(QJsonDocument(json).toJson());
    f.close();
    return ImageProcessorConfig::fromFolder(dir, 224,
                                            json.value(QLatin1String("channels")).toInt(3));
}

} // namespace

class TestImageDecode : public QObject {
    Q_OBJECT

private slots:
    void matchesPil_data() {
        QTest::addColumn<QString>("picture");
        QTest::addColumn<QString>("processor");
        const QJsonObject cases = casesJson().value(QLatin1String("cases")).toObject();
        QVERIFY(cases.size() >= 10);
        for (auto it = cases.begin(); it != cases.end(); ++it)
            for (const QJsonValue& processor : it.value().toArray())
                QTest::newRow(qPrintable(it.key() + QLatin1Char('/') + processor.toString()))
                    << it.key() << processor.toString();
    }

    void matchesPil() {
        QFETCH(QString, picture);
        QFETCH(QString, processor);
        QTemporaryDir dir;
        auto config = processorFromJson(
            casesJson().value(QLatin1String("processors")).toObject().value(processor).toObject(),
            dir.path());
        QVERIFY2(config, qPrintable(config.message()));
        auto image = decodeImageFile(kImages + picture);
        QVERIFY2(image, qPrintable(image.message()));
        auto pixels = pixelValuesFor(*image, *config);
        QVERIFY2(pixels, qPrintable(pixels.message()));
        auto file = SafeTensorsFile::open(kImages + QStringLiteral("pil_reference.safetensors"));
        QVERIFY(file);
        auto want = (*file)->floatTensor(picture + QLatin1Char('/') + processor); // [C, H, W]
        QVERIFY2(want, qPrintable(want.message()));
        QCOMPARE(pixels->shape, want->shape);
        double worst = 0;
        for (size_t i = 0; i < pixels->data.size(); ++i)
            worst = std::max(worst, std::abs(double(pixels->data[i]) - double(want->data[i])));
        qInfo("%s: max |Δ| %.3g over %zu values", qPrintable(picture + QLatin1Char('/') + processor),
              worst, pixels->data.size());
        QVERIFY2(worst <= 1e-6, qPrintable(QStringLiteral("max |Δ| %1").arg(worst)));
    }

    // The region of the source picture that becomes the model's input: all of it after a plain
    // resize; after resize + centre crop, the crop mapped back to source pixels.
    void inputRegion() {
        ImageProcessorConfig c;
        c.width = 44;
        c.height = 40;
        QCOMPARE(c.inputRegion(88, 20), QRectF(0, 0, 88, 20));
        c.doCenterCrop = true;
        c.cropWidth = c.cropHeight = 32;
        // left = (44 - 32) // 2 = 6 resized pixels = 12 source pixels; top = 4 -> 2.
        QCOMPARE(c.inputRegion(88, 20), QRectF(12, 2, 64, 16));
        QCOMPARE(c.outputWidth(88), 32);
        QCOMPARE(c.outputHeight(20), 32);
    }

    // Pictures PIL reads differently or not at all still load (as RGB of their size).
    void oddPicturesLoad_data() {
        QTest::addColumn<QString>("picture");
        QTest::addColumn<QSize>("size");
        QTest::newRow("CMYK JPEG") << "cmyk-40x30.jpg" << QSize(40, 30);
        QTest::newRow("16-bit grey") << "grey16-40x30.png" << QSize(40, 30);
        QTest::newRow("animated GIF: first frame") << "animated-32x24.gif" << QSize(32, 24);
        QTest::newRow("1 x 1") << "one-pixel-1x1.png" << QSize(1, 1);
    }

    void oddPicturesLoad() {
        QFETCH(QString, picture);
        QFETCH(QSize, size);
        auto image = decodeImageFile(kImages + picture);
        QVERIFY2(image, qPrintable(image.message()));
        QCOMPARE(image->size(), size);
        QCOMPARE(image->format(), QImage::Format_RGB888);
    }

    // CMYK: cyan on the left, magenta on the right (whatever formula the decoder uses).
    void cmykColours() {
        auto image = decodeImageFile(kImages + QStringLiteral("cmyk-40x30.jpg"));
        QVERIFY(image);
        const QColor top = image->pixelColor(20, 0), bottom = image->pixelColor(20, 29);
        QVERIFY2(top.red() < 60 && top.green() > 200 && top.blue() > 200, qPrintable(top.name()));
        QVERIFY2(bottom.red() > 200 && bottom.green() < 60 && bottom.blue() > 200,
                 qPrintable(bottom.name()));
    }

    void badPicturesRefused_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QFile photo(kImages + QStringLiteral("photo-640x480.jpg"));
        QVERIFY(photo.open(QIODevice::ReadOnly));
        const QByteArray jpeg = photo.readAll();
        QTest::newRow("empty") << QByteArray() << "not a supported image format";
        QTest::newRow("garbage") << QByteArray("this is not a picture at all, just text\n")
                                 << "not a supported image format";
        QTest::newRow("truncated PNG header")
            << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) << "image";
        // Only a header: 20000 x 20000 pixels would need 1.2 GB; refused before decoding.
        QTest::newRow("20000 x 20000") << QByteArray("P6\n20000 20000\n255\n") << "too large";
        QTest::newRow("truncated JPEG") << jpeg.left(200) << "corrupt";
    }

    void badPicturesRefused() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        auto image = decodeImageData(bytes, QStringLiteral("input"));
        QVERIFY(!image);
        QVERIFY2(image.message().contains(expected), qPrintable(image.message()));
        QVERIFY(image.message().contains(QLatin1String("input")));
    }

    void missingFile() {
        auto image = decodeImageFile(QStringLiteral("/nonexistent/picture.png"));
        QVERIFY(!image);
        QVERIFY(image.message().contains(QLatin1String("picture.png")));
    }

    // The clipboard path: an ARGB QImage keeps its stored colours, alpha dropped.
    void alphaDroppedNotBlended() {
        QImage argb(2, 1, QImage::Format_ARGB32);
        argb.setPixel(0, 0, qRgba(200, 100, 50, 0));
        argb.setPixel(1, 0, qRgba(10, 20, 30, 128));
        auto rgb = toRgb888(argb);
        QVERIFY(rgb);
        QCOMPARE(rgb->pixel(0, 0), qRgb(200, 100, 50));
        QCOMPARE(rgb->pixel(1, 0), qRgb(10, 20, 30));
    }
};

int main(int argc, char** argv) {
    QGuiApplication app(argc, argv);
    TestImageDecode test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_image_decode.moc"
