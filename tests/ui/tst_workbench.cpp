// The workbench views driven offscreen on real analyses (GPT-2 and BERT fixtures): head toggles
// and mean/max aggregates, token links, the all-heads grid, side by side with linked hover, the
// difference view, special tokens, keyboard, settings, themes. Every assertion compares with
// values computed here independently of the views.
#include "colormap.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "figures.h"
#include "grid/grid_widget.h"
#include "heads/head_list_model.h"
#include "heatmap_widget.h"
#include "links/links_widget.h"
#include "main_window.h"
#include "token_strip/token_strip_widget.h"
#include "view_state.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPlainTextEdit>
#include <QRandomGenerator>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>
#include <cmath>

using namespace attnscope;

namespace {

QString gpt2Path() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
}
QString bertPath() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/bert/model");
}
constexpr int kTimeout = 20000;

using HeadList = QList<QPair<int, int>>;

// Independent mean / max over the listed heads.
Mat expectedAggregate(const Analysis& a, const HeadList& heads, bool max) {
    const int t = a.tokenCount();
    Mat out = Mat::Zero(t, t);
    for (int r = 0; r < t; ++r)
        for (int c = 0; c < t; ++c) {
            double acc = max ? -1.0 : 0.0;
            for (const auto& [l, h] : heads) {
                const double v = a.forward.layers[size_t(l)].attention[size_t(h)](r, c);
                acc = max ? std::max(acc, v) : acc + v;
            }
            out(r, c) = float(max ? acc : acc / heads.size());
        }
    return out;
}

int countAbove(const Mat& m, double threshold) {
    return int((m.cast<double>().array() > threshold).count());
}

QImage paintHeatmap(const HeatmapRenderer& r, QSize size, HeatmapLayout* layout) {
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    QPainter p(&image);
    *layout = r.layout(QSizeF(size));
    r.paint(p, *layout);
    return image;
}

} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void headListModel();
    void headListStatistics();
    void aggregate_data();
    void aggregate();
    void windowTogglesHeadsWithoutRecomputing();
    void linksAboveThreshold_data();
    void linksAboveThreshold();
    void linksFocusAndHover();
    void linkLineRasteriser();
    void linksLabelsNeverOverlap_data();
    void linksLabelsNeverOverlap();
    void linksKeptPaintsMatchFresh_data();
    void linksKeptPaintsMatchFresh();
    void gridThumbnailsAndClick();
    void gridReusesRowsAfterEditAtEnd_data();
    void gridReusesRowsAfterEditAtEnd();
    void compareLinkedHover();
    void differenceOfHeads_data();
    void differenceOfHeads();
    void differenceOfInputs();
    void specialTokens_data();
    void specialTokens();
    void pairFieldForBert();
    void keyboardNavigation();
    void settingsRoundTrip();
    void imageModelPlaceholder();
    void darkTheme();
    void exportCurrentView_data();
    void exportCurrentView();

private:
    std::unique_ptr<MainWindow> readyWindow(const QString& model = gpt2Path());
    std::shared_ptr<const Analysis> analyse(const LoadedModel& model, const QString& text,
                                            const std::optional<QString>& pair = {});
    std::shared_ptr<const LoadedModel> m_gpt2, m_bert;
    std::shared_ptr<const Analysis> m_sample;
};

void TestWorkbench::initTestCase() {
    auto gpt2 = LoadedModel::open(gpt2Path());
    QVERIFY2(gpt2.ok(), qPrintable(gpt2.message()));
    m_gpt2 = gpt2.value();
    auto bert = LoadedModel::open(bertPath());
    QVERIFY2(bert.ok(), qPrintable(bert.message()));
    m_bert = bert.value();
    m_sample = analyse(*m_gpt2, MainWindow::sampleText());
    QVERIFY(m_sample && m_sample->layerCount() == 2 && m_sample->headCount() == 4);
}

std::shared_ptr<const Analysis> TestWorkbench::analyse(const LoadedModel& model,
                                                       const QString& text,
                                                       const std::optional<QString>& pair) {
    AnalysisRequest request;
    request.text = text;
    request.pair = pair;
    auto result = model.analyze(request);
    if (!result.ok()) return nullptr;
    return std::make_shared<const Analysis>(std::move(result.value()));
}

std::unique_ptr<MainWindow> TestWorkbench::readyWindow(const QString& model) {
    auto w = std::make_unique<MainWindow>();
    w->openModel(model);
    w->show();
    (void)QTest::qWaitFor(
        [&] { return w->heatmap()->tokenCount() > 0 && !w->controller()->isBusy(); }, kTimeout);
    return w;
}

void TestWorkbench::headListModel() {
    HeadListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setShape(3, 5);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.rowCount(model.layerIndex(1)), 5);
    QCOMPARE(model.rowCount(model.headIndex(1, 2)), 0);
    QCOMPARE(model.selection().count(), 15);
    QCOMPARE(model.layerIndex(1).data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
    QSignalSpy changed(&model, &HeadListModel::checkedHeadsChanged);
    QVERIFY(model.setData(model.headIndex(1, 2), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(changed.count(), 1);
    QVERIFY(!model.selection().isChecked(1, 2));
    QCOMPARE(model.layerIndex(1).data(Qt::CheckStateRole).toInt(), int(Qt::PartiallyChecked));
    QCOMPARE(model.headIndex(1, 2).data(HeadListModel::LayerRole).toInt(), 1);
    QCOMPARE(model.headIndex(1, 2).data(HeadListModel::HeadRole).toInt(), 2);
    QVERIFY(model.setData(model.layerIndex(0), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(model.selection().count(), 15 - 1 - 5);
    QCOMPARE(model.layerIndex(0).data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    model.setAllChecked(false);
    QCOMPARE(model.selection().count(), 0);
    model.setAllChecked(true);
    QCOMPARE(model.selection().count(), 15);
    model.setShape(2, 2); // reshaped: reset, all checked
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.selection().count(), 4);
    QVERIFY(model.headIndex(1, 1).flags() & Qt::ItemIsUserCheckable);
}

// The head list's statistic columns for the window's analysis, against values computed here.
void TestWorkbench::headListStatistics() {
    auto w = readyWindow();
    HeadListModel* model = w->headList();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->columnCount(), int(HeadListModel::Columns));
    const Analysis& a = *w->analysis();
    // The columns are computed off the GUI thread and arrive just after the analysis.
    QTRY_COMPARE_WITH_TIMEOUT(model->statisticsTokens(), a.tokenCount(), kTimeout);
    const int t = a.tokenCount();
    for (int l = 0; l < 2; ++l)
        for (int h = 0; h < 4; ++h) {
            const Mat& m = (*a.attention(l, h));
            double previous = 0, first = 0, confidence = 0, entropy = 0;
            for (int r = 0; r < t; ++r) {
                if (r >= 1) previous += m(r, r - 1), first += m(r, 0);
                confidence += m.row(r).maxCoeff();
                for (int c = 0; c < t; ++c)
                    if (m(r, c) > 0) entropy -= m(r, c) * std::log(double(m(r, c)));
            }
            const double focus = 1.0 - entropy / t / std::log(double(t));
            auto value = [&](int column) {
                return model->index(h, column, model->layerIndex(l))
                    .data(HeadListModel::StatisticRole)
                    .toDouble();
            };
            QVERIFY(std::abs(value(HeadListModel::PreviousColumn) - previous / (t - 1)) < 1e-5);
            QVERIFY(std::abs(value(HeadListModel::FirstColumn) - first / (t - 1)) < 1e-5);
            QVERIFY(std::abs(value(HeadListModel::ConfidenceColumn) - confidence / t) < 1e-5);
            QVERIFY(std::abs(value(HeadListModel::FocusColumn) - focus) < 1e-4);
        }
    // Statistic cells are not checkable; a layer row shows none.
    QVERIFY(!(model->index(0, HeadListModel::FocusColumn, model->layerIndex(0)).flags() &
              Qt::ItemIsUserCheckable));
    QVERIFY(!model->index(0, HeadListModel::FocusColumn).data().isValid());
}

void TestWorkbench::aggregate_data() {
    QTest::addColumn<HeadList>("heads");
    QTest::addColumn<bool>("max");
    QTest::newRow("mean of one") << HeadList{{0, 2}} << false;
    QTest::newRow("mean of layer 0") << HeadList{{0, 0}, {0, 1}, {0, 2}, {0, 3}} << false;
    QTest::newRow("mean across layers") << HeadList{{0, 1}, {1, 3}} << false;
    QTest::newRow("max of two") << HeadList{{0, 0}, {1, 1}} << true;
    QTest::newRow("max of all") << HeadList{{0, 0}, {0, 1}, {0, 2}, {0, 3},
                                            {1, 0}, {1, 1}, {1, 2}, {1, 3}}
                                << true;
}

// The matrix and each painted cell's colour for mean/max over checked heads.
void TestWorkbench::aggregate() {
    QFETCH(HeadList, heads);
    QFETCH(bool, max);
    ViewState state;
    state.aggregate = max ? Aggregate::Max : Aggregate::Mean;
    state.checked.reset(2, 4, false);
    for (const auto& [l, h] : heads)
        state.checked.setChecked(l, h, true);
    const ViewMatrix m = viewMatrix(*m_sample, state);
    const Mat expected = expectedAggregate(*m_sample, heads, max);
    QCOMPARE(m.size(), m_sample->tokenCount());
    QVERIFY((m.values - expected).cwiseAbs().maxCoeff() <= 1e-6f);

    HeatmapRenderer r;
    configureHeatmap(r, m, state);
    HeatmapLayout layout;
    const QImage image = paintHeatmap(r, QSize(900, 800), &layout);
    QVERIFY(layout.hasGrid);
    for (int row = 0; row < m.size(); row += 3)
        for (int column = 0; column <= row; column += 2) {
            const QPoint centre = layout.cellRect(row, column).center().toPoint();
            // Cells large enough to show their value: sample a corner pixel, away from the text.
            const QPoint probe =
                centre - QPoint(int(layout.cell / 2) - 3, int(layout.cell / 2) - 3);
            QCOMPARE(QColor(image.pixel(probe)).rgb() & 0xffffff,
                     rgbAt(ColorMap::Viridis, expected(row, column)) & 0xffffff);
        }
}

void TestWorkbench::windowTogglesHeadsWithoutRecomputing() {
    auto w = readyWindow();
    QVERIFY(w->analysis());
    const int jobs = w->controller()->completedJobs();
    w->setAggregate(Aggregate::Mean);
    w->headList()->setAllChecked(false);
    QVERIFY(w->heatmap()->renderer().isEmpty()); // nothing checked: a message, not a figure
    QVERIFY(w->heatmap()->placeholder().contains(QStringLiteral("No heads are checked")));
    w->headList()->setHeadChecked(0, 1, true);
    w->headList()->setHeadChecked(1, 2, true);
    const Mat mean = expectedAggregate(*w->analysis(), {{0, 1}, {1, 2}}, false);
    QVERIFY((w->heatmap()->matrix() - mean).cwiseAbs().maxCoeff() <= 1e-6f);
    QVERIFY(w->heatmap()->renderer().title().contains(QStringLiteral("Mean of 2 heads")));
    w->setAggregate(Aggregate::Max);
    const Mat max = expectedAggregate(*w->analysis(), {{0, 1}, {1, 2}}, true);
    QVERIFY((w->heatmap()->matrix() - max).cwiseAbs().maxCoeff() <= 1e-6f);
    // The painted window: a cell's colour is the colour map at the aggregate's value.
    const QImage shot = w->heatmap()->grab().toImage();
    const HeatmapLayout layout = w->heatmap()->currentLayout();
    const QPointF corner = layout.cellRect(5, 1).topLeft() + QPointF(2, 2);
    const qreal dpr = shot.devicePixelRatio();
    QCOMPARE(QColor(shot.pixel((corner * dpr).toPoint())).rgb() & 0xffffff,
             rgbAt(ColorMap::Viridis, max(5, 1)) & 0xffffff);
    w->setAggregate(Aggregate::SingleHead);
    QVERIFY((w->heatmap()->matrix() - (*w->analysis()->attention(0, 0))).cwiseAbs().maxCoeff() ==
            0);
    QCOMPARE(w->controller()->completedJobs(), jobs); // no model pass for any of this
}

void TestWorkbench::linksAboveThreshold_data() {
    QTest::addColumn<double>("threshold");
    QTest::addColumn<bool>("aggregate");
    for (double t : {0.0, 0.05, 0.2, 0.5, 0.9}) {
        QTest::addRow("heads, t=%.2f", t) << t << false;
        QTest::addRow("mean, t=%.2f", t) << t << true;
    }
}

void TestWorkbench::linksAboveThreshold() {
    QFETCH(double, threshold);
    QFETCH(bool, aggregate);
    ViewState state;
    state.layer = 1;
    state.linkThreshold = threshold;
    state.checked.reset(2, 4, false);
    state.checked.setChecked(1, 0, true);
    state.checked.setChecked(1, 3, true);
    state.aggregate = aggregate ? Aggregate::Mean : Aggregate::SingleHead;
    const LinksRenderer r = linksFigure(*m_sample, state);
    int expected = 0;
    if (aggregate) {
        expected = countAbove(expectedAggregate(*m_sample, {{1, 0}, {1, 3}}, false), threshold);
        QCOMPARE(int(r.heads().size()), 1);
    } else {
        expected = countAbove((*m_sample->attention(1, 0)), threshold) +
                   countAbove((*m_sample->attention(1, 3)), threshold);
        QCOMPARE(int(r.heads().size()), 2);
        QCOMPARE(r.heads()[0].color, categoricalColor(0));
        QCOMPARE(r.heads()[1].color, categoricalColor(3)); // a head keeps its colour
    }
    const std::vector<LinkLine> lines = r.visibleLinks();
    QCOMPARE(int(lines.size()), expected);
    for (const LinkLine& line : lines)
        QVERIFY(line.weight > threshold);
}

void TestWorkbench::linksFocusAndHover() {
    auto w = readyWindow();
    w->setView(MainWindow::View::Links);
    QTRY_VERIFY(!w->links()->renderer().isEmpty());
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    QTest::qWait(100); // the scroll area settles the widget's height
    LinksWidget* links = w->links();
    const LinksRenderer& r = links->renderer();
    QCOMPARE(r.tokenCount(), w->analysis()->tokenCount());
    QCOMPARE(int(r.heads().size()), 4); // all heads of layer 0 are checked at start
    // Hover a query label: only that token's lines remain.
    const LinksLayout layout = r.layout(QSizeF(links->size()));
    QVERIFY(layout.hasRows);
    const int token = 4;
    QSignalSpy hovered(links, &LinksWidget::tokenHovered);
    QTest::mouseMove(links, layout.queryLabelRect(token).center().toPoint());
    QTRY_COMPARE(links->renderer().focusToken(), token);
    QCOMPARE(hovered.last().at(0).toInt(), token);
    int expected = 0;
    for (int h = 0; h < 4; ++h)
        expected += countAbove((*w->analysis()->attention(0, h)).row(token), r.threshold());
    QCOMPARE(int(links->renderer().visibleLinks().size()), expected);
    for (const LinkLine& line : links->renderer().visibleLinks())
        QCOMPARE(line.query, token);
    // The text field marks the hovered token's characters.
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    QCOMPARE(input->extraSelections().size(), 1);
    QCOMPARE(input->extraSelections()[0].cursor.selectedText(), QStringLiteral(" the"));
    // Key side: lines into that key.
    QTest::mouseMove(links, layout.keyLabelRect(2).center().toPoint());
    QTRY_COMPARE(links->renderer().focusSide(), LinkSide::Key);
    for (const LinkLine& line : links->renderer().visibleLinks())
        QCOMPARE(line.key, 2);
    // Threshold control hides weaker lines.
    w->findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"))->setValue(0.3);
    QCOMPARE(links->renderer().threshold(), 0.3);
}

// The anti-aliased lines links paint on pixel targets: coverage adds up to the line's area.
void TestWorkbench::linkLineRasteriser() {
    QImage image(100, 60, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    LinksRenderer::drawLine(image, {10, 20}, {90, 20}, QColor(255, 0, 0), 2.0);
    QCOMPARE(image.pixel(50, 19), qRgba(255, 0, 0, 255)); // rows 19 and 20 fully covered
    QCOMPARE(image.pixel(50, 20), qRgba(255, 0, 0, 255));
    QCOMPARE(qAlpha(image.pixel(50, 22)), 0);
    QCOMPARE(qAlpha(image.pixel(50, 17)), 0);
    // A steep, half-transparent line of width 1: per row, the coverage sums to about
    // sqrt(1 + slope^2) pixels' worth (its horizontal extent), times the alpha.
    image.fill(Qt::transparent);
    LinksRenderer::drawLine(image, {20, 5}, {40, 55}, QColor(0, 0, 255, 128), 1.0);
    for (int y = 10; y < 50; y += 7) {
        double sum = 0;
        for (int x = 0; x < image.width(); ++x)
            sum += qAlpha(image.pixel(x, y)) / 255.0;
        const double expected = (128 / 255.0) * std::sqrt(1.0 + (20.0 / 50.0) * (20.0 / 50.0));
        QVERIFY2(std::abs(sum - expected) < 0.08, qPrintable(QString::number(sum)));
    }
}

void TestWorkbench::linksLabelsNeverOverlap_data() {
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("height");
    QTest::newRow("short, roomy") << 5 << 600;
    QTest::newRow("long, scrolls") << 120 << 0; // 0: the preferred (scrolling) height
    QTest::newRow("long, squeezed") << 120 << 500;
}

void TestWorkbench::linksLabelsNeverOverlap() {
    QFETCH(int, tokens);
    QFETCH(int, height);
    QStringList labels;
    for (int i = 0; i < tokens; ++i)
        labels << QStringLiteral("token_%1_with_a_long_tail").arg(i);
    LinksRenderer r;
    r.setTokens(labels);
    r.setHeads({{LinkWeights::above(Mat::Constant(tokens, tokens, 1.0f / tokens), 0.0),
                 categoricalColor(0), "H0"}});
    const QSizeF size(700, height > 0 ? height : r.preferredHeight());
    const LinksLayout L = r.layout(size);
    QVERIFY(L.hasRows);
    std::vector<QRectF> written;
    for (int i = 0; i < tokens; i += L.labelStep) {
        const QRectF q = L.queryLabelRect(i), k = L.keyLabelRect(i);
        QVERIFY(q.right() < k.left());
        QVERIFY(q.bottom() <= size.height() + 1 && q.top() >= 0);
        for (const QRectF& other : written)
            QVERIFY2(!other.intersects(q), qPrintable(QStringLiteral("label %1").arg(i)));
        written.push_back(q);
    }
    if (height == 0) QCOMPARE(L.labelStep, 1); // the scrolling height writes every label
}

void TestWorkbench::linksKeptPaintsMatchFresh_data() {
    QTest::addColumn<int>("clipTop"); // -1: no clip
    QTest::newRow("whole figure") << -1;
    QTest::newRow("scrolled window of rows") << 1210;
}

// What the renderer keeps between paints (measured labels, lines over the threshold, the
// rasterised line layer) never shows stale pixels: each paint equals a fresh renderer's, through
// focus, threshold and head changes; a clipped paint (a scrolled widget) equals the unclipped
// one inside its clip, labels outside it skipped.
void TestWorkbench::linksKeptPaintsMatchFresh() {
    QFETCH(int, clipTop);
    const int tokens = 150;
    QStringList labels;
    for (int i = 0; i < tokens; ++i)
        labels << QStringLiteral("tok%1").arg(i);
    QRandomGenerator rng(3);
    auto head = [&](int h) {
        Mat m = Mat::Zero(tokens, tokens); // causal, rows summing to 1: [tokens, tokens]
        for (int r = 0; r < tokens; ++r) {
            for (int c = 0; c <= r; ++c)
                m(r, c) = float(std::pow(rng.generateDouble(), 6.0));
            m.row(r) /= m.row(r).sum();
        }
        return LinkHead{LinkWeights::above(m, linksKeptFloor(0.05)), categoricalColor(h),
                        QStringLiteral("H%1").arg(h)};
    };
    const std::vector<LinkHead> heads{head(0), head(1), head(2)};
    LinksRenderer kept;
    kept.setTokens(labels);
    kept.setHeads(heads);
    const QSize size(760, int(kept.preferredHeight()));
    const QRect clip = clipTop < 0 ? QRect(QPoint(0, 0), size) : QRect(0, clipTop, 760, 420);
    auto paint = [&](const LinksRenderer& r, bool clipped) {
        QImage image(size, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::transparent);
        QPainter p(&image);
        if (clipped) p.setClipRect(clip);
        r.paint(p, QRectF(QPointF(0, 0), size));
        p.end();
        return image.copy(clip);
    };
    auto fresh = [&](int focus, LinkSide side, double threshold) {
        LinksRenderer r;
        r.setTokens(labels);
        r.setHeads(heads);
        r.setFocus(focus, side);
        r.setThreshold(threshold);
        return paint(r, clipTop >= 0);
    };
    const QImage first = paint(kept, clipTop >= 0);
    QCOMPARE(first, fresh(-1, LinkSide::Query, 0.05));
    QCOMPARE(paint(kept, clipTop >= 0), first);            // from what was kept
    if (clipTop >= 0) QCOMPARE(paint(kept, false), first); // unclipped, then cut to the clip
    const int focused = clipTop < 0 ? 40 : 70;             // a row inside the clip
    for (const LinkSide side : {LinkSide::Query, LinkSide::Key}) {
        kept.setFocus(focused, side);
        QCOMPARE(paint(kept, clipTop >= 0), fresh(focused, side, 0.05));
    }
    kept.setFocus(-1);
    QCOMPARE(paint(kept, clipTop >= 0), first);
    kept.setThreshold(0.2);
    const QImage fewer = paint(kept, clipTop >= 0);
    QCOMPARE(fewer, fresh(-1, LinkSide::Query, 0.2));
    QVERIFY(fewer != first);
    kept.setThreshold(0.05);
    kept.setHeads({heads[1]});
    LinksRenderer one;
    one.setTokens(labels);
    one.setHeads({heads[1]});
    QCOMPARE(paint(kept, clipTop >= 0), paint(one, clipTop >= 0));
}

void TestWorkbench::gridThumbnailsAndClick() {
    auto w = readyWindow();
    w->setView(MainWindow::View::Grid);
    GridCanvas* canvas = w->grid()->canvas();
    QTRY_VERIFY(!canvas->renderer().isEmpty());
    const GridRenderer& g = canvas->renderer();
    QCOMPARE(g.layers(), 2);
    QCOMPARE(g.heads(), 4);
    // A thumbnail pixel is the colour map at that head's weight.
    const Mat& a = (*w->analysis()->attention(1, 2));
    const QImage& thumb = g.thumbnail(1, 2);
    QCOMPARE(thumb.width(), int(a.cols()));
    QCOMPARE(thumb.pixel(1, 3) & 0xffffff, rgbAt(ColorMap::Viridis, a(3, 1)) & 0xffffff);
    QCOMPARE(thumb.pixel(3, 1) & 0xffffff, HeatmapRenderer::maskedColor() & 0xffffff);
    // Each head is coloured once, when first painted; repaints and a new selection reuse it.
    canvas->repaint();
    const int builds = g.thumbnailBuilds();
    QCOMPARE(builds, 2 * 4);
    canvas->repaint();
    const QRectF tile = g.layout(QSizeF(canvas->size())).tileRect(1, 3);
    QTest::mouseClick(canvas, Qt::LeftButton, {}, tile.center().toPoint());
    QCOMPARE(w->currentLayer(), 1);
    QCOMPARE(w->currentHead(), 3);
    QCOMPARE(g.thumbnailBuilds(), builds);
    // Keyboard: arrows move the selection through the grid.
    w->grid()->setFocus();
    QTest::keyClick(w->grid(), Qt::Key_Left);
    QCOMPARE(w->currentHead(), 2);
    QTest::keyClick(w->grid(), Qt::Key_Up);
    QCOMPARE(w->currentLayer(), 0);
    // Tile frames show a head statistic: previous-token attention here, computed independently.
    QCOMPARE(g.frameValue(1, 2), -1.0);
    w->findChild<QComboBox*>(QStringLiteral("gridStatistic"))
        ->setCurrentIndex(int(TileStatistic::PreviousToken));
    for (int l = 0; l < 2; ++l)
        for (int h = 0; h < 4; ++h) {
            const Mat& m = (*w->analysis()->attention(l, h));
            double previous = 0;
            for (int r = 1; r < m.rows(); ++r)
                previous += m(r, r - 1);
            previous /= double(m.rows() - 1);
            QVERIFY(std::abs(g.frameValue(l, h) - previous) < 1e-6);
        }
    // Zoom changes the tile size, not the thumbnails.
    const double before = g.tileSize();
    w->grid()->zoomIn();
    QVERIFY(g.tileSize() > before);
    QCOMPARE(g.thumbnailBuilds(), builds);
}

void TestWorkbench::gridReusesRowsAfterEditAtEnd_data() {
    QTest::addColumn<QString>("before");
    QTest::addColumn<QString>("after");
    QTest::addColumn<int>("special"); // SpecialTokenMode
    QTest::newRow("word changed") << "The cat sat on the mat"
                                  << "The cat sat on the rug" << int(SpecialTokenMode::Show);
    QTest::newRow("word added") << "The cat sat on the mat"
                                << "The cat sat on the mat today" << int(SpecialTokenMode::Show);
    QTest::newRow("shorter") << "The cat sat on the mat"
                             << "The cat sat" << int(SpecialTokenMode::Show);
    QTest::newRow("greyed") << "The cat sat on the mat"
                            << "The cat sat on the rug" << int(SpecialTokenMode::Grey);
    QTest::newRow("renormalised") << "The cat sat on the mat"
                                  << "The cat sat on the rug"
                                  << int(SpecialTokenMode::HideRenormalise);
}

void TestWorkbench::gridReusesRowsAfterEditAtEnd() {
    // An edit at the end of a causal model's text reuses the leading tokens; the grid then keeps
    // those thumbnail rows. Every thumbnail must still equal one coloured from scratch.
    QFETCH(QString, before);
    QFETCH(QString, after);
    QFETCH(int, special);
    AnalysisRequest first;
    first.text = before;
    auto a = m_gpt2->analyze(first);
    QVERIFY(a.ok());
    auto earlier = std::make_shared<const Analysis>(std::move(a.value()));
    AnalysisRequest second;
    second.text = after;
    second.previous = earlier;
    auto b = m_gpt2->analyze(second);
    QVERIFY(b.ok());
    auto later = std::make_shared<const Analysis>(std::move(b.value()));
    QVERIFY(later->reusedTokens > 0);
    ViewState state;
    state.specialTokens = SpecialTokenMode(special);
    GridRenderer reused, fresh;
    reused.setAnalysis(earlier, state);
    for (int l = 0; l < reused.layers(); ++l)
        for (int h = 0; h < reused.heads(); ++h)
            (void)reused.thumbnail(l, h);
    reused.setAnalysis(later, state);
    fresh.setAnalysis(later, state);
    // Renormalised rows depend on the whole row, so nothing is kept there.
    QCOMPARE(reused.reusedRows() > 0, state.specialTokens != SpecialTokenMode::HideRenormalise);
    for (int l = 0; l < fresh.layers(); ++l)
        for (int h = 0; h < fresh.heads(); ++h)
            QCOMPARE(reused.thumbnail(l, h), fresh.thumbnail(l, h));
}

void TestWorkbench::compareLinkedHover() {
    auto w = readyWindow();
    w->setView(MainWindow::View::Compare);
    CompareView* compare = w->compare();
    compare->setPaneCount(3);
    compare->setPaneHead(0, 0, 1);
    compare->setPaneHead(1, 1, 2);
    compare->setPaneHead(2, 1, 3);
    QCOMPARE(compare->paneWidget(1)->matrix(), (*w->analysis()->attention(1, 2)));
    // One colour scale: every pane maps the same range.
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(compare->paneWidget(i)->renderer().valueRange().first, 0.0);
        QCOMPARE(compare->paneWidget(i)->renderer().valueRange().second, 1.0);
    }
    QSignalSpy spy(compare, &CompareView::tokensHovered);
    compare->paneWidget(0)->setHoveredCell({6, 2});
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toInt(), 6);
    QCOMPARE(spy.last().at(1).toInt(), 2);
    QCOMPARE(compare->paneWidget(1)->hoveredCell(), (HeatmapCell{6, 2}));
    QCOMPARE(compare->paneWidget(2)->hoveredCell(), (HeatmapCell{6, 2}));
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    QCOMPARE(input->extraSelections().size(), 2); // query and key tokens marked in the text
    // A links pane follows the heatmaps' hover, and its own hover marks the heatmaps.
    compare->setPaneView(2, CompareView::PaneView::Links);
    LinksWidget* links = compare->paneLinks(2);
    QCOMPARE(int(links->renderer().heads().size()), 1);
    QVERIFY(links->renderer().heads()[0].links ==
            LinkWeights::above(*w->analysis()->attention(1, 3),
                               linksKeptFloor(w->viewState().linkThreshold)));
    compare->paneWidget(0)->setHoveredCell({5, 1});
    QCOMPARE(links->renderer().focusToken(), 5);
    QCOMPARE(int(links->renderer().visibleLinks().size()),
             countAbove((*w->analysis()->attention(1, 3)).row(5), links->renderer().threshold()));
    compare->paneWidget(0)->setHoveredCell({});
    links->focusIndex(3, LinkSide::Query);
    QCOMPARE(spy.last().at(0).toInt(), 3);
    QCOMPARE(spy.last().at(1).toInt(), -1);
    QCOMPARE(compare->paneWidget(0)->hoveredCell(), (HeatmapCell{3, 3}));
    QCOMPARE(compare->paneWidget(1)->hoveredCell(), (HeatmapCell{3, 3}));
    compare->setPaneView(2, CompareView::PaneView::Heatmap);
    // A pane may show a layer's mean or max over its checked heads.
    w->headList()->setHeadChecked(1, 0, false);
    compare->setPaneHead(1, 1, kMeanOfLayer);
    QVERIFY((compare->paneWidget(1)->matrix() -
             expectedAggregate(*w->analysis(), {{1, 1}, {1, 2}, {1, 3}}, false))
                .cwiseAbs()
                .maxCoeff() <= 1e-6f);
    compare->setPaneHead(1, 0, kMaxOfLayer);
    QVERIFY((compare->paneWidget(1)->matrix() -
             expectedAggregate(*w->analysis(), {{0, 0}, {0, 1}, {0, 2}, {0, 3}}, true))
                .cwiseAbs()
                .maxCoeff() <= 1e-6f);
    QVERIFY(compare->paneWidget(1)->renderer().title().contains(QStringLiteral("max of all")));
    compare->setPaneHead(1, 1, 2);
    // Stretching colours shares the largest value of all panes.
    auto* stretch = w->findChild<QCheckBox*>(QStringLiteral("autoRange"));
    stretch->setChecked(true);
    double hi = 0;
    for (auto [l, h] : {std::pair{0, 1}, {1, 2}, {1, 3}})
        hi = std::max(hi, double((*w->analysis()->attention(l, h)).maxCoeff()));
    for (int i = 0; i < 3; ++i)
        QCOMPARE(compare->paneWidget(i)->renderer().valueRange().second, hi);
}

void TestWorkbench::differenceOfHeads_data() {
    QTest::addColumn<int>("layerA");
    QTest::addColumn<int>("headA");
    QTest::addColumn<int>("layerB");
    QTest::addColumn<int>("headB");
    QTest::newRow("same layer") << 0 << 0 << 0 << 3;
    QTest::newRow("across layers") << 1 << 2 << 0 << 1;
    QTest::newRow("itself") << 1 << 1 << 1 << 1;
}

void TestWorkbench::differenceOfHeads() {
    QFETCH(int, layerA);
    QFETCH(int, headA);
    QFETCH(int, layerB);
    QFETCH(int, headB);
    DiffView view;
    view.resize(900, 700);
    view.setContent(m_sample, ViewState());
    view.setHeads(layerA, headA, layerB, headB);
    const Mat& a = (*m_sample->attention(layerA, headA));
    const Mat& b = (*m_sample->attention(layerB, headB));
    const Mat& shown = view.heatmap()->matrix();
    QCOMPARE(shown.rows(), a.rows());
    for (int r = 0; r < a.rows(); ++r)
        for (int c = 0; c < a.cols(); ++c)
            QCOMPARE(shown(r, c), a(r, c) - b(r, c));
    // Diverging map centred on 0: 0 is the map's middle, the range symmetric.
    const HeatmapRenderer& r = view.heatmap()->renderer();
    QCOMPARE(r.options().colorMap, ColorMap::RedBlue);
    QCOMPARE(r.valueRange().first, -r.valueRange().second);
    QCOMPARE(r.colorForValue(0.0), rgbAt(ColorMap::RedBlue, 0.5));
    QVERIFY(view.message().isEmpty());
}

void TestWorkbench::differenceOfInputs() {
    auto w = readyWindow();
    w->setText(QStringLiteral("The cat sat"));
    QTRY_VERIFY_WITH_TIMEOUT(w->analysis() && w->analysis()->text == QStringLiteral("The cat sat"),
                             kTimeout);
    w->setView(MainWindow::View::Difference);
    DiffView* diff = w->difference();
    diff->setMode(DiffView::Mode::Inputs);
    diff->setHeads(1, 2, 0, 0);
    diff->setAgainstText(QStringLiteral("The dog sat"));
    QTRY_VERIFY_WITH_TIMEOUT(diff->heatmap()->tokenCount() > 0, kTimeout);
    const auto other = analyse(*m_gpt2, QStringLiteral("The dog sat"));
    const Mat expected = (*w->analysis()->attention(1, 2)) - (*other->attention(1, 2));
    QVERIFY((diff->heatmap()->matrix() - expected).cwiseAbs().maxCoeff() <= 1e-6f);
    QVERIFY(diff->heatmap()->renderer().columnLabels().contains(QStringLiteral("Ġcat|Ġdog")) ||
            diff->heatmap()->renderer().columnLabels().join(' ').contains(QStringLiteral("|")));
    // Different lengths: a clear message with both counts, no figure.
    diff->setAgainstText(QStringLiteral("The big dog sat down"));
    QTRY_VERIFY_WITH_TIMEOUT(diff->message().contains(QStringLiteral("3 and 5 tokens")), kTimeout);
    QVERIFY(diff->heatmap()->renderer().isEmpty());
    // The token strip follows the text in every view, not only the heatmap's.
    w->setText(QStringLiteral("The cat sat down"));
    QTRY_VERIFY_WITH_TIMEOUT(w->analysis()->text == QStringLiteral("The cat sat down"), kTimeout);
    QVERIFY(w->findChild<TokenStripWidget*>(QStringLiteral("tokenStrip"))
                ->renderer()
                .plainText()
                .contains(QStringLiteral("down")));
    // An other text that cannot be analysed says why instead of waiting forever.
    diff->setAgainstError(QStringLiteral("too long"));
    QVERIFY(diff->message().contains(QStringLiteral("too long")));
}

void TestWorkbench::specialTokens_data() {
    QTest::addColumn<int>("mode");
    QTest::newRow("shown") << int(SpecialTokenMode::Show);
    QTest::newRow("hidden, renormalised") << int(SpecialTokenMode::HideRenormalise);
    QTest::newRow("greyed") << int(SpecialTokenMode::Grey);
}

void TestWorkbench::specialTokens() {
    QFETCH(int, mode);
    const auto a = analyse(*m_bert, QStringLiteral("the cat sat on the mat"));
    QVERIFY(a);
    const std::vector<bool> special = specialTokenMask(*a);
    QVERIFY(special.front() && special.back()); // [CLS] ... [SEP]
    ViewState state;
    state.layer = 1;
    state.head = 1;
    state.specialTokens = SpecialTokenMode(mode);
    const ViewMatrix m = viewMatrix(*a, state);
    const Mat& full = (*a->attention(1, 1));
    const int t = a->tokenCount();
    switch (SpecialTokenMode(mode)) {
    case SpecialTokenMode::Show:
        QCOMPARE(m.values, full);
        QVERIFY(m.greyed.empty());
        break;
    case SpecialTokenMode::HideRenormalise: {
        QCOMPARE(m.size(), t - 2);
        QCOMPARE(m.tokens.front(), 1);
        for (int r = 0; r < m.size(); ++r) {
            QVERIFY(std::abs(m.values.row(r).sum() - 1.0f) < 1e-5f);
            const double rowSum = full.row(r + 1).segment(1, t - 2).sum();
            QVERIFY(std::abs(m.values(r, 0) - full(r + 1, 1) / rowSum) < 1e-6);
        }
        QVERIFY(!m.labels.contains(QStringLiteral("[CLS]")));
        break;
    }
    case SpecialTokenMode::Grey: {
        QCOMPARE(m.values, full);
        QVERIFY(m.greyed.front() && m.greyed.back() && !m.greyed[1]);
        HeatmapRenderer r;
        configureHeatmap(r, m, state);
        const QRgb plain = rgbAt(ColorMap::Viridis, full(0, 2));
        QCOMPARE(r.cellColor(0, 2),
                 HeatmapRenderer::greyedColor(plain, ChromePalette().masked.rgb()));
        QCOMPARE(r.cellColor(2, 3), rgbAt(ColorMap::Viridis, full(2, 3)));
        break;
    }
    }
}

void TestWorkbench::pairFieldForBert() {
    auto w = readyWindow(bertPath());
    auto* pair = w->findChild<QLineEdit*>(QStringLiteral("pairInput"));
    QVERIFY(pair && pair->isVisible());
    w->setText(QStringLiteral("the cat sat"));
    w->setPairText(QStringLiteral("on the mat"));
    QTRY_VERIFY_WITH_TIMEOUT(w->analysis() && !w->controller()->isBusy() &&
                                 w->analysis()->encoding.typeIds.size() > 0 &&
                                 w->analysis()->encoding.typeIds.back() == 1,
                             kTimeout);
    const auto direct =
        analyse(*m_bert, QStringLiteral("the cat sat"), QStringLiteral("on the mat"));
    QCOMPARE(w->analysis()->encoding.ids, direct->encoding.ids);
    QVERIFY((w->heatmap()->matrix() - (*direct->attention(0, 0))).cwiseAbs().maxCoeff() <= 1e-6f);
    // Hidden special tokens shift the heatmap's rows; hovering still marks the right tokens.
    w->setPairText(QString());
    QTRY_VERIFY_WITH_TIMEOUT(!w->controller()->isBusy() && w->analysis() &&
                                 w->analysis()->encoding.typeIds.back() == 0,
                             kTimeout);
    w->setSpecialTokenMode(SpecialTokenMode::HideRenormalise);
    QCOMPARE(w->heatmap()->tokenCount(), w->analysis()->tokenCount() - 2);
    w->heatmap()->setHoveredCell({0, 1});
    auto* input = w->findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
    const auto marks = input->extraSelections();
    QCOMPARE(marks.size(), 2);
    const QString key = w->analysis()->encoding.tokens[2];
    QCOMPARE(marks[1].cursor.selectedText(), QStringLiteral("the")); // query: token 1, not [CLS]
    QVERIFY(key.startsWith(marks[0].cursor.selectedText()));         // key: token 2
    // GPT-2 has no token types: no pair field.
    auto g = readyWindow();
    QVERIFY(!g->findChild<QLineEdit*>(QStringLiteral("pairInput"))->isVisible());
}

void TestWorkbench::keyboardNavigation() {
    auto w = readyWindow();
    QVERIFY(QTest::qWaitForWindowActive(w.get()) || true);
    QTest::keyClick(w.get(), Qt::Key_Down, Qt::AltModifier);
    QCOMPARE(w->currentLayer(), 1);
    QTest::keyClick(w.get(), Qt::Key_Right, Qt::AltModifier);
    QTest::keyClick(w.get(), Qt::Key_Right, Qt::AltModifier);
    QCOMPARE(w->currentHead(), 2);
    QVERIFY((w->heatmap()->matrix() - (*w->analysis()->attention(1, 2))).cwiseAbs().maxCoeff() ==
            0);
    QTest::keyClick(w.get(), Qt::Key_3, Qt::ControlModifier);
    QCOMPARE(w->currentView(), MainWindow::View::Grid);
    QTest::keyClick(w.get(), Qt::Key_2, Qt::ControlModifier);
    QCOMPARE(w->currentView(), MainWindow::View::Links);
    QTest::keyClick(w.get(), Qt::Key_Up, Qt::AltModifier);
    QCOMPARE(w->currentLayer(), 0);
    // In the head list, the arrow keys move the selected head.
    auto* tree = w->findChild<QTreeView*>(QStringLiteral("headList"));
    tree->setFocus();
    QCOMPARE(tree->currentIndex(), w->headList()->headIndex(0, 2));
    QTest::keyClick(tree, Qt::Key_Down);
    QCOMPARE(w->currentHead(), 3);
    QCOMPARE(w->currentLayer(), 0);
    QCOMPARE(w->links()->renderer().title(), QStringLiteral("Layer 0 · 4 heads"));
}

void TestWorkbench::settingsRoundTrip() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("attnscope.ini"));
    {
        auto w = readyWindow();
        w->setView(MainWindow::View::Compare);
        w->setAggregate(Aggregate::Max);
        w->setSpecialTokenMode(SpecialTokenMode::Grey);
        w->setDarkTheme(true);
        w->compare()->setPaneCount(4);
        w->findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"))->setValue(0.25);
        w->compare()->setPaneHead(1, 1, 3);
        w->compare()->setPaneView(1, CompareView::PaneView::Links);
        w->grid()->setZoom(57);
        w->findChild<QComboBox*>(QStringLiteral("gridStatistic"))
            ->setCurrentIndex(int(TileStatistic::Confidence));
        QSettings settings(file, QSettings::IniFormat);
        w->saveSettings(settings);
    }
    MainWindow w;
    QSettings settings(file, QSettings::IniFormat);
    w.restoreSettings(settings);
    QCOMPARE(w.currentView(), MainWindow::View::Compare);
    QCOMPARE(w.compare()->paneCount(), 4);
    QCOMPARE(w.findChild<QComboBox*>(QStringLiteral("aggregateSelector"))->currentIndex(),
             int(Aggregate::Max));
    QCOMPARE(w.findChild<QComboBox*>(QStringLiteral("specialTokensSelector"))->currentIndex(),
             int(SpecialTokenMode::Grey));
    QCOMPARE(w.findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"))->value(), 0.25);
    QVERIFY(w.findChild<QAction*>(QStringLiteral("darkThemeAction"))->isChecked());
    // Pane heads wait for a model that has them.
    w.openModel(gpt2Path());
    w.show();
    QTRY_VERIFY_WITH_TIMEOUT(w.analysis() && w.analysis()->tokenCount() > 0, kTimeout);
    QCOMPARE(w.compare()->paneHead(1), std::make_pair(1, 3));
    QCOMPARE(w.compare()->paneView(1), CompareView::PaneView::Links);
    QCOMPARE(w.compare()->paneView(0), CompareView::PaneView::Heatmap);
    QVERIFY(!w.grid()->isFitting());
    QCOMPARE(w.grid()->tilePixels(), 57.0);
    QCOMPARE(w.grid()->tileStatistic(), TileStatistic::Confidence);
}

void TestWorkbench::imageModelPlaceholder() {
    MainWindow w;
    w.openModel(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/vit/model"));
    w.show();
    QTRY_VERIFY_WITH_TIMEOUT(w.controller()->model() != nullptr, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->isBusy(), kTimeout);
    QVERIFY2(!w.heatmap()->placeholder().contains(QStringLiteral("Loading")),
             qPrintable(w.heatmap()->placeholder()));
    // Image models switch the window to image mode on a bundled picture (issue 10).
    QVERIFY(w.isImageMode());
    QTRY_VERIFY_WITH_TIMEOUT(w.analysis() && w.analysis()->tokenCount() == 17, kTimeout);
    QCOMPARE(w.currentView(), MainWindow::View::Image);
}

void TestWorkbench::darkTheme() {
    auto w = readyWindow();
    w->setDarkTheme(true);
    const HeatmapRenderer& r = w->heatmap()->renderer();
    QCOMPARE(r.options().chrome.background, ChromePalette::forTheme(true).background);
    const QImage shot = w->heatmap()->grab().toImage();
    QCOMPARE(QColor(shot.pixel(2, 2)).rgb() & 0xffffff,
             ChromePalette::forTheme(true).background.rgb() & 0xffffff);
    // Data colours do not change with the theme.
    QCOMPARE(r.cellColor(3, 1), rgbAt(ColorMap::Viridis, (*w->analysis()->attention(0, 0))(3, 1)));
    w->setDarkTheme(false);
    QCOMPARE(w->heatmap()->renderer().options().chrome.background, QColor(Qt::white));
}

void TestWorkbench::exportCurrentView_data() {
    QTest::addColumn<int>("view");
    QTest::addColumn<QString>("file");
    const QStringList names{"heatmap", "links", "grid", "compare", "diff"};
    for (int v = 0; v < names.size(); ++v)
        for (const char* suffix : {"png", "svg"})
            QTest::addRow("%s.%s", qPrintable(names[v]), suffix)
                << v << names[v] + QStringLiteral(".") + suffix;
}

// File > Export view writes whatever view is showing, through the export renderers.
void TestWorkbench::exportCurrentView() {
    QFETCH(int, view);
    QFETCH(QString, file);
    QTemporaryDir dir;
    auto w = readyWindow();
    w->setView(MainWindow::View(view));
    const QString path = dir.filePath(file);
    const Status status = w->exportCurrentView(path);
    QVERIFY2(status.ok(), qPrintable(status.message()));
    QFile out(path);
    QVERIFY(out.open(QIODevice::ReadOnly));
    const QByteArray bytes = out.readAll();
    if (file.endsWith(QLatin1String(".png"))) {
        QImage image;
        QVERIFY(image.loadFromData(bytes, "PNG"));
        QVERIFY(image.width() >= 200);
    } else {
        QVERIFY(bytes.contains("<svg"));
        if (view != int(MainWindow::View::Grid)) QVERIFY(bytes.contains("mat"));
    }
    if (view == int(MainWindow::View::Compare) && file.endsWith(QLatin1String(".png"))) {
        // A pane showing token links is exported as token links.
        w->compare()->setPaneView(1, CompareView::PaneView::Links);
        const QString links = dir.filePath(QStringLiteral("links-pane.png"));
        QVERIFY(w->exportCurrentView(links).ok());
        const QImage withLinks(links), heatmaps(path);
        QCOMPARE(withLinks.size(), heatmaps.size());
        const int half = heatmaps.width() / 2;
        QCOMPARE(withLinks.copy(0, 0, half, heatmaps.height()),
                 heatmaps.copy(0, 0, half, heatmaps.height())); // pane 0 unchanged
        QVERIFY(withLinks != heatmaps);
    }
    if (view == int(MainWindow::View::Difference)) {
        w->difference()->setMode(DiffView::Mode::Inputs);
        QVERIFY(!w->exportCurrentView(path).ok()); // no other text yet: an error, not a figure
    }
}

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
