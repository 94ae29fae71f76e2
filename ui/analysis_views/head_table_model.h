#pragma once
// Every head's statistics (core/analyses/head_statistics.h) as a flat table for sorting: one
// row per head, layer-major; columns layer, head, then one per statistic, and the
// Jensen–Shannon divergence to a chosen head ("heads like this one"). SortRole holds numbers so
// a QSortFilterProxyModel sorts them as numbers.
#include "analyses/head_statistics.h"

#include <QAbstractTableModel>
#include <vector>

namespace attnscope {

class HeadTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role {
        SortRole = Qt::UserRole + 1, // double (NaN where there is no value)
        LayerRole,
        HeadRole,
    };
    enum Column {
        LayerColumn,
        HeadColumn,
        PreviousColumn,
        SameColumn,
        NextColumn,
        FirstColumn,
        SpecialColumn,
        PunctuationColumn,
        ConfidenceColumn,
        EntropyColumn,
        DistanceColumn,
        LikeColumn, // JS divergence to the reference head
        Columns
    };

    explicit HeadTableModel(QObject* parent = nullptr);

    // Statistics layer-major (as headStatistics returns them); distanceUnit "tokens" or "px".
    // Clears the similarity column.
    void setStatistics(std::vector<HeadStatistics> statistics, const QString& distanceUnit);
    const std::vector<HeadStatistics>& statistics() const { return m_statistics; }
    // Divergence of every head to (layer, head), layer-major (the reference itself 0); empty
    // clears the column.
    void setSimilarity(int layer, int head, std::vector<double> divergences);
    std::pair<int, int> similarityReference() const { return {m_likeLayer, m_likeHead}; }
    // Row of a head, -1 if absent.
    int rowOf(int layer, int head) const;
    // A statistic column's values, layer-major (for the grid's frames).
    static QString columnName(int column);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    double value(const HeadStatistics& s, int column) const;

    std::vector<HeadStatistics> m_statistics;
    std::vector<double> m_like; // layer-major, empty = no reference
    int m_likeLayer = -1, m_likeHead = -1;
    QString m_distanceUnit = QStringLiteral("tokens");
};

} // namespace attnscope
