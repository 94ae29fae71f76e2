#pragma once
// Attention rollout and attention flow (Abnar & Zuidema 2020; core/analyses/rollout.h, flow.h)
// of the current analysis as a heatmap like attention: rows are output tokens, columns input
// tokens. Rollout follows every analysis; flow (seconds on long inputs) runs when asked, in the
// background with a progress bar and Cancel, and is dropped when the text changes. Shown as a
// heatmap or as token links; image models also get R[CLS, patches] on the patch grid.
#include "analyses/rollout.h"
#include "session.h"

#include <QWidget>
#include <memory>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace attnscope {

class BackgroundJob;
class HeatmapWidget;
class LinksWidget;

class RolloutPanel : public QWidget {
    Q_OBJECT
public:
    // Norms: norm-based attention (Kobayashi et al. 2020, core/analyses/norms.h) of one layer,
    // ||sum_h a_ij f_h(x_j)||, or of one head of it; needs the model's weights (setModel).
    enum class Kind { Rollout, Flow, Norms };

    explicit RolloutPanel(QWidget* parent = nullptr);

    void setAnalysis(std::shared_ptr<const Analysis> analysis);
    // Image models ([CLS] then patches) also show R[CLS, patches] on the patch grid.
    void setImageModel(bool image);
    void setModel(std::shared_ptr<const LoadedModel> model); // for the norms
    void setNormsLayerHead(int layer, int head);             // head -1: the whole layer
    void setKind(Kind kind);
    Kind kind() const;
    void setOptions(const RolloutOptions& options);
    RolloutOptions options() const;
    void computeFlow(); // starts flow for the current analysis and options
    void cancel();

    HeatmapWidget* heatmap() const { return m_heatmap; }
    HeatmapWidget* patchGrid() const { return m_grid; } // image models only (else hidden)
    LinksWidget* links() const { return m_links; }      // the same matrix as token links
    void setShowLinks(bool links);                      // links instead of the heatmap
    void setDarkTheme(bool dark);                       // the views' chrome follows the window
    bool isBusy() const;
    QString statusText() const;
    const Mat& result() const { return m_result; } // [T, T], empty until computed

signals:
    void resultShown(); // a rollout or flow matrix has just been drawn

protected:
    void showEvent(QShowEvent* event) override;

private:
    void recompute(); // rollout: at once; flow: cleared until asked
    void showMatrix(const Mat& matrix, const QString& title, double ms);
    void setStatus(const QString& text);

    void computeNorms();

    std::shared_ptr<const Analysis> m_analysis;
    std::shared_ptr<const LoadedModel> m_model;
    Mat m_result;
    QSpinBox* m_normsLayer = nullptr;
    QComboBox* m_normsHead = nullptr; // "whole layer", then heads 0..H-1
    QComboBox* m_kind = nullptr;
    QComboBox* m_display = nullptr; // heatmap or token links
    QWidget* m_linksPage = nullptr;
    LinksWidget* m_links = nullptr;
    QComboBox* m_fusion = nullptr;
    QDoubleSpinBox* m_discard = nullptr;
    QPushButton* m_compute = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    HeatmapWidget* m_heatmap = nullptr;
    HeatmapWidget* m_grid = nullptr;
    BackgroundJob* m_job = nullptr;
    bool m_imageModel = false;
    bool m_dark = false;
    bool m_dirty = true; // the analysis or options changed while hidden
};

} // namespace attnscope
