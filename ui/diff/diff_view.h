#pragma once
// Difference view: head A − head B of one text, or the same head on this text minus another text
// ("against"), on a diverging map centred on 0 (blue: B larger, red: A larger). Texts that
// tokenize to different lengths get a message saying both lengths instead of a figure.
#include "heatmap_widget.h"
#include "view_state.h"

#include <QWidget>
#include <array>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace attnscope {

class HeadRequests;
class HeadSpinBox;

class DiffView : public QWidget {
    Q_OBJECT
public:
    enum class Mode { Heads, Inputs };
    explicit DiffView(QWidget* parent = nullptr);

    void setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state);
    void setAgainstAnalysis(std::shared_ptr<const Analysis> against);
    void setAgainstError(const QString& message); // the other text could not be analysed
    // Non-empty: a difference of two texts cannot be made (no model), and this says why.
    void setInputsUnavailable(const QString& reason);
    void setMode(Mode mode);
    Mode mode() const;
    void setHeads(int layerA, int headA, int layerB, int headB);
    void setAgainstText(const QString& text);
    QString againstText() const;
    HeatmapWidget* heatmap() const { return m_heatmap; }
    QString message() const; // the explanation shown instead of a figure, if any
    std::pair<int, int> headA() const;
    std::pair<int, int> headB() const;
    std::shared_ptr<const Analysis> againstAnalysis() const { return m_against; }
    // Whether a lazy head is being computed ("Computing layer L, head H…" shown meanwhile).
    bool isComputing() const;

signals:
    void againstTextChanged(const QString& text);
    void cellHovered(int row, int column); // visible indices (same tokens as this text)
    void figureShown();                    // a figure computed off the GUI thread is drawn

private:
    void refresh();
    std::shared_ptr<const Analysis> m_analysis, m_against;
    QString m_againstError;
    QString m_inputsUnavailable;
    // Heads set before any analysis (a session being opened), applied when the first arrives.
    std::optional<std::array<int, 4>> m_pendingHeads;
    ViewState m_state;
    QComboBox* m_mode = nullptr;
    QSpinBox *m_layerA = nullptr, *m_layerB = nullptr;
    HeadSpinBox *m_headA = nullptr, *m_headB = nullptr; // a head, or the layer's mean / max
    QWidget* m_headsBox = nullptr;
    QWidget* m_inputsBox = nullptr;
    QLineEdit* m_againstEdit = nullptr;
    QLabel* m_message = nullptr;
    HeatmapWidget* m_heatmap = nullptr;
    HeadRequests* m_requests = nullptr; // heads A and B, computed off the GUI thread when lazy
};

} // namespace attnscope
