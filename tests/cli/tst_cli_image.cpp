// `attnscope export --view image` end to end: figures for the ViT fixture, the DeiT fixture and
// default-vision; the brightest patch of the exported PNG is the highest-weight patch of the
// row (Hugging Face's attentions); bad input exits 2 with one error line.
#include "cli_support.h"

#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

using namespace clitest;

namespace {

const QString kData = QStringLiteral(ATTNSCOPE_TEST_DATA);

QStringList exportArgs(const QString& model, const QString& image, const QStringList& extra,
                       const QString& out) {
    return QStringList{QStringLiteral("export"),
                       QStringLiteral("--model"),
                       model,
                       QStringLiteral("--image"),
                       image,
                       QStringLiteral("--view"),
                       QStringLiteral("image")} +
           extra + QStringList{QStringLiteral("-o"), out};
}

} // namespace

class TestCliImage : public QObject {
    Q_OBJECT

private slots:
    void figures_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("image");
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("format");
        const QString vit = kData + QStringLiteral("/oracle/vit/model");
        const QString deit = kData + QStringLiteral("/deit/model");
        const QString photo = kData + QStringLiteral("/images/photo-640x480.jpg");
        const QString picture = kData + QStringLiteral("/oracle/vit/image.png");
        QTest::newRow("vit patch png") << vit << picture << QStringList{"--patch", "3"} << "png";
        QTest::newRow("vit cls svg") << vit << photo << QStringList{"--cls"} << "svg";
        QTest::newRow("vit mean pdf") << vit << photo << QStringList{"--head", "mean"} << "pdf";
        QTest::newRow("deit patch, top mass")
            << deit << photo << QStringList{"--patch", "15", "--top-mass", "0.5"} << "png";
        QTest::newRow("default-vision smooth")
            << "default-vision" << kData + QStringLiteral("/images/detail-50x37.png")
            << QStringList{"--layer", "3", "--head", "max", "--upsample", "smooth"} << "png";
    }

    void figures() {
        QFETCH(QString, model);
        QFETCH(QString, image);
        QFETCH(QStringList, extra);
        QFETCH(QString, format);
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("figure.") + format);
        const CliRun r = runCli(exportArgs(model, image, extra, out));
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray data = f.readAll();
        if (format == QLatin1String("png")) {
            QImage png;
            QVERIFY(png.loadFromData(data, "PNG"));
            QCOMPARE(png.size(), QSize(760, 660));
        } else if (format == QLatin1String("svg")) {
            QVERIFY(data.contains("<svg") && data.contains("<image"));
            QVERIFY(data.contains("attention of [CLS]")); // the title is text
        } else {
            QVERIFY(data.startsWith("%PDF"));
        }
    }

    // The exported PNG, read back pixel by pixel: the patch at the top of the colour map is
    // the highest weight of HF's row (layer 1, head 1, patch 5), at its place on the picture.
    void brightestPatchInPng() {
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("figure.png"));
        const CliRun r = runCli(
            exportArgs(kData + QStringLiteral("/oracle/vit/model"),
                       kData + QStringLiteral("/oracle/vit/image.png"),
                       {"--layer", "1", "--head", "1", "--patch", "5", "--opacity", "1"}, out));
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        QImage png(out);
        QVERIFY(!png.isNull());
        const QVector<float> attention =
            readSafetensors(kData + QStringLiteral("/oracle/vit/case_image.safetensors"))
                .tensors.value(QStringLiteral("attentions"))
                .f32();
        QCOMPARE(attention.size(), 2 * 4 * 17 * 17);
        auto weight = [&](int patch) { return attention[((1 * 4 + 1) * 17 + 6) * 17 + 1 + patch]; };
        int expected = 0;
        for (int patch = 1; patch < 16; ++patch)
            if (weight(patch) > weight(expected)) expected = patch;
        // Viridis' top colour (253, 231, 37) fills exactly the highest patch's cell.
        QRect yellow;
        for (int y = 0; y < png.height(); ++y)
            for (int x = 0; x < png.width() - 90; ++x) // left of the colour bar
                if (png.pixel(x, y) == qRgb(253, 231, 37)) yellow |= QRect(x, y, 1, 1);
        QVERIFY(yellow.isValid());
        // The picture's edges: where the white background ends, along the yellow cell's middle
        // row and column.
        const QPoint middle = yellow.center();
        // Background: 4 white pixels in a row (the query patch's white outline is narrower).
        auto background = [&](int x, int y, int dx, int dy) {
            for (int i = 0; i < 4; ++i)
                if (!QRect(QPoint(0, 0), png.size()).contains(x + i * dx, y + i * dy) ||
                    png.pixel(x + i * dx, y + i * dy) != qRgb(255, 255, 255))
                    return false;
            return true;
        };
        int left = middle.x(), right = middle.x(), top = middle.y(), bottom = middle.y();
        while (left > 0 && !background(left - 1, middle.y(), -1, 0))
            --left;
        while (right + 1 < png.width() && !background(right + 1, middle.y(), 1, 0))
            ++right;
        while (top > 0 && !background(middle.x(), top - 1, 0, -1))
            --top;
        while (bottom + 1 < png.height() && !background(middle.x(), bottom + 1, 0, 1))
            ++bottom;
        const double side = right - left + 1;
        QVERIFY2(std::abs(side - (bottom - top + 1)) <= 2, "the 32 x 32 input is drawn square");
        QVERIFY(side > 400);
        const double cell = side / 4; // 4 x 4 patches of 8 pixels
        QVERIFY2(std::abs(yellow.left() - (left + (expected % 4) * cell)) <= 2 &&
                     std::abs(yellow.top() - (top + (expected / 4) * cell)) <= 2 &&
                     std::abs(yellow.width() - cell) <= 2 && std::abs(yellow.height() - cell) <= 2,
                 qPrintable(QStringLiteral("yellow %1,%2 %3x%4; picture %5,%6 side %7; patch %8")
                                .arg(yellow.left())
                                .arg(yellow.top())
                                .arg(yellow.width())
                                .arg(yellow.height())
                                .arg(left)
                                .arg(top)
                                .arg(side)
                                .arg(expected)));
    }

    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        const QString vit = kData + QStringLiteral("/oracle/vit/model");
        const QString image = kData + QStringLiteral("/oracle/vit/image.png");
        QTest::newRow("text model") << exportArgs(kData + QStringLiteral("/oracle/gpt2/model"),
                                                  image, {}, QStringLiteral("o.png"))
                                    << "text model";
        QTest::newRow("patch out of range")
            << exportArgs(vit, image, {"--patch", "16"}, QStringLiteral("o.png")) << "--patch";
        QTest::newRow("patch and cls")
            << exportArgs(vit, image, {"--patch", "1", "--cls"}, QStringLiteral("o.png"))
            << "--cls";
        QTest::newRow("opacity") << exportArgs(vit, image, {"--opacity", "2"},
                                               QStringLiteral("o.png"))
                                 << "--opacity";
        QTest::newRow("top mass") << exportArgs(vit, image, {"--top-mass", "0"},
                                                QStringLiteral("o.png"))
                                  << "--top-mass";
        QTest::newRow("missing image")
            << exportArgs(vit, QStringLiteral("/nonexistent.png"), {}, QStringLiteral("o.png"))
            << "nonexistent.png";
        QTest::newRow("not an image")
            << exportArgs(vit, kData + QStringLiteral("/images/cases.json"), {},
                          QStringLiteral("o.png"))
            << "cases.json";
        QTest::newRow("bad format") << exportArgs(vit, image, {}, QStringLiteral("o.bmp")) << "bmp";
    }

    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        args.last() = dir.filePath(args.last());
        const CliRun r = runCli(args);
        QVERIFY2(r.normalExit() && r.exitCode == 2, qPrintable(r.describe()));
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.errLines()[0].startsWith(QLatin1String("attnscope: error: ")) &&
                     r.errLines()[0].contains(expected),
                 qPrintable(r.errLines()[0]));
    }

    // A 20000 x 20000 picture (header only) is refused before any pixel is decoded.
    void hugeImageRefused() {
        QTemporaryDir dir;
        QFile huge(dir.filePath(QStringLiteral("huge.ppm")));
        QVERIFY(huge.open(QIODevice::WriteOnly));
        huge.write("P6\n20000 20000\n255\n");
        huge.close();
        for (const QString& command : {QStringLiteral("dump"), QStringLiteral("export")}) {
            QStringList args{command,
                             "--model",
                             "default-vision",
                             "--image",
                             huge.fileName(),
                             "-o",
                             dir.filePath(command == QLatin1String("dump") ? "o.json" : "o.png")};
            if (command == QLatin1String("export"))
                args << "--view"
                     << "image";
            const CliRun r = runCli(args);
            QVERIFY2(r.normalExit() && r.exitCode == 2, qPrintable(r.describe()));
            QVERIFY2(r.errLines().value(0).contains(QLatin1String("too large")),
                     qPrintable(r.describe()));
        }
    }
};

QTEST_GUILESS_MAIN(TestCliImage)
#include "tst_cli_image.moc"
