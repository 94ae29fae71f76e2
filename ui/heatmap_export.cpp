#include "heatmap_export.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
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
    renderer.setMatrix(analysis.attention(layer, head));
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

Status exportRenderer(const HeatmapRenderer& renderer, const QString& outPath, QSize size) {
    if (size.width() < 16 || size.height() < 16 || size.width() > 20000 || size.height() > 20000)
        return makeError(QStringLiteral("export size %1x%2 is out of range (16..20000)")
                             .arg(size.width())
                             .arg(size.height()));
    const QString suffix = QFileInfo(outPath).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg"))
        return makeError(
            QStringLiteral("cannot export \"%1\": the file name must end in .png or .svg")
                .arg(outPath));
    GuiGuard guard;
    if (!guard.error.isEmpty()) return makeError(guard.error);

    if (suffix == QLatin1String("svg")) {
        QSvgGenerator generator;
        generator.setFileName(outPath);
        generator.setSize(size);
        generator.setViewBox(QRect(QPoint(0, 0), size));
        generator.setResolution(96);
        generator.setTitle(renderer.title());
        generator.setDescription(QStringLiteral("attnscope attention heatmap"));
        HeatmapRenderer vector = renderer;
        HeatmapOptions options = vector.options();
        options.vectorCells = vector.matrix().size() <= 160 * 160; // crisp, still a sane file size
        vector.setOptions(options);
        {
            QPainter painter;
            if (!painter.begin(&generator))
                return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
            vector.paint(painter, QRectF(QPointF(0, 0), QSizeF(size)));
            painter.end();
        }
        if (!QFileInfo::exists(outPath) || QFileInfo(outPath).size() == 0)
            return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
        return okStatus();
    }

    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    {
        QPainter painter(&image);
        renderer.paint(painter, QRectF(QPointF(0, 0), QSizeF(size)));
    }
    if (!image.save(outPath, "PNG"))
        return makeError(QStringLiteral("cannot write \"%1\"").arg(outPath));
    return okStatus();
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
    return exportRenderer(renderer, outPath, size);
}

} // namespace attnscope
