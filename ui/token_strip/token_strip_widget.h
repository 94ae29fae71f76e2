#pragma once
// A QWidget around TokenStripRenderer, meant to sit in a QScrollArea (widgetResizable): its
// height follows its width (heightForWidth). A hover mark repaints only the old and new marked
// tokens' boxes; a click on a token emits tokenClicked (MainWindow selects queries with it).
#include "token_strip_renderer.h"

#include <QWidget>

namespace attnscope {

class TokenStripWidget : public QWidget {
    Q_OBJECT
public:
    explicit TokenStripWidget(QWidget* parent = nullptr);

    // New tokens, selection or note: measured and wrapped again; nothing happens when equal.
    // Returns whether anything changed.
    bool setContent(TokenStripContent content);
    void clear();
    // Marks the hovered query and key tokens (-1: none), repainting only what changed.
    void setHighlight(int queryToken, int keyToken);
    const TokenStripRenderer& renderer() const { return m_renderer; }
    // Rectangles handed to update() by the last setHighlight (for tests).
    const std::vector<QRectF>& lastUpdatedRects() const { return m_lastUpdated; }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return {100, 0}; }

signals:
    void tokenClicked(int token, Qt::KeyboardModifiers modifiers);
    void widthChanged(int width); // its lines wrapped again: a container may fit its height

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    TokenStripRenderer m_renderer;
    std::vector<QRectF> m_lastUpdated;
};

} // namespace attnscope
