// Several query tokens selected together: the combined row is the sum or the mean of their rows
// of the view's matrix (recomputed here from the analysis' attention); clicks on the heatmap's
// labels with ctrl / shift build the selection as in the token strip.
#include "heatmap_widget.h"
#include "main_window.h"
#include "selection/selection_strip.h"

#include <QComboBox>
#include <QTest>

using namespace attnscope;

namespace {
constexpr int kTimeout = 30000;
}

class TestSelection : public QObject {
    Q_OBJECT
private slots:
    void clickRules_data() {
        QTest::addColumn<std::vector<int>>("before");
        QTest::addColumn<int>("token");
        QTest::addColumn<int>("anchor");
        QTest::addColumn<int>("modifiers");
        QTest::addColumn<std::vector<int>>("after");
        QTest::newRow("plain selects one")
            << std::vector<int>{1, 4} << 2 << 4 << 0 << std::vector<int>{2};
        QTest::newRow("plain on the only one clears")
            << std::vector<int>{2} << 2 << 2 << 0 << std::vector<int>{};
        QTest::newRow("ctrl adds")
            << std::vector<int>{1} << 5 << 1 << int(Qt::ControlModifier) << std::vector<int>{1, 5};
        QTest::newRow("ctrl removes")
            << std::vector<int>{1, 5} << 1 << 5 << int(Qt::ControlModifier) << std::vector<int>{5};
        QTest::newRow("shift extends from the anchor")
            << std::vector<int>{2} << 5 << 2 << int(Qt::ShiftModifier)
            << std::vector<int>{2, 3, 4, 5};
        QTest::newRow("shift backwards") << std::vector<int>{7} << 4 << 7 << int(Qt::ShiftModifier)
                                         << std::vector<int>{4, 5, 6, 7};
    }
    void clickRules() {
        QFETCH(std::vector<int>, before);
        QFETCH(int, token);
        QFETCH(int, anchor);
        QFETCH(int, modifiers);
        QFETCH(std::vector<int>, after);
        QCOMPARE(updateSelection(before, token, anchor, Qt::KeyboardModifiers(modifiers)), after);
    }

    void combinedAttentionInWindow() {
        MainWindow w;
        w.openModel(QStringLiteral("default"));
        w.show();
        QVERIFY(
            QTest::qWaitFor([&] { return w.analysis() && !w.controller()->isBusy(); }, kTimeout));
        w.setLayerHead(2, 5);
        QTest::qWait(20);
        // Click the query labels of tokens 3 and 5 on the heatmap (ctrl adds the second).
        const auto labelCentre = [&](int row) { // the strip appearing moves the heatmap
            QTest::qWait(20);
            for (const HeatmapLabel& l : w.heatmap()->currentLayout().rowLabels)
                if (l.index == row) return l.rect.center().toPoint();
            return QPoint(-1, -1);
        };
        QTest::mouseClick(w.heatmap(), Qt::LeftButton, {}, labelCentre(3));
        QTest::mouseClick(w.heatmap(), Qt::LeftButton, Qt::ControlModifier, labelCentre(5));
        QCOMPARE(w.selectedTokens(), std::vector<int>({3, 5}));
        SelectionStrip* strip = w.selectionStrip();
        QVERIFY(strip->isVisible());
        for (const HeatmapLabel& l : w.heatmap()->currentLayout().rowLabels) // marked queries
            QCOMPARE(l.highlighted, l.index == 3 || l.index == 5);
        const Mat& a = (*w.analysis()->attention(2, 5)); // [T, T]
        for (RowCombine combine : {RowCombine::Sum, RowCombine::Mean}) {
            strip->setCombine(combine);
            const std::vector<double>& shown = strip->cells()->values();
            QCOMPARE(int(shown.size()), w.analysis()->tokenCount());
            for (int key = 0; key < int(shown.size()); ++key) {
                double want = double(a(3, key)) + double(a(5, key));
                if (combine == RowCombine::Mean) want /= 2;
                QVERIFY(std::abs(shown[size_t(key)] - want) < 1e-6);
            }
        }
        // Another head: the strip follows the view.
        w.setLayerHead(1, 2);
        QTest::qWait(20);
        QVERIFY(std::abs(strip->cells()->values()[2] -
                         (double((*w.analysis()->attention(1, 2))(3, 2)) +
                          double((*w.analysis()->attention(1, 2))(5, 2))) /
                             2) < 1e-6);
        w.clearTokenSelection();
        QVERIFY(!strip->isVisible());
    }
};

QTEST_MAIN(TestSelection)
#include "tst_selection.moc"
