#pragma once
// Several query tokens at once (ctrl/shift-click in the token strip or on the heatmap's
// labels): the strip shows where they attend together, the sum or the mean of their rows of
// the view's matrix (the selected head, or the mean / max of the checked heads, with special
// tokens as the view treats them), one coloured cell per key token.
#include "view_state.h"

#include <QWidget>
#include <vector>

class QComboBox;
class QLabel;
class QPushButton;

namespace attnscope {

enum class RowCombine { Sum, Mean };

// The selected rows of `matrix` (token indices of the analysis; those the view hides are left
// out) summed or averaged: one value per visible key, [n]. Empty when no selected row is shown.
std::vector<double> combinedRows(const ViewMatrix& matrix, const std::vector<int>& tokens,
                                 RowCombine combine);

// Click rules shared by the token strip and the heatmap labels: a plain click selects only
// that token (or clears the selection when it was the only one), ctrl toggles it, shift
// extends from the last clicked token. Returns the new selection, sorted.
std::vector<int> updateSelection(const std::vector<int>& selection, int token, int anchor,
                                 Qt::KeyboardModifiers modifiers);

class CombinedCells : public QWidget {
    Q_OBJECT
public:
    explicit CombinedCells(QWidget* parent = nullptr);
    void setContent(const QStringList& labels, const std::vector<double>& values,
                    const ViewState& state);
    const std::vector<double>& values() const { return m_values; }
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    int indexAt(QPoint p) const;
    std::vector<QRect> m_rects; // computed in paintEvent, for tooltips
    QStringList m_labels;
    std::vector<double> m_values;
    ViewState m_state;
};

class SelectionStrip : public QWidget {
    Q_OBJECT
public:
    explicit SelectionStrip(QWidget* parent = nullptr);
    // Shows the combined rows of `matrix` for the selected tokens; hidden when none.
    void setContent(const Analysis* analysis, const ViewMatrix& matrix,
                    const std::vector<int>& tokens, const ViewState& state);
    RowCombine combine() const;
    void setCombine(RowCombine combine);
    CombinedCells* cells() const { return m_cells; }
    QString caption() const;

signals:
    void combineChanged();
    void clearRequested();

private:
    QLabel* m_caption = nullptr;
    QComboBox* m_combine = nullptr;
    QPushButton* m_clear = nullptr;
    CombinedCells* m_cells = nullptr;
};

} // namespace attnscope
