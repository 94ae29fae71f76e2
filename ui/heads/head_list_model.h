#pragma once
// The model's heads as a Qt item model: one top-level row per layer, one child row per head,
// each checkable (a layer's check box is tri-state and checks or clears all its heads). The
// checked heads are what the Mean/Max aggregates combine. Column 0 holds the name and the check
// box; columns 1–4 a head's statistics for the current analysis (core/analyses/head_statistics.h):
// previous-token and first-token attention, confidence, focus (1 − row entropy / log T).
#include "analyses/head_statistics.h"
#include "view_state.h"

#include <QAbstractItemModel>

namespace attnscope {

class HeadListModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Role {
        LayerRole = Qt::UserRole + 1,
        HeadRole,      // -1 on a layer row
        StatisticRole, // the statistic column's value as a double (head rows with statistics)
    };
    enum Column { NameColumn, PreviousColumn, FirstColumn, ConfidenceColumn, FocusColumn, Columns };

    explicit HeadListModel(QObject* parent = nullptr);

    // Rebuilds for a model shape; all heads checked. Keeps the selection if the shape is unchanged.
    void setShape(int layers, int heads);
    const HeadSelection& selection() const { return m_selection; }
    void setSelection(const HeadSelection& selection);
    void setAllChecked(bool checked);
    void setLayerChecked(int layer, bool checked);
    void setHeadChecked(int layer, int head, bool checked);
    // Statistics of the current analysis (layer-major, as headStatistics() returns them) and its
    // token count; empty clears the columns.
    void setStatistics(std::vector<HeadStatistics> statistics, int tokens);
    int statisticsTokens() const { return m_tokens; } // tokens of the text they describe (0: none)

    QModelIndex layerIndex(int layer) const;
    QModelIndex headIndex(int layer, int head) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

signals:
    void checkedHeadsChanged();

private:
    // Internal id: 0 for layer rows, layer + 1 for head rows (their parent's row + 1).
    Qt::CheckState layerState(int layer) const;
    void emitLayerChanged(int layer);
    HeadSelection m_selection;
    std::vector<HeadStatistics> m_statistics;
    int m_tokens = 0;
};

} // namespace attnscope
