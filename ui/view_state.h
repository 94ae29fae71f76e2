#pragma once
// What the views show, in one value shared by every pane and by export: the selected layer and
// head (or an aggregate over the checked heads), how special tokens are treated, the hovered
// token and the theme. Views turn it into matrices with the functions below, which read
// attention only through Analysis::attention().
#include "colormap.h"
#include "heatmap_renderer.h"
#include "session.h"

#include <QString>
#include <QStringList>
#include <utility>
#include <vector>

namespace attnscope {

enum class Aggregate {
    SingleHead, // the selected layer and head
    Mean,       // element-wise mean over the checked heads
    Max,        // element-wise maximum over the checked heads
};

enum class SpecialTokenMode {
    Show,            // special tokens like any other
    HideRenormalise, // their rows and columns removed, each remaining row rescaled to sum 1
    Grey,            // kept, but their rows and columns drawn greyed
};

// Which (layer, head) pairs are checked in the head list.
class HeadSelection {
public:
    void reset(int layers, int heads, bool checked = true);
    int layers() const { return m_layers; }
    int heads() const { return m_heads; }
    bool isChecked(int layer, int head) const;
    void setChecked(int layer, int head, bool checked);
    int count() const;
    std::vector<std::pair<int, int>> checkedHeads() const; // (layer, head), layer-major
    friend bool operator==(const HeadSelection&, const HeadSelection&) = default;

private:
    int m_layers = 0, m_heads = 0;
    std::vector<char> m_checked; // [layer * heads + head]
};

struct ViewState {
    int layer = 0;
    int head = 0;
    Aggregate aggregate = Aggregate::SingleHead;
    HeadSelection checked;
    SpecialTokenMode specialTokens = SpecialTokenMode::Show;
    int hoveredToken = -1; // token index in the analysis, -1 = none
    bool dark = false;
    ColorMap colorMap = ColorMap::Viridis;
    bool autoRange = false;
    double linkThreshold = 0.05; // token links weaker than this are not drawn
    // Figures only (export, copy): the print theme (overrides dark), and no background at all
    // (a PNG's background pixels get alpha 0).
    bool print = false;
    bool transparent = false;

    ChromePalette chrome() const;
    // Heatmap options for this state (colour map, range mode, theme); no greying yet.
    HeatmapOptions heatmapOptions() const;
    friend bool operator==(const ViewState&, const ViewState&) = default;
};

// A square attention matrix over the tokens a view shows, with their labels.
struct ViewMatrix {
    Mat values;               // [n, n]; row = query, column = key
    QStringList labels;       // n display labels
    std::vector<int> tokens;  // visible index -> token index in the analysis
    std::vector<bool> greyed; // per visible index (SpecialTokenMode::Grey)
    QString title;
    QString emptyReason; // why values is empty (e.g. no heads checked)

    int size() const { return int(values.rows()); }
    bool isEmpty() const { return values.size() == 0; }
    int visibleIndexOf(int token) const; // -1 when the token is hidden
};

// Display labels for every token (display tokens, padded with raw tokens or indices); the
// tokens a model generated start with kGeneratedMark.
QStringList tokenLabels(const Analysis& analysis);
inline const QString kGeneratedMark = QStringLiteral("\u25B8"); // ▸
// True for added special tokens ([CLS], [SEP], <s>, </s>, BOS ...), one entry per token.
std::vector<bool> specialTokenMask(const Analysis& analysis);

// Mean or max over the checked heads that exist in the analysis; empty when none is checked.
Mat aggregateAttention(const Analysis& analysis, const HeadSelection& heads, Aggregate aggregate);

// The matrix the main views show: the selected head, or the aggregate of the checked heads.
ViewMatrix viewMatrix(const Analysis& analysis, const ViewState& state);
// One head, with the state's special-token treatment (panes of the side-by-side view).
ViewMatrix headMatrix(const Analysis& analysis, const ViewState& state, int layer, int head);

// A pane's head: a head index, or one of these for the mean / max over the checked heads of
// that layer (side by side and difference panes; `--compare L:mean` on the command line).
constexpr int kMeanOfLayer = -1;
constexpr int kMaxOfLayer = -2;
ViewMatrix paneMatrix(const Analysis& analysis, const ViewState& state, int layer, int head);
QString paneHeadName(int head); // "3", "mean", "max"
// Applies the special-token treatment to a full [T, T] matrix.
ViewMatrix shapeMatrix(const Analysis& analysis, const ViewState& state, const Mat& full,
                       const QString& title);

// "Layer 2 · Head 5", "Mean of 3 checked heads (L0 H1, L0 H2, L1 H0)".
QString headTitle(int layer, int head);
QString aggregateTitle(const HeadSelection& heads, Aggregate aggregate);

// a − b, for matrices over the same number of tokens; an error saying both lengths otherwise.
Result<ViewMatrix> differenceMatrix(const ViewMatrix& a, const ViewMatrix& b);

// Renderer options for a difference: diverging map, range symmetric around 0.
HeatmapOptions differenceOptions(const ViewState& state, const Mat& difference);

// Whether (layer, head) exists in the analysis.
bool hasHead(const Analysis& analysis, int layer, int head);

} // namespace attnscope
