// Analyses derived from attention (core/analyses): rollout, flow, head statistics, head
// similarity. Each is checked on the Hugging Face reference attentions of tests/data/oracle
// against a second, deliberately plain implementation written here (loops in double, no Eigen
// products, a different algorithm where there is one).
#include "analyses/flow.h"
#include "analyses/head_statistics.h"
#include "analyses/rollout.h"
#include "safetensors.h"
#include "session.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <random>

using namespace attnscope;

namespace {

const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
using Grid = std::vector<std::vector<double>>; // [rows][cols]

QJsonArray casesOf(const QString& family) {
    QFile f(kOracle + family + QStringLiteral("/cases.json"));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("cases")).toArray();
}

// An Analysis holding exactly the reference attentions of one oracle case (no forward pass),
// with the case's ids and token strings as given by --ids (no special mask).
Analysis referenceAnalysis(const QString& family, int caseIndex) {
    const QJsonObject c = casesOf(family).at(caseIndex).toObject();
    Analysis a;
    auto file = SafeTensorsFile::open(kOracle + family + QLatin1Char('/') +
                                      c.value(QStringLiteral("file")).toString());
    if (!file) return a;
    auto att = (*file)->floatTensor(QStringLiteral("attentions")); // [L, H, T, T]
    if (!att) return a;
    const int L = int(att->shape[0]), H = int(att->shape[1]), T = int(att->shape[2]);
    a.forward.layers.resize(size_t(L));
    for (int l = 0; l < L; ++l)
        for (int h = 0; h < H; ++h)
            a.forward.layers[size_t(l)].attention.push_back(
                ConstMatMap(att->data + (int64_t(l) * H + h) * T * T, T, T));
    const QJsonArray ids = c.value(QStringLiteral("ids")).toArray();
    const QJsonArray tokens = c.value(QStringLiteral("tokens")).toArray();
    for (int t = 0; t < T; ++t) {
        a.encoding.ids.push_back(t < ids.size() ? ids[t].toInteger() : t);
        a.encoding.tokens << (t < tokens.size() ? tokens[t].toString() : QString::number(t));
        a.encoding.offsets.emplace_back(0, 0);
        a.encoding.typeIds.push_back(0);
        a.encoding.sequenceIds.push_back(0);
        a.encoding.specialMask.push_back(false);
    }
    return a;
}

double at(const Analysis& a, int l, int h, int i, int j) {
    return double(a.forward.layers[size_t(l)].attention[size_t(h)](i, j));
}

// ---- rollout, the paper's formula step by step

Grid plainRollout(const Analysis& a, const QString& fusion, double discard) {
    const int T = a.tokenCount(), L = a.layerCount(), H = a.headCount();
    Grid r(static_cast<size_t>(T), std::vector<double>(size_t(T), 0));
    for (int i = 0; i < T; ++i)
        r[size_t(i)][size_t(i)] = 1;
    for (int l = 0; l < L; ++l) {
        Grid m(static_cast<size_t>(T), std::vector<double>(size_t(T)));
        for (int i = 0; i < T; ++i)
            for (int j = 0; j < T; ++j) {
                double v = fusion == QLatin1String("mean") ? 0 : at(a, l, 0, i, j);
                for (int h = 0; h < H; ++h) {
                    if (fusion == QLatin1String("mean")) v += at(a, l, h, i, j) / H;
                    if (fusion == QLatin1String("max")) v = std::max(v, at(a, l, h, i, j));
                    if (fusion == QLatin1String("min")) v = std::min(v, at(a, l, h, i, j));
                }
                m[size_t(i)][size_t(j)] = v;
            }
        // Discard: an entry goes when fewer than floor(T² · discard) entries come before it in
        // (value, row-major position) order, unless it is in column 0.
        const long drop = long(std::floor(double(T) * T * discard));
        if (drop > 0) {
            // The fused values as floats, as the implementation fuses them.
            Grid original = m;
            for (int i = 0; i < T; ++i)
                for (int j = 0; j < T; ++j) {
                    const double v = original[size_t(i)][size_t(j)];
                    long before = 0;
                    for (int y = 0; y < T; ++y)
                        for (int x = 0; x < T; ++x) {
                            const double w = original[size_t(y)][size_t(x)];
                            if (float(w) < float(v) ||
                                (float(w) == float(v) && y * T + x < i * T + j))
                                ++before;
                        }
                    if (before < drop && j != 0) m[size_t(i)][size_t(j)] = 0;
                }
        }
        for (int i = 0; i < T; ++i) {
            m[size_t(i)][size_t(i)] += 1;
            double sum = 0;
            for (int j = 0; j < T; ++j)
                sum += m[size_t(i)][size_t(j)];
            for (int j = 0; j < T; ++j)
                m[size_t(i)][size_t(j)] /= sum;
        }
        Grid next(static_cast<size_t>(T), std::vector<double>(size_t(T), 0));
        for (int i = 0; i < T; ++i)
            for (int k = 0; k < T; ++k)
                for (int j = 0; j < T; ++j)
                    next[size_t(i)][size_t(j)] += m[size_t(i)][size_t(k)] * r[size_t(k)][size_t(j)];
        r = next;
    }
    return r;
}

double maxAbsDiff(const Mat& got, const Grid& want) {
    double worst = 0;
    for (Eigen::Index i = 0; i < got.rows(); ++i)
        for (Eigen::Index j = 0; j < got.cols(); ++j)
            worst = std::max(worst, std::abs(double(got(i, j)) - want[size_t(i)][size_t(j)]));
    return worst;
}

// ---- flow: two independent algorithms on the explicit graph

struct ExplicitGraph {
    int n = 0;
    Grid capacity; // [n][n]
};

// Node (m, i) = m * T + i, m = 0 (inputs) … L (outputs); edge (m, i) -> (m-1, j).
ExplicitGraph explicitGraph(const std::vector<Grid>& layers, int T) {
    ExplicitGraph g;
    const int L = int(layers.size());
    g.n = (L + 1) * T;
    g.capacity.assign(static_cast<size_t>(g.n), std::vector<double>(size_t(g.n), 0));
    for (int m = 1; m <= L; ++m)
        for (int i = 0; i < T; ++i)
            for (int j = 0; j < T; ++j)
                g.capacity[size_t(m * T + i)][size_t((m - 1) * T + j)] =
                    layers[size_t(m - 1)][size_t(i)][size_t(j)];
    return g;
}

// Edmonds–Karp: shortest augmenting paths by BFS on an adjacency matrix.
double edmondsKarp(const ExplicitGraph& g, int s, int t) {
    Grid residual = g.capacity;
    double total = 0;
    while (true) {
        std::vector<int> parent(size_t(g.n), -1);
        parent[size_t(s)] = s;
        std::deque<int> queue{s};
        while (!queue.empty() && parent[size_t(t)] < 0) {
            const int u = queue.front();
            queue.pop_front();
            for (int v = 0; v < g.n; ++v)
                if (parent[size_t(v)] < 0 && residual[size_t(u)][size_t(v)] > 1e-13) {
                    parent[size_t(v)] = u;
                    queue.push_back(v);
                }
        }
        if (parent[size_t(t)] < 0) return total;
        double bottleneck = 1e300;
        for (int v = t; v != s; v = parent[size_t(v)])
            bottleneck = std::min(bottleneck, residual[size_t(parent[size_t(v)])][size_t(v)]);
        for (int v = t; v != s; v = parent[size_t(v)]) {
            residual[size_t(parent[size_t(v)])][size_t(v)] -= bottleneck;
            residual[size_t(v)][size_t(parent[size_t(v)])] += bottleneck;
        }
        total += bottleneck;
    }
}

// Max-flow = min-cut: every split of the other nodes into the source's and the sink's side.
double bruteForceMinCut(const ExplicitGraph& g, int s, int t) {
    std::vector<int> free;
    for (int v = 0; v < g.n; ++v)
        if (v != s && v != t) free.push_back(v);
    double best = 1e300;
    for (long mask = 0; mask < (1L << free.size()); ++mask) {
        std::vector<bool> sourceSide(size_t(g.n), false);
        sourceSide[size_t(s)] = true;
        for (size_t k = 0; k < free.size(); ++k)
            if (mask & (1L << k)) sourceSide[size_t(free[k])] = true;
        double cut = 0;
        for (int u = 0; u < g.n; ++u)
            for (int v = 0; v < g.n; ++v)
                if (sourceSide[size_t(u)] && !sourceSide[size_t(v)])
                    cut += g.capacity[size_t(u)][size_t(v)];
        best = std::min(best, cut);
    }
    return best;
}

std::vector<Grid> toGrids(const std::vector<Mat>& layers) {
    std::vector<Grid> out;
    for (const Mat& m : layers) {
        Grid g(size_t(m.rows()), std::vector<double>(size_t(m.cols())));
        for (Eigen::Index i = 0; i < m.rows(); ++i)
            for (Eigen::Index j = 0; j < m.cols(); ++j)
                g[size_t(i)][size_t(j)] = m(i, j);
        out.push_back(g);
    }
    return out;
}

// ---- statistics, each from its definition

bool plainPunctuation(QString token) {
    if (token.startsWith(QLatin1String("##"))) token = token.mid(2);
    bool any = false;
    for (QChar c : token) {
        if (c == QChar(0x0120) || c == QChar(0x2581) || c.isSpace()) continue;
        // Unicode category P: in ASCII these, not the symbols $+<=>^`|~ (category S).
        const bool punctuation = c.unicode() < 128
                                     ? QStringLiteral("!\"#%&'()*,-./:;?@[\\]_{}").contains(c)
                                     : (c.category() >= QChar::Punctuation_Connector &&
                                        c.category() <= QChar::Punctuation_Other);
        if (!punctuation) return false;
        any = true;
    }
    return any;
}

struct PlainStats {
    double previous = 0, same = 0, next = 0, first = 0, special = 0, punct = 0, entropy = 0,
           confidence = 0, distance = 0;
};

PlainStats plainStatistics(const Analysis& a, int l, int h, const std::vector<bool>& special,
                           const std::vector<bool>& punct, int patchPixels) {
    const int T = a.tokenCount();
    PlainStats s;
    for (int i = 0; i < T; ++i) {
        double rowMax = 0, entropy = 0, toSpecial = 0, toPunct = 0, distance = 0;
        for (int j = 0; j < T; ++j) {
            const double p = at(a, l, h, i, j);
            rowMax = std::max(rowMax, p);
            if (p > 0) entropy -= p * std::log(p);
            if (special[size_t(j)]) toSpecial += p;
            if (punct[size_t(j)]) toPunct += p;
            distance += p * std::abs(i - j);
        }
        s.confidence += rowMax / T;
        s.entropy += entropy / T;
        s.special += toSpecial / T;
        s.punct += toPunct / T;
        s.same += at(a, l, h, i, i) / T;
        if (i > 0) s.previous += at(a, l, h, i, i - 1) / (T - 1);
        if (i > 0) s.first += at(a, l, h, i, 0) / (T - 1);
        if (i + 1 < T) s.next += at(a, l, h, i, i + 1) / (T - 1);
        if (patchPixels == 0) s.distance += distance / T;
    }
    if (patchPixels > 0) { // patch rows and keys only, pixels between patch centres
        const int side = int(std::lround(std::sqrt(T - 1.0)));
        for (int i = 1; i < T; ++i)
            for (int j = 1; j < T; ++j) {
                const double dy = (i - 1) / side - (j - 1) / side;
                const double dx = (i - 1) % side - (j - 1) % side;
                s.distance +=
                    at(a, l, h, i, j) * patchPixels * std::sqrt(dx * dx + dy * dy) / (T - 1);
            }
    }
    return s;
}

void compareStatistics(const HeadStatistics& got, const PlainStats& want, double tol) {
    const std::pair<double, double> pairs[] = {
        {got.previousToken, want.previous}, {got.sameToken, want.same},
        {got.nextToken, want.next},         {got.firstToken, want.first},
        {got.specialTokens, want.special},  {got.punctuation, want.punct},
        {got.entropy, want.entropy},        {got.confidence, want.confidence},
        {got.meanDistance, want.distance}};
    int k = 0;
    for (const auto& [g, w] : pairs) {
        QVERIFY2(std::abs(g - w) <= tol * std::max(1.0, std::abs(w)),
                 qPrintable(QStringLiteral("statistic %1 of layer %2 head %3: %4 vs %5")
                                .arg(k)
                                .arg(got.layer)
                                .arg(got.head)
                                .arg(g, 0, 'g', 10)
                                .arg(w, 0, 'g', 10)));
        ++k;
    }
}

double plainJs(const Analysis& a, int l1, int h1, int l2, int h2) {
    const int T = a.tokenCount();
    double sum = 0;
    for (int i = 0; i < T; ++i) {
        double klP = 0, klQ = 0;
        for (int j = 0; j < T; ++j) {
            const double p = at(a, l1, h1, i, j), q = at(a, l2, h2, i, j), m = (p + q) / 2;
            if (p > 0) klP += p * std::log(p / m);
            if (q > 0) klQ += q * std::log(q / m);
        }
        sum += (klP + klQ) / 2;
    }
    return sum / T;
}

} // namespace

class TestAnalyses : public QObject {
    Q_OBJECT
private slots:
    void rolloutMatchesPaper_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("caseIndex");
        QTest::addColumn<QString>("fusion");
        QTest::addColumn<double>("discard");
        const std::pair<const char*, int> cases[] = {
            {"bert", 0}, {"bert", 3}, {"gpt2", 1}, {"llama", 3}, {"vit", 0}, {"vit-dino-style", 1}};
        for (const auto& [family, index] : cases)
            for (const char* fusion : {"mean", "max", "min"})
                for (double discard : {0.0, 0.25, 0.9}) {
                    if (QLatin1String(fusion) != QLatin1String("mean") && discard == 0.9) continue;
                    QTest::addRow("%s/%d/%s/%.2f", family, index, fusion, discard)
                        << QString::fromLatin1(family) << index << QString::fromLatin1(fusion)
                        << discard;
                }
    }

    void rolloutMatchesPaper() {
        QFETCH(QString, family);
        QFETCH(int, caseIndex);
        QFETCH(QString, fusion);
        QFETCH(double, discard);
        const Analysis a = referenceAnalysis(family, caseIndex);
        QVERIFY(a.tokenCount() > 1 && a.layerCount() > 0);
        RolloutOptions options;
        options.fusion = headFusionFromName(fusion).value();
        options.discard = discard;
        auto rollout = attentionRollout(a, options);
        QVERIFY2(rollout.ok(), qPrintable(rollout.message()));
        QCOMPARE(int(rollout->rows()), a.tokenCount());
        QCOMPARE(int(rollout->cols()), a.tokenCount());
        const double worst = maxAbsDiff(*rollout, plainRollout(a, fusion, discard));
        QVERIFY2(worst <= 1e-5, qPrintable(QString::number(worst)));
        // Rows of a product of row-stochastic matrices sum to 1.
        for (Eigen::Index i = 0; i < rollout->rows(); ++i)
            QVERIFY(std::abs(rollout->row(i).sum() - 1.0f) < 1e-5f);
    }

    void rolloutDiscardChangesResult() {
        const Analysis a = referenceAnalysis(QStringLiteral("bert"), 0);
        const Mat plain = attentionRollout(a).value();
        const Mat dropped = attentionRollout(a, {HeadFusion::Mean, 0.5}).value();
        QVERIFY((plain - dropped).cwiseAbs().maxCoeff() > 1e-3);
    }

    void rolloutRefusesBadOptions() {
        const Analysis a = referenceAnalysis(QStringLiteral("bert"), 2);
        for (double discard : {-0.1, 1.0, 2.0, std::nan("")}) {
            auto r = attentionRollout(a, {HeadFusion::Mean, discard});
            QVERIFY(!r.ok());
            QVERIFY(r.message().contains(QStringLiteral("discard")));
        }
        QVERIFY(!headFusionFromName(QStringLiteral("median")).ok());
        QVERIFY(!attentionRollout(Analysis{}).ok());
    }

    void clsPatchGridIsClsRow() {
        const Analysis a = referenceAnalysis(QStringLiteral("vit"), 1);
        const Mat r = attentionRollout(a).value();
        auto grid = clsPatchGrid(r);
        QVERIFY2(grid.ok(), qPrintable(grid.message()));
        const int side = int(std::lround(std::sqrt(a.tokenCount() - 1.0)));
        QCOMPARE(int(grid->rows()), side);
        QCOMPARE(side * side, a.tokenCount() - 1);
        for (int y = 0; y < side; ++y)
            for (int x = 0; x < side; ++x)
                QCOMPARE(grid.value()(y, x), r(0, 1 + y * side + x));
        QVERIFY(clsPatchGrid(Mat::Identity(5, 5)).ok());  // [CLS] + 2 × 2 patches
        QVERIFY(!clsPatchGrid(Mat::Identity(4, 4)).ok()); // 3 patches: no square grid
    }

    // Dinic's algorithm in the engine against Edmonds–Karp on the explicit graph (oracle
    // attention, bidirectional and causal) and against exhaustive min-cut (random tiny graphs).
    void flowMatchesEdmondsKarp_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("caseIndex");
        QTest::newRow("bert/2") << QStringLiteral("bert") << 2;
        QTest::newRow("gpt2/2") << QStringLiteral("gpt2") << 2;
        QTest::newRow("llama/2") << QStringLiteral("llama") << 2;
    }

    void flowMatchesEdmondsKarp() {
        QFETCH(QString, family);
        QFETCH(int, caseIndex);
        const Analysis a = referenceAnalysis(family, caseIndex);
        const int T = a.tokenCount();
        const std::vector<Mat> layers = residualAttentionLayers(a, {}).value();
        // The capacities are rollout's Â_l: row-stochastic, with the residual in them.
        for (const Mat& m : layers)
            for (int i = 0; i < T; ++i)
                QVERIFY(std::abs(m.row(i).sum() - 1.0f) < 1e-5f);
        int calls = 0, last = 0;
        auto flow = attentionFlow(a, {}, [&](int done, int total) {
            ++calls;
            const bool ok = done >= last && done <= total && total == T * T;
            last = done;
            return ok;
        });
        QVERIFY2(flow.ok(), qPrintable(flow.message()));
        QVERIFY(calls >= 2);
        QCOMPARE(last, T * T);
        const ExplicitGraph g = explicitGraph(toGrids(layers), T);
        const int L = int(layers.size());
        double worst = 0;
        for (int i = 0; i < T; ++i)
            for (int j = 0; j < T; ++j) {
                const double want = edmondsKarp(g, L * T + i, j);
                worst = std::max(worst, std::abs(flow.value()(i, j) - want) / std::max(want, 1e-6));
                if (family != QLatin1String("bert") && j > i) QVERIFY(want < 1e-9); // causal
            }
        QVERIFY2(worst <= 1e-4, qPrintable(QString::number(worst)));
    }

    void flowMatchesMinCut() {
        std::mt19937 rng(12);
        std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
        for (int trial = 0; trial < 6; ++trial) {
            const int T = 3, L = trial < 3 ? 2 : 3;
            std::vector<Mat> layers;
            for (int l = 0; l < L; ++l) {
                Mat m(T, T);
                for (int i = 0; i < T; ++i)
                    for (int j = 0; j < T; ++j)
                        m(i, j) = uniform(rng) < 0.3f ? 0.0f : uniform(rng); // some edges absent
                layers.push_back(residualAttention(m, 0.0));
            }
            const Mat flow = attentionFlow(layers).value();
            const ExplicitGraph g = explicitGraph(toGrids(layers), T);
            for (int i = 0; i < T; ++i)
                for (int j = 0; j < T; ++j) {
                    const double want = bruteForceMinCut(g, L * T + i, j);
                    QVERIFY2(std::abs(flow(i, j) - want) <= 1e-4 * std::max(want, 1e-6),
                             qPrintable(QStringLiteral("trial %1 (%2, %3): %4 vs %5")
                                            .arg(trial)
                                            .arg(i)
                                            .arg(j)
                                            .arg(flow(i, j))
                                            .arg(want)));
                    QCOMPARE(float(attentionMaxFlow(layers, i, j)), flow(i, j));
                }
        }
    }

    void flowCancels() {
        const Analysis a = referenceAnalysis(QStringLiteral("bert"), 3);
        int calls = 0;
        auto flow = attentionFlow(a, {}, [&](int, int) { return ++calls < 3; });
        QVERIFY(!flow.ok());
        QCOMPARE(flow.message(), QStringLiteral("cancelled"));
        QCOMPARE(calls, 3);
    }

    void statisticsMatchDefinitions_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("caseIndex");
        QTest::newRow("bert/0") << QStringLiteral("bert") << 0; // [CLS] … [SEP] … [SEP]
        QTest::newRow("bert/3") << QStringLiteral("bert") << 3;
        QTest::newRow("gpt2/3") << QStringLiteral("gpt2") << 3;
        QTest::newRow("roberta/1") << QStringLiteral("roberta") << 1;
        QTest::newRow("llama/0") << QStringLiteral("llama") << 0;
        QTest::newRow("vit/0") << QStringLiteral("vit") << 0;
    }

    void statisticsMatchDefinitions() {
        QFETCH(QString, family);
        QFETCH(int, caseIndex);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        const Analysis a = referenceAnalysis(family, caseIndex);
        const int T = a.tokenCount();
        const bool image = (*model)->config().modality == Modality::Image;
        Analysis labelled = a;
        if (image) labelled.encoding.specialMask[0] = true; // as the engine labels [CLS]
        const TokenClasses classes =
            tokenClasses(labelled, (*model)->tokenizer(), &(*model)->config());
        // Special tokens and punctuation decided here from the token strings alone.
        static const QStringList kSpecial{"[CLS]", "[SEP]", "<s>",    "</s>",  "<|endoftext|>",
                                          "[PAD]", "<pad>", "[MASK]", "<mask>"};
        std::vector<bool> special(static_cast<size_t>(T)), punct(static_cast<size_t>(T));
        int specials = 0, puncts = 0;
        for (int t = 0; t < T; ++t) {
            const QString token = labelled.encoding.tokens[t];
            special[size_t(t)] = (image && t == 0) || (!image && kSpecial.contains(token));
            punct[size_t(t)] = !image && !special[size_t(t)] && plainPunctuation(token);
            specials += special[size_t(t)];
            puncts += punct[size_t(t)];
            QCOMPARE(bool(classes.special[size_t(t)]), bool(special[size_t(t)]));
            QCOMPARE(bool(classes.punctuation[size_t(t)]), bool(punct[size_t(t)]));
        }
        if (family == QLatin1String("bert")) QVERIFY(specials >= 2);
        const int patchPixels = image ? (*model)->config().patchSize : 0;
        QCOMPARE(classes.patchPixels, patchPixels);
        const std::vector<HeadStatistics> stats = headStatistics(labelled, classes);
        QCOMPARE(int(stats.size()), a.layerCount() * a.headCount());
        for (const HeadStatistics& s : stats) {
            compareStatistics(s, plainStatistics(a, s.layer, s.head, special, punct, patchPixels),
                              1e-5);
            QCOMPARE(s.entropyUniform, std::log(double(T)));
        }
        qInfo("%s: %d tokens, %d special, %d punctuation", qPrintable(family), T, specials, puncts);
    }

    // A job nobody wants any more (a newer text, a closed window) stops between heads: `stop`
    // is asked before each head, and the heads before it keep their values.
    void statisticsStopBetweenHeads() {
        const Analysis a = referenceAnalysis(QStringLiteral("gpt2"), 0);
        const TokenClasses classes = tokenClasses(a);
        const std::vector<HeadStatistics> all = headStatistics(a, classes);
        QCOMPARE(int(all.size()), a.layerCount() * a.headCount());
        QVERIFY(all.size() > 3);
        int asked = 0;
        const std::vector<HeadStatistics> first =
            headStatistics(a, classes, [&asked] { return ++asked > 3; });
        QCOMPARE(asked, 4); // asked before heads 0..3, stopped before head 3
        QCOMPARE(int(first.size()), 3);
        for (size_t i = 0; i < first.size(); ++i) {
            QCOMPARE(first[i].layer, all[i].layer);
            QCOMPARE(first[i].head, all[i].head);
            const auto got = statisticValues(first[i]), want = statisticValues(all[i]);
            for (size_t k = 0; k < got.size(); ++k)
                QCOMPARE(got[k].second, want[k].second);
        }
        QCOMPARE(int(headStatistics(a, classes, [] { return false; }).size()), int(all.size()));
    }

    // Statistics over several inputs: the mean over inputs of each input's statistics.
    void statisticsOverInputs() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("bert/model"));
        QVERIFY(model.ok());
        const QStringList texts{QStringLiteral("The cat sat on the mat."),
                                QStringLiteral("Hello, world!"),
                                QStringLiteral("a b c d e f g, h; i.")};
        std::vector<AnalysisRequest> requests;
        for (const QString& t : texts) {
            AnalysisRequest r;
            r.text = t;
            requests.push_back(r);
        }
        std::vector<int> progress;
        int used = 0;
        auto mean = headStatisticsOverInputs(
            **model, requests,
            [&](int done, int total) {
                progress.push_back(done);
                return total == 3;
            },
            &used);
        QVERIFY2(mean.ok(), qPrintable(mean.message()));
        QCOMPARE(used, 3);
        QCOMPARE(progress, (std::vector<int>{1, 2, 3}));
        std::vector<PlainStats> sums(mean->size());
        for (const AnalysisRequest& r : requests) {
            const Analysis a = (*model)->analyze(r).value();
            std::vector<bool> special(static_cast<size_t>(a.tokenCount())),
                punct(static_cast<size_t>(a.tokenCount()));
            for (int t = 0; t < a.tokenCount(); ++t) {
                special[size_t(t)] = a.encoding.tokens[t] == QLatin1String("[CLS]") ||
                                     a.encoding.tokens[t] == QLatin1String("[SEP]");
                punct[size_t(t)] = !special[size_t(t)] && plainPunctuation(a.encoding.tokens[t]);
            }
            for (size_t k = 0; k < sums.size(); ++k) {
                const PlainStats s = plainStatistics(a, int(k) / a.headCount(),
                                                     int(k) % a.headCount(), special, punct, 0);
                sums[k].previous += s.previous / 3;
                sums[k].same += s.same / 3;
                sums[k].next += s.next / 3;
                sums[k].first += s.first / 3;
                sums[k].special += s.special / 3;
                sums[k].punct += s.punct / 3;
                sums[k].entropy += s.entropy / 3;
                sums[k].confidence += s.confidence / 3;
                sums[k].distance += s.distance / 3;
            }
        }
        for (size_t k = 0; k < sums.size(); ++k)
            compareStatistics((*mean)[k], sums[k], 1e-5);
        QVERIFY((*mean)[0].punctuation > 0);

        auto cancelled =
            headStatisticsOverInputs(**model, requests, [](int, int) { return false; });
        QCOMPARE(cancelled.message(), QStringLiteral("cancelled"));
        AnalysisRequest bad = requests[0], single; // an id past the vocabulary: input 2 fails
        bad.ids = {999999};
        auto failed = headStatisticsOverInputs(**model, {requests[0], bad});
        QVERIFY(!failed.ok());
        QVERIFY2(failed.message().startsWith(QStringLiteral("input 2: ")),
                 qPrintable(failed.message()));
        single.ids = {101}; // one token: no statistics, so no input is left
        auto none = headStatisticsOverInputs(**model, {single});
        QVERIFY(!none.ok());
    }

    void jensenShannonMatchesDefinition() {
        const Analysis a = referenceAnalysis(QStringLiteral("bert"), 1);
        for (int l = 0; l < a.layerCount(); ++l)
            for (int h = 0; h < a.headCount(); ++h) {
                const double want = plainJs(a, 0, 0, l, h);
                const double got =
                    jensenShannonDivergence((*a.attention(0, 0)), (*a.attention(l, h)));
                QVERIFY(std::abs(got - want) <= 1e-9);
                QVERIFY(got >= 0 && got <= std::log(2.0) + 1e-12);
            }
        QCOMPARE(jensenShannonDivergence((*a.attention(1, 2)), (*a.attention(1, 2))), 0.0);
        const std::vector<SimilarHead> like = headsLike(a, 1, 2);
        QCOMPARE(int(like.size()), a.layerCount() * a.headCount() - 1);
        for (size_t k = 0; k < like.size(); ++k) {
            QVERIFY(like[k].layer != 1 || like[k].head != 2);
            QVERIFY(std::abs(like[k].distance - plainJs(a, 1, 2, like[k].layer, like[k].head)) <
                    1e-9);
            if (k > 0) QVERIFY(like[k - 1].distance <= like[k].distance);
        }
    }
};

QTEST_GUILESS_MAIN(TestAnalyses)
#include "tst_analyses.moc"
