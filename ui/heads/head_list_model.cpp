#include "head_list_model.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

HeadListModel::HeadListModel(QObject* parent) : QAbstractItemModel(parent) {}

void HeadListModel::setShape(int layers, int heads) {
    if (layers == m_selection.layers() && heads == m_selection.heads()) return;
    beginResetModel();
    m_selection.reset(layers, heads, true);
    endResetModel();
    emit checkedHeadsChanged();
}

void HeadListModel::setSelection(const HeadSelection& selection) {
    if (selection.layers() != m_selection.layers() || selection.heads() != m_selection.heads()) {
        beginResetModel();
        m_selection = selection;
        endResetModel();
    } else {
        m_selection = selection;
        for (int l = 0; l < m_selection.layers(); ++l)
            emitLayerChanged(l);
    }
    emit checkedHeadsChanged();
}

void HeadListModel::setAllChecked(bool checked) {
    for (int l = 0; l < m_selection.layers(); ++l)
        for (int h = 0; h < m_selection.heads(); ++h)
            m_selection.setChecked(l, h, checked);
    for (int l = 0; l < m_selection.layers(); ++l)
        emitLayerChanged(l);
    emit checkedHeadsChanged();
}

void HeadListModel::setLayerChecked(int layer, bool checked) {
    if (layer < 0 || layer >= m_selection.layers()) return;
    for (int h = 0; h < m_selection.heads(); ++h)
        m_selection.setChecked(layer, h, checked);
    emitLayerChanged(layer);
    emit checkedHeadsChanged();
}

void HeadListModel::setHeadChecked(int layer, int head, bool checked) {
    if (layer < 0 || layer >= m_selection.layers() || head < 0 || head >= m_selection.heads())
        return;
    if (m_selection.isChecked(layer, head) == checked) return;
    m_selection.setChecked(layer, head, checked);
    const QModelIndex i = headIndex(layer, head);
    emit dataChanged(i, i, {Qt::CheckStateRole});
    const QModelIndex p = layerIndex(layer);
    emit dataChanged(p, p, {Qt::CheckStateRole});
    emit checkedHeadsChanged();
}

void HeadListModel::emitLayerChanged(int layer) {
    const QModelIndex p = layerIndex(layer);
    emit dataChanged(p, p, {Qt::CheckStateRole});
    if (m_selection.heads() > 0)
        emit dataChanged(headIndex(layer, 0), headIndex(layer, m_selection.heads() - 1),
                         {Qt::CheckStateRole});
}

Qt::CheckState HeadListModel::layerState(int layer) const {
    int on = 0;
    for (int h = 0; h < m_selection.heads(); ++h)
        on += m_selection.isChecked(layer, h) ? 1 : 0;
    if (on == 0) return Qt::Unchecked;
    return on == m_selection.heads() ? Qt::Checked : Qt::PartiallyChecked;
}

void HeadListModel::setStatistics(std::vector<HeadStatistics> statistics, int tokens) {
    m_statistics = std::move(statistics);
    m_tokens = tokens;
    for (int l = 0; l < m_selection.layers(); ++l)
        if (m_selection.heads() > 0)
            emit dataChanged(index(0, PreviousColumn, layerIndex(l)),
                             index(m_selection.heads() - 1, FocusColumn, layerIndex(l)),
                             {Qt::DisplayRole, Qt::ToolTipRole, StatisticRole});
}

QModelIndex HeadListModel::layerIndex(int layer) const {
    return index(layer, 0);
}

QModelIndex HeadListModel::headIndex(int layer, int head) const {
    return index(head, 0, layerIndex(layer));
}

QModelIndex HeadListModel::index(int row, int column, const QModelIndex& parent) const {
    if (column < 0 || column >= Columns || row < 0) return {};
    if (!parent.isValid()) {
        if (row >= m_selection.layers()) return {};
        return createIndex(row, column, quintptr(0));
    }
    if (parent.internalId() != 0 || parent.column() != 0 || row >= m_selection.heads()) return {};
    return createIndex(row, column, quintptr(parent.row() + 1));
}

QModelIndex HeadListModel::parent(const QModelIndex& child) const {
    if (!child.isValid() || child.internalId() == 0) return {};
    return createIndex(int(child.internalId() - 1), 0, quintptr(0));
}

int HeadListModel::rowCount(const QModelIndex& parent) const {
    if (!parent.isValid()) return m_selection.layers();
    if (parent.internalId() == 0 && parent.column() == 0) return m_selection.heads();
    return 0;
}

int HeadListModel::columnCount(const QModelIndex&) const {
    return Columns;
}

QVariant HeadListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
    const bool isLayer = index.internalId() == 0;
    const int layer = isLayer ? index.row() : int(index.internalId() - 1);
    const int head = isLayer ? -1 : index.row();
    if (index.column() != NameColumn) {
        const size_t i = size_t(layer) * size_t(m_selection.heads()) + size_t(std::max(0, head));
        if (isLayer || i >= m_statistics.size()) return {};
        const HeadStatistics& s = m_statistics[i];
        const double logT = std::log(std::max(2, m_tokens));
        const double value = index.column() == PreviousColumn ? s.previousToken
                             : index.column() == FirstColumn  ? s.firstToken
                             : index.column() == ConfidenceColumn
                                 ? s.confidence
                                 : std::clamp(1.0 - s.entropy / logT, 0.0, 1.0);
        switch (role) {
        case Qt::DisplayRole:
            return QString::number(value, 'f', 2);
        case StatisticRole:
            return value;
        case Qt::TextAlignmentRole:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        case Qt::ToolTipRole:
            return headerData(index.column(), Qt::Horizontal, Qt::ToolTipRole);
        default:
            return {};
        }
    }
    switch (role) {
    case Qt::DisplayRole:
        return isLayer ? tr("Layer %1").arg(layer) : tr("Head %1").arg(head);
    case Qt::CheckStateRole:
        return isLayer ? layerState(layer)
                       : (m_selection.isChecked(layer, head) ? Qt::Checked : Qt::Unchecked);
    case Qt::ToolTipRole:
        return isLayer ? tr("Check or clear all heads of layer %1").arg(layer)
                       : tr("Layer %1, head %2: include in the mean/max").arg(layer).arg(head);
    case LayerRole:
        return layer;
    case HeadRole:
        return head;
    default:
        return {};
    }
}

bool HeadListModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::CheckStateRole || !checkIndex(index, CheckIndexOption::IndexIsValid) ||
        index.column() != NameColumn)
        return false;
    const bool checked = value.toInt() != Qt::Unchecked;
    if (index.internalId() == 0)
        setLayerChecked(index.row(), checked);
    else
        setHeadChecked(int(index.internalId() - 1), index.row(), checked);
    return true;
}

Qt::ItemFlags HeadListModel::flags(const QModelIndex& index) const {
    if (!index.isValid()) return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.column() == NameColumn) f |= Qt::ItemIsUserCheckable;
    if (index.internalId() != 0) f |= Qt::ItemNeverHasChildren;
    return f;
}

QVariant HeadListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    static const char* const names[] = {"Heads", "prev", "first", "conf", "focus"};
    static const char* const tips[] = {
        "Check heads to aggregate them", "Mean attention to the previous token",
        "Mean attention to the first token (BOS / [CLS] sink)", "Mean of each row's largest weight",
        "1 − mean row entropy / log T: 1 when every row attends to one key"};
    if (section < 0 || section >= Columns) return {};
    if (role == Qt::DisplayRole) return tr(names[section]);
    if (role == Qt::ToolTipRole) return tr(tips[section]);
    return {};
}

} // namespace attnscope
