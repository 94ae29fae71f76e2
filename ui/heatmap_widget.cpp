#include "heatmap_widget.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace attnscope {

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setMinimumSize(minimumSizeHint());
}

void HeatmapWidget::setData(const Mat& matrix, const QStringList& rowLabels,
                            const QStringList& columnLabels, const QString& title) {
    m_renderer.setMatrix(matrix);
    m_renderer.setRowLabels(rowLabels);
    m_renderer.setColumnLabels(columnLabels);
    m_renderer.setTitle(title);
    m_placeholder.clear();
    // Keep the hover on the same cell when it still exists (switching heads under the mouse).
    if (m_hovered.isValid() && (m_hovered.row >= matrix.rows() || m_hovered.column >= matrix.cols()))
        m_hovered = {};
    m_renderer.setHighlight(m_hovered);
    if (m_hovered.isValid()) {
        emit cellHovered(m_hovered.row, m_hovered.column, matrix(m_hovered.row, m_hovered.column));
        emit hoverTextChanged(describeCell(m_hovered));
    }
    update();
}

void HeatmapWidget::clear(const QString& placeholder) {
    m_renderer.clear();
    m_renderer.setTitle(QString());
    m_placeholder = placeholder;
    setHoveredCell({});
    update();
}

void HeatmapWidget::setPlaceholder(const QString& text) {
    m_placeholder = text;
    update();
}

void HeatmapWidget::setOptions(const HeatmapOptions& options) {
    HeatmapOptions o = options;
    o.highlight = m_hovered;
    m_renderer.setOptions(o);
    update();
}

QString HeatmapWidget::describeCell(HeatmapCell cell) const {
    const Mat& m = m_renderer.matrix();
    if (!cell.isValid() || cell.row >= m.rows() || cell.column >= m.cols()) return {};
    auto label = [](const QStringList& labels, int i) {
        return HeatmapRenderer::escapeLabel(i < labels.size() ? labels[i] : QString::number(i));
    };
    QString text = QStringLiteral("query '%1' (%2) → key '%3' (%4): %5")
                       .arg(label(m_renderer.rowLabels(), cell.row))
                       .arg(cell.row)
                       .arg(label(m_renderer.columnLabels(), cell.column))
                       .arg(cell.column)
                       .arg(double(m(cell.row, cell.column)), 0, 'f', 4);
    if (m_renderer.isMasked() && cell.column > cell.row) text += QStringLiteral(" (masked)");
    return text;
}

void HeatmapWidget::setHoveredCell(HeatmapCell cell) {
    const Mat& m = m_renderer.matrix();
    if (cell.isValid() && (cell.row >= m.rows() || cell.column >= m.cols())) cell = {};
    if (cell == m_hovered) return;
    m_hovered = cell;
    m_renderer.setHighlight(cell);
    update();
    if (cell.isValid()) {
        emit cellHovered(cell.row, cell.column, m(cell.row, cell.column));
    } else {
        emit cellHovered(-1, -1, 0.0f);
    }
    emit hoverTextChanged(describeCell(cell));
}

void HeatmapWidget::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const HeatmapLayout layout = m_renderer.layout(QSizeF(size()));
    m_renderer.paint(painter, layout);
    if (m_renderer.isEmpty() || !layout.hasGrid) {
        const QString text = !m_placeholder.isEmpty()   ? m_placeholder
                             : m_renderer.isEmpty()     ? tr("No attention to show yet.")
                                                        : tr("Window too small for the heatmap.");
        painter.setPen(QColor(0x66, 0x66, 0x66));
        QFont f = font();
        f.setPixelSize(14);
        painter.setFont(f);
        painter.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap, text);
    }
}

void HeatmapWidget::mouseMoveEvent(QMouseEvent* event) {
    const HeatmapLayout layout = m_renderer.layout(QSizeF(size()));
    const HeatmapCell cell = layout.cellAt(event->position());
    setHoveredCell(cell);
    if (m_showTooltip) {
        if (cell.isValid())
            QToolTip::showText(event->globalPosition().toPoint(), describeCell(cell), this);
        else
            QToolTip::hideText();
    }
    QWidget::mouseMoveEvent(event);
}

void HeatmapWidget::leaveEvent(QEvent* event) {
    setHoveredCell({});
    QToolTip::hideText();
    QWidget::leaveEvent(event);
}

} // namespace attnscope
