#pragma once
// A head selector for panes: 0 … heads−1, plus "mean" and "max" (kMeanOfLayer, kMaxOfLayer:
// the mean or maximum over the layer's checked heads) below 0. Arrow keys step through all.
#include "view_state.h"

#include <QSpinBox>

namespace attnscope {

class HeadSpinBox : public QSpinBox {
public:
    explicit HeadSpinBox(QWidget* parent = nullptr) : QSpinBox(parent) { setRange(kMaxOfLayer, 0); }
    void setHeadCount(int heads) { setRange(kMaxOfLayer, std::max(0, heads - 1)); }

protected:
    QString textFromValue(int value) const override { return paneHeadName(value); }
    int valueFromText(const QString& text) const override {
        const QString t = text.trimmed().toLower();
        if (t == QLatin1String("mean")) return kMeanOfLayer;
        if (t == QLatin1String("max")) return kMaxOfLayer;
        return t.toInt();
    }
    QValidator::State validate(QString& text, int&) const override {
        const QString t = text.trimmed().toLower();
        if (t == QLatin1String("mean") || t == QLatin1String("max")) return QValidator::Acceptable;
        if (t.isEmpty() || QStringLiteral("mean").startsWith(t) ||
            QStringLiteral("max").startsWith(t))
            return QValidator::Intermediate;
        bool ok = false;
        const int v = t.toInt(&ok);
        if (!ok) return QValidator::Invalid;
        return v >= 0 && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
    }
};

} // namespace attnscope
