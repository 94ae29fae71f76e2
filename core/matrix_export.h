#pragma once
// The numbers behind a figure: the one matrix a view shows (a head, the mean / max of heads, a
// difference, rollout, flow, norms) with its row and column labels, written as CSV, NumPy .npy,
// JSON or safetensors (`attnscope export --view heatmap -o OUT.csv`, File → Export Numbers…).
#include "result.h"
#include "tensor.h"

#include <QString>
#include <QStringList>
#include <vector>

namespace attnscope {

struct LabelledMatrix {
    Mat values;               // [rows, columns]; row = query (output) token, column = key (input)
    QStringList rowLabels;    // one per row: the tokens as the view labels them
    QStringList columnLabels; // one per column
    std::vector<int> rowTokens, columnTokens;   // token index in the analysis of each row / column
    QString name = QStringLiteral("attention"); // safetensors tensor name ("rollout", "norms" …)
    QString title;                              // what the figure's title says
    QString corner = QStringLiteral("query\\key"); // the CSV's top-left cell
};

// Whether `path` ends in .csv, .npy, .json or .safetensors (case-insensitive).
bool isNumbersPath(const QString& path);

// One CSV field as RFC 4180 quotes it: in double quotes (inner quotes doubled) when it holds a
// comma, a double quote, a line break, or leading / trailing spaces; as it is otherwise.
QString csvField(const QString& text);

// The matrix in the format of `path`'s extension, written atomically (file_limits OutputFile):
//   .csv          UTF-8, CRLF line ends; header row = corner, then the column labels; then one
//                 row per query: its label, then the values (shortest text that reads back as
//                 the same float32).
//   .npy          float32 [rows, columns], C order, little-endian (no labels).
//   .json         {"title", "name", "shape": [rows, columns], "row_labels", "column_labels",
//                 "row_tokens", "column_tokens", "values": [[…]]}.
//   .safetensors  tensor `name` F32 [rows, columns]; metadata "title", "row_labels",
//                 "column_labels", "row_tokens", "column_tokens" (JSON arrays as text).
Status writeLabelledMatrix(const QString& path, const LabelledMatrix& matrix);

} // namespace attnscope
