#pragma once
// Paints one head's attention for one query token, step by step (core/analyses/explain.h), onto
// a caller's QPainter, so the panel, PNG, SVG and PDF share one code path:
//   1 the token's input vector and its normalised form,
//   2 its query, before and after rotary positions,
//   3-5 a table with one row per key token j: k_j and q·k_j, the scaling, the mask and the
//       softmax weight α_j (the heatmap's row), v_j;
//   5 the output Σ α_j v_j, its projection back into the residual stream, and every head's
//     contribution next to it.
// Vectors are strips of cells on a diverging map (blue < 0 < red) scaled to the strip's largest
// magnitude (written beside it); hoverText() gives any cell's exact value. Each step has one
// plain sentence that says what happens and why, with the model's own numbers.
#include "analyses/explain.h"
#include "colormap.h"

#include <QColor>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

class QPainter;

namespace attnscope {

// What the figure shows: the explanation plus what the family does around it.
struct ExplainFigure {
    std::shared_ptr<const Explanation> explanation;
    QStringList tokens;  // display labels, one per token
    QString norm;        // "LayerNorm" / "RMSNorm"; empty where the family normalises afterwards
    int rotaryDims = 0;  // rotated dimensions of each head (0: no rotary positions)
    int kvGroup = 1;     // query heads per key/value head (grouped-query attention when > 1)
    QString model;       // shown in the title line
};

// The figure for an explanation of `analysis` by a model with this configuration.
ExplainFigure explainFigure(const Analysis& analysis, const ModelConfig& config,
                            std::shared_ptr<const Explanation> explanation,
                            const QString& modelName = {});

class ExplainRenderer {
public:
    void setFigure(ExplainFigure figure);
    void setChrome(const ChromePalette& chrome);
    const ExplainFigure& figure() const { return m_figure; }
    bool isEmpty() const { return !m_figure.explanation; }
    QString title() const;

    // Height the figure needs at this width (everything drawn, nothing squeezed).
    double preferredHeight(double width) const;
    // Paints at target's width from its top (content taller than target is cut off). Vector
    // outputs (SVG, PDF) draw every cell as a shape.
    void paint(QPainter& painter, const QRectF& target, bool vectorOutput = false) const;
    // At a point relative to the target's top-left, for a target of this width: the exact value
    // under it ("k_3[7] = -1.20312 (key 3 “ sat”)"), empty when nothing is there.
    QString hoverText(QPointF point, double width) const;
    // The key token whose table row is under the point, or -1.
    int keyRowAt(QPointF point, double width) const;

    struct Item; // one drawn element; see explain_renderer.cpp

private:
    const std::vector<Item>& items(double width) const;

    ExplainFigure m_figure;
    ChromePalette m_chrome;
    mutable std::shared_ptr<std::vector<Item>> m_items; // layout cache for m_itemsWidth
    mutable double m_itemsWidth = -1;
    mutable double m_height = 0;
};

} // namespace attnscope
