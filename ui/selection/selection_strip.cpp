#include "selection_strip.h"

#include "colormap.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QToolTip>
#include <algorithm>
#include <set>

namespace attnscope {

std::vector<double> combinedRows(const ViewMatrix& matrix, const std::vector<int>& tokens,
                                 RowCombine combine) {
    std::vector<int> rows;
    for (int token : tokens)
        if (const int row = matrix.visibleIndexOf(token); row >= 0) rows.push_back(row);
    if (rows.empty() || matrix.isEmpty()) return {};
    const int n = int(matrix.values.cols());
    std::vector<double> out(static_cast<size_t>(n), 0.0);
    for (int r : rows)
        for (int c = 0; c < n; ++c)
            out[size_t(c)] += double(matrix.values(r, c));
    if (combine == RowCombine::Mean)
        for (double& v : out)
            v /= double(rows.size());
    return out;
}

std::vector<int> updateSelection(const std::vector<int>& selection, int token, int anchor,
                                 Qt::KeyboardModifiers modifiers) {
    std::set<int> s(selection.begin(), selection.end());
    if (modifiers & Qt::ShiftModifier) {
        const int from = anchor >= 0 ? anchor : token;
        for (int i = std::min(from, token); i <= std::max(from, token); ++i)
            s.insert(i);
    } else if (modifiers & (Qt::ControlModifier | Qt::MetaModifier)) {
        if (!s.erase(token)) s.insert(token);
    } else {
        const bool onlyThis = s.size() == 1 && s.count(token);
        s.clear();
        if (!onlyThis) s.insert(token);
    }
    return {s.begin(), s.end()};
}

// ------------------------------------------------------------------------- CombinedCells

CombinedCells::CombinedCells(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setMouseTracking(true);
}

void CombinedCells::setContent(const QStringList& labels, const std::vector<double>& values,
                               const ViewState& state) {
    m_labels = labels;
    m_values = values;
    m_state = state;
    updateGeometry();
    update();
}

QSize CombinedCells::sizeHint() const {
    return {600, QFontMetrics(font()).height() + 10};
}

QSize CombinedCells::minimumSizeHint() const {
    return {100, sizeHint().height()};
}

void CombinedCells::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QFontMetrics fm(font());
    m_rects.clear();
    // Colours span 0..1 for a mean (a row's scale) and 0..the largest value for a sum.
    const double top =
        std::max(1.0, m_values.empty() ? 1.0 : *std::max_element(m_values.begin(), m_values.end()));
    int x = 0;
    for (size_t i = 0; i < m_values.size() && i < size_t(m_labels.size()); ++i) {
        const QString label = HeatmapRenderer::escapeLabel(m_labels[qsizetype(i)]);
        const int w = fm.horizontalAdvance(label) + 10;
        const QRect r(x, 2, w, height() - 4);
        m_rects.push_back(r);
        const double t = std::clamp(m_values[i] / top, 0.0, 1.0);
        const QColor fill = colorAt(m_state.colorMap, t);
        p.fillRect(r, fill);
        p.setPen(fill.lightness() > 140 ? Qt::black : Qt::white);
        p.drawText(r, Qt::AlignCenter, label);
        x += w + 2;
        if (x > width()) break; // the tooltip of the last visible cell still works
    }
}

int CombinedCells::indexAt(QPoint point) const {
    for (size_t i = 0; i < m_rects.size(); ++i)
        if (m_rects[i].contains(point)) return int(i);
    return -1;
}

bool CombinedCells::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const int i = indexAt(help->pos());
        if (i < 0 || size_t(i) >= m_values.size()) {
            QToolTip::hideText();
            return true;
        }
        QToolTip::showText(help->globalPos(),
                           tr("key %1: %2").arg(m_labels[i]).arg(m_values[size_t(i)], 0, 'f', 4),
                           this);
        return true;
    }
    return QWidget::event(event);
}

// ------------------------------------------------------------------------- SelectionStrip

SelectionStrip::SelectionStrip(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);
    m_caption = new QLabel;
    m_caption->setObjectName(QStringLiteral("selectionCaption"));
    m_combine = new QComboBox;
    m_combine->setObjectName(QStringLiteral("selectionCombine"));
    m_combine->addItems({tr("Sum"), tr("Mean")});
    m_combine->setToolTip(tr("Combine the selected query rows by their sum or their mean"));
    m_clear = new QPushButton(tr("Clear"));
    m_clear->setObjectName(QStringLiteral("selectionClear"));
    m_cells = new CombinedCells;
    m_cells->setObjectName(QStringLiteral("selectionCells"));
    layout->addWidget(m_caption);
    layout->addWidget(m_combine);
    layout->addWidget(m_cells, 1);
    layout->addWidget(m_clear);
    connect(m_combine, &QComboBox::currentIndexChanged, this, &SelectionStrip::combineChanged);
    connect(m_clear, &QPushButton::clicked, this, &SelectionStrip::clearRequested);
    hide();
}

RowCombine SelectionStrip::combine() const {
    return m_combine->currentIndex() == 1 ? RowCombine::Mean : RowCombine::Sum;
}

void SelectionStrip::setCombine(RowCombine combine) {
    m_combine->setCurrentIndex(combine == RowCombine::Mean ? 1 : 0);
}

QString SelectionStrip::caption() const {
    return m_caption->text();
}

void SelectionStrip::setContent(const Analysis* analysis, const ViewMatrix& matrix,
                                const std::vector<int>& tokens, const ViewState& state) {
    const std::vector<double> values = combinedRows(matrix, tokens, combine());
    if (!analysis || tokens.empty() || values.empty()) {
        hide();
        return;
    }
    const QStringList labels = tokenLabels(*analysis);
    QStringList names;
    for (int t : tokens)
        if (t < labels.size()) names << HeatmapRenderer::escapeLabel(labels[t]);
    const int shown = 4;
    QString list = names.mid(0, shown).join(QStringLiteral(", "));
    if (names.size() > shown) list += tr(" and %1 more").arg(names.size() - shown);
    m_caption->setText(tokens.size() == 1
                           ? tr("Query %1 attends to").arg(list)
                           : tr("%1 queries (%2) attend to").arg(tokens.size()).arg(list));
    m_cells->setContent(matrix.labels, values, state);
    show();
}

} // namespace attnscope
