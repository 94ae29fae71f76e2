#include "image_figure.h"

#include "heatmap_export.h"

#include <cmath>

#include <QPainter>

namespace attnscope {

PatchLayout patchLayoutFor(const ModelConfig& config, int tokens) {
    PatchLayout layout;
    if (config.modality != Modality::Image || config.patchSize <= 0) return layout;
    layout.patchSize = config.patchSize;
    layout.inputWidth = layout.inputHeight = config.imageSize;
    layout.columns = layout.rows = config.imageSize / config.patchSize;
    layout.prefixTokens = std::max(0, tokens - layout.patches());
    return layout;
}

QString imageTokenName(const PatchLayout& layout, int token) {
    if (token < layout.prefixTokens)
        return token == 0 ? QStringLiteral("[CLS]") : QStringLiteral("[DIST]");
    const int patch = token - layout.prefixTokens;
    return QStringLiteral("patch %1 (row %2, column %3)")
        .arg(patch)
        .arg(patch / std::max(1, layout.columns))
        .arg(patch % std::max(1, layout.columns));
}

std::vector<float> patchColumnsOfRow(const Mat& attention, const PatchLayout& layout,
                                     int queryToken) {
    std::vector<float> row;
    if (queryToken < 0 || queryToken >= attention.rows() ||
        attention.cols() != layout.prefixTokens + layout.patches())
        return row;
    row.resize(size_t(layout.patches()));
    for (int i = 0; i < layout.patches(); ++i)
        row[size_t(i)] = attention(queryToken, layout.prefixTokens + i);
    return row;
}

std::vector<float> patchAttentionRowOfHead(const Analysis& analysis, int layer, int head,
                                           const PatchLayout& layout, int queryToken) {
    if (!hasHead(analysis, layer, head)) return {};
    return patchColumnsOfRow(*analysis.attention(layer, head), layout, queryToken);
}

std::vector<float> patchAttentionRow(const Analysis& analysis, const ViewState& state,
                                     const PatchLayout& layout, int queryToken) {
    if (state.aggregate == Aggregate::SingleHead)
        return patchAttentionRowOfHead(analysis, state.layer, state.head, layout, queryToken);
    const Mat all = aggregateAttention(analysis, state.checked, state.aggregate); // [T, T]
    return patchColumnsOfRow(all, layout, queryToken);
}

QImage pictureAsModelSees(const QImage& rgb888, int channels) {
    if (channels != 1 || rgb888.format() != QImage::Format_RGB888) return rgb888;
    QImage grey(rgb888.size(), QImage::Format_Grayscale8);
    for (int y = 0; y < rgb888.height(); ++y) {
        const uchar* src = rgb888.constScanLine(y);
        uchar* dst = grey.scanLine(y);
        for (int x = 0; x < rgb888.width(); ++x) // PIL's convert("L"), as core/image.cpp
            dst[x] = uchar((src[3 * x] * 19595u + src[3 * x + 1] * 38470u + src[3 * x + 2] * 7471u +
                            0x8000u) >>
                           16);
    }
    return grey;
}

QImage displayPicture(const QImage& rgb888, int channels, QRectF& region, int maxSide) {
    const QImage picture = pictureAsModelSees(rgb888, channels);
    if (picture.width() <= maxSide && picture.height() <= maxSide) return picture;
    const QImage scaled =
        picture.scaled(maxSide, maxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    const double sx = double(scaled.width()) / picture.width();
    const double sy = double(scaled.height()) / picture.height();
    region =
        QRectF(region.left() * sx, region.top() * sy, region.width() * sx, region.height() * sy);
    return scaled;
}

Status exportImageFigure(const Analysis& analysis, const QImage& rgb888,
                         const ImageProcessorConfig& processor, const ModelConfig& model,
                         const ImageFigureRequest& request, const QString& outPath) {
    const PatchLayout layout = patchLayoutFor(model, analysis.tokenCount());
    if (!layout.isValid()) return makeError(QStringLiteral("the model has no patch grid"));
    const ViewState& s = request.state;
    if (request.queryToken < 0 || request.queryToken >= analysis.tokenCount())
        return makeError(QStringLiteral("no token %1 in this picture's %2 tokens")
                             .arg(request.queryToken)
                             .arg(analysis.tokenCount()));
    std::vector<float> weights = patchAttentionRow(analysis, s, layout, request.queryToken);
    if (weights.empty()) return makeError(QStringLiteral("no heads to show"));
    ImageAttentionRenderer r;
    QRectF region = processor.inputRegion(rgb888.width(), rgb888.height());
    const QSize size = request.size.isValid() ? request.size : QSize(760, 660);
    const QImage picture =
        displayPicture(rgb888, processor.channels, region,
                       2 * request.scale * std::max(size.width(), size.height()));
    r.setPicture(picture, region);
    r.setLayout(layout);
    r.setWeights(std::move(weights));
    r.setQueryPatch(request.queryToken - layout.prefixTokens);
    ImageOverlayOptions o = request.overlay;
    o.dark = s.dark;
    o.print = s.print;
    o.transparent = s.transparent;
    o.colorMap = s.colorMap;
    r.setOptions(o);
    const QString head = s.aggregate == Aggregate::SingleHead
                             ? headTitle(s.layer, s.head)
                             : aggregateTitle(s.checked, s.aggregate);
    QString title = QStringLiteral("%1 · attention of %2")
                        .arg(head, imageTokenName(layout, request.queryToken));
    if (o.topMass < 1.0)
        title += QStringLiteral(" · top %1 % of the mass").arg(o.topMass * 100, 0, 'g', 3);
    r.setTitle(title);
    FigureFrame frame;
    frame.title = request.options.title;
    frame.chrome = s.chrome();
    if (request.options.caption == CaptionMode::Auto)
        frame.caption = autoCaption(request.options.modelName, title, QString());
    else if (request.options.caption == CaptionMode::Text)
        frame.caption = request.options.captionText;
    QSize framedSize = size;
    if (!frame.isEmpty() && !request.size.isValid()) { // room for the title and caption
        const QRectF content = figureFrameLayout(frame, QSizeF(size)).content;
        framedSize += QSize(size.width() - int(content.width()),
                            size.height() - int(std::floor(content.height())));
    }
    const PaintFunction paint =
        framedPainting(frame, [&](QPainter& p, const QRectF& area, bool) { r.paint(p, area); });
    return exportPainting(paint, request.options.title.isEmpty() ? title : request.options.title,
                          outPath, framedSize, request.scale, QString(), s.transparent);
}

} // namespace attnscope
