#include "token_strip_widget.h"

#include "heatmap_renderer.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QResizeEvent>
#include <QToolTip>
#include <cmath>

namespace attnscope {

TokenStripWidget::TokenStripWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true); // the pointing hand over tokens
    // QScrollArea asks a resizable widget's heightForWidth only when its size policy says so.
    QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
    setAccessibleName(tr("Tokens"));
    m_renderer.setFont(font());
}

bool TokenStripWidget::setContent(TokenStripContent content) {
    if (!m_renderer.setContent(std::move(content))) return false;
    m_renderer.setWidth(width());
    // What a screen reader reads: the tokens in order (the marks are colours only).
    setAccessibleDescription(m_renderer.plainText());
    updateGeometry();
    update();
    return true;
}

void TokenStripWidget::clear() {
    m_renderer.setHighlight(-1, -1);
    setContent({});
}

void TokenStripWidget::setHighlight(int queryToken, int keyToken) {
    m_lastUpdated = m_renderer.setHighlight(queryToken, keyToken);
    for (const QRectF& rect : m_lastUpdated)
        update(rect.toAlignedRect());
}

int TokenStripWidget::heightForWidth(int width) const {
    return int(std::ceil(m_renderer.heightForWidth(width)));
}

QSize TokenStripWidget::sizeHint() const {
    const int w = width() > 1 ? width() : 400;
    return {w, heightForWidth(w)};
}

void TokenStripWidget::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    m_renderer.paint(painter, event->rect());
}

void TokenStripWidget::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    m_renderer.setWidth(width());
    if (event->size().width() != event->oldSize().width()) emit widthChanged(width());
}

void TokenStripWidget::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange) {
        m_renderer.setFont(font());
        updateGeometry();
        update();
    }
}

void TokenStripWidget::mouseMoveEvent(QMouseEvent* event) {
    const bool onToken = m_renderer.tokenAt(event->position()) >= 0;
    if (onToken != (cursor().shape() == Qt::PointingHandCursor))
        onToken ? setCursor(Qt::PointingHandCursor) : unsetCursor();
    QWidget::mouseMoveEvent(event);
}

void TokenStripWidget::mousePressEvent(QMouseEvent* event) {
    const int token = m_renderer.tokenAt(event->position());
    if (event->button() == Qt::LeftButton && token >= 0) {
        emit tokenClicked(token, event->modifiers());
        return;
    }
    QWidget::mousePressEvent(event);
}

bool TokenStripWidget::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) { // the token's index and whole text, then the help
        auto* help = static_cast<QHelpEvent*>(event);
        const int token = m_renderer.tokenAt(help->pos());
        QString tip = toolTip();
        if (token >= 0) {
            const QString text = m_renderer.content().labels.value(token);
            tip = tr("token %1: “%2”").arg(token).arg(HeatmapRenderer::escapeLabel(text)) +
                  (tip.isEmpty() ? QString() : QStringLiteral("\n") + tip);
        }
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, this);
        return true;
    }
    return QWidget::event(event);
}

} // namespace attnscope
