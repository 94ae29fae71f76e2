#include "head_table_model.h"

#include <cmath>
#include <limits>

namespace attnscope {

HeadTableModel::HeadTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void HeadTableModel::setStatistics(std::vector<HeadStatistics> statistics,
                                   const QString& distanceUnit) {
    beginResetModel();
    m_statistics = std::move(statistics);
    m_distanceUnit = distanceUnit;
    m_like.clear();
    m_likeLayer = m_likeHead = -1;
    endResetModel();
}

void HeadTableModel::setSimilarity(int layer, int head, std::vector<double> divergences) {
    if (!divergences.empty() && divergences.size() != m_statistics.size()) divergences.clear();
    m_like = std::move(divergences);
    m_likeLayer = m_like.empty() ? -1 : layer;
    m_likeHead = m_like.empty() ? -1 : head;
    if (!m_statistics.empty())
        emit dataChanged(index(0, LikeColumn), index(rowCount() - 1, LikeColumn));
    emit headerDataChanged(Qt::Horizontal, LikeColumn, LikeColumn);
}

int HeadTableModel::rowOf(int layer, int head) const {
    for (size_t i = 0; i < m_statistics.size(); ++i)
        if (m_statistics[i].layer == layer && m_statistics[i].head == head) return int(i);
    return -1;
}

int HeadTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_statistics.size());
}

int HeadTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : Columns;
}

double HeadTableModel::value(const HeadStatistics& s, int column) const {
    switch (column) {
    case LayerColumn:
        return s.layer;
    case HeadColumn:
        return s.head;
    case PreviousColumn:
        return s.previousToken;
    case SameColumn:
        return s.sameToken;
    case NextColumn:
        return s.nextToken;
    case FirstColumn:
        return s.firstToken;
    case SpecialColumn:
        return s.specialTokens;
    case PunctuationColumn:
        return s.punctuation;
    case ConfidenceColumn:
        return s.confidence;
    case EntropyColumn:
        return s.entropy;
    case DistanceColumn:
        return s.meanDistance;
    case LikeColumn: {
        const size_t row = size_t(&s - m_statistics.data());
        return row < m_like.size() ? m_like[row] : std::numeric_limits<double>::quiet_NaN();
    }
    default:
        break;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

QVariant HeadTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const HeadStatistics& s = m_statistics[size_t(index.row())];
    const double v = value(s, index.column());
    switch (role) {
    case Qt::DisplayRole:
        if (index.column() <= HeadColumn) return int(v);
        if (std::isnan(v)) return QString();
        if (index.column() == DistanceColumn) return QString::number(v, 'f', 2);
        return QString::number(v, 'f', 3);
    case SortRole:
        return v;
    case LayerRole:
        return s.layer;
    case HeadRole:
        return s.head;
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole:
        if (index.column() == LikeColumn && !std::isnan(v))
            return tr("Jensen–Shannon divergence of layer %1 head %2 to layer %3 head %4: %5 "
                      "(0 = same rows, log 2 = 0.693 = disjoint)")
                .arg(s.layer)
                .arg(s.head)
                .arg(m_likeLayer)
                .arg(m_likeHead)
                .arg(v, 0, 'f', 4);
        return headerData(index.column(), Qt::Horizontal, Qt::ToolTipRole);
    default:
        break;
    }
    return {};
}

QString HeadTableModel::columnName(int column) {
    switch (column) {
    case LayerColumn:
        return tr("L");
    case HeadColumn:
        return tr("H");
    case PreviousColumn:
        return tr("Prev");
    case SameColumn:
        return tr("Same");
    case NextColumn:
        return tr("Next");
    case FirstColumn:
        return tr("First");
    case SpecialColumn:
        return tr("Special");
    case PunctuationColumn:
        return tr("Punct");
    case ConfidenceColumn:
        return tr("Conf");
    case EntropyColumn:
        return tr("Entr");
    case DistanceColumn:
        return tr("Dist");
    case LikeColumn:
        return tr("JS");
    default:
        break;
    }
    return {};
}

QVariant HeadTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Vertical) { // stays in view when the table scrolls sideways
        if (role != Qt::DisplayRole || section < 0 || section >= rowCount()) return {};
        const HeadStatistics& s = m_statistics[size_t(section)];
        return tr("L%1 H%2").arg(s.layer).arg(s.head);
    }
    if (section < 0 || section >= Columns) return {};
    if (role == Qt::DisplayRole) {
        if (section == DistanceColumn)
            return tr("Dist %1").arg(m_distanceUnit == QLatin1String("px") ? QStringLiteral("px")
                                                                           : QStringLiteral("tok"));
        if (section == LikeColumn && m_likeLayer >= 0)
            return tr("JS to %1.%2").arg(m_likeLayer).arg(m_likeHead);
        return columnName(section);
    }
    if (role != Qt::ToolTipRole) return {};
    switch (section) {
    case LayerColumn:
        return tr("Layer index");
    case HeadColumn:
        return tr("Head index within the layer");
    case PreviousColumn:
        return tr("Mean attention to the previous token (Clark et al. 2019, section 3)");
    case SameColumn:
        return tr("Mean attention to the token itself");
    case NextColumn:
        return tr("Mean attention to the next token (0 for causal models)");
    case FirstColumn:
        return tr("Mean attention to the first token (BOS / [CLS] sinks)");
    case SpecialColumn:
        return tr("Mean attention to special tokens: [CLS], [SEP], <s>, BOS … (Clark et al. 2019)");
    case PunctuationColumn:
        return tr("Mean attention to tokens that are only punctuation (Clark et al. 2019)");
    case ConfidenceColumn:
        return tr("Mean of each row's largest weight (Voita et al. 2019, 'confidence')");
    case EntropyColumn:
        return tr("Mean row entropy in nats; a uniform row over T tokens has log T "
                  "(Clark et al. 2019, section 3)");
    case DistanceColumn:
        return tr("Mean attention distance: Σ weight × |query − key| in tokens, or in pixels "
                  "between patch centres for images (Dosovitskiy et al. 2021)");
    case LikeColumn:
        return tr("Jensen–Shannon divergence to the reference head, averaged over rows "
                  "(Clark et al. 2019, section 6); pick a head and press 'Heads like this'");
    default:
        break;
    }
    return {};
}

} // namespace attnscope
