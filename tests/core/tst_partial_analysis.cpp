// Layers shown as they are computed (core/partial_analysis.h): a pass hands out a snapshot per
// layer; every ready layer's head in every snapshot must equal the final analysis's head to the
// bit, eager and lazy (ATTNSCOPE_EAGER_ATTENTION_MB=0), with and without a reused prefix, and
// layers not yet computed must be empty. Cancelling still stops the pass.
#include "session.h"

#include <QtTest>
#include <cstring>
#include <random>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

bool sameBits(const Mat& a, const Mat& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), size_t(a.size()) * sizeof(float)) == 0;
}

// What the window asks for (ui/analysis_controller.cpp).
AnalysisRequest windowRequest(const LoadedModel& model, int tokens, int seed) {
    AnalysisRequest request;
    request.keep.scores = false;
    request.keep.qkv = true;
    request.keep.hiddenStates = false;
    if (model.config().modality == Modality::Image) {
        const int side = model.config().imageSize;
        request.pixelValues.shape = {3, side, side};
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal;
        for (int i = 0; i < 3 * side * side; ++i)
            request.pixelValues.data.push_back(normal(rng));
    } else {
        for (int i = 0; i < tokens; ++i)
            request.ids.push_back(5 + (i * 37 + seed) % 300);
    }
    return request;
}

struct EnvGuard { // ATTNSCOPE_EAGER_ATTENTION_MB for one test row
    explicit EnvGuard(bool lazy) {
        if (lazy)
            qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        else
            qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    }
    ~EnvGuard() { qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB"); }
};

} // namespace

class TestPartialAnalysis : public QObject {
    Q_OBJECT
private slots:
    void snapshotsEqualFinal_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        QTest::addColumn<bool>("lazy");
        QTest::addColumn<int>("reusedTokens"); // > 0: an earlier analysis shares this prefix
        for (const char* family :
             {"gpt2", "llama", "qwen2", "gpt_neox", "bert", "roberta", "distilbert", "vit"})
            for (bool lazy : {false, true})
                QTest::newRow(
                    qPrintable(QStringLiteral("%1 %2").arg(family, lazy ? "lazy" : "eager")))
                    << QString(family) << 12 << lazy << 0;
        // Past one causal row block (128 rows), grouped-query attention (llama: 2 KV heads).
        QTest::newRow("llama 200 eager") << QStringLiteral("llama") << 200 << false << 0;
        QTest::newRow("llama 200 lazy") << QStringLiteral("llama") << 200 << true << 0;
        // An edit at the end: rows of the reused prefix come from the earlier analysis (eager)
        // or from its Q, K (lazy), as the final analysis takes them.
        QTest::newRow("gpt2 prefix eager") << QStringLiteral("gpt2") << 40 << false << 30;
        QTest::newRow("gpt2 prefix lazy") << QStringLiteral("gpt2") << 40 << true << 30;
        QTest::newRow("llama prefix eager, 2 row blocks")
            << QStringLiteral("llama") << 180 << false << 150;
        QTest::newRow("gpt_neox prefix lazy") << QStringLiteral("gpt_neox") << 40 << true << 25;
    }
    void snapshotsEqualFinal() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        QFETCH(bool, lazy);
        QFETCH(int, reusedTokens);
        const EnvGuard env(lazy);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        const LoadedModel& m = **model;
        AnalysisRequest request = windowRequest(m, tokens, 1);
        if (reusedTokens > 0) { // the same first reusedTokens ids, then others
            AnalysisRequest earlierRequest = windowRequest(m, tokens, 2);
            std::copy(request.ids.begin(), request.ids.begin() + reusedTokens,
                      earlierRequest.ids.begin());
            auto earlier = m.analyze(earlierRequest);
            QVERIFY2(earlier.ok(), qPrintable(earlier.message()));
            request.previous = std::make_shared<const Analysis>(std::move(*earlier));
        }
        std::vector<std::shared_ptr<const Analysis>> snapshots;
        request.partial = [&](std::shared_ptr<const Analysis> s) { snapshots.push_back(s); };
        auto final = m.analyze(request);
        QVERIFY2(final.ok(), qPrintable(final.message()));
        QCOMPARE(final->hasLazyAttention(), lazy);
        QVERIFY(!final->isPartial());
        QCOMPARE(final->reusedTokens, reusedTokens);
        const int L = final->layerCount(), H = final->headCount(), T = final->tokenCount();
        QCOMPARE(int(snapshots.size()), L);
        for (int i = 0; i < L; ++i) {
            const Analysis& s = *snapshots[size_t(i)];
            QVERIFY(s.isPartial());
            QCOMPARE(s.layersReady(), i + 1);
            QCOMPARE(s.layerCount(), L);
            QCOMPARE(s.headCount(), H);
            QCOMPARE(s.tokenCount(), T);
            QCOMPARE(s.displayTokens, final->displayTokens);
            QCOMPARE(s.passId, final->passId);
            for (int l = 0; l < L; ++l)
                for (int h = 0; h < H; ++h) {
                    const auto a = s.attention(l, h);
                    if (l > i) { // not computed yet in this snapshot
                        QCOMPARE(a->size(), Eigen::Index(0));
                        QVERIFY(!s.isAttentionReady(l, h));
                        continue;
                    }
                    QVERIFY2(sameBits(*a, *final->attention(l, h)),
                             qPrintable(QStringLiteral("snapshot %1, layer %2, head %3 differs "
                                                       "from the final analysis")
                                            .arg(i)
                                            .arg(l)
                                            .arg(h)));
                }
        }
    }

    // The progress callback still cancels; the snapshots stop with the pass.
    void cancelStopsSnapshots() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        AnalysisRequest request = windowRequest(**model, 20, 1);
        int snapshots = 0;
        request.partial = [&](std::shared_ptr<const Analysis>) { ++snapshots; };
        auto result = (*model)->analyze(request, [](int done, int) { return done < 1; });
        QVERIFY(!result.ok());
        QCOMPARE(result.message(), QStringLiteral("cancelled"));
        QCOMPARE(snapshots, 1); // layer 0's, handed out before the pass reported it
    }

    // Dumps of chosen heads (onlyLayers / onlyHeads) keep no snapshots: their final analysis
    // would not answer the other heads.
    void chosenHeadsHaveNoSnapshots() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        AnalysisRequest request = windowRequest(**model, 10, 1);
        request.keep.onlyHeads = {1};
        int snapshots = 0;
        request.partial = [&](std::shared_ptr<const Analysis>) { ++snapshots; };
        QVERIFY((*model)->analyze(request).ok());
        QCOMPARE(snapshots, 0);
    }

    // The memory guard counts the snapshots' copies of every layer's Q and K: the smallest
    // memory limit a followed pass runs under exceeds an unfollowed one's by exactly
    // layers x T x (H + KV) x d floats (found to 1 kB by bisecting ATTNSCOPE_MEMORY_LIMIT_MB).
    void memoryGuardCountsSnapshots_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        QTest::addColumn<bool>("lazy");
        // (Near the limit the eager budget follows it down: every pass there is lazy.)
        QTest::newRow("llama 250 lazy") << QStringLiteral("llama") << 250 << true;
        QTest::newRow("gpt2 120 lazy") << QStringLiteral("gpt2") << 120 << true;
    }
    void memoryGuardCountsSnapshots() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        QFETCH(bool, lazy);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        const ModelConfig& c = (*model)->config();
        if (lazy) qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        qputenv("ATTNSCOPE_HEAD_CACHE_MB", "1"); // else 5 % of the limit: not a fixed amount
        const auto smallestLimitMb = [&](bool followed) {
            AnalysisRequest request = windowRequest(**model, tokens, 3);
            if (followed) request.partial = [](std::shared_ptr<const Analysis>) {};
            double low = 0, high = 256; // MB: fails at low, runs at high
            while (high - low > 1.0 / 1024) {
                const double mid = (low + high) / 2;
                qputenv("ATTNSCOPE_MEMORY_LIMIT_MB", QByteArray::number(mid, 'f', 6));
                ((*model)->analyze(request).ok() ? high : low) = mid;
            }
            qunsetenv("ATTNSCOPE_MEMORY_LIMIT_MB");
            return high;
        };
        const double unfollowed = smallestLimitMb(false), followed = smallestLimitMb(true);
        QVERIFY(followed < 255); // found, not the starting bound
        auto analysis = (*model)->analyze(windowRequest(**model, tokens, 3));
        QVERIFY(analysis.ok());
        QCOMPARE(analysis->forward.isLazy(), lazy);
        qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
        qunsetenv("ATTNSCOPE_HEAD_CACHE_MB");
        const double expectedMb = double(c.layers) * tokens * (c.heads + c.kvHeads) * c.headDim *
                                  sizeof(float) / (1024.0 * 1024.0);
        QVERIFY2(std::abs((followed - unfollowed) - expectedMb) <= 2.0 / 1024,
                 qPrintable(QStringLiteral("limits %1 and %2 MB, expected a difference of %3 MB")
                                .arg(unfollowed)
                                .arg(followed)
                                .arg(expectedMb)));
    }
};

QTEST_GUILESS_MAIN(TestPartialAnalysis)
#include "tst_partial_analysis.moc"
