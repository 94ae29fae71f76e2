// End-to-end: `attnscope dump --analysis rollout|flow|stats` on the oracle fixtures. Expected
// values are recomputed here from the Hugging Face reference attentions (read with the
// independent readers of cli_support.h), never from the project's own code.
#include "cli_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <deque>

using namespace clitest;

namespace {

using Grid = std::vector<std::vector<double>>;

struct Reference {
    int L = 0, H = 0, T = 0;
    QVector<float> attention; // [L, H, T, T]
    double at(int l, int h, int i, int j) const {
        return attention[((qsizetype(l) * H + h) * T + i) * T + j];
    }
};

Reference readReference(const QString& file) {
    Reference r;
    const StFile f = readSafetensors(oraclePath(file));
    const StTensor& t = f.tensors.value(QStringLiteral("attentions"));
    if (t.shape.size() != 4) return r;
    r.L = int(t.shape[0]);
    r.H = int(t.shape[1]);
    r.T = int(t.shape[2]);
    r.attention = t.f32();
    return r;
}

// Â_l = rownorm(fuse_h(A_l) + I) with fusion "mean" or "max".
Grid residualLayer(const Reference& r, int l, bool max) {
    Grid m(static_cast<size_t>(r.T), std::vector<double>(size_t(r.T), 0));
    for (int i = 0; i < r.T; ++i) {
        double sum = 0;
        for (int j = 0; j < r.T; ++j) {
            double v = 0;
            for (int h = 0; h < r.H; ++h)
                v = max ? std::max(v, r.at(l, h, i, j)) : v + r.at(l, h, i, j) / r.H;
            m[size_t(i)][size_t(j)] = v + (i == j ? 1 : 0);
            sum += m[size_t(i)][size_t(j)];
        }
        for (double& x : m[size_t(i)])
            x /= sum;
    }
    return m;
}

QVector<float> rollout(const Reference& r, bool max) {
    Grid acc(static_cast<size_t>(r.T), std::vector<double>(size_t(r.T), 0));
    for (int i = 0; i < r.T; ++i)
        acc[size_t(i)][size_t(i)] = 1;
    for (int l = 0; l < r.L; ++l) {
        const Grid m = residualLayer(r, l, max);
        Grid next(static_cast<size_t>(r.T), std::vector<double>(size_t(r.T), 0));
        for (int i = 0; i < r.T; ++i)
            for (int k = 0; k < r.T; ++k)
                for (int j = 0; j < r.T; ++j)
                    next[size_t(i)][size_t(j)] +=
                        m[size_t(i)][size_t(k)] * acc[size_t(k)][size_t(j)];
        acc = next;
    }
    QVector<float> out;
    for (const auto& row : acc)
        for (double v : row)
            out.push_back(float(v));
    return out;
}

// Max flow from output token s to input token t by Edmonds–Karp on the explicit layered graph.
double maxFlow(const Reference& r, int s, int t) {
    const int n = (r.L + 1) * r.T;
    Grid cap(static_cast<size_t>(n), std::vector<double>(size_t(n), 0));
    for (int l = 0; l < r.L; ++l) {
        const Grid m = residualLayer(r, l, false);
        for (int i = 0; i < r.T; ++i)
            for (int j = 0; j < r.T; ++j)
                cap[size_t((l + 1) * r.T + i)][size_t(l * r.T + j)] = m[size_t(i)][size_t(j)];
    }
    const int source = r.L * r.T + s, sink = t;
    double total = 0;
    while (true) {
        std::vector<int> parent(size_t(n), -1);
        parent[size_t(source)] = source;
        std::deque<int> queue{source};
        while (!queue.empty()) {
            const int u = queue.front();
            queue.pop_front();
            for (int v = 0; v < n; ++v)
                if (parent[size_t(v)] < 0 && cap[size_t(u)][size_t(v)] > 1e-13) {
                    parent[size_t(v)] = u;
                    queue.push_back(v);
                }
        }
        if (parent[size_t(sink)] < 0) return total;
        double b = 1e300;
        for (int v = sink; v != source; v = parent[size_t(v)])
            b = std::min(b, cap[size_t(parent[size_t(v)])][size_t(v)]);
        for (int v = sink; v != source; v = parent[size_t(v)]) {
            cap[size_t(parent[size_t(v)])][size_t(v)] -= b;
            cap[size_t(v)][size_t(parent[size_t(v)])] += b;
        }
        total += b;
    }
}

// --ids (and --type-ids for sentence pairs) of an oracle case.
QStringList idArgs(const QString& family, int caseIndex) {
    const QJsonArray cases = readJsonFile(oraclePath(family + QStringLiteral("/cases.json")))
                                 .object()
                                 .value(QLatin1String("cases"))
                                 .toArray();
    QStringList ids;
    for (const QJsonValue& v : cases.at(caseIndex).toObject().value(QLatin1String("ids")).toArray())
        ids << QString::number(v.toInteger());
    QStringList args{QStringLiteral("--ids"), ids.join(QLatin1Char(','))};
    const StFile ref =
        readSafetensors(oraclePath(family + QStringLiteral("/case%1.safetensors").arg(caseIndex)));
    const QVector<qint64> types = ref.tensors.value(QStringLiteral("token_type_ids")).i64();
    if (!types.isEmpty()) args << QStringLiteral("--type-ids") << joinInts(types);
    return args;
}

} // namespace

class TestCliAnalyses : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString out(const QString& name) { return m_tmp.filePath(name); }

    void expectError(const QStringList& args, const QString& fragment) {
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit(), qPrintable(run.describe()));
        QCOMPARE(run.exitCode, 2);
        const QStringList lines = run.errLines();
        QCOMPARE(lines.size(), 1);
        QVERIFY2(lines.first().startsWith(QLatin1String("attnscope: error: ")),
                 qPrintable(lines.first()));
        QVERIFY2(lines.first().contains(fragment), qPrintable(lines.first()));
    }

private slots:
    void rollout_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("caseIndex");
        QTest::addColumn<QString>("fusion");
        QTest::addColumn<QString>("ext");
        QTest::newRow("bert/0 mean safetensors")
            << QStringLiteral("bert") << 0 << QStringLiteral("mean")
            << QStringLiteral("safetensors");
        QTest::newRow("bert/4 max json")
            << QStringLiteral("bert") << 4 << QStringLiteral("max") << QStringLiteral("json");
        QTest::newRow("gpt2/1 mean npy")
            << QStringLiteral("gpt2") << 1 << QStringLiteral("mean") << QStringLiteral("npy");
        QTest::newRow("vit/0 mean safetensors")
            << QStringLiteral("vit") << 0 << QStringLiteral("mean")
            << QStringLiteral("safetensors");
        QTest::newRow("vit-dino-style/2 max json")
            << QStringLiteral("vit-dino-style") << 2 << QStringLiteral("max")
            << QStringLiteral("json");
    }

    void rollout() {
        QFETCH(QString, family);
        QFETCH(int, caseIndex);
        QFETCH(QString, fusion);
        QFETCH(QString, ext);
        const QString caseFile = family + QStringLiteral("/case%1.safetensors").arg(caseIndex);
        const Reference ref = readReference(caseFile);
        QVERIFY(ref.T > 1);
        const bool image = family.startsWith(QLatin1String("vit"));
        const QString path = out(QStringLiteral("rollout.") + ext);
        QStringList args{QStringLiteral("dump"), QStringLiteral("--model"),
                         oraclePath(family + QStringLiteral("/model"))};
        args << (image ? QStringList{QStringLiteral("--pixel-values"), oraclePath(caseFile)}
                       : idArgs(family, caseIndex));
        args << QStringLiteral("--analysis") << QStringLiteral("rollout")
             << QStringLiteral("--rollout-fusion") << fusion << QStringLiteral("-o") << path;
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));

        QVector<float> got;
        QVector<qint64> shape;
        if (ext == QLatin1String("safetensors")) {
            const StFile f = readSafetensors(path);
            QVERIFY2(f.ok(), qPrintable(f.error));
            got = f.tensors.value(QStringLiteral("rollout")).f32();
            shape = f.tensors.value(QStringLiteral("rollout")).shape;
            if (image) { // R[CLS, patches] on the patch grid, beside the full matrix
                const StTensor grid = f.tensors.value(QStringLiteral("rollout_cls_grid"));
                const qint64 side = qint64(std::lround(std::sqrt(ref.T - 1.0)));
                QCOMPARE(grid.shape, (QVector<qint64>{side, side}));
                const QVector<float> g = grid.f32();
                for (qint64 p = 0; p < side * side; ++p)
                    QCOMPARE(g[p], got[1 + p]);
            }
        } else if (ext == QLatin1String("json")) {
            const QJsonObject o = readJsonFile(path).object();
            flattenJson(o.value(QLatin1String("rollout")), got, shape);
            QCOMPARE(jsonInts(o.value(QLatin1String("rollout_shape"))), shape);
            QCOMPARE(o.value(QLatin1String("rollout_fusion")).toString(), fusion);
        } else {
            const Npy npy = readNpy(path);
            QVERIFY2(npy.error.isEmpty(), qPrintable(npy.error));
            got = npy.data;
            shape = npy.shape;
        }
        QCOMPARE(shape, (QVector<qint64>{ref.T, ref.T}));
        const double worst = maxAbsDiff(got, ::rollout(ref, fusion == QLatin1String("max")));
        QVERIFY2(worst >= 0 && worst <= 1e-5, qPrintable(QString::number(worst)));
    }

    void flow() {
        const Reference ref = readReference(QStringLiteral("bert/case2.safetensors"));
        const QString path = out(QStringLiteral("flow.safetensors"));
        const CliRun run =
            runCli(QStringList{"dump", "--model", oraclePath("bert/model")} + idArgs("bert", 2) +
                   QStringList{"--analysis", "flow", "-o", path});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const StFile f = readSafetensors(path);
        QVERIFY2(f.ok(), qPrintable(f.error));
        const StTensor t = f.tensors.value(QStringLiteral("flow"));
        QCOMPARE(t.shape, (QVector<qint64>{ref.T, ref.T}));
        const QVector<float> got = t.f32();
        for (int i = 0; i < ref.T; ++i)
            for (int j = 0; j < ref.T; ++j) {
                const double want = maxFlow(ref, i, j);
                QVERIFY2(std::abs(got[i * ref.T + j] - want) <= 1e-4 * std::max(want, 1e-6),
                         qPrintable(QStringLiteral("flow[%1, %2] = %3, Edmonds–Karp %4")
                                        .arg(i)
                                        .arg(j)
                                        .arg(got[i * ref.T + j])
                                        .arg(want)));
            }
    }

    void stats() {
        const Reference ref = readReference(QStringLiteral("bert/case4.safetensors"));
        const QString path = out(QStringLiteral("stats.json"));
        const CliRun run =
            runCli(QStringList{"dump", "--model", oraclePath("bert/model")} + idArgs("bert", 4) +
                   QStringList{"--analysis", "stats", "-o", path});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const QJsonArray heads = readJsonFile(path).array();
        QCOMPARE(heads.size(), ref.L * ref.H);
        // bert case 4: [CLS] where is the cat ? [SEP] the cat is on the mat . [SEP]
        const std::vector<int> special{0, 7, 16}, punct{6, 15};
        QCOMPARE(ref.T, 17);
        for (const QJsonValue& v : heads) {
            const QJsonObject o = v.toObject();
            const int l = o.value(QLatin1String("layer")).toInt(-1);
            const int h = o.value(QLatin1String("head")).toInt(-1);
            QVERIFY(l >= 0 && l < ref.L && h >= 0 && h < ref.H);
            for (const char* key :
                 {"entropy", "entropy_uniform", "previous_token", "same_token", "next_token",
                  "first_token", "special_tokens", "punctuation", "confidence", "mean_distance"})
                QVERIFY2(o.value(QLatin1String(key)).isDouble(), key);
            double previous = 0, toSpecial = 0, toPunct = 0, distance = 0, entropy = 0;
            for (int i = 0; i < ref.T; ++i) {
                if (i > 0) previous += ref.at(l, h, i, i - 1) / (ref.T - 1);
                for (int j : special)
                    toSpecial += ref.at(l, h, i, j) / ref.T;
                for (int j : punct)
                    toPunct += ref.at(l, h, i, j) / ref.T;
                for (int j = 0; j < ref.T; ++j) {
                    const double p = ref.at(l, h, i, j);
                    distance += p * std::abs(i - j) / ref.T;
                    if (p > 0) entropy -= p * std::log(p) / ref.T;
                }
            }
            QVERIFY(std::abs(o.value(QLatin1String("previous_token")).toDouble() - previous) <
                    1e-5);
            QVERIFY(std::abs(o.value(QLatin1String("special_tokens")).toDouble() - toSpecial) <
                    1e-5);
            QVERIFY(std::abs(o.value(QLatin1String("punctuation")).toDouble() - toPunct) < 1e-5);
            QVERIFY(std::abs(o.value(QLatin1String("mean_distance")).toDouble() - distance) < 1e-5);
            QVERIFY(std::abs(o.value(QLatin1String("entropy")).toDouble() - entropy) < 1e-5);
            QVERIFY(std::abs(o.value(QLatin1String("entropy_uniform")).toDouble() -
                             std::log(17.0)) < 1e-12);
        }
    }

    // --input-list: the mean over lines of what each line gives alone.
    void statsOverInputList() {
        const QStringList lines{QStringLiteral("the cat sat on the mat."),
                                QStringLiteral("where is the cat?")};
        const QString list = out(QStringLiteral("inputs.txt"));
        {
            QFile f(list);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write((lines.join(QStringLiteral("\n\n")) + QStringLiteral("\n")).toUtf8());
        }
        const QString mean = out(QStringLiteral("mean.json"));
        CliRun run = runCli({"dump", "--model", oraclePath("bert/model"), "--input-list", list,
                             "--analysis", "stats", "-o", mean});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const QJsonArray got = readJsonFile(mean).array();
        std::vector<QJsonArray> single;
        for (int k = 0; k < lines.size(); ++k) {
            const QString one = out(QStringLiteral("one%1.json").arg(k));
            run = runCli({"dump", "--model", oraclePath("bert/model"), "--text", lines[k],
                          "--analysis", "stats", "-o", one});
            QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
            single.push_back(readJsonFile(one).array());
        }
        QCOMPARE(got.size(), single[0].size());
        for (qsizetype i = 0; i < got.size(); ++i) {
            const QJsonObject o = got[i].toObject();
            for (const QString& key : o.keys()) {
                const double want = (single[0][i].toObject().value(key).toDouble() +
                                     single[1][i].toObject().value(key).toDouble()) /
                                    2;
                QVERIFY2(std::abs(o.value(key).toDouble() - want) < 1e-9, qPrintable(key));
            }
            QVERIFY(o.value(QLatin1String("special_tokens")).toDouble() > 0);
        }
    }

    // Image models: each line of --input-list is an image file; distances are in pixels.
    void statsOverImageList() {
        const QString samples =
            QStringLiteral(ATTNSCOPE_TEST_DATA "/../../resources/samples/fashion/");
        const QStringList images{samples + QStringLiteral("fashion-9-ankle-boot.png"),
                                 samples + QStringLiteral("fashion-1-trouser.png")};
        const QString list = out(QStringLiteral("images.txt"));
        {
            QFile f(list);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(images.join(QLatin1Char('\n')).toUtf8());
        }
        const QString mean = out(QStringLiteral("image-mean.json"));
        CliRun run = runCli({"dump", "--model", "default-vision", "--input-list", list,
                             "--analysis", "stats", "-o", mean});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const QJsonArray got = readJsonFile(mean).array();
        QCOMPARE(got.size(), 4 * 4); // default-vision: 4 layers × 4 heads
        std::vector<QJsonArray> single;
        for (int k = 0; k < images.size(); ++k) {
            const QString one = out(QStringLiteral("image%1.json").arg(k));
            run = runCli({"dump", "--model", "default-vision", "--image", images[k], "--analysis",
                          "stats", "-o", one});
            QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
            single.push_back(readJsonFile(one).array());
        }
        for (qsizetype i = 0; i < got.size(); ++i) {
            const QJsonObject o = got[i].toObject();
            const double distance = o.value(QLatin1String("mean_distance")).toDouble();
            const double want = (single[0][i].toObject().value("mean_distance").toDouble() +
                                 single[1][i].toObject().value("mean_distance").toDouble()) /
                                2;
            QVERIFY(std::abs(distance - want) < 1e-9);
            // Pixels between 4-pixel patch centres on a 28 × 28 image: within the diagonal.
            QVERIFY(distance > 0 && distance < 28 * std::sqrt(2.0));
            QCOMPARE(o.value(QLatin1String("punctuation")).toDouble(), 0.0);
        }
    }

    void errors() {
        const QString model = oraclePath(QStringLiteral("bert/model"));
        const QString ids = idArgs(QStringLiteral("bert"), 2).at(1);
        const QString o = out(QStringLiteral("e.safetensors"));
        expectError({"dump", "--model", model, "--ids", ids, "--analysis", "attribution", "-o", o},
                    QStringLiteral("unknown analysis"));
        expectError({"dump", "--model", model, "--ids", ids, "--analysis", "rollout",
                     "--rollout-fusion", "median", "-o", o},
                    QStringLiteral("median"));
        expectError({"dump", "--model", model, "--ids", ids, "--analysis", "rollout",
                     "--rollout-discard", "1.5", "-o", o},
                    QStringLiteral("--rollout-discard"));
        expectError({"dump", "--model", model, "--ids", ids, "--analysis", "stats", "-o", o},
                    QStringLiteral("JSON"));
        expectError({"dump", "--model", model, "--ids", ids, "--rollout-fusion", "max", "-o", o},
                    QStringLiteral("--analysis"));
        expectError({"dump", "--model", model, "--ids", ids, "--analysis", "stats",
                     "--rollout-discard", "0.1", "-o", out(QStringLiteral("e.json"))},
                    QStringLiteral("rollout or flow"));
        expectError({"dump", "--model", model, "--input-list", out(QStringLiteral("missing.txt")),
                     "--analysis", "stats", "-o", out(QStringLiteral("e.json"))},
                    QStringLiteral("cannot read"));
        expectError({"dump", "--model", model, "--analysis", "rollout", "-o", o},
                    QStringLiteral("give exactly one input"));
        expectError({"export", "--model", model, "--ids", ids, "--analysis", "rollout", "-o",
                     out(QStringLiteral("e.png"))},
                    QStringLiteral("apply to `dump`"));
        QVERIFY(!QFileInfo::exists(o));
    }
};

QTEST_GUILESS_MAIN(TestCliAnalyses)
#include "tst_cli_analyses.moc"
