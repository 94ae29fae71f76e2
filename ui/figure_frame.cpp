#include "figure_frame.h"

#include "view_state.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace attnscope {

namespace {

constexpr double kMargin = 10.0;
constexpr double kBarWidth = 14.0;
constexpr double kBarGap = 12.0; // between the view and the bar
constexpr int kCaptionLines = 4; // longer captions are elided
constexpr int kTitlePixels = 20; // above the view's own title (15 px)
constexpr int kCaptionPixels = 13;

QFont pixelFont(int pixels, bool bold = false, bool italic = false) {
    QFont font;
    font.setPixelSize(pixels);
    font.setBold(bold);
    font.setItalic(italic);
    return font;
}

int tickDecimals(double low, double high) {
    const double range = high - low;
    if (!(range > 0)) return 2;
    return std::clamp(int(1 - std::floor(std::log10(range / 4))), 0, 4);
}

// Greedy word wrap to `width`, at most `lines` lines; the last one elided when text remains.
QString wrapText(const QString& text, const QFontMetricsF& fm, double width, int lines) {
    QStringList out;
    QString line;
    const QStringList words = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (int i = 0; i < words.size(); ++i) {
        const QString candidate = line.isEmpty() ? words[i] : line + QLatin1Char(' ') + words[i];
        if (fm.horizontalAdvance(candidate) <= width || line.isEmpty()) {
            line = candidate;
            continue;
        }
        out << line;
        line = words[i];
        if (out.size() == lines - 1) { // the rest goes on the last line, elided
            line = words.mid(i).join(QLatin1Char(' '));
            break;
        }
    }
    if (!line.isEmpty()) out << line;
    for (QString& l : out)
        l = fm.elidedText(l, Qt::ElideRight, width);
    return out.join(QLatin1Char('\n'));
}

} // namespace

Status applyThemeName(ViewState& state, const QString& name) {
    if (name != QLatin1String("light") && name != QLatin1String("dark") &&
        name != QLatin1String("print"))
        return makeError(
            QStringLiteral("--theme must be light, dark or print (not \"%1\")").arg(name));
    state.dark = name == QLatin1String("dark");
    state.print = name == QLatin1String("print");
    return okStatus();
}

QString themeName(const ViewState& state) {
    return state.print  ? QStringLiteral("print")
           : state.dark ? QStringLiteral("dark")
                        : QStringLiteral("light");
}

void applyCaptionArgument(FigureOptions& options, const QString& argument) {
    if (argument == QLatin1String("auto")) {
        options.caption = CaptionMode::Auto;
    } else if (argument == QLatin1String("none") || argument.isEmpty()) {
        options.caption = CaptionMode::None;
    } else {
        options.caption = CaptionMode::Text;
        options.captionText = argument;
    }
}

QString autoCaption(const QString& modelName, const QString& viewName, const QString& text) {
    QString flat = text.simplified(); // line breaks and runs of spaces as one space
    constexpr int kLimit = 120;
    if (flat.size() > kLimit) {
        int cut = int(flat.lastIndexOf(QLatin1Char(' '), kLimit));
        if (cut < kLimit / 2) cut = kLimit; // one long word: cut inside it
        flat = flat.left(cut) + QStringLiteral(" …");
    }
    QStringList parts;
    if (!modelName.isEmpty()) parts << modelName;
    if (!viewName.isEmpty()) parts << viewName;
    if (!flat.isEmpty()) parts << QStringLiteral("“%1”").arg(flat);
    return parts.join(QStringLiteral(" · "));
}

std::vector<double> colorScaleTicks(double low, double high) {
    std::vector<double> ticks;
    if (!(high > low)) return {low};
    const double raw = (high - low) / 4.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / mag;
    const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
    ticks.push_back(low);
    for (double v = std::ceil(low / step + 1e-6) * step; v < high - step * 0.35; v += step)
        ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    ticks.push_back(high);
    return ticks;
}

FigureFrameLayout figureFrameLayout(const FigureFrame& frame, QSizeF size) {
    FigureFrameLayout L;
    L.titleFont = pixelFont(kTitlePixels, true);
    L.captionFont = pixelFont(kCaptionPixels, false, true);
    L.tickFont = pixelFont(11);
    const QFontMetricsF tfm(L.titleFont), cfm(L.captionFont), kfm(L.tickFont);
    const double width = std::max(0.0, size.width() - 2 * kMargin);
    double top = 0, bottom = size.height();
    if (!frame.title.isEmpty()) {
        L.title = QRectF(kMargin, kMargin / 2, width, std::ceil(tfm.height()) + 4);
        top = L.title.bottom() + 2;
    }
    if (!frame.caption.isEmpty()) {
        L.captionText = wrapText(frame.caption, cfm, width, kCaptionLines);
        const double h =
            std::ceil(cfm.lineSpacing() * (L.captionText.count(QLatin1Char('\n')) + 1));
        L.caption = QRectF(kMargin, bottom - kMargin / 2 - h, width, h);
        bottom = L.caption.top() - 4;
    }
    double right = size.width();
    if (frame.colorBar) {
        const ColorScale& scale = *frame.colorBar;
        const int decimals = tickDecimals(scale.low, scale.high);
        double tickW = 0;
        for (double v : colorScaleTicks(scale.low, scale.high))
            tickW = std::max(tickW, kfm.horizontalAdvance(QString::number(v, 'f', decimals)));
        const double labelH = scale.label.isEmpty() ? 0.0 : std::ceil(cfm.height()) + 6;
        const double band = kBarGap + kBarWidth + 6 + tickW + 6 + labelH + kMargin;
        right = size.width() - band;
        const double barTop = top + kMargin + kfm.height();
        const double barH =
            std::max(1.0, std::min(bottom - barTop - kMargin - kfm.height(), 480.0));
        const double barY = barTop + std::max(0.0, (bottom - barTop - kfm.height() - barH) / 2);
        L.colorBar = QRectF(right + kBarGap, barY, kBarWidth, barH);
        if (labelH > 0) {
            const double lw = std::min(cfm.horizontalAdvance(scale.label) + 4, barH);
            L.colorBarLabel = QRectF(L.colorBar.right() + 6 + tickW + 6,
                                     L.colorBar.center().y() - lw / 2, labelH - 6, lw);
        }
    }
    L.content = QRectF(0, top, std::max(16.0, right), std::max(16.0, bottom - top));
    return L;
}

PaintFunction framedPainting(const FigureFrame& frame, PaintFunction view) {
    if (frame.isEmpty()) return view;
    return [frame, view = std::move(view)](QPainter& p, const QRectF& area, bool vectorOutput) {
        const FigureFrameLayout L = figureFrameLayout(frame, area.size());
        p.save();
        p.translate(area.topLeft());
        p.fillRect(QRectF(QPointF(0, 0), area.size()), frame.chrome.background);
        p.setPen(frame.chrome.text);
        if (!L.title.isEmpty()) {
            p.setFont(L.titleFont);
            p.drawText(L.title, Qt::AlignCenter,
                       QFontMetricsF(L.titleFont)
                           .elidedText(frame.title, Qt::ElideRight, L.title.width()));
        }
        if (!L.caption.isEmpty()) {
            p.setFont(L.captionFont);
            p.drawText(L.caption, Qt::AlignHCenter | Qt::AlignTop, L.captionText);
        }
        if (frame.colorBar) {
            const ColorScale& scale = *frame.colorBar;
            const QRectF& bar = L.colorBar;
            // Stacked bands, as the heatmap's own bar: identical in every output format.
            const int bands = std::clamp(int(bar.height()), 1, 128);
            for (int i = 0; i < bands; ++i) {
                const double y0 = bar.bottom() - bar.height() * (i + 1) / bands;
                const double y1 = bar.bottom() - bar.height() * i / bands;
                const double t = (i + 0.5) / bands;
                QColor c = colorAt(scale.map, t);
                bool overlap = true; // bands overlap by half a pixel: no seams between them
                if (scale.opacityOf.isValid()) {
                    const QColor& back = frame.chrome.background;
                    if (back.alpha() == 255) { // composed here, so overlaps do not darken
                        c = QColor::fromRgbF(
                            float(back.redF() + (scale.opacityOf.redF() - back.redF()) * t),
                            float(back.greenF() + (scale.opacityOf.greenF() - back.greenF()) * t),
                            float(back.blueF() + (scale.opacityOf.blueF() - back.blueF()) * t));
                    } else {
                        c = scale.opacityOf;
                        c.setAlphaF(float(t));
                        overlap = false;
                    }
                }
                p.fillRect(QRectF(bar.left(), y0, bar.width(),
                                  y1 - y0 + (overlap && i + 1 < bands ? 0.5 : 0)),
                           c);
            }
            p.setPen(QPen(frame.chrome.frame, 0));
            p.drawRect(bar.adjusted(-1, -1, 0, 0));
            p.setFont(L.tickFont);
            const QFontMetricsF kfm(L.tickFont);
            const int decimals = tickDecimals(scale.low, scale.high);
            for (double v : colorScaleTicks(scale.low, scale.high)) {
                const double range = scale.high - scale.low;
                const double y = range > 0 ? bar.bottom() - (v - scale.low) / range * bar.height()
                                           : bar.bottom();
                p.setPen(QPen(frame.chrome.frame, 0));
                p.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 3, y));
                p.setPen(frame.chrome.text);
                p.drawText(QRectF(bar.right() + 6, y - kfm.height() / 2, 200, kfm.height()),
                           Qt::AlignLeft | Qt::AlignVCenter, QString::number(v, 'f', decimals));
            }
            if (!L.colorBarLabel.isEmpty()) {
                p.save();
                p.setFont(L.captionFont);
                p.translate(L.colorBarLabel.center());
                p.rotate(-90);
                const QRectF local(-L.colorBarLabel.height() / 2, -L.colorBarLabel.width() / 2,
                                   L.colorBarLabel.height(), L.colorBarLabel.width());
                p.drawText(local, Qt::AlignCenter,
                           QFontMetricsF(L.captionFont)
                               .elidedText(scale.label, Qt::ElideRight, local.width()));
                p.restore();
            }
        }
        p.translate(L.content.topLeft());
        view(p, QRectF(QPointF(0, 0), L.content.size()), vectorOutput);
        p.restore();
    };
}

} // namespace attnscope
