#pragma once
// Image mode of the window: the model's input picture with its patch grid; hovering a patch
// shows its attention row over the picture (click keeps it, click again or Esc returns to
// [CLS]); beside it, the [CLS] token's attention for every head of the layer as small overlays
// (the DINO figure), each clickable to select that head. Opacity, upsampling, top-mass
// threshold and grid are set here; layer, head, aggregate and colour map come from the window's
// ViewState like every other view.
#include "image.h"
#include "image/image_attention_renderer.h"
#include "session.h"
#include "view_state.h"

#include <QWidget>
#include <memory>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;

namespace attnscope {

// The big picture: paints an ImageAttentionRenderer, reports the patch under the mouse.
class ImagePictureWidget : public QWidget {
    Q_OBJECT
public:
    explicit ImagePictureWidget(QWidget* parent = nullptr);
    ImageAttentionRenderer& renderer() { return m_renderer; }
    const ImageAttentionRenderer& renderer() const { return m_renderer; }
    QRectF pictureRect() const { return m_renderer.pictureRect(QRectF(rect())); }
    void setMessage(const QString& message); // shown instead of the picture when not empty

signals:
    void patchHovered(int patch); // -1 = none
    void patchClicked(int patch);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    ImageAttentionRenderer m_renderer;
    QString m_message;
    int m_hovered = -1;
};

// Small overlays in a grid, one per head, with captions; click selects one.
class HeadThumbnails : public QWidget {
    Q_OBJECT
public:
    explicit HeadThumbnails(QWidget* parent = nullptr);
    void setThumbnails(std::vector<ImageAttentionRenderer> thumbnails, QStringList captions,
                       int selected);
    int count() const { return int(m_thumbnails.size()); }
    const ImageAttentionRenderer& thumbnail(int i) const { return m_thumbnails[size_t(i)]; }
    QRectF thumbnailRect(int i) const; // the picture part of thumbnail i
    int thumbnailAt(QPointF pos) const;
    QSize sizeHint() const override { return QSize(260, 300); }

signals:
    void clicked(int index);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

private:
    std::vector<ImageAttentionRenderer> m_thumbnails;
    QStringList m_captions;
    int m_selected = -1;
};

class ImageView : public QWidget {
    Q_OBJECT
public:
    explicit ImageView(QWidget* parent = nullptr);

    // The picture as decoded (RGB888) and the model's processor (resize/crop) and channels.
    void setPicture(const QImage& rgb888, const QString& name,
                    const ImageProcessorConfig& processor);
    void setAnalysis(std::shared_ptr<const Analysis> analysis, const ModelConfig& model);
    void setState(const ViewState& state);
    void clear(const QString& message);

    // What lies over the picture: the query's attention in the selected head (or aggregate), or
    // its row of attention rollout (all layers, heads fused by their mean; core/analyses).
    enum class Overlay { Attention, Rollout };
    void setOverlay(Overlay overlay);
    Overlay overlay() const;

    // Any map over the patches ([rows * columns], e.g. attention rollout from the analyses) shown
    // over the picture instead of an attention row, with its title, until clearPatchMap().
    void showPatchMap(std::vector<float> weights, const QString& title);
    void clearPatchMap();
    bool showsPatchMap() const { return !m_patchMap.empty(); }

    // The query whose row the picture shows: [CLS] (0) unless a patch is hovered or kept.
    int queryToken() const;
    void setKeptPatch(int patch); // -1 = back to [CLS]
    int keptPatch() const { return m_keptPatch; }
    const PatchLayout& patchLayout() const { return m_layout; }
    ImageOverlayOptions overlayOptions() const;
    // Opacity, upsampling, top mass and grid as a saved session had them (colours and theme
    // come from the view state).
    void setOverlayOptions(const ImageOverlayOptions& options);
    ImagePictureWidget* pictureWidget() const { return m_picture; }
    HeadThumbnails* headThumbnails() const { return m_thumbnails; }
    QString pictureName() const { return m_pictureName; }
    QImage sourcePicture() const { return m_source; }
    const ImageProcessorConfig& processor() const { return m_processor; }

signals:
    void openImageRequested();
    void sampleRequested(const QString& resourcePath);
    void headClicked(int layer, int head);
    void hoverTextChanged(const QString& text);

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void refresh();
    void onPatchHovered(int patch);

    QImage m_source;      // RGB888 as decoded
    QImage m_shown;       // as the model sees it, at most 1600 pixels wide and high
    QRectF m_shownRegion; // the model's input within m_shown
    QImage m_thumbnail;   // the same at most 320 pixels, for the per-head overlays
    QRectF m_thumbnailRegion;
    QString m_pictureName;
    ImageProcessorConfig m_processor;
    std::shared_ptr<const Analysis> m_analysis;
    ModelConfig m_model;
    ViewState m_state;
    PatchLayout m_layout;
    int m_keptPatch = -1, m_hoveredPatch = -1;
    std::vector<float> m_patchMap; // showPatchMap(); empty = the query's attention row
    QString m_patchMapTitle;

    ImagePictureWidget* m_picture = nullptr;
    HeadThumbnails* m_thumbnails = nullptr;
    QLabel* m_thumbnailsTitle = nullptr;
    QLabel* m_query = nullptr;
    QPushButton* m_backToCls = nullptr;
    QSlider* m_opacity = nullptr;
    QComboBox* m_upsampling = nullptr;
    QDoubleSpinBox* m_topMass = nullptr;
    QCheckBox* m_grid = nullptr;
    QComboBox* m_samples = nullptr;
    QComboBox* m_overlay = nullptr;
    Mat m_rollout; // [T, T] of m_analysis, computed when first shown
    std::shared_ptr<const Analysis> m_rolloutFor;
};

} // namespace attnscope
