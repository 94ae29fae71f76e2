#pragma once
// A layout that places its items left to right at their preferred widths and wraps to a new row
// when the next one does not fit, so a narrow window shows every control whole (two or three
// rows) instead of squeezing combo boxes and check boxes until their text is cut.
#include <QLayout>
#include <QList>

namespace attnscope {

class FlowLayout : public QLayout {
public:
    explicit FlowLayout(QWidget* parent = nullptr, int horizontalSpacing = 8,
                        int verticalSpacing = 4);
    ~FlowLayout() override;

    void addItem(QLayoutItem* item) override;
    // A fixed gap before the next item (like QBoxLayout::addSpacing); dropped at a row's start.
    void addSpacing(int width);
    int count() const override { return int(m_items.size()); }
    QLayoutItem* itemAt(int index) const override;
    QLayoutItem* takeAt(int index) override;
    Qt::Orientations expandingDirections() const override { return {}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;    // everything on one row
    QSize minimumSize() const override; // the widest single item
    void setGeometry(const QRect& rect) override;

private:
    int place(const QRect& rect, bool apply) const; // returns the height used
    QList<QLayoutItem*> m_items;
    int m_horizontalSpacing;
    int m_verticalSpacing;
};

} // namespace attnscope
