// The analyses views (ui/analysis_views): the head statistics table model (under
// QAbstractItemModelTester), its sortable proxy, "heads like this", statistics over a file in
// the background; rollout and flow panels computed off the GUI thread (the window keeps
// painting while flow runs, and Cancel stops it); the docks in the main window.
#include "analyses/flow.h"
#include "analyses/head_statistics.h"
#include "analyses/norms.h"
#include "analyses/rollout.h"
#include "analysis_views/head_table_model.h"
#include "analysis_views/head_table_panel.h"
#include "analysis_views/rollout_panel.h"
#include "grid/grid_renderer.h"
#include "heatmap_widget.h"
#include "links/links_widget.h"
#include "main_window.h"

#include <QAbstractItemModelTester>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <random>

using namespace attnscope;

namespace {

constexpr int kTimeout = 30000;

QString oracleModel(const QString& family) {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/") + family + QStringLiteral("/model");
}

std::shared_ptr<const Analysis> analyse(const LoadedModel& model, const QString& text) {
    AnalysisRequest r;
    r.text = text;
    auto a = model.analyze(r);
    return a ? std::make_shared<const Analysis>(std::move(*a)) : nullptr;
}

// A random analysis of L layers × H heads × T tokens, rows softmax-like (for flow timing).
std::shared_ptr<const Analysis> randomAnalysis(int L, int H, int T, unsigned seed) {
    std::mt19937 rng(seed);
    std::exponential_distribution<float> e(1.0f);
    auto a = std::make_shared<Analysis>();
    a->forward.layers.resize(size_t(L));
    for (auto& layer : a->forward.layers)
        for (int h = 0; h < H; ++h) {
            Mat m(T, T);
            for (int i = 0; i < T; ++i) {
                for (int j = 0; j < T; ++j)
                    m(i, j) = std::pow(e(rng), 4.0f); // peaky rows
                m.row(i) /= m.row(i).sum();
            }
            layer.attention.push_back(m);
        }
    for (int t = 0; t < T; ++t) {
        a->encoding.ids.push_back(t);
        a->encoding.tokens << QStringLiteral("t%1").arg(t);
        a->encoding.offsets.emplace_back(0, 0);
        a->displayTokens << QStringLiteral("t%1").arg(t);
    }
    return a;
}

} // namespace

class TestAnalysisViews : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<const LoadedModel> m_bert;

private slots:
    void initTestCase() {
        auto model = LoadedModel::open(oracleModel(QStringLiteral("bert")));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        m_bert = *model;
    }

    void tableModelSortsNumbers_data() {
        QTest::addColumn<int>("column");
        for (int c = HeadTableModel::LayerColumn; c < HeadTableModel::LikeColumn; ++c)
            QTest::addRow("%s", qPrintable(HeadTableModel::columnName(c))) << c;
    }

    void tableModelSortsNumbers() {
        QFETCH(int, column);
        const auto analysis =
            analyse(*m_bert, QStringLiteral("Where is the cat? The cat is on the mat."));
        QVERIFY(analysis);
        HeadTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(HeadTableModel::SortRole);
        QAbstractItemModelTester proxyTester(
            &proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const auto stats = headStatistics(
            *analysis, tokenClasses(*analysis, m_bert->tokenizer(), &m_bert->config()));
        model.setStatistics(stats, QStringLiteral("tokens"));
        QCOMPARE(model.rowCount(), analysis->layerCount() * analysis->headCount());
        QCOMPARE(model.columnCount(), int(HeadTableModel::Columns));
        proxy.sort(column, Qt::DescendingOrder);
        double previous = 1e300;
        for (int r = 0; r < proxy.rowCount(); ++r) {
            const double v = proxy.index(r, column).data(HeadTableModel::SortRole).toDouble();
            QVERIFY(v <= previous);
            previous = v;
            // The row's numbers are that head's statistics.
            const int layer = proxy.index(r, 0).data(HeadTableModel::LayerRole).toInt();
            const int head = proxy.index(r, 0).data(HeadTableModel::HeadRole).toInt();
            const HeadStatistics& s = stats[size_t(layer * analysis->headCount() + head)];
            QCOMPARE(proxy.index(r, HeadTableModel::PreviousColumn)
                         .data(HeadTableModel::SortRole)
                         .toDouble(),
                     s.previousToken);
            QCOMPARE(proxy.index(r, HeadTableModel::SpecialColumn)
                         .data(HeadTableModel::SortRole)
                         .toDouble(),
                     s.specialTokens);
            QVERIFY(!proxy.index(r, column).data(Qt::DisplayRole).toString().isEmpty());
            QCOMPARE(proxy.headerData(r, Qt::Vertical).toString(),
                     QStringLiteral("L%1 H%2").arg(layer).arg(head));
        }
        QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
        // Similarity column, then a reset.
        std::vector<double> d(stats.size());
        for (size_t i = 0; i < d.size(); ++i)
            d[i] = double(d.size() - i);
        model.setSimilarity(1, 2, d);
        QCOMPARE(model.headerData(HeadTableModel::LikeColumn, Qt::Horizontal).toString(),
                 QStringLiteral("JS to 1.2"));
        proxy.sort(HeadTableModel::LikeColumn, Qt::AscendingOrder);
        QCOMPARE(
            proxy.index(0, HeadTableModel::LikeColumn).data(HeadTableModel::SortRole).toDouble(),
            1.0);
        model.setStatistics({}, QStringLiteral("px"));
        QCOMPARE(model.rowCount(), 0);
    }

    void headsLikeThisSortsByDivergence() {
        const auto analysis =
            analyse(*m_bert, QStringLiteral("the cat sat on the mat because it was tired."));
        HeadTablePanel panel;
        panel.setModel(m_bert);
        panel.show();
        panel.setAnalysis(analysis);
        QCOMPARE(panel.tableModel()->rowCount(), analysis->layerCount() * analysis->headCount());
        QVERIFY(panel.caption().contains(QStringLiteral("%1 tokens").arg(analysis->tokenCount())));
        panel.showHeadsLike(1, 3);
        const QSortFilterProxyModel* proxy = panel.proxy();
        QCOMPARE(
            proxy->index(0, HeadTableModel::LayerColumn).data(HeadTableModel::LayerRole).toInt(),
            1);
        QCOMPARE(
            proxy->index(0, HeadTableModel::LayerColumn).data(HeadTableModel::HeadRole).toInt(), 3);
        QCOMPARE(
            proxy->index(0, HeadTableModel::LikeColumn).data(HeadTableModel::SortRole).toDouble(),
            0.0);
        const std::vector<SimilarHead> like = headsLike(*analysis, 1, 3);
        for (int r = 1; r < proxy->rowCount(); ++r) {
            QCOMPARE(proxy->index(r, 0).data(HeadTableModel::LayerRole).toInt(),
                     like[size_t(r - 1)].layer);
            QCOMPARE(proxy->index(r, 0).data(HeadTableModel::HeadRole).toInt(),
                     like[size_t(r - 1)].head);
        }
        // Clicking a row asks the window for that head.
        QSignalSpy activated(&panel, &HeadTablePanel::headActivated);
        const QModelIndex second = proxy->index(1, 2);
        panel.view()->scrollTo(second);
        QTest::mouseClick(panel.view()->viewport(), Qt::LeftButton, {},
                          panel.view()->visualRect(second).center());
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().at(0).toInt(), like[0].layer);
        QCOMPARE(activated.first().at(1).toInt(), like[0].head);
    }

    void statisticsOverFile() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("inputs.txt"));
        const QStringList lines{QStringLiteral("the cat sat on the mat."),
                                QStringLiteral("hello, world!"), QStringLiteral("where is it?")};
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(lines.join(QLatin1Char('\n')).toUtf8());
        }
        HeadTablePanel panel;
        panel.setModel(m_bert);
        panel.show();
        panel.setAnalysis(analyse(*m_bert, QStringLiteral("x y")));
        QSignalSpy done(&panel, &HeadTablePanel::fileStatisticsDone);
        panel.startFileStatistics(path);
        QVERIFY(panel.isBusy() || done.count() == 1);
        QVERIFY(done.count() == 1 || done.wait(kTimeout));
        QVERIFY(panel.showsFile());
        QVERIFY2(panel.caption().contains(QStringLiteral("3 inputs")), qPrintable(panel.caption()));
        std::vector<AnalysisRequest> requests;
        for (const QString& line : lines) {
            AnalysisRequest r;
            r.text = line;
            requests.push_back(r);
        }
        const auto want = headStatisticsOverInputs(*m_bert, requests).value();
        const HeadTableModel* model = panel.tableModel();
        QCOMPARE(model->rowCount(), int(want.size()));
        for (int r = 0; r < model->rowCount(); ++r) {
            QCOMPARE(model->index(r, HeadTableModel::PunctuationColumn)
                         .data(HeadTableModel::SortRole)
                         .toDouble(),
                     want[size_t(r)].punctuation);
            QCOMPARE(model->index(r, HeadTableModel::EntropyColumn)
                         .data(HeadTableModel::SortRole)
                         .toDouble(),
                     want[size_t(r)].entropy);
        }
        // A new analysis does not replace the file's statistics; "This text" does.
        panel.setAnalysis(analyse(*m_bert, QStringLiteral("one two three")));
        QVERIFY(panel.showsFile());
        panel.showCurrentText();
        QVERIFY(!panel.showsFile());
        QVERIFY(panel.caption().contains(QStringLiteral("This text")));
        // A missing file: a message, no crash, still on the text.
        panel.startFileStatistics(dir.filePath(QStringLiteral("missing.txt")));
        QVERIFY(panel.caption().contains(QStringLiteral("Cannot read")));
    }

    void rolloutPanelShowsRollout() {
        const auto analysis = analyse(*m_bert, QStringLiteral("the cat sat on the mat."));
        RolloutPanel panel;
        panel.resize(700, 700);
        panel.show();
        QSignalSpy shown(&panel, &RolloutPanel::resultShown);
        panel.setOptions({HeadFusion::Max, 0.1});
        panel.setAnalysis(analysis);
        QVERIFY(shown.count() > 0 || shown.wait(kTimeout));
        const Mat want = attentionRollout(*analysis, {HeadFusion::Max, 0.1}).value();
        QCOMPARE(panel.heatmap()->tokenCount(), analysis->tokenCount());
        QVERIFY((panel.heatmap()->matrix() - want).cwiseAbs().maxCoeff() == 0.0f);
        QVERIFY(!panel.patchGrid()->isVisible());
        // The same matrix as token links.
        panel.setShowLinks(true);
        QVERIFY(panel.links()->isVisible() && !panel.heatmap()->isVisible());
        QCOMPARE(int(panel.links()->renderer().heads().size()), 1);
        QVERIFY(panel.links()->renderer().heads()[0].links ==
                LinkWeights::above(want, linksKeptFloor(panel.links()->renderer().threshold())));
        QCOMPARE(panel.links()->renderer().tokenCount(), analysis->tokenCount());
        panel.setShowLinks(false);
        QVERIFY(panel.heatmap()->isVisible());

        // Flow on demand, same numbers as the core.
        shown.clear();
        panel.setKind(RolloutPanel::Kind::Flow);
        QVERIFY(panel.heatmap()->matrix().size() == 0); // cleared until asked
        panel.computeFlow();
        QVERIFY(shown.wait(kTimeout));
        const Mat flow = attentionFlow(*analysis, {HeadFusion::Max, 0.1}).value();
        QVERIFY((panel.heatmap()->matrix() - flow).cwiseAbs().maxCoeff() == 0.0f);
        QVERIFY(panel.statusText().contains(QStringLiteral("ms")));
    }

    void rolloutPanelShowsNorms() {
        // Norm-based attention of a layer and of one head, equal to the core's computation.
        const auto analysis = analyse(*m_bert, QStringLiteral("the cat sat on the mat."));
        RolloutPanel panel;
        panel.resize(700, 700);
        panel.show();
        panel.setModel(m_bert);
        panel.setAnalysis(analysis);
        QSignalSpy shown(&panel, &RolloutPanel::resultShown);
        panel.setKind(RolloutPanel::Kind::Norms);
        QVERIFY(shown.count() > 0 || shown.wait(kTimeout));
        const NormAttention want = normBasedAttention(*analysis, *m_bert).value();
        const Eigen::Index T = analysis->tokenCount();
        const ConstMatMap layer0(want.perLayer.data.data(), T, T);
        QVERIFY((panel.heatmap()->matrix() - layer0).cwiseAbs().maxCoeff() == 0.0f);
        shown.clear();
        panel.setNormsLayerHead(1, 2);
        QVERIFY(shown.wait(kTimeout));
        const ConstMatMap head12(want.perHead.data.data() + (1 * analysis->headCount() + 2) * T * T,
                                 T, T);
        QVERIFY((panel.heatmap()->matrix() - head12).cwiseAbs().maxCoeff() == 0.0f);
        // Another model's analysis: said, not computed with the wrong weights.
        shown.clear();
        auto gpt2 = LoadedModel::open(oracleModel(QStringLiteral("gpt2")));
        QVERIFY(gpt2.ok());
        panel.setAnalysis(analyse(**gpt2, QStringLiteral("the cat sat")));
        QVERIFY(panel.heatmap()->matrix().size() == 0);
    }

    void rolloutPanelImageGrid() {
        auto vit = LoadedModel::open(oracleModel(QStringLiteral("vit")));
        QVERIFY(vit.ok());
        AnalysisRequest r;
        const int side = (*vit)->config().imageSize;
        r.pixelValues.shape = {3, side, side};
        r.pixelValues.data.assign(size_t(3 * side * side), 0.25f);
        for (size_t i = 0; i < r.pixelValues.data.size(); i += 7)
            r.pixelValues.data[i] = -0.5f;
        auto a = (*vit)->analyze(r);
        QVERIFY(a.ok());
        const auto analysis = std::make_shared<const Analysis>(std::move(*a));
        RolloutPanel panel;
        panel.resize(700, 900);
        panel.setImageModel(true);
        panel.show();
        QSignalSpy shown(&panel, &RolloutPanel::resultShown);
        panel.setAnalysis(analysis);
        QVERIFY(shown.count() > 0 || shown.wait(kTimeout));
        QVERIFY(panel.patchGrid()->isVisible());
        const Mat grid = clsPatchGrid(attentionRollout(*analysis).value()).value();
        QCOMPARE(panel.patchGrid()->matrix().rows(), grid.rows());
        QVERIFY((panel.patchGrid()->matrix() - grid / grid.maxCoeff()).cwiseAbs().maxCoeff() <
                1e-6f);
        QVERIFY(grid.maxCoeff() > 0);
    }

    // Flow on a 12-layer, 12-head, 64-token analysis runs on a worker: the GUI thread keeps
    // handling events (a 10 ms timer keeps firing), progress arrives, and Cancel stops it.
    void flowKeepsWindowResponsiveAndCancels() {
        const auto analysis = randomAnalysis(12, 12, 64, 7);
        RolloutPanel panel;
        panel.show();
        panel.setKind(RolloutPanel::Kind::Flow);
        panel.setAnalysis(analysis);
        QSignalSpy shown(&panel, &RolloutPanel::resultShown);
        QElapsedTimer clock;
        qint64 last = 0, worstGap = 0;
        int ticks = 0;
        QTimer timer;
        timer.setInterval(10);
        connect(&timer, &QTimer::timeout, this, [&] {
            const qint64 now = clock.elapsed();
            worstGap = std::max(worstGap, now - last);
            last = now;
            ++ticks;
        });
        auto* progress = panel.findChild<QProgressBar*>(QStringLiteral("flowProgress"));
        QVERIFY(progress);
        clock.start();
        timer.start();
        panel.computeFlow();
        QVERIFY(panel.isBusy());
        QVERIFY(QTest::qWaitFor([&] { return progress->value() >= 2 * 64; }, kTimeout));
        panel.cancel();
        QVERIFY(!panel.isBusy());
        QTest::qWait(300);
        timer.stop();
        QCOMPARE(shown.count(), 0); // cancelled: nothing drawn
        QVERIFY(panel.statusText().contains(QStringLiteral("Cancelled")));
        qInfo("GUI timer: %d ticks in %lld ms, longest gap %lld ms", ticks, clock.elapsed(),
              worstGap);
        QVERIFY2(worstGap < 250, qPrintable(QString::number(worstGap)));
    }

    void gridFramesByNewStatistics() {
        const auto analysis = analyse(*m_bert, QStringLiteral("Hello, world. [SEP] again!"));
        const auto stats = headStatistics(*analysis);
        const auto special = tileStatisticValues(*analysis, TileStatistic::SpecialTokens);
        const auto punct = tileStatisticValues(*analysis, TileStatistic::Punctuation);
        const auto distance = tileStatisticValues(*analysis, TileStatistic::Distance);
        QCOMPARE(special.size(), stats.size());
        double farthest = 0;
        for (const auto& s : stats)
            farthest = std::max(farthest, s.meanDistance);
        for (size_t i = 0; i < stats.size(); ++i) {
            QCOMPARE(special[i], stats[i].specialTokens);
            QCOMPARE(punct[i], stats[i].punctuation);
            QCOMPARE(distance[i], stats[i].meanDistance / farthest);
        }
        QCOMPARE(tileStatisticNames().size(), int(TileStatistic::Distance) + 1);
    }

    void docksInMainWindow() {
        MainWindow w;
        w.openModel(oracleModel(QStringLiteral("bert")));
        w.show();
        QVERIFY(
            QTest::qWaitFor([&] { return w.analysis() && !w.controller()->isBusy(); }, kTimeout));
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("headStatisticsDock"));
        auto* rolloutDock = w.findChild<QDockWidget*>(QStringLiteral("rolloutDock"));
        QVERIFY(dock && rolloutDock);
        QVERIFY(!dock->isVisible());
        dock->toggleViewAction()->trigger();
        QVERIFY(dock->isVisible());
        auto* panel = w.findChild<HeadTablePanel*>();
        QVERIFY(panel);
        QCOMPARE(panel->tableModel()->rowCount(),
                 w.analysis()->layerCount() * w.analysis()->headCount());
        emit panel->headActivated(1, 2);
        QCOMPARE(w.currentLayer(), 1);
        QCOMPARE(w.currentHead(), 2);
        // "Heads like this" without a selected row uses the window's head.
        panel->view()->clearSelection();
        panel->findChild<QPushButton*>(QStringLiteral("headsLike"))->click();
        QCOMPARE(panel->tableModel()->similarityReference(), (std::pair{1, 2}));

        rolloutDock->toggleViewAction()->trigger();
        rolloutDock->raise(); // tabbed with the table: its tab in front
        auto* rollout = w.findChild<RolloutPanel*>();
        QVERIFY(QTest::qWaitFor([&] { return rollout->result().size() > 0; }, kTimeout));
        const Mat want = attentionRollout(*w.analysis()).value();
        QVERIFY((rollout->result() - want).cwiseAbs().maxCoeff() == 0.0f);
        // The window's dark theme reaches the rollout heatmap and links.
        w.setDarkTheme(true);
        QCOMPARE(rollout->heatmap()->renderer().options().chrome.background,
                 ChromePalette::forTheme(true).background);
        QCOMPARE(rollout->links()->renderer().chrome().background,
                 ChromePalette::forTheme(true).background);
    }
};

QTEST_MAIN(TestAnalysisViews)
#include "tst_analysis_views.moc"
