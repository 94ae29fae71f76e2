#include "matrix_export.h"

#include "dump.h"
#include "file_limits.h"
#include "safetensors.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace attnscope {

namespace {

QString suffixOf(const QString& path) {
    return QFileInfo(path).suffix().toLower();
}

// Shortest decimal text that reads back as the same float32 (std::to_chars would do; Qt's 'g'
// with 9 significant digits always round-trips and stays plain for spreadsheets).
QString floatText(float v) {
    for (int digits = 6; digits < 9; ++digits) {
        const QString text = QString::number(double(v), 'g', digits);
        if (text.toFloat() == v) return text;
    }
    return QString::number(double(v), 'g', 9);
}

QJsonArray labelsJson(const QStringList& labels) {
    QJsonArray a;
    for (const QString& l : labels)
        a.append(l);
    return a;
}

QJsonArray indexJson(const std::vector<int>& indices) {
    QJsonArray a;
    for (int i : indices)
        a.append(i);
    return a;
}

QString compactJson(const QJsonArray& array) {
    return QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact));
}

Status writeText(const QString& path, const QByteArray& bytes) {
    OutputFile out(path); // atomic for files; devices and FIFOs written in place
    if (auto s = out.open(); !s) return s;
    out.device()->write(bytes);
    return out.commit();
}

} // namespace

bool isNumbersPath(const QString& path) {
    const QString s = suffixOf(path);
    return s == QLatin1String("csv") || s == QLatin1String("npy") || s == QLatin1String("json") ||
           s == QLatin1String("safetensors");
}

QString csvField(const QString& text) {
    const bool quote = text.contains(QLatin1Char(',')) || text.contains(QLatin1Char('"')) ||
                       text.contains(QLatin1Char('\n')) || text.contains(QLatin1Char('\r')) ||
                       (!text.isEmpty() && (text.front().isSpace() || text.back().isSpace()));
    if (!quote) return text;
    QString escaped = text;
    escaped.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + escaped + QLatin1Char('"');
}

Status writeLabelledMatrix(const QString& path, const LabelledMatrix& m) {
    const QString suffix = suffixOf(path);
    const Eigen::Index rows = m.values.rows(), cols = m.values.cols();
    auto label = [](const QStringList& labels, Eigen::Index i) {
        return i < labels.size() ? labels[i] : QString::number(i);
    };
    if (suffix == QLatin1String("csv")) {
        QString text;
        text.reserve(int(rows * cols * 10 + 64));
        text += csvField(m.corner);
        for (Eigen::Index c = 0; c < cols; ++c)
            text += QLatin1Char(',') + csvField(label(m.columnLabels, c));
        text += QStringLiteral("\r\n");
        for (Eigen::Index r = 0; r < rows; ++r) {
            text += csvField(label(m.rowLabels, r));
            for (Eigen::Index c = 0; c < cols; ++c)
                text += QLatin1Char(',') + floatText(m.values(r, c));
            text += QStringLiteral("\r\n");
        }
        return writeText(path, text.toUtf8());
    }
    Tensor tensor;
    tensor.shape = {int64_t(rows), int64_t(cols)};
    tensor.data.assign(m.values.data(), m.values.data() + m.values.size()); // row-major already
    if (suffix == QLatin1String("npy")) return writeNpy(path, tensor);
    if (suffix == QLatin1String("json")) {
        const QJsonObject object{
            {"title", m.title},
            {"name", m.name},
            {"shape", QJsonArray{qint64(rows), qint64(cols)}},
            {"row_labels", labelsJson(m.rowLabels)},
            {"column_labels", labelsJson(m.columnLabels)},
            {"row_tokens", indexJson(m.rowTokens)},
            {"column_tokens", indexJson(m.columnTokens)},
            {"values", matrixJson(m.values)},
        };
        return writeText(path, QJsonDocument(object).toJson(QJsonDocument::Indented));
    }
    if (suffix == QLatin1String("safetensors"))
        return writeSafeTensors(
            path, {makeF32(m.name, tensor.shape, tensor.data.data())},
            {{QStringLiteral("title"), m.title},
             {QStringLiteral("row_labels"), compactJson(labelsJson(m.rowLabels))},
             {QStringLiteral("column_labels"), compactJson(labelsJson(m.columnLabels))},
             {QStringLiteral("row_tokens"), compactJson(indexJson(m.rowTokens))},
             {QStringLiteral("column_tokens"), compactJson(indexJson(m.columnTokens))}});
    return makeError(QStringLiteral("cannot write the numbers to \"%1\": the file name must end in "
                                    ".csv, .npy, .json or .safetensors")
                         .arg(path));
}

} // namespace attnscope
