#pragma once
// A QWidget around HeatmapRenderer: paints it, tracks the mouse, highlights and reports the
// hovered cell ("query 'cat' (1) → key 'The' (0): 0.4123") in a tooltip and via signals.
// With keyboard focus the arrow keys move the highlighted cell (Home: first cell, Esc: none).
#include "heatmap_renderer.h"

#include <QWidget>

namespace attnscope {

class HeatmapWidget : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapWidget(QWidget* parent = nullptr);

    // Shows a matrix; hover state is reset. Labels as for HeatmapRenderer.
    void setData(const Mat& matrix, const QStringList& rowLabels, const QStringList& columnLabels,
                 const QString& title);
    void clear(const QString& placeholder = QString()); // empty view with an optional message
    void setPlaceholder(const QString& text);
    void setOptions(const HeatmapOptions& options); // highlight is kept by the widget
    void setShowTooltip(bool show) { m_showTooltip = show; }

    const HeatmapRenderer& renderer() const { return m_renderer; }
    const Mat& matrix() const { return m_renderer.matrix(); }
    int tokenCount() const { return int(m_renderer.matrix().rows()); }
    HeatmapCell hoveredCell() const { return m_hovered; }
    HeatmapLayout currentLayout() const { return m_renderer.layout(QSizeF(size())); }
    QString placeholder() const { return m_placeholder; }
    int paintCount() const { return m_paintCount; } // paint events so far (benchmarks, tests)
    int dataCount() const { return m_dataCount; }   // setData() calls so far (tests)

    // Text for a cell, e.g. "query 'cat' (1) → key 'The' (0): 0.4123"; empty when invalid.
    QString describeCell(HeatmapCell cell) const;
    // Moves the highlight as if the mouse were over the cell (invalid cell clears it).
    void setHoveredCell(HeatmapCell cell);

    QSize sizeHint() const override { return {720, 620}; }
    QSize minimumSizeHint() const override { return {160, 140}; }

signals:
    // row = query, column = key; both -1 when the mouse leaves the grid.
    void cellHovered(int row, int column, float value);
    void hoverTextChanged(const QString& text);
    // A query (row) or key (column) label was clicked: its visible index and the modifiers.
    void labelClicked(int index, Qt::KeyboardModifiers modifiers);
    void cellClicked(int row, int column); // a left click on a cell (row = query)

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    const HeatmapLayout&
    hitLayout(); // grid geometry for hit-testing (independent of the highlight)

    HeatmapRenderer m_renderer;
    HeatmapLayout m_hitLayout;
    bool m_hitLayoutValid = false;
    HeatmapCell m_hovered;
    QString m_placeholder;
    bool m_showTooltip = true;
    int m_paintCount = 0;
    int m_dataCount = 0;
};

} // namespace attnscope
