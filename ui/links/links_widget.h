#pragma once
// A QWidget around LinksRenderer, meant to sit in a QScrollArea: it asks for the height at which
// every token gets its own line. Hovering a token focuses its lines; a click pins the focus
// (click again or Esc to release). Up/Down move the focus through the tokens, Left/Right switch
// between the query and key column.
#include "links_renderer.h"

#include <QWidget>

namespace attnscope {

class LinksWidget : public QWidget {
    Q_OBJECT
public:
    explicit LinksWidget(QWidget* parent = nullptr);

    // tokens: visible index -> token index in the analysis (for the signals and marking).
    void setContent(LinksRenderer renderer, const std::vector<int>& tokens);
    void clear(const QString& placeholder, const ChromePalette& chrome = {});
    const LinksRenderer& renderer() const { return m_renderer; }
    // Applies to the content set later too (a placeholder in between does not reset it).
    void setThreshold(double threshold);
    // Marks a token hovered elsewhere (another pane); does not emit tokenHovered.
    void setMarkedToken(int token);
    // Focus as if the pointer were on visible index `index` (-1 clears); emits tokenHovered.
    void focusIndex(int index, LinkSide side);
    bool isPinned() const { return m_pinned; }
    QString placeholder() const { return m_placeholder; }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int) const override;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return {200, 120}; }

signals:
    void tokenHovered(int token); // token index in the analysis, -1 when none

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void updateHeight();
    LinksRenderer m_renderer;
    std::vector<int> m_tokens;
    QString m_placeholder;
    double m_threshold = LinksRenderer().threshold();
    bool m_pinned = false;
};

} // namespace attnscope
