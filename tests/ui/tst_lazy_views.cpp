// The views with lazy heads (core/lazy_heads.h), the eager-attention budget forced to 0: the
// heatmap renderer and the grid's tiles give the same pixels as with eager attention, the grid
// colours its tiles in the background with progress, and the window shows a head computed off
// the GUI thread ("Computing …" meanwhile).
#include "analysis_controller.h"
#include "figure_export.h"
#include "grid/grid_widget.h"
#include "heatmap_export.h"
#include "heatmap_widget.h"
#include "main_window.h"

#include <QLabel>
#include <QPainter>
#include <QSignalSpy>
#include <QtTest>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
constexpr int kTimeout = 20000;

struct Pair {
    std::shared_ptr<const Analysis> eager, lazy;
};

Pair analyseBoth(const QString& family, int tokens) {
    auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
    if (!model) return {};
    AnalysisRequest request;
    request.keep = KeepOptions::attentionOnly();
    for (int i = 0; i < tokens; ++i)
        request.ids.push_back(5 + (i * 37) % 300);
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    auto eager = (*model)->analyze(request);
    qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
    auto lazy = (*model)->analyze(request);
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    if (!eager || !lazy) return {};
    return {std::make_shared<const Analysis>(std::move(*eager)),
            std::make_shared<const Analysis>(std::move(*lazy))};
}

QImage paintHeatmap(const Analysis& analysis, int layer, int head) {
    HeatmapRenderer r;
    configureRenderer(r, analysis, layer, head);
    QImage image(QSize(420, 380), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    r.paint(p, QRectF(QPointF(0, 0), QSizeF(image.size())));
    return image;
}
} // namespace

class TestLazyViews : public QObject {
    Q_OBJECT
private slots:
    void heatmapSamePixels_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        QTest::newRow("llama (causal, GQA)") << QStringLiteral("llama") << 30;
        QTest::newRow("bert (encoder)") << QStringLiteral("bert") << 20;
        QTest::newRow("gpt2 (causal)") << QStringLiteral("gpt2") << 25;
    }
    void heatmapSamePixels() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        const Pair both = analyseBoth(family, tokens);
        QVERIFY(both.eager && both.lazy && both.lazy->hasLazyAttention());
        for (const auto& [l, h] : {std::pair{0, 0}, std::pair{1, 3}}) {
            const QImage eager = paintHeatmap(*both.eager, l, h);
            QVERIFY(eager != QImage(eager.size(), eager.format())); // something was drawn
            QCOMPARE(paintHeatmap(*both.lazy, l, h), eager);
        }
    }

    void gridTilesSamePixels_data() {
        QTest::addColumn<int>("special"); // SpecialTokenMode
        QTest::addColumn<bool>("dark");
        QTest::newRow("shown") << int(SpecialTokenMode::Show) << false;
        QTest::newRow("greyed, dark") << int(SpecialTokenMode::Grey) << true;
        QTest::newRow("hidden") << int(SpecialTokenMode::HideRenormalise) << false;
    }
    void gridTilesSamePixels() {
        QFETCH(int, special);
        QFETCH(bool, dark);
        const Pair both = analyseBoth(QStringLiteral("llama"), 40);
        QVERIFY(both.eager && both.lazy);
        ViewState state;
        state.specialTokens = SpecialTokenMode(special);
        state.dark = dark;
        GridRenderer eager, lazy;
        eager.setAnalysis(both.eager, state);
        lazy.setAnalysis(both.lazy, state);
        QVERIFY(!eager.usesBackgroundTiles());
        QVERIFY(lazy.usesBackgroundTiles());
        QVERIFY(lazy.thumbnail(0, 0).isNull()); // never coloured on the GUI thread
        for (int l = 0; l < both.eager->layerCount(); ++l)
            for (int h = 0; h < both.eager->headCount(); ++h)
                QCOMPARE(GridRenderer::colourTile(*both.lazy, state, l, h), eager.thumbnail(l, h));
        QCOMPARE(both.lazy->forward.headCache.size(), 0); // tiles do not fill the cache
    }

    // A grid figure (File → Export Figure, `export --view grid`) has no background to wait for:
    // its tiles of a lazy analysis are coloured when the figure is prepared, as the eager ones.
    void gridFigureSamePixels() {
        const Pair both = analyseBoth(QStringLiteral("llama"), 40);
        QVERIFY(both.eager && both.lazy && both.lazy->hasLazyAttention());
        FigureRequest request;
        request.view = FigureView::Grid;
        auto eager = prepareFigure(both.eager, request);
        auto lazy = prepareFigure(both.lazy, request);
        QVERIFY2(eager.ok() && lazy.ok(), "figures prepared");
        const QImage eagerImage = figureImage(*eager, 1);
        QVERIFY(eagerImage.size() == figureImage(*lazy, 1).size());
        QCOMPARE(figureImage(*lazy, 1), eagerImage);
    }

    void gridViewColoursTilesInBackground() {
        const Pair both = analyseBoth(QStringLiteral("qwen2"), 200);
        QVERIFY(both.eager && both.lazy);
        GridView view;
        view.canvas()->renderer().setMaxTileCells(64); // 200 tokens pooled to 64 cells
        view.resize(700, 500);
        view.show();
        QSignalSpy progress(&view, &GridView::tilesProgress);
        ViewState state;
        view.setContent(both.lazy, state);
        QVERIFY(view.isComputingTiles());
        auto* label = view.findChild<QLabel*>(QStringLiteral("gridTilesProgress"));
        QVERIFY(label && label->isVisible());
        const GridRenderer& r = view.canvas()->renderer();
        const int heads = both.eager->layerCount() * both.eager->headCount();
        QVERIFY(QTest::qWaitFor([&] { return !view.isComputingTiles(); }, kTimeout));
        QCOMPARE(progress.count(), both.eager->layerCount()); // one report per layer
        QCOMPARE(progress.last().at(0).toInt(), heads);
        QVERIFY(!label->isVisible());
        for (int l = 0; l < both.eager->layerCount(); ++l)
            for (int h = 0; h < both.eager->headCount(); ++h) {
                // Max-pooled 200 -> 64: each tile cell the largest weight of its block.
                const Mat pooled = maxPool(*both.eager->attention(l, h), 64);
                HeatmapRenderer colours;
                colours.setOptions(state.heatmapOptions());
                colours.setMatrix(pooled);
                const QImage& tile = r.thumbnail(l, h);
                QCOMPARE(tile.size(), QSize(64, 64));
                for (int y : {0, 17, 40, 63})
                    for (int x : {0, 3, 17, 63})
                        QCOMPARE(tile.pixel(x, y), colours.cellColor(y, x));
            }
        // The same analysis and colours again: nothing recomputed.
        view.setContent(both.lazy, state);
        QVERIFY(!view.isComputingTiles());
    }

    void windowComputesHeadOffGuiThread() {
        qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        MainWindow w;
        w.openModel(kOracle + QStringLiteral("llama/model"));
        w.show();
        auto* heatmap = w.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
        QVERIFY(heatmap);
        w.setText(QStringLiteral("The cat sat on the mat because it was tired."));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.analysis() && w.analysis()->text.startsWith(QStringLiteral("The cat")) &&
                       !w.controller()->isBusy() && heatmap->tokenCount() > 0;
            },
            kTimeout));
        QVERIFY(w.analysis()->hasLazyAttention());
        w.setLayerHead(1, 2);
        QVERIFY(QTest::qWaitFor(
            [&] {
                return heatmap->tokenCount() > 0 &&
                       (heatmap->matrix() - *w.analysis()->attention(1, 2)).cwiseAbs().maxCoeff() ==
                           0;
            },
            kTimeout));
        qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
        // The same head of an eager pass.
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.text = w.analysis()->text;
        auto eager = (*model)->analyze(request);
        QVERIFY(eager.ok() && !eager->hasLazyAttention());
        QCOMPARE(heatmap->matrix(), *eager->attention(1, 2));
    }
};

QTEST_MAIN(TestLazyViews)
#include "tst_lazy_views.moc"
