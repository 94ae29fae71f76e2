#include "flow_layout.h"

#include <QSpacerItem>
#include <QWidget>

#include <algorithm>

namespace attnscope {

FlowLayout::FlowLayout(QWidget* parent, int horizontalSpacing, int verticalSpacing)
    : QLayout(parent), m_horizontalSpacing(horizontalSpacing), m_verticalSpacing(verticalSpacing) {
    setContentsMargins(0, 0, 0, 0);
}

FlowLayout::~FlowLayout() {
    while (QLayoutItem* item = takeAt(0))
        delete item;
}

void FlowLayout::addItem(QLayoutItem* item) {
    m_items.append(item);
}

void FlowLayout::addSpacing(int width) {
    addItem(new QSpacerItem(width, 0, QSizePolicy::Fixed, QSizePolicy::Minimum));
}

QLayoutItem* FlowLayout::itemAt(int index) const {
    return index >= 0 && index < m_items.size() ? m_items[index] : nullptr;
}

QLayoutItem* FlowLayout::takeAt(int index) {
    return index >= 0 && index < m_items.size() ? m_items.takeAt(index) : nullptr;
}

int FlowLayout::heightForWidth(int width) const {
    return place(QRect(0, 0, width, 0), false);
}

QSize FlowLayout::sizeHint() const {
    int width = 0, height = 0;
    for (QLayoutItem* item : m_items) {
        if (item->isEmpty()) continue;
        width += item->sizeHint().width() + m_horizontalSpacing;
        height = std::max(height, item->sizeHint().height());
    }
    const QMargins m = contentsMargins();
    return QSize(std::max(0, width - m_horizontalSpacing), height) +
           QSize(m.left() + m.right(), m.top() + m.bottom());
}

QSize FlowLayout::minimumSize() const {
    QSize size;
    for (QLayoutItem* item : m_items)
        if (!item->isEmpty() && !item->spacerItem()) size = size.expandedTo(item->sizeHint());
    const QMargins m = contentsMargins();
    return size + QSize(m.left() + m.right(), m.top() + m.bottom());
}

void FlowLayout::setGeometry(const QRect& rect) {
    QLayout::setGeometry(rect);
    place(rect, true);
}

int FlowLayout::place(const QRect& rect, bool apply) const {
    const QRect area = rect.marginsRemoved(contentsMargins());
    int x = area.x(), y = area.y(), rowHeight = 0;
    bool rowEmpty = true;
    // Each row's items share the row's height, centred vertically like a QHBoxLayout.
    QList<QPair<QLayoutItem*, QRect>> row;
    auto finishRow = [&] {
        if (apply)
            for (auto& [item, r] : row)
                item->setGeometry(
                    QRect(r.x(), r.y() + (rowHeight - r.height()) / 2, r.width(), r.height()));
        row.clear();
    };
    for (QLayoutItem* item : m_items) {
        if (item->isEmpty()) continue;
        const QSize hint = item->sizeHint();
        if (item->spacerItem()) { // a gap, never at a row's start
            if (!rowEmpty) x += hint.width();
            continue;
        }
        if (!rowEmpty && x + hint.width() > area.right() + 1) {
            finishRow();
            y += rowHeight + m_verticalSpacing;
            x = area.x();
            rowHeight = 0;
        }
        row.append({item, QRect(QPoint(x, y), hint)});
        x += hint.width() + m_horizontalSpacing;
        rowHeight = std::max(rowHeight, hint.height());
        rowEmpty = false;
    }
    finishRow();
    const QMargins m = contentsMargins();
    return y + rowHeight - rect.y() + m.bottom();
}

} // namespace attnscope
