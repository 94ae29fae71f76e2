#pragma once
// Attention over a picture: the model's input picture (the part of the source picture its
// processor keeps, drawn over exactly the rectangle of the model's input), the patch grid, and
// one attention row over the patches as a translucent heatmap, with a colour bar. Paints onto
// any QPainter (window, PNG, SVG, PDF), like the other renderers.
#include "colormap.h"

#include <QFont>
#include <QImage>
#include <QRectF>
#include <QString>
#include <vector>

class QPainter;

namespace attnscope {

// Where the patches lie in the model's input: `columns` x `rows` patches of `patchSize` input
// pixels, row-major, after `prefixTokens` tokens ([CLS], and DeiT's distillation token). An
// input side that is not a multiple of the patch size leaves its last pixels out of every
// patch (the patch convolution skips them).
struct PatchLayout {
    int columns = 0, rows = 0;
    int patchSize = 1;
    int inputWidth = 0, inputHeight = 0; // model input in pixels
    int prefixTokens = 1;
    int patches() const { return columns * rows; }
    bool isValid() const { return columns > 0 && rows > 0 && inputWidth > 0 && inputHeight > 0; }
};

struct ImageOverlayOptions {
    double opacity = 0.6; // of the attention colours over the picture
    ColorMap colorMap = ColorMap::Viridis;
    bool smooth = false;  // bilinear upsampling of the patch map; else nearest
    double topMass = 1.0; // keep the patches holding this share of the mass (DINO)
    bool showGrid = true;
    bool dark = false;
    bool print = false;       // figures: the print theme (overrides dark)
    bool transparent = false; // figures: no background
};

// DINO's threshold (Caron et al. 2021, visualize_attention.py): sort the weights ascending,
// normalise to sum 1, keep those whose cumulative sum exceeds 1 - mass. mass >= 1 keeps all.
std::vector<bool> topMassMask(const std::vector<float>& weights, double mass);

class ImageAttentionRenderer {
public:
    // picture: any format (drawn as is; give a greyscale picture for one-channel models);
    // region: the part of it that becomes the model's input (ImageProcessorConfig::inputRegion).
    void setPicture(const QImage& picture, const QRectF& region);
    void setLayout(const PatchLayout& layout) { m_layout = layout; }
    const PatchLayout& layout() const { return m_layout; }
    // Attention weights over the patches, [rows * columns] row-major; empty = picture only.
    void setWeights(std::vector<float> weights);
    const std::vector<float>& weights() const { return m_weights; }
    void setQueryPatch(int patch) { m_queryPatch = patch; }     // outlined; -1 = none
    void setHoveredPatch(int patch) { m_hoveredPatch = patch; } // outlined thinly; -1 = none
    void setTitle(const QString& title) { m_title = title; }
    void setFont(const QFont& font) { m_font = font; } // title and colour bar labels
    void setOptions(const ImageOverlayOptions& options);
    const ImageOverlayOptions& options() const { return m_options; }

    // The rectangle the model's input is drawn into, inside `area` (title and colour bar
    // around it; the aspect ratio of the input kept).
    QRectF pictureRect(const QRectF& area) const;
    // A patch's rectangle when the input is drawn into `picture` (a pictureRect).
    QRectF patchRect(const QRectF& picture, int patch) const;
    // The patch under `pos` for a picture drawn into `picture`; -1 outside the patches.
    int patchAt(const QRectF& picture, QPointF pos) const;
    // The patch map's colour at a patch: weight / max weight, 0..1 (the colour bar's scale);
    // -1 where the top-mass threshold hides the patch.
    double colourValue(int patch) const;

    // Title, picture with overlay and grid, colour bar.
    void paint(QPainter& painter, const QRectF& area) const;
    // Only the picture, overlay, grid and marks, into exactly `target` (thumbnails).
    void paintPicture(QPainter& painter, const QRectF& target) const;

private:
    QImage m_picture;
    QRectF m_region;
    PatchLayout m_layout;
    std::vector<float> m_weights;
    std::vector<bool> m_kept; // top-mass mask, per patch
    float m_max = 0;
    int m_queryPatch = -1, m_hoveredPatch = -1;
    QString m_title;
    QFont m_font;
    ImageOverlayOptions m_options;
};

} // namespace attnscope
