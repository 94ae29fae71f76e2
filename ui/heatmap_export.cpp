#include "heatmap_export.h"

#include "file_limits.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <memory>

namespace attnscope {

QString heatmapTitle(int layer, int head) {
    return QStringLiteral("Layer %1 · Head %2").arg(layer).arg(head);
}

void configureRenderer(HeatmapRenderer& renderer, const Analysis& analysis, int layer, int head) {
    QStringList labels = analysis.displayTokens;
    if (labels.size() < analysis.tokenCount()) {
        for (int i = int(labels.size()); i < analysis.tokenCount(); ++i)
            labels << (i < analysis.encoding.tokens.size() ? analysis.encoding.tokens[i]
                                                           : QString::number(i));
    }
    renderer.setMatrix(*analysis.attention(layer, head));
    renderer.setLabels(labels);
    renderer.setTitle(heatmapTitle(layer, head));
}

namespace {

// Text painting needs a QGuiApplication. A CLI without any application object gets a temporary
// offscreen one; a CLI that made a plain QCoreApplication gets an error instead of a crash.
struct GuiGuard {
    std::unique_ptr<QGuiApplication> app;
    QString error;
    GuiGuard() {
        if (qobject_cast<QGuiApplication*>(QCoreApplication::instance())) return;
        if (QCoreApplication::instance()) {
            error = QStringLiteral("heatmap export needs a QGuiApplication (create one, e.g. with "
                                   "QT_QPA_PLATFORM=offscreen, instead of QCoreApplication)");
            return;
        }
        static int argc = 1;
        static char arg0[] = "attnscope";
        static char* argv[] = {arg0, nullptr};
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
        app = std::make_unique<QGuiApplication>(argc, argv);
    }
};

} // namespace

QString figureDescription(const Analysis& analysis) {
    QString text = analysis.text;
    if (text.size() > 2000) text = text.left(2000) + QStringLiteral("…");
    return text.isEmpty() ? QStringLiteral("attnscope attention figure")
                          : QStringLiteral("attnscope attention figure of the text: %1").arg(text);
}

Status exportPainting(const PaintFunction& paint, const QString& title, const QString& outPath,
                      QSize size, int scale, const QString& description, bool transparent) {
    if (size.width() < 16 || size.height() < 16 || size.width() > 20000 || size.height() > 20000)
        return makeError(QStringLiteral("export size %1x%2 is out of range (16..20000)")
                             .arg(size.width())
                             .arg(size.height()));
    if (scale < 1 || scale > 4 || qint64(size.width()) * scale > 20000 ||
        qint64(size.height()) * scale > 20000)
        return makeError(QStringLiteral("export scale %1 is out of range (1..4, at most 20000 "
                                        "pixels a side)")
                             .arg(scale));
    const QString suffix = QFileInfo(outPath).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        return makeError(
            QStringLiteral("cannot export \"%1\": the file name must end in .png, .svg or .pdf")
                .arg(outPath));
    if (transparent && suffix == QLatin1String("pdf"))
        return makeError(QStringLiteral("a transparent background needs a .png or .svg file (PDF "
                                        "pages are shown and printed on white)"));
    GuiGuard guard;
    if (!guard.error.isEmpty()) return makeError(guard.error);

    // Written to a temporary file and renamed at the end: a failed export never leaves a
    // truncated file, nor clobbers the one the user had.
    // Devices and FIFOs (-o /dev/stdout) are written in place, never replaced (file_limits.h).
    OutputFile file(outPath);
    if (auto opened = file.open(); !opened) return opened;
    const QRectF area(QPointF(0, 0), QSizeF(size));

    if (suffix == QLatin1String("png")) {
        // scale > 1: more pixels for the same layout (device pixel ratio), like a HiDPI screen.
        QImage image(size * scale, QImage::Format_ARGB32_Premultiplied);
        image.setDevicePixelRatio(scale);
        image.fill(transparent ? Qt::transparent : Qt::white);
        {
            QPainter painter(&image);
            paint(painter, area, false);
        }
        if (!image.save(file.device(), "PNG"))
            return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
    } else {
        QPainter painter;
        std::unique_ptr<QSvgGenerator> svg;
        std::unique_ptr<QPdfWriter> pdf;
        if (suffix == QLatin1String("svg")) {
            svg = std::make_unique<QSvgGenerator>();
            svg->setOutputDevice(file.device());
            svg->setSize(size);
            svg->setViewBox(QRect(QPoint(0, 0), size));
            svg->setResolution(96);
            svg->setTitle(title);
            svg->setDescription(description.isEmpty() ? QStringLiteral("attnscope attention figure")
                                                      : description);
            if (!painter.begin(svg.get()))
                return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
        } else {
            pdf = std::make_unique<QPdfWriter>(file.device());
            pdf->setResolution(96); // one painter unit = one pixel of `size`, as for PNG and SVG
            pdf->setPageSize(QPageSize(QSizeF(size) * 72.0 / 96.0, QPageSize::Point));
            pdf->setPageMargins(QMarginsF(0, 0, 0, 0));
            pdf->setTitle(title);
            pdf->setCreator(QStringLiteral("attnscope"));
            if (!painter.begin(pdf.get()))
                return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
        }
        paint(painter, area, true);
        painter.end();
    }
    return file.commit(); // every write checked: a full disk is an error, never a silent success
}

Status exportRenderer(const HeatmapRenderer& renderer, const QString& outPath, QSize size,
                      int scale, const QString& description) {
    return exportPainting(
        [&](QPainter& painter, const QRectF& area, bool vectorOutput) {
            if (!vectorOutput) return renderer.paint(painter, area);
            // Vector formats: cells as shapes while that keeps the file a sane size.
            HeatmapRenderer vector = renderer;
            HeatmapOptions options = vector.options();
            options.vectorCells = vector.matrix().size() <= 160 * 160;
            vector.setOptions(options);
            vector.paint(painter, area);
        },
        renderer.title(), outPath, size, scale, description);
}

Status exportHeatmap(const Analysis& analysis, int layer, int head, const QString& outPath,
                     QSize size, const HeatmapOptions& options) {
    const int layers = int(analysis.forward.layers.size());
    if (layer < 0 || layer >= layers)
        return makeError(QStringLiteral("layer %1 is out of range (the model has %2 layers)")
                             .arg(layer)
                             .arg(layers));
    const int heads = int(analysis.forward.layers[layer].attention.size());
    if (head < 0 || head >= heads)
        return makeError(QStringLiteral("head %1 is out of range (layer %2 has %3 heads)")
                             .arg(head)
                             .arg(layer)
                             .arg(heads));
    HeatmapRenderer renderer;
    renderer.setOptions(options);
    configureRenderer(renderer, analysis, layer, head);
    return exportRenderer(renderer, outPath, size, 1, figureDescription(analysis));
}

} // namespace attnscope
