#include "links_widget.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>

#include <algorithm>

namespace attnscope {

LinksWidget::LinksWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void LinksWidget::setContent(LinksRenderer renderer, const std::vector<int>& tokens) {
    const int focus = m_renderer.focusToken();
    const LinkSide side = m_renderer.focusSide();
    m_renderer = std::move(renderer); // its heads' links: moved, not copied
    m_renderer.setThreshold(m_threshold);
    m_tokens = tokens;
    m_placeholder.clear();
    // A pinned focus survives edits while its token still exists.
    m_renderer.setFocus(m_pinned ? focus : -1, side);
    if (m_renderer.focusToken() < 0) m_pinned = false;
    updateHeight();
    update();
}

void LinksWidget::clear(const QString& placeholder, const ChromePalette& chrome) {
    m_renderer = LinksRenderer();
    m_renderer.setThreshold(m_threshold);
    m_renderer.setChrome(chrome);
    m_tokens.clear();
    m_pinned = false;
    m_placeholder = placeholder;
    updateHeight();
    update();
}

void LinksWidget::setThreshold(double threshold) {
    m_threshold = threshold;
    m_renderer.setThreshold(threshold);
    update();
}

void LinksWidget::setMarkedToken(int token) {
    if (m_pinned) return;
    const auto it = std::find(m_tokens.begin(), m_tokens.end(), token);
    const int index = it == m_tokens.end() ? -1 : int(it - m_tokens.begin());
    if (index == m_renderer.focusToken()) return;
    m_renderer.setFocus(index, m_renderer.focusSide());
    update();
}

void LinksWidget::focusIndex(int index, LinkSide side) {
    if (index == m_renderer.focusToken() && side == m_renderer.focusSide()) return;
    m_renderer.setFocus(index, side);
    update();
    const int i = m_renderer.focusToken();
    emit tokenHovered(i >= 0 && size_t(i) < m_tokens.size() ? m_tokens[size_t(i)] : -1);
}

int LinksWidget::heightForWidth(int) const {
    return int(m_renderer.preferredHeight());
}

QSize LinksWidget::sizeHint() const {
    return {720, std::max(300, int(m_renderer.preferredHeight()))};
}

void LinksWidget::updateHeight() {
    setMinimumHeight(m_renderer.isEmpty() ? 120 : int(m_renderer.preferredHeight()));
    updateGeometry();
}

void LinksWidget::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    // Clipped to what is exposed: in its scroll area a long text's widget is tens of thousands
    // of pixels tall, and the renderer then draws the lines and labels of those rows only.
    painter.setClipRegion(event->region());
    m_renderer.paint(painter, QRectF(rect()));
    if (m_renderer.isEmpty()) {
        painter.setPen(m_renderer.chrome().muted);
        painter.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap,
                         m_placeholder.isEmpty() ? tr("No attention to show yet.") : m_placeholder);
    }
}

void LinksWidget::mouseMoveEvent(QMouseEvent* event) {
    if (!m_pinned) {
        LinkSide side = LinkSide::Query;
        const int i = m_renderer.layout(QSizeF(size())).tokenAt(event->position(), &side);
        focusIndex(i, side);
    }
    QWidget::mouseMoveEvent(event);
}

void LinksWidget::mousePressEvent(QMouseEvent* event) {
    LinkSide side = LinkSide::Query;
    const int i = m_renderer.layout(QSizeF(size())).tokenAt(event->position(), &side);
    if (m_pinned && (i < 0 || (i == m_renderer.focusToken() && side == m_renderer.focusSide()))) {
        m_pinned = false;
        focusIndex(i == m_renderer.focusToken() ? i : -1, side);
    } else if (i >= 0) {
        m_pinned = true;
        focusIndex(i, side);
    }
    QWidget::mousePressEvent(event);
}

void LinksWidget::leaveEvent(QEvent* event) {
    if (!m_pinned) focusIndex(-1, m_renderer.focusSide());
    QWidget::leaveEvent(event);
}

void LinksWidget::keyPressEvent(QKeyEvent* event) {
    const int n = m_renderer.tokenCount();
    int i = m_renderer.focusToken();
    LinkSide side = m_renderer.focusSide();
    switch (event->key()) {
    case Qt::Key_Down:
        i = n == 0 ? -1 : std::min(n - 1, i + 1);
        break;
    case Qt::Key_Up:
        i = n == 0 ? -1 : std::max(0, i - 1);
        break;
    case Qt::Key_Left:
        side = LinkSide::Query;
        break;
    case Qt::Key_Right:
        side = LinkSide::Key;
        break;
    case Qt::Key_Escape:
        m_pinned = false;
        i = -1;
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    focusIndex(i, side);
    event->accept();
}

} // namespace attnscope
