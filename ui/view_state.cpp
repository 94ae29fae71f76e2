#include "view_state.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

void HeadSelection::reset(int layers, int heads, bool checked) {
    m_layers = std::max(0, layers);
    m_heads = std::max(0, heads);
    m_checked.assign(size_t(m_layers) * size_t(m_heads), checked ? 1 : 0);
}

bool HeadSelection::isChecked(int layer, int head) const {
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads) return false;
    return m_checked[size_t(layer) * size_t(m_heads) + size_t(head)] != 0;
}

void HeadSelection::setChecked(int layer, int head, bool checked) {
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads) return;
    m_checked[size_t(layer) * size_t(m_heads) + size_t(head)] = checked ? 1 : 0;
}

int HeadSelection::count() const {
    return int(std::count(m_checked.begin(), m_checked.end(), char(1)));
}

std::vector<std::pair<int, int>> HeadSelection::checkedHeads() const {
    std::vector<std::pair<int, int>> out;
    for (int l = 0; l < m_layers; ++l)
        for (int h = 0; h < m_heads; ++h)
            if (isChecked(l, h)) out.emplace_back(l, h);
    return out;
}

ChromePalette ViewState::chrome() const {
    ChromePalette palette = print ? ChromePalette::forPrint() : ChromePalette::forTheme(dark);
    if (transparent) palette.background = Qt::transparent;
    return palette;
}

HeatmapOptions ViewState::heatmapOptions() const {
    HeatmapOptions o;
    o.colorMap = colorMap;
    o.autoRange = autoRange;
    o.chrome = chrome();
    return o;
}

int ViewMatrix::visibleIndexOf(int token) const {
    const auto it = std::find(tokens.begin(), tokens.end(), token);
    return it == tokens.end() ? -1 : int(it - tokens.begin());
}

QStringList tokenLabels(const Analysis& analysis) {
    QStringList labels = analysis.displayTokens;
    for (int i = int(labels.size()); i < analysis.tokenCount(); ++i)
        labels << (i < analysis.encoding.tokens.size() ? analysis.encoding.tokens[i]
                                                       : QString::number(i));
    // Tokens the model wrote (generate.h) are marked in every view that labels tokens.
    for (int i = analysis.tokenCount() - analysis.generatedTokens; i < analysis.tokenCount(); ++i)
        labels[i] = kGeneratedMark + labels[i];
    return labels;
}

std::vector<bool> specialTokenMask(const Analysis& analysis) {
    std::vector<bool> mask(size_t(analysis.tokenCount()), false);
    const Encoding& e = analysis.encoding;
    for (size_t i = 0; i < mask.size(); ++i)
        mask[i] = (i < e.specialMask.size() && e.specialMask[i]) ||
                  (i < e.sequenceIds.size() && e.sequenceIds[i] < 0);
    return mask;
}

bool hasHead(const Analysis& analysis, int layer, int head) {
    return layer >= 0 && head >= 0 && layer < analysis.layerCount() && head < analysis.headCount();
}

Mat aggregateAttention(const Analysis& analysis, const HeadSelection& heads, Aggregate aggregate) {
    Mat out;
    int n = 0;
    for (const auto& [layer, head] : heads.checkedHeads()) {
        if (!hasHead(analysis, layer, head)) continue;
        const auto matrix = analysis.streamedAttention(layer, head); // lazy: one at a time
        const Mat& m = *matrix;                                      // [T, T]
        if (n == 0)
            out = m;
        else if (aggregate == Aggregate::Max)
            out = out.cwiseMax(m);
        else
            out += m;
        ++n;
    }
    if (n > 0 && aggregate != Aggregate::Max) out /= float(n);
    return out;
}

QString headTitle(int layer, int head) {
    return QStringLiteral("Layer %1 · Head %2").arg(layer).arg(head);
}

QString aggregateTitle(const HeadSelection& heads, Aggregate aggregate) {
    const auto list = heads.checkedHeads();
    const QString what =
        aggregate == Aggregate::Max ? QStringLiteral("Max") : QStringLiteral("Mean");
    if (list.empty()) return QStringLiteral("%1 of checked heads (none checked)").arg(what);
    if (list.size() == 1)
        return QStringLiteral("%1 of 1 head (L%2 H%3)")
            .arg(what)
            .arg(list[0].first)
            .arg(list[0].second);
    if (list.size() <= 4) {
        QStringList names;
        for (const auto& [l, h] : list)
            names << QStringLiteral("L%1 H%2").arg(l).arg(h);
        return QStringLiteral("%1 of %2 heads (%3)")
            .arg(what)
            .arg(list.size())
            .arg(names.join(QStringLiteral(", ")));
    }
    return QStringLiteral("%1 of %2 checked heads").arg(what).arg(list.size());
}

ViewMatrix shapeMatrix(const Analysis& analysis, const ViewState& state, const Mat& full,
                       const QString& title) {
    ViewMatrix out;
    out.title = title;
    const int t = int(full.rows());
    const QStringList labels = tokenLabels(analysis);
    const std::vector<bool> special = specialTokenMask(analysis);
    std::vector<int> keep;
    for (int i = 0; i < t; ++i)
        if (state.specialTokens != SpecialTokenMode::HideRenormalise ||
            size_t(i) >= special.size() || !special[size_t(i)])
            keep.push_back(i);
    if (keep.empty()) // only special tokens: hiding them all would show nothing at all
        for (int i = 0; i < t; ++i)
            keep.push_back(i);
    const int n = int(keep.size());
    out.tokens = keep;
    out.values.resize(n, n);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c)
            out.values(r, c) = full(keep[size_t(r)], keep[size_t(c)]);
    if (n < t) {
        // Rows renormalised over the keys that remain, as if the hidden keys had not been there.
        for (int r = 0; r < n; ++r) {
            const float sum = out.values.row(r).sum();
            if (sum > 0) out.values.row(r) /= sum;
        }
    }
    for (int i : keep) {
        out.labels << (i < labels.size() ? labels[i] : QString::number(i));
        out.greyed.push_back(state.specialTokens == SpecialTokenMode::Grey &&
                             size_t(i) < special.size() && special[size_t(i)]);
    }
    if (std::none_of(out.greyed.begin(), out.greyed.end(), [](bool g) { return g; }))
        out.greyed.clear();
    return out;
}

ViewMatrix headMatrix(const Analysis& analysis, const ViewState& state, int layer, int head) {
    if (!hasHead(analysis, layer, head)) {
        ViewMatrix empty;
        empty.title = headTitle(layer, head);
        empty.emptyReason =
            QStringLiteral("Layer %1, head %2 is not in this analysis.").arg(layer).arg(head);
        return empty;
    }
    return shapeMatrix(analysis, state, *analysis.attention(layer, head), headTitle(layer, head));
}

ViewMatrix paneMatrix(const Analysis& analysis, const ViewState& state, int layer, int head) {
    if (head >= 0 || layer < 0 || layer >= analysis.layerCount())
        return headMatrix(analysis, state, layer, std::max(head, 0));
    const Aggregate aggregate = head == kMaxOfLayer ? Aggregate::Max : Aggregate::Mean;
    HeadSelection inLayer;
    inLayer.reset(analysis.layerCount(), analysis.headCount(), false);
    for (int h = 0; h < analysis.headCount(); ++h)
        inLayer.setChecked(layer, h, state.checked.isChecked(layer, h));
    const QString what =
        aggregate == Aggregate::Max ? QStringLiteral("max") : QStringLiteral("mean");
    const int n = inLayer.count();
    const QString title =
        n == analysis.headCount()
            ? QStringLiteral("Layer %1 · %2 of all heads").arg(layer).arg(what)
            : QStringLiteral("Layer %1 · %2 of %3 checked heads").arg(layer).arg(what).arg(n);
    const Mat values = aggregateAttention(analysis, inLayer, aggregate);
    if (values.size() == 0) {
        ViewMatrix empty;
        empty.title = title;
        empty.emptyReason = QStringLiteral("No heads of layer %1 are checked.").arg(layer);
        return empty;
    }
    return shapeMatrix(analysis, state, values, title);
}

QString paneHeadName(int head) {
    return head == kMeanOfLayer  ? QStringLiteral("mean")
           : head == kMaxOfLayer ? QStringLiteral("max")
                                 : QString::number(head);
}

ViewMatrix viewMatrix(const Analysis& analysis, const ViewState& state) {
    if (state.aggregate == Aggregate::SingleHead)
        return headMatrix(analysis, state, state.layer, state.head);
    const QString title = aggregateTitle(state.checked, state.aggregate);
    const Mat aggregate = aggregateAttention(analysis, state.checked, state.aggregate);
    if (aggregate.size() == 0) {
        ViewMatrix empty;
        empty.title = title;
        empty.emptyReason =
            QStringLiteral("No heads are checked: check heads in the head list to aggregate them.");
        return empty;
    }
    return shapeMatrix(analysis, state, aggregate, title);
}

Result<ViewMatrix> differenceMatrix(const ViewMatrix& a, const ViewMatrix& b) {
    if (a.isEmpty() || b.isEmpty())
        return Error{!a.emptyReason.isEmpty()   ? a.emptyReason
                     : !b.emptyReason.isEmpty() ? b.emptyReason
                                                : QStringLiteral("Nothing to compare yet.")};
    if (a.size() != b.size())
        return Error{QStringLiteral("The two inputs have %1 and %2 tokens; a difference needs the "
                                    "same number of tokens in both (edit one so that they match).")
                         .arg(a.size())
                         .arg(b.size())};
    ViewMatrix out = a;
    out.values = a.values - b.values;
    out.title = QStringLiteral("%1 − %2").arg(a.title, b.title);
    // Labels of both sides where the tokens differ, e.g. "cat|dog".
    for (int i = 0; i < out.labels.size() && i < b.labels.size(); ++i)
        if (a.labels[i] != b.labels[i])
            out.labels[i] = a.labels[i] + QStringLiteral("|") + b.labels[i];
    return out;
}

HeatmapOptions differenceOptions(const ViewState& state, const Mat& difference) {
    HeatmapOptions o = state.heatmapOptions();
    o.colorMap = ColorMap::RedBlue;
    o.autoRange = false;
    double extent = difference.size() > 0 ? double(difference.cwiseAbs().maxCoeff()) : 0.0;
    if (!(extent > 0) || !std::isfinite(extent)) extent = 1e-3;
    o.minValue = -extent;
    o.maxValue = extent;
    o.mask = MaskMode::Auto;
    return o;
}

} // namespace attnscope
