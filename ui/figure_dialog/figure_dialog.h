#pragma once
// File → Export Figure…: the view on screen (selection and head toggles included) with the
// figure options of `attnscope export` (title, caption, colour bar, theme, transparent
// background, scale, size), a live preview of exactly the file it writes, and Export / Copy.
// Non-modal: the window stays usable, and the preview follows the view (refresh()). Errors show
// in a red line inside the dialog, never as a message box. The file is written through
// exportFigure (atomic, as every export).
#include "figure_export.h"

#include <QDialog>
#include <functional>
#include <memory>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace attnscope {

class HeadRequests;

// The figure the window shows now: the analysis and the request for it (view, state, panes,
// selected queries, model name); an error when there is nothing to draw.
struct CurrentFigure {
    std::shared_ptr<const Analysis> analysis;
    FigureRequest request;
};
using CurrentFigureSource = std::function<Result<CurrentFigure>()>;

class FigureDialog : public QDialog {
    Q_OBJECT
public:
    explicit FigureDialog(CurrentFigureSource source, QWidget* parent = nullptr);

    // The window's figure with this dialog's options applied.
    Result<CurrentFigure> figure() const;
    // Applies the dialog's options (title, caption, colour bar, theme, transparent, scale,
    // size) to a request; the window's Copy Figure uses it too.
    void applyOptions(FigureRequest& request) const;
    Status exportTo(const QString& path); // also shows the error line on failure
    QString errorText() const;
    // Whether the preview or an export waits for lazy heads computed off the GUI thread.
    bool isComputing() const;
    const QImage& previewImage() const { return m_preview; } // at scale 1, before fitting

public slots:
    void refresh(); // re-reads the window's view and redraws the preview

signals:
    void exported(const QString& path);
    void copyRequested(); // Edit → Copy Figure with these options
    void previewShown();  // a preview computed off the GUI thread is drawn

private:
    void chooseFile();
    void showError(const QString& message);

    CurrentFigureSource m_source;
    QLineEdit* m_path = nullptr;
    QLineEdit* m_title = nullptr;
    QComboBox* m_caption = nullptr;
    QLineEdit* m_captionText = nullptr;
    QComboBox* m_colorBar = nullptr;
    QComboBox* m_theme = nullptr;
    QCheckBox* m_transparent = nullptr;
    QSpinBox* m_scale = nullptr;
    QSpinBox* m_width = nullptr;
    QSpinBox* m_height = nullptr;
    QLabel* m_previewLabel = nullptr;
    QLabel* m_error = nullptr;
    QImage m_preview;
    QLabel* m_busy = nullptr; // "Exporting …: computing …" while an export waits for heads
    HeadRequests* m_previewRequests = nullptr;
    HeadRequests* m_exportRequests = nullptr;
};

} // namespace attnscope
