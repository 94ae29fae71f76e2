#pragma once
// Image mode's figures from an analysis: the patch layout of an image model, the attention row
// of a query token ([CLS] or a patch) over the patches for one head or an aggregate of heads,
// and the export of the image view (used by `attnscope export --view image` and the window).
#include "figure_frame.h"
#include "image.h"
#include "image/image_attention_renderer.h"
#include "result.h"
#include "session.h"
#include "view_state.h"

#include <QImage>
#include <QSize>
#include <vector>

namespace attnscope {

// The patch grid of an image model's analysis with `tokens` tokens: the tokens before the
// patches are [CLS] (and DeiT's distillation token).
PatchLayout patchLayoutFor(const ModelConfig& config, int tokens);
// "[CLS]", "[DIST]", "patch 12 (row 1, column 5)".
QString imageTokenName(const PatchLayout& layout, int token);

// The attention of `queryToken` to every patch token, [rows * columns] row-major; one head, or
// with state.aggregate the mean / max over the checked heads of the state's layer... as the
// heatmap shows it (aggregateAttention). Empty when no head is checked.
std::vector<float> patchAttentionRow(const Analysis& analysis, const ViewState& state,
                                     const PatchLayout& layout, int queryToken);
std::vector<float> patchAttentionRowOfHead(const Analysis& analysis, int layer, int head,
                                           const PatchLayout& layout, int queryToken);

// Row `queryToken` of any [T, T] matrix over the tokens (attention, rollout), at the patch
// columns: [rows * columns]. Empty when the shapes do not fit.
std::vector<float> patchColumnsOfRow(const Mat& matrix, const PatchLayout& layout, int queryToken);

// The picture as the model sees it, at the source's resolution: RGB, or for one-channel models
// greyscale by PIL's "L" formula (what core/image.cpp feeds them).
QImage pictureAsModelSees(const QImage& rgb888, int channels);

// The picture to draw: as the model sees it, scaled down so that its longer side is at most
// maxSide pixels (drawing a 12-megapixel photo on every repaint would be slow, and would bloat
// SVG files); `region` (ImageProcessorConfig::inputRegion of the source) is rescaled with it so
// the patches stay aligned.
QImage displayPicture(const QImage& rgb888, int channels, QRectF& region, int maxSide = 1600);

struct ImageFigureRequest {
    ViewState state;    // layer, head or aggregate (over state.checked), theme, colour map
    int queryToken = 0; // 0 = [CLS]; prefix + i = patch i
    ImageOverlayOptions overlay;
    QSize size;    // invalid: 760 x 660
    int scale = 1; // PNG pixels per layout pixel
    FigureOptions options; // title and caption (figure_frame.h); the colour bar is not offered
};

// Writes the image view (.png, .svg, .pdf) for a picture already analysed by the model.
Status exportImageFigure(const Analysis& analysis, const QImage& rgb888,
                         const ImageProcessorConfig& processor, const ModelConfig& model,
                         const ImageFigureRequest& request, const QString& outPath);

} // namespace attnscope
