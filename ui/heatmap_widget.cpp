#include "heatmap_widget.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace attnscope {

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setMinimumSize(minimumSizeHint());
}

void HeatmapWidget::setData(const Mat& matrix, const QStringList& rowLabels,
                            const QStringList& columnLabels, const QString& title) {
    ++m_dataCount;
    m_renderer.setMatrix(matrix);
    m_renderer.setRowLabels(rowLabels);
    m_renderer.setColumnLabels(columnLabels);
    m_renderer.setTitle(title);
    m_hitLayoutValid = false;
    m_placeholder.clear();
    // Keep the hover on the same cell when it still exists (switching heads under the mouse).
    if (m_hovered.isValid() &&
        (m_hovered.row >= matrix.rows() || m_hovered.column >= matrix.cols()))
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
    m_hitLayoutValid = false;
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
    m_hitLayoutValid = false;
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
    ++m_paintCount;
    QPainter painter(this);
    const HeatmapLayout layout = m_renderer.layout(QSizeF(size()));
    m_renderer.paint(painter, layout);
    if (m_renderer.isEmpty() || !layout.hasGrid) {
        const QString text = !m_placeholder.isEmpty() ? m_placeholder
                             : m_renderer.isEmpty()   ? tr("No attention to show yet.")
                                                      : tr("Window too small for the heatmap.");
        painter.setPen(m_renderer.options().chrome.muted);
        QFont f = font();
        f.setPixelSize(14);
        painter.setFont(f);
        painter.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap,
                         text);
    }
}

const HeatmapLayout& HeatmapWidget::hitLayout() {
    if (!m_hitLayoutValid) {
        m_hitLayout = m_renderer.layout(QSizeF(size()));
        m_hitLayoutValid = true;
    }
    return m_hitLayout;
}

void HeatmapWidget::resizeEvent(QResizeEvent* event) {
    m_hitLayoutValid = false;
    QWidget::resizeEvent(event);
}

void HeatmapWidget::keyPressEvent(QKeyEvent* event) {
    const Mat& m = m_renderer.matrix();
    if (m.size() == 0) {
        QWidget::keyPressEvent(event);
        return;
    }
    HeatmapCell c = m_hovered.isValid() ? m_hovered : HeatmapCell{0, 0};
    const bool had = m_hovered.isValid();
    switch (event->key()) {
    case Qt::Key_Left:
        if (had) c.column = std::max(0, c.column - 1);
        break;
    case Qt::Key_Right:
        if (had) c.column = std::min(int(m.cols()) - 1, c.column + 1);
        break;
    case Qt::Key_Up:
        if (had) c.row = std::max(0, c.row - 1);
        break;
    case Qt::Key_Down:
        if (had) c.row = std::min(int(m.rows()) - 1, c.row + 1);
        break;
    case Qt::Key_Home:
        c = {0, 0};
        break;
    case Qt::Key_End:
        c = {int(m.rows()) - 1, int(m.cols()) - 1};
        break;
    case Qt::Key_Escape:
        c = {};
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    setHoveredCell(c);
    event->accept();
}

void HeatmapWidget::mouseMoveEvent(QMouseEvent* event) {
    const HeatmapCell cell = hitLayout().cellAt(event->position());
    setHoveredCell(cell);
    if (m_showTooltip) {
        if (cell.isValid())
            QToolTip::showText(event->globalPosition().toPoint(), describeCell(cell), this);
        else
            QToolTip::hideText();
    }
    QWidget::mouseMoveEvent(event);
}

void HeatmapWidget::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        const HeatmapLayout& layout = hitLayout();
        for (const auto* labels : {&layout.rowLabels, &layout.columnLabels})
            for (const HeatmapLabel& label : *labels)
                if (label.rect.contains(event->position())) {
                    emit labelClicked(label.index, event->modifiers());
                    return;
                }
        const HeatmapCell cell = layout.cellAt(event->position());
        if (cell.isValid()) emit cellClicked(cell.row, cell.column);
    }
    QWidget::mousePressEvent(event);
}

void HeatmapWidget::leaveEvent(QEvent* event) {
    setHoveredCell({});
    QToolTip::hideText();
    QWidget::leaveEvent(event);
}

} // namespace attnscope
