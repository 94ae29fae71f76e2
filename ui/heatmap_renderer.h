#pragma once
// Paints one attention matrix as a labelled heatmap onto a caller's QPainter (Tiled's
// tmxrasterizer rule: the screen, PNG, SVG and PDF share this one code path). No widgets.
//
// Geometry: row r = query token r (top to bottom), column c = key token c (left to right).
// Row labels sit left of the grid, column labels below it rotated 90 degrees (read bottom to
// top), "query" / "key" axis captions outside them, a colour bar with ticks on the right and the
// title above. When cells are smaller than a line of text only every k-th label is drawn, so
// label boxes never overlap; labels longer than a cap are elided with "…".
//
// Masked cells: when the strict upper triangle is exactly 0 (a causal model's masked keys),
// those cells are drawn light grey (hatched when cells are at least 6 px) instead of with the
// colour of 0, so "masked" reads differently from "attends with weight ~0".
#include "colormap.h"
#include "tensor.h"

#include <QFont>
#include <QImage>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <map>
#include <optional>
#include <vector>

class QPainter;

namespace attnscope {

struct HeatmapCell {
    int row = -1;    // query index
    int column = -1; // key index
    bool isValid() const { return row >= 0 && column >= 0; }
    friend bool operator==(const HeatmapCell&, const HeatmapCell&) = default;
};

enum class MaskMode {
    Auto,   // treat the strict upper triangle as masked when it is all exactly 0 (and T > 1)
    None,   // never draw masked cells differently
    Causal, // always treat the strict upper triangle as masked
};

struct HeatmapOptions {
    ColorMap colorMap = ColorMap::Viridis;
    bool autoRange = false; // true: map the matrix's own [min, max]; false: [minValue, maxValue]
    double minValue = 0.0;
    double maxValue = 1.0;
    MaskMode mask = MaskMode::Auto;
    HeatmapCell highlight;   // outlined cell, its row/column labels emphasised
    QString fontFamily;      // empty = the application default
    int labelPixelSize = 12; // label size for roomy cells; shrinks to minLabelPixelSize
    int minLabelPixelSize = 10;
    int titlePixelSize = 15;
    bool showCellValues = true; // write the value into cells that are large enough
    bool vectorCells = false;   // one rectangle per cell even for large T (SVG/PDF output)
    ChromePalette chrome;       // background, text and frame colours (light or dark theme)
    // Tokens whose rows and columns are drawn greyed (e.g. special tokens); index = token.
    std::vector<bool> greyedTokens;
    QString rowCaption = QStringLiteral("query"); // axis captions (rollout: output / input)
    QString columnCaption = QStringLiteral("key");
    // Rows whose labels are marked like the highlighted one (queries selected together).
    std::vector<bool> markedRows;
    bool showColorBar = true; // false: no colour bar, the grid takes its room
    QString colorBarLabel;    // written along the colour bar, right of its ticks (empty: none)
};

struct HeatmapLabel {
    int index = 0; // token index
    QString text;  // escaped and elided, as drawn
    QRectF rect;   // bounding box on the target (for columns: of the rotated text)
    bool highlighted = false;
};

struct HeatmapTick {
    double value = 0;
    double y = 0; // centre line on the target
    QString text;
    QRectF rect; // text bounding box
};

struct HeatmapLayout {
    QSizeF size;
    bool hasGrid = false; // false when there is no matrix or no room for one
    QRectF grid;          // cells area; cell (r, c) = grid.topLeft + (c, r) * cell
    double cell = 0;      // cell side in target units (square cells)
    int rowStep = 1;      // every rowStep-th row label is drawn
    int columnStep = 1;
    QFont labelFont, titleFont, captionFont, tickFont, valueFont;
    QRectF titleRect;
    QString titleText;        // elided to fit
    QRectF rowCaptionRect;    // "query", rotated; bounding box
    QRectF columnCaptionRect; // "key"
    QRectF colorBar;          // empty without a colour bar
    QRectF colorBarLabel;     // colorBarLabel, rotated; bounding box (empty when none)
    std::vector<HeatmapTick> ticks;
    std::vector<HeatmapLabel> rowLabels;
    std::vector<HeatmapLabel> columnLabels;
    bool masked = false; // the upper triangle is drawn as masked
    bool drawValues = false;
    double rangeMin = 0, rangeMax = 1;

    QRectF cellRect(int row, int column) const;
    HeatmapCell cellAt(QPointF point) const; // invalid cell when outside the grid
};

class HeatmapRenderer {
public:
    HeatmapRenderer();

    // matrix: [rows, columns]; labels may be shorter than the matrix (missing ones are the index).
    void setMatrix(const Mat& matrix);
    void setRowLabels(const QStringList& labels);
    void setColumnLabels(const QStringList& labels);
    void setLabels(const QStringList& labels) {
        setRowLabels(labels);
        setColumnLabels(labels);
    }
    void setTitle(const QString& title);
    void setOptions(const HeatmapOptions& options);
    void setHighlight(HeatmapCell cell);
    void clear();

    const Mat& matrix() const { return m_matrix; }
    const QStringList& rowLabels() const { return m_rowLabels; }
    const QStringList& columnLabels() const { return m_columnLabels; }
    const QString& title() const { return m_title; }
    const HeatmapOptions& options() const { return m_options; }
    bool isEmpty() const { return m_matrix.size() == 0; }

    // Geometry for a target of this size (origin at 0, 0).
    HeatmapLayout layout(QSizeF size) const;
    // Paints a layout computed by layout(); the painter's current transform places its origin.
    void paint(QPainter& painter, const HeatmapLayout& layout) const;
    // Convenience: lays out for target.size() and paints translated to target.topLeft().
    void paint(QPainter& painter, const QRectF& target) const;

    // The value range the colours map (after autoRange and degenerate-range handling).
    std::pair<double, double> valueRange() const;
    // Whether the strict upper triangle counts as masked under the current options.
    bool isMasked() const;
    QRgb colorForValue(double value) const;
    // The colour cell (row, column) is painted with: masked, greyed or the value's colour.
    QRgb cellColor(int row, int column) const;
    bool isGreyed(int row, int column) const;
    static QRgb greyedColor(QRgb value, QRgb grey);
    static QRgb maskedColor();

    // Makes whitespace and control characters visible: ' ' -> '·', '\n' -> '↵', '\t' -> '→',
    // '\r' -> '␍', other controls -> \xNN; an empty token -> '∅'.
    static QString escapeLabel(const QString& token);

    // The cells as pixels, [rows, columns] (one pixel per cell, RGB32): what paint() draws for
    // matrices above 64 × 64 cells. Coloured once and kept until the matrix or the options that
    // change a colour change (hovering and relayouts do not recolour); with cells under a pixel
    // paint() keeps only the image scaled to the grid, so a resize colours again.
    QImage cellImage() const;

private:
    std::pair<double, double> computeValueRange() const;
    QString rowLabel(int i) const;
    QString columnLabel(int i) const;
    QImage colourCells() const;
    void dropStaleCells() const; // forgets kept cell images coloured with other colours
    // The escaped labels layout() measures and their widest bold advance per font, kept while
    // the labels and the matrix's shape stay (layout() runs on every paint and hover).
    const QStringList& escapedRowLabels() const;
    const QStringList& escapedColumnLabels() const;
    std::pair<double, double> widestBoldLabels(const QFont& bold) const;
    void dropLabelCache();

    Mat m_matrix;
    QStringList m_rowLabels;
    QStringList m_columnLabels;
    QString m_title;
    HeatmapOptions m_options;
    bool m_upperZero = false; // square, T > 1, strict upper triangle exactly 0
    mutable std::optional<std::pair<double, double>> m_range; // valueRange(), until a change

    // What the kept cell image was coloured with; compared on use.
    struct CellColours {
        ColorMap map = ColorMap::Viridis;
        std::pair<double, double> range;
        bool masked = false;
        QRgb maskedRgb = 0;
        std::vector<bool> greyed;
        friend bool operator==(const CellColours&, const CellColours&) = default;
    };
    CellColours cellColours() const;
    // Caches of a const renderer: paint one instance from one thread at a time (copies are
    // independent).
    mutable std::optional<CellColours> m_cellsColouredWith;
    mutable QImage m_cells;       // [rows, columns], see cellImage(); may be dropped
    mutable QImage m_scaledCells; // m_cells area-averaged to the grid's pixels (cells < 1 px)
    mutable std::optional<QStringList> m_escapedRows, m_escapedColumns;
    mutable std::map<QString, std::pair<double, double>> m_widestBold; // font key -> (rows, cols)
};

} // namespace attnscope
