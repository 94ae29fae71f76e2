// Lazy heads (core/lazy_heads.h): with the eager-attention budget forced to 0, a pass keeps Q
// and K instead of [T, T] matrices and computes each head when asked. Every head must equal
// the eager pass's bit for bit, the cache must evict and recompute identically, and threads
// asking at once must get the same numbers.
#include "analyses/head_statistics.h"
#include "session.h"

#include <QtTest>
#include <algorithm>
#include <cstring>
#include <random>
#include <thread>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

bool sameBits(const Mat& a, const Mat& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), size_t(a.size()) * sizeof(float)) == 0;
}

// Eager and lazy analyses of the same input: the budget variable decides per analyze() call.
struct Pair {
    Analysis eager, lazy;
};

Result<Pair> analyseBoth(const QString& family, int tokens) {
    auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
    if (!model) return model.error();
    AnalysisRequest request;
    request.keep = KeepOptions::attentionOnly();
    if ((*model)->config().modality == Modality::Image) {
        const int side = (*model)->config().imageSize;
        request.pixelValues.shape = {3, side, side};
        std::mt19937 rng(7);
        std::normal_distribution<float> normal;
        for (int i = 0; i < 3 * side * side; ++i)
            request.pixelValues.data.push_back(normal(rng));
    } else {
        for (int i = 0; i < tokens; ++i)
            request.ids.push_back(5 + (i * 37) % 300);
    }
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    auto eager = (*model)->analyze(request);
    if (!eager) return eager.error();
    qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
    auto lazy = (*model)->analyze(request);
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    if (!lazy) return lazy.error();
    return Pair{std::move(*eager), std::move(*lazy)};
}

} // namespace

class TestLazyHeads : public QObject {
    Q_OBJECT
private slots:
    void lazyEqualsEager_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        for (const char* family :
             {"gpt2", "llama", "qwen2", "gpt_neox", "bert", "roberta", "distilbert", "vit"})
            QTest::newRow(family) << QString(family) << 12;
        // Causal rows run in blocks of 128: past one block, and GQA (4 heads on 2 KV heads).
        QTest::newRow("llama past one row block") << QStringLiteral("llama") << 200;
        QTest::newRow("gpt_neox past one row block") << QStringLiteral("gpt_neox") << 200;
        QTest::newRow("bert at its 128 positions") << QStringLiteral("bert") << 128;
    }
    void lazyEqualsEager() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        auto both = analyseBoth(family, tokens);
        QVERIFY2(both.ok(), qPrintable(both.message()));
        const Analysis &eager = both->eager, &lazy = both->lazy;
        QVERIFY(!eager.hasLazyAttention());
        QVERIFY(lazy.hasLazyAttention());
        QCOMPARE(lazy.layerCount(), eager.layerCount());
        QCOMPARE(lazy.headCount(), eager.headCount());
        // The lazy pass stored no [T, T] matrix at all.
        for (const LayerTrace& layer : lazy.forward.layers)
            for (const Mat& a : layer.attention)
                QCOMPARE(a.size(), Eigen::Index(0));
        for (int l = 0; l < eager.layerCount(); ++l)
            for (int h = 0; h < eager.headCount(); ++h) {
                QVERIFY(!lazy.isAttentionReady(l, h) || lazy.forward.headCache.size() > 0);
                const auto a = lazy.attention(l, h), b = eager.attention(l, h);
                QVERIFY2(b->rows() > 1, "the eager head is a real matrix");
                QVERIFY2(sameBits(*a, *b), qPrintable(QStringLiteral("layer %1 head %2: max |d| %3")
                                                          .arg(l)
                                                          .arg(h)
                                                          .arg((*a - *b).cwiseAbs().maxCoeff())));
                QVERIFY(sameBits(*lazy.streamedAttention(l, h), *b));
            }
        // Everything downstream of attention agrees with the eager pass too.
        const Mat &x = eager.forward.lastHiddenState, &y = lazy.forward.lastHiddenState;
        QVERIFY((x - y).cwiseAbs().maxCoeff() <= 1e-6f * std::max(1.0f, x.cwiseAbs().maxCoeff()));
        const Tensor te = eager.forward.attentionTensor(), tl = lazy.forward.attentionTensor();
        QCOMPARE(tl.shape, te.shape);
        QVERIFY(std::memcmp(tl.data.data(), te.data.data(), te.data.size() * sizeof(float)) == 0);
        const auto se = headStatistics(eager), sl = headStatistics(lazy);
        QCOMPARE(sl.size(), se.size());
        for (size_t i = 0; i < se.size(); ++i) {
            QCOMPARE(sl[i].previousToken, se[i].previousToken);
            QCOMPARE(sl[i].entropy, se[i].entropy);
            QCOMPARE(sl[i].confidence, se[i].confidence);
        }
    }

    void cacheEvictsAndRecomputes() {
        auto both = analyseBoth(QStringLiteral("llama"), 40);
        QVERIFY2(both.ok(), qPrintable(both.message()));
        const Analysis &eager = both->eager, &lazy = both->lazy;
        const double headBytes = 40.0 * 40 * sizeof(float);
        lazy.forward.headCache.setLimitBytes(2 * headBytes); // room for two heads
        auto first = lazy.attention(0, 0);
        QVERIFY(lazy.isAttentionReady(0, 0));
        lazy.attention(0, 1);
        lazy.attention(0, 2); // evicts (0, 0), the least recently used
        QCOMPARE(lazy.forward.headCache.size(), 2);
        QCOMPARE(lazy.forward.headCache.usedBytes(), 2 * headBytes);
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(3));
        QVERIFY(sameBits(*first, *eager.attention(0, 0))); // still valid: the caller holds it
        // Held, (0, 0) is found again without being recomputed, and comes back as the most
        // recent head; (0, 1), which nobody holds, makes room for good.
        QVERIFY(lazy.isAttentionReady(0, 0));
        QCOMPARE(lazy.attention(0, 0).get(), first.get());
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(3));
        QCOMPARE(lazy.forward.headCache.size(), 2);
        QVERIFY(!lazy.isAttentionReady(0, 1));
        QVERIFY(lazy.isAttentionReady(0, 2)); // now the most recent
        // Once nobody holds it, an evicted head is computed again.
        const Mat firstValues = *first;
        first.reset();
        lazy.attention(0, 1); // evicts (0, 0)
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(4));
        QVERIFY(!lazy.isAttentionReady(0, 0));
        QVERIFY(!lazy.readyAttention(0, 0)); // and reading it as "ready" computes nothing
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(4));
        const auto again = lazy.attention(0, 0); // recomputed
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(5));
        QVERIFY(sameBits(*again, firstValues));
        // Streaming reads do not touch the cache.
        lazy.streamedAttention(1, 3);
        QCOMPARE(lazy.forward.headCache.insertions(), int64_t(5));
        QVERIFY(!lazy.isAttentionReady(1, 3));
        // A cached head is handed out as is, not recomputed.
        QCOMPARE(lazy.attention(0, 0).get(), again.get());
        // A copy of the analysis starts with an empty cache of the same bound.
        const Analysis copy = lazy;
        QCOMPARE(copy.forward.headCache.size(), 0);
        QCOMPARE(copy.forward.headCache.limitBytes(), 2 * headBytes);
        QVERIFY(sameBits(*copy.attention(1, 1), *eager.attention(1, 1)));
    }

    void concurrentRequests() {
        auto both = analyseBoth(QStringLiteral("qwen2"), 64);
        QVERIFY2(both.ok(), qPrintable(both.message()));
        const Analysis &eager = both->eager, &lazy = both->lazy;
        lazy.forward.headCache.setLimitBytes(3 * 64.0 * 64 * sizeof(float));
        const int L = eager.layerCount(), H = eager.headCount();
        std::atomic<int> mismatches{0}, requests{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 6; ++t)
            threads.emplace_back([&, t] {
                std::mt19937 rng(t);
                for (int i = 0; i < 60; ++i) {
                    const int l = int(rng() % L), h = int(rng() % H);
                    const auto a =
                        (i % 3 == 0) ? lazy.streamedAttention(l, h) : lazy.attention(l, h);
                    if (!sameBits(*a, *eager.attention(l, h))) ++mismatches;
                    ++requests;
                }
            });
        for (auto& t : threads)
            t.join();
        QCOMPARE(requests.load(), 360);
        QCOMPARE(mismatches.load(), 0);
        QVERIFY(lazy.forward.headCache.size() <= 3);
    }

    // An edit at the end of a lazy analysis reuses its keys and values (no [T, T] copied) and
    // gives the heads of a fresh pass.
    void prefixReuseBetweenLazyPasses() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY(model.ok());
        qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        AnalysisRequest request;
        request.keep = KeepOptions::attentionOnly();
        for (int i = 0; i < 150; ++i)
            request.ids.push_back(5 + (i * 37) % 300);
        auto before = (*model)->analyze(request);
        QVERIFY(before.ok());
        request.ids.back() = 77;
        auto fresh = (*model)->analyze(request);
        request.previous = std::make_shared<const Analysis>(std::move(*before));
        auto reused = (*model)->analyze(request);
        qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
        QVERIFY(fresh.ok() && reused.ok());
        QCOMPARE(reused->reusedTokens, 149);
        QVERIFY(reused->hasLazyAttention());
        for (int l = 0; l < fresh->layerCount(); ++l)
            for (int h = 0; h < fresh->headCount(); ++h) {
                const auto a = reused->attention(l, h), b = fresh->attention(l, h);
                // Reused rows come from products of other shapes than a fresh pass's, so
                // rounding differs with the compiler's flags (1.25e-6 in the -O1 sanitiser
                // build, under 1e-6 in Release): the project's attention tolerance, 1e-5.
                const float err = (*a - *b).cwiseAbs().maxCoeff();
                QVERIFY2(
                    err <= 1e-5f,
                    qPrintable(
                        QStringLiteral("layer %1 head %2: %3").arg(l).arg(h).arg(double(err))));
            }
    }

    void maxPoolKeepsPeaks() {
        Mat full = Mat::Zero(10, 10); // [10, 10]
        full(9, 0) = 0.5f;
        full(3, 4) = 0.9f;
        const Mat pooled = maxPool(full, 4); // [4, 4]: rows/columns 10 -> 4
        QCOMPARE(pooled.rows(), Eigen::Index(4));
        QCOMPARE(pooled(3, 0), 0.5f); // row 9 -> 9*4/10 = 3
        QCOMPARE(pooled(1, 1), 0.9f); // row 3 -> 1, column 4 -> 1
        QCOMPARE(pooled.sum(), 1.4f);
        QVERIFY(sameBits(maxPool(full, 10), full));
    }

    // The finiteness check of Q, K and hidden states (core/tensor.h's allFinite) must agree
    // with Eigen's own allFinite() for every kind of value, anywhere, in whole matrices and in
    // row blocks, while reading 30x faster.
    void allFiniteAgreesWithEigen_data() {
        QTest::addColumn<float>("value");
        QTest::addColumn<int>("row");
        QTest::addColumn<int>("col");
        const float inf = std::numeric_limits<float>::infinity();
        const struct {
            const char* name;
            float value;
        } values[] = {{"NaN", std::numeric_limits<float>::quiet_NaN()},
                      {"+inf", inf},
                      {"-inf", -inf},
                      {"largest", std::numeric_limits<float>::max()},
                      {"-largest", -std::numeric_limits<float>::max()},
                      {"-0", -0.0f},
                      {"denormal", std::numeric_limits<float>::denorm_min()}};
        const int places[][2] = {{0, 0}, {37, 61}, {99, 66}};
        for (const auto& v : values)
            for (const auto& at : places)
                QTest::addRow("%s at %d,%d", v.name, at[0], at[1]) << v.value << at[0] << at[1];
    }
    void allFiniteAgreesWithEigen() {
        QFETCH(float, value);
        QFETCH(int, row);
        QFETCH(int, col);
        Mat m = Mat::Random(100, 67) * 1e3f; // odd width: a packet tail in every row
        QVERIFY(attnscope::allFinite(m));
        m(row, col) = value;
        QCOMPARE(attnscope::allFinite(m), m.allFinite());
        QCOMPARE(attnscope::allFinite(m.bottomRows(100 - row)),
                 m.bottomRows(100 - row).allFinite());
        if (row > 0) QVERIFY(attnscope::allFinite(m.topRows(row))); // the block without it
        QCOMPARE(attnscope::allFinite(m), std::isfinite(value));
    }
};

QTEST_GUILESS_MAIN(TestLazyHeads)
#include "tst_lazy_heads.moc"
