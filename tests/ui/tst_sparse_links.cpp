// Token links keep each head's links above a floor (LinkWeights), not its dense [n, n] matrix.
// A renderer built from them paints exactly what one built from every weight of the dense heads
// paints (pixels and SVG, thresholds at and above the floor, focused tokens, greyed labels), its
// lines carry the heads' own floats, it stores no more than its links, and the window rebuilds
// the links from the heads (on the pool for lazy heads, older requests dropped) when the
// threshold goes below the floor they were kept at.
#include "compare/compare_view.h"
#include "figures.h"
#include "head_requests.h"
#include "links/links_widget.h"
#include "main_window.h"

#include <QBuffer>
#include <QDoubleSpinBox>
#include <QPainter>
#include <QRandomGenerator>
#include <QSvgGenerator>
#include <QtTest>
#include <cmath>
#include <limits>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
constexpr int kTimeout = 20000;
constexpr double kEverything = -std::numeric_limits<double>::infinity(); // every weight kept

// Causal heads whose rows sum to 1, peaked like real attention (a few large weights per row) and
// with exact zeros (so that a floor of 0 keeps fewer than every weight): [tokens, tokens] each.
std::vector<Mat> randomHeads(int count, int tokens, quint32 seed) {
    QRandomGenerator rng(seed);
    std::vector<Mat> heads;
    for (int h = 0; h < count; ++h) {
        Mat m = Mat::Zero(tokens, tokens);
        for (int r = 0; r < tokens; ++r) {
            for (int c = 0; c <= r; ++c)
                m(r, c) = c == r || rng.generateDouble() < 0.4
                              ? float(std::pow(rng.generateDouble(), 6.0)) + 1e-6f
                              : 0.0f;
            m.row(r) /= m.row(r).sum();
        }
        heads.push_back(std::move(m));
    }
    return heads;
}

// The GPT-2 fixture's 4 heads of layer 1 on the sample text: [T, T] each.
std::vector<Mat> gpt2Heads() {
    auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
    if (!model) return {};
    AnalysisRequest request;
    request.text = MainWindow::sampleText();
    auto analysis = (*model)->analyze(request);
    if (!analysis) return {};
    std::vector<Mat> heads;
    for (int h = 0; h < analysis->headCount(); ++h)
        heads.push_back(*analysis->attention(1, h));
    return heads;
}

std::vector<Mat> headsOf(const QString& source) {
    return source == QLatin1String("gpt2") ? gpt2Heads() : randomHeads(3, 90, 11);
}

LinksRenderer renderer(const std::vector<Mat>& dense, double floor, double threshold, bool greyed,
                       int focus, LinkSide side) {
    const int n = int(dense.front().rows());
    QStringList labels;
    std::vector<bool> grey;
    for (int i = 0; i < n; ++i) {
        labels << QStringLiteral("tok%1").arg(i);
        grey.push_back(greyed && i % 3 == 0);
    }
    LinksRenderer r;
    r.setTokens(labels, grey);
    std::vector<LinkHead> heads;
    for (size_t h = 0; h < dense.size(); ++h)
        heads.push_back({LinkWeights::above(dense[h], floor), categoricalColor(int(h)),
                         QStringLiteral("H%1").arg(h)});
    r.setHeads(std::move(heads));
    r.setTitle(QStringLiteral("Layer 1 · %1 heads").arg(dense.size()));
    r.setThreshold(threshold);
    r.setFocus(focus, side);
    return r;
}

QImage paintPixels(const LinksRenderer& r, bool clipped) {
    const QSize size(760, int(r.preferredHeight()));
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter p(&image);
    if (clipped) p.setClipRect(QRect(0, size.height() / 3, size.width(), size.height() / 3));
    r.paint(p, QRectF(QPointF(0, 0), QSizeF(size)));
    return image;
}

QByteArray paintSvg(const LinksRenderer& r) {
    QBuffer buffer;
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(QSize(760, int(r.preferredHeight())));
    svg.setViewBox(QRect(QPoint(0, 0), svg.size()));
    QPainter p(&svg);
    r.paint(p, QRectF(QPointF(0, 0), QSizeF(svg.size())));
    p.end();
    return buffer.data();
}

// The lines the dense heads give, found here without LinkWeights: head, query, key order.
std::vector<LinkLine> denseLines(const std::vector<Mat>& dense, double threshold, int focus,
                                 LinkSide side) {
    std::vector<LinkLine> lines;
    for (int h = 0; h < int(dense.size()); ++h)
        for (int q = 0; q < dense[size_t(h)].rows(); ++q)
            for (int k = 0; k < dense[size_t(h)].cols(); ++k) {
                const float v = dense[size_t(h)](q, k);
                if (!(v > threshold)) continue;
                if (focus >= 0 && (side == LinkSide::Query ? q : k) != focus) continue;
                lines.push_back({q, k, h, v});
            }
    return lines;
}

// The window shown on the GPT-2 fixture, its analysis done, the link threshold spin box set to
// `threshold`; the spin box, or null when the window did not get there.
QDoubleSpinBox* openGpt2AtThreshold(MainWindow& w, double threshold) {
    w.openModel(kOracle + QStringLiteral("gpt2/model"));
    w.show();
    if (!QTest::qWaitFor([&] { return w.analysis() && !w.controller()->isBusy(); }, kTimeout))
        return nullptr;
    auto* spin = w.findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"));
    if (spin) spin->setValue(threshold);
    return spin;
}

size_t countAbove(const Mat& m, double floor) {
    return size_t((m.cast<double>().array() > floor).count());
}
} // namespace

class TestSparseLinks : public QObject {
    Q_OBJECT
private slots:
    void samePaintsAsDense_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<double>("threshold");
        QTest::addColumn<int>("focus"); // -1: none
        QTest::addColumn<bool>("keyFocus");
        QTest::addColumn<bool>("greyed");
        for (const char* source : {"gpt2", "random"})
            for (double t : {0.0, 0.05, 0.2, 0.6}) {
                QTest::addRow("%s, t=%.2f", source, t) << source << t << -1 << false << false;
                QTest::addRow("%s, t=%.2f, query focused", source, t)
                    << source << t << 7 << false << false;
                QTest::addRow("%s, t=%.2f, key focused", source, t)
                    << source << t << 2 << true << false;
                QTest::addRow("%s, t=%.2f, greyed", source, t)
                    << source << t << -1 << false << true;
            }
    }

    // Kept above the threshold itself and above the view's floor for it, the links paint the
    // same pixels (whole figure and a clipped window of rows) and the same SVG as every weight of
    // the dense heads, and give the dense heads' lines with their exact weights.
    void samePaintsAsDense() {
        QFETCH(QString, source);
        QFETCH(double, threshold);
        QFETCH(int, focus);
        QFETCH(bool, keyFocus);
        QFETCH(bool, greyed);
        const std::vector<Mat> dense = headsOf(source);
        QVERIFY(!dense.empty());
        const LinkSide side = keyFocus ? LinkSide::Key : LinkSide::Query;
        const LinksRenderer full = renderer(dense, kEverything, threshold, greyed, focus, side);
        QCOMPARE(full.keptLinkCount(), dense.size() * size_t(dense[0].size()));
        const std::vector<LinkLine> want = denseLines(dense, threshold, focus, side);
        QVERIFY(!want.empty() || focus >= 0); // a focused row may have none over 0.6
        QVERIFY(full.visibleLinks() == want);
        const QImage pixels = paintPixels(full, false), clipped = paintPixels(full, true);
        const QByteArray svg = paintSvg(full);
        if (!want.empty()) QVERIFY(svg.contains("<path") || svg.contains("<polyline"));
        for (double floor : {threshold, linksKeptFloor(threshold)}) {
            const LinksRenderer sparse = renderer(dense, floor, threshold, greyed, focus, side);
            QCOMPARE(sparse.keptFloor(), floor);
            QVERIFY(sparse.keptLinkCount() < full.keptLinkCount());
            QVERIFY(sparse.visibleLinks() == want);
            QCOMPARE(paintPixels(sparse, false), pixels);
            QCOMPARE(paintPixels(sparse, true), clipped);
            QCOMPARE(paintSvg(sparse), svg);
        }
    }

    void storedSizeBoundedByLinks_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<double>("floor");
        for (const char* source : {"gpt2", "random"})
            for (double floor : {0.0, 0.01, 0.02, 0.05, 0.3})
                QTest::addRow("%s, floor=%.2f", source, floor) << source << floor;
    }

    // A head keeps exactly its weights above the floor, in (n + 1) row starts plus a key and a
    // weight per link; rows summing to 1 keep fewer than 1 / floor links each.
    void storedSizeBoundedByLinks() {
        QFETCH(QString, source);
        QFETCH(double, floor);
        for (const Mat& head : headsOf(source)) {
            const LinkWeights kept = LinkWeights::above(head, floor);
            const size_t n = size_t(head.rows()), links = countAbove(head, floor);
            QCOMPARE(kept.size(), int(n));
            QCOMPARE(kept.linkCount(), links);
            QCOMPARE(kept.storedBytes(), (n + 1) * sizeof(size_t) + links * 8);
            if (floor > 0) QVERIFY(double(links) < double(n) / floor);
            size_t rows = 0;
            for (int q = 0; q < int(n); ++q) {
                QCOMPARE(kept.keys(q).size(), kept.weights(q).size());
                for (size_t i = 0; i < kept.keys(q).size(); ++i)
                    QCOMPARE(kept.weights(q)[i], head(q, kept.keys(q)[i]));
                rows += kept.keys(q).size();
            }
            QCOMPARE(rows, links);
        }
    }

    void figureKeepsLinksAboveFloor_data() {
        QTest::addColumn<double>("threshold");
        for (double t : {0.0, 0.01, 0.05, 0.5})
            QTest::addRow("t=%.2f", t) << t;
    }

    // linksFigure (the window's and export's token links) keeps each checked head above
    // linksKeptFloor(threshold): the count of those weights, not T * T per head.
    void figureKeepsLinksAboveFloor() {
        QFETCH(double, threshold);
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.text = MainWindow::sampleText();
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis.ok());
        ViewState state;
        state.layer = 1;
        state.linkThreshold = threshold;
        state.checked.reset(analysis->layerCount(), analysis->headCount(), true);
        const LinksRenderer r = linksFigure(*analysis, state);
        const double floor = linksKeptFloor(threshold);
        QCOMPARE(r.keptFloor(), floor);
        size_t links = 0;
        for (int h = 0; h < analysis->headCount(); ++h)
            links += countAbove(*analysis->attention(1, h), floor);
        QCOMPARE(r.keptLinkCount(), links);
        const size_t t = size_t(analysis->tokenCount());
        QCOMPARE(r.keptBytes(),
                 size_t(analysis->headCount()) * (t + 1) * sizeof(size_t) + links * 8);
    }

    // The spin box: above the floor the kept links are redrawn (no rebuild); below it the links
    // are rebuilt from the heads at the new threshold.
    void windowRebuildsBelowFloor() {
        MainWindow w;
        QDoubleSpinBox* spin = openGpt2AtThreshold(w, 0.05);
        QVERIFY(spin);
        w.setView(MainWindow::View::Links);
        QTRY_VERIFY_WITH_TIMEOUT(!w.links()->renderer().isEmpty(), kTimeout);
        const LinksRenderer& r = w.links()->renderer();
        QCOMPARE(r.keptFloor(), kLinksKeptFloor);
        std::vector<Mat> dense;
        for (int h = 0; h < w.analysis()->headCount(); ++h)
            dense.push_back(*w.analysis()->attention(0, h)); // layer 0's heads are checked
        QCOMPARE(int(r.heads().size()), int(dense.size()));
        double floor = kLinksKeptFloor;
        for (double t : {0.03, 0.02, 0.2, 0.01, 0.0}) {
            if (t < floor) floor = t; // rebuilt at the new threshold
            spin->setValue(t);
            QCOMPARE(w.links()->renderer().threshold(), t);
            QCOMPARE(w.links()->renderer().keptFloor(), floor);
            QVERIFY(w.links()->renderer().visibleLinks() ==
                    denseLines(dense, t, w.links()->renderer().focusToken(),
                               w.links()->renderer().focusSide()));
        }
    }

    // Side by side: a token-links pane draws at the spin box's threshold too (it stayed at
    // the widget's default of 0.05 before), above and below the kept floor.
    void comparePanesFollowThreshold() {
        MainWindow w;
        QDoubleSpinBox* spin = openGpt2AtThreshold(w, 0.05);
        QVERIFY(spin);
        w.setView(MainWindow::View::Compare);
        w.compare()->setPaneHead(1, 1, 2);
        w.compare()->setPaneView(1, CompareView::PaneView::Links);
        LinksWidget* pane = w.compare()->paneLinks(1);
        QTRY_VERIFY_WITH_TIMEOUT(!pane->renderer().isEmpty(), kTimeout);
        const std::vector<Mat> dense{*w.analysis()->attention(1, 2)};
        for (double t : {0.3, 0.02, 0.01, 0.6}) {
            spin->setValue(t);
            QTRY_COMPARE_WITH_TIMEOUT(pane->renderer().threshold(), t, kTimeout);
            QVERIFY(pane->renderer().keptFloor() <= t);
            QVERIFY(pane->renderer().visibleLinks() == denseLines(dense, t,
                                                                  pane->renderer().focusToken(),
                                                                  pane->renderer().focusSide()));
        }
    }

    // Lazy heads: a links request for heads not computed yet goes to the pool; lowering the
    // threshold below the floor meanwhile sends a new one and the first is dropped; what is shown
    // is the heads' links above the new threshold.
    void lazyRebuildOffGuiThread() {
        qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        qputenv("ATTNSCOPE_HEAD_CACHE_MB", "0"); // no head is kept: each request computes
        MainWindow w;
        w.openModel(kOracle + QStringLiteral("llama/model"));
        w.show();
        w.setText(QStringLiteral("The cat sat on the mat because it was tired, and then it slept "
                                 "on the warm mat all afternoon while the dog watched."));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return w.analysis() && w.analysis()->text.startsWith(QStringLiteral("The cat")) &&
                       !w.controller()->isBusy();
            },
            kTimeout));
        qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
        qunsetenv("ATTNSCOPE_HEAD_CACHE_MB");
        QVERIFY(w.analysis()->hasLazyAttention());
        auto* spin = w.findChild<QDoubleSpinBox*>(QStringLiteral("linkThreshold"));
        spin->setValue(0.05);
        w.setView(MainWindow::View::Links);
        QTRY_VERIFY_WITH_TIMEOUT(!w.links()->renderer().isEmpty(), kTimeout);
        auto* requests = w.findChild<HeadRequests*>(QStringLiteral("linkRequests"));
        QVERIFY(requests);
        QTRY_VERIFY_WITH_TIMEOUT(!requests->isComputing(), kTimeout);
        const int staleBefore = requests->staleRequests();
        // Another layer: its heads are computed on the pool ("Computing…" meanwhile).
        const int layer = w.analysis()->layerCount() - 1;
        w.setLayerHead(layer, 1);
        QVERIFY(requests->isComputing());
        spin->setValue(0.01); // below the floor of the request just sent: a new request
        QVERIFY(requests->isComputing());
        QVERIFY(w.links()->renderer().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(!requests->isComputing() && !w.links()->renderer().isEmpty(),
                                 kTimeout);
        // The first request was superseded: skipped, or its result dropped.
        QTRY_VERIFY_WITH_TIMEOUT(requests->staleRequests() > staleBefore, kTimeout);
        const LinksRenderer& r = w.links()->renderer();
        QCOMPARE(r.keptFloor(), 0.01);
        QCOMPARE(r.threshold(), 0.01); // the spin box's, through the placeholder shown meanwhile
        const int heads = w.analysis()->headCount(); // every head is checked at start
        QCOMPARE(int(r.heads().size()), heads);
        std::vector<Mat> dense;
        for (int h = 0; h < heads; ++h) {
            dense.push_back(*w.analysis()->attention(layer, h));
            QVERIFY(r.heads()[size_t(h)].links == LinkWeights::above(dense.back(), 0.01));
        }
        // (the offscreen pointer may rest on the widget and focus a token)
        QVERIFY(r.visibleLinks() == denseLines(dense, 0.01, r.focusToken(), r.focusSide()));
    }
};

QTEST_MAIN(TestSparseLinks)
#include "tst_sparse_links.moc"
