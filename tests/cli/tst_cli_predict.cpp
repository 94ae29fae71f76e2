// End-to-end: `attnscope predict` and `attnscope generate` as a script would run them. The
// predictions are checked against softmax(LM head x HF's reference last_hidden_state), with the
// head's weights read by this suite's own safetensors reader.
#include "cli_support.h"

#include <QTemporaryDir>
#include <QTest>
#include <numeric>

using namespace clitest;

namespace {
// softmax((W h) / T) for W [V, D] from the file and h the reference last_hidden_state row.
std::vector<double> referenceProbabilities(const QString& family, const QString& weightName,
                                           const QString& caseFile, int position, double T,
                                           QString* error) {
    const StFile weights = readSafetensors(oraclePath(family + "/model/model.safetensors"));
    const StFile ref = readSafetensors(oraclePath(family + '/' + caseFile));
    if (!weights.ok() || !ref.ok()) {
        *error = weights.error + ref.error;
        return {};
    }
    const StTensor& w = weights.tensors.value(weightName);
    const StTensor& last = ref.tensors.value("last_hidden_state");
    const QVector<float> W = w.f32(), H = last.f32();
    if (W.isEmpty() || H.isEmpty() || w.shape.size() != 2) {
        *error = "missing tensors";
        return {};
    }
    const qint64 V = w.shape[0], D = w.shape[1];
    if (position < 0) position += int(last.shape[0]);
    std::vector<double> z(static_cast<size_t>(V));
    for (qint64 v = 0; v < V; ++v)
        for (qint64 i = 0; i < D; ++i)
            z[size_t(v)] += double(W[v * D + i]) * double(H[position * D + i]);
    const double m = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double& x : z)
        sum += x = std::exp((x - m) / T);
    for (double& x : z)
        x /= sum;
    return z;
}

QJsonObject parseObject(const QByteArray& bytes) {
    return QJsonDocument::fromJson(bytes).object();
}

QString caseIds(const QString& family, const QString& caseFile, int drop = 0) {
    const StFile ref = readSafetensors(oraclePath(family + '/' + caseFile));
    QVector<qint64> ids = ref.tensors.value("input_ids").i64();
    ids.resize(ids.size() - drop);
    return joinInts(ids);
}
} // namespace

class TestCliPredict : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;

    static void expectError(const CliRun& r, const QString& fragment) {
        QVERIFY2(r.normalExit(), qPrintable(r.describe()));
        QCOMPARE(r.exitCode, 2);
        const QStringList lines = r.errLines();
        QCOMPARE(lines.size(), 1);
        QVERIFY2(lines[0].startsWith("attnscope: error: ") && lines[0].contains(fragment),
                 qPrintable(lines[0]));
    }

private slots:
    void predictMatchesReference_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("weight");
        QTest::addColumn<QString>("caseFile");
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<int>("position");
        QTest::addColumn<double>("temperature");
        QTest::newRow("llama untied") << "llama"
                                      << "lm_head.weight"
                                      << "case0.safetensors" << QStringList{} << -1 << 1.0;
        QTest::newRow("llama T=0.5 pos 2")
            << "llama"
            << "lm_head.weight"
            << "case1.safetensors" << QStringList{"--temperature", "0.5", "--position", "2"} << 2
            << 0.5;
        QTest::newRow("qwen2 tied") << "qwen2"
                                    << "model.embed_tokens.weight"
                                    << "case0.safetensors" << QStringList{} << -1 << 1.0;
        QTest::newRow("qwen2 pos -3 T=3")
            << "qwen2"
            << "model.embed_tokens.weight"
            << "case2.safetensors" << QStringList{"--position", "-3", "--temperature", "3"} << -3
            << 3.0;
        QTest::newRow("gpt_neox untied") << "gpt_neox"
                                         << "embed_out.weight"
                                         << "case1.safetensors" << QStringList{} << -1 << 1.0;
    }
    void predictMatchesReference() {
        QFETCH(QString, family);
        QFETCH(QString, weight);
        QFETCH(QString, caseFile);
        QFETCH(QStringList, extra);
        QFETCH(int, position);
        QFETCH(double, temperature);
        const CliRun r = runCli(QStringList{"predict", "--model", oraclePath(family + "/model"),
                                            "--ids", caseIds(family, caseFile), "--top", "7"} +
                                extra);
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject out = parseObject(r.out);
        QString error;
        const std::vector<double> p =
            referenceProbabilities(family, weight, caseFile, position, temperature, &error);
        QVERIFY2(!p.empty(), qPrintable(error));
        const int T = out["tokens"].toInt();
        QCOMPARE(out["position"].toInt(), position < 0 ? position + T : position);
        QCOMPARE(out["kind"].toString(), QString("next-token"));
        std::vector<int> order(p.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
        const QJsonArray top = out["top"].toArray();
        QCOMPARE(top.size(), 7);
        for (int i = 0; i < 7; ++i) {
            const QJsonObject t = top[i].toObject();
            QCOMPARE(t["id"].toInt(), order[size_t(i)]);
            const double want = p[size_t(order[size_t(i)])];
            QVERIFY2(std::abs(t["probability"].toDouble() - want) <= 1e-4 * want,
                     qPrintable(QString::number(t["probability"].toDouble())));
            QVERIFY(t.contains("token") && t.contains("logit") && t.contains("text"));
        }
    }

    // The default model from text: predict equals softmax(E h) with h the last row of what
    // `dump` writes for the same text and E the model's (tied) embedding matrix.
    void predictDefaultModel() {
        const QString text = "And God said, Let there be";
        const CliRun r = runCli({"predict", "--model", "default", "--text", text, "--top", "5"});
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject out = parseObject(r.out);
        const QString dumpPath = m_tmp.filePath("default.safetensors");
        const CliRun d = runCli({"dump", "--model", "default", "--text", text, "-o", dumpPath});
        QVERIFY2(d.exitCode == 0, qPrintable(d.describe()));
        const StFile dump = readSafetensors(dumpPath);
        const StFile weights = readSafetensors(QStringLiteral(ATTNSCOPE_TEST_DATA) +
                                               "/../../resources/models/default/model.safetensors");
        QVERIFY2(dump.ok() && weights.ok(), qPrintable(dump.error + weights.error));
        const StTensor& e = weights.tensors.value("model.embed_tokens.weight");
        const StTensor& h = dump.tensors.value("last_hidden_state");
        const QVector<float> E = e.f32(), H = h.f32();
        const qint64 V = e.shape[0], D = e.shape[1], T = h.shape[0];
        QCOMPARE(out["position"].toInt(), int(T - 1));
        std::vector<double> p(static_cast<size_t>(V));
        for (qint64 v = 0; v < V; ++v)
            for (qint64 i = 0; i < D; ++i)
                p[size_t(v)] += double(E[v * D + i]) * double(H[(T - 1) * D + i]);
        const double m = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (double& x : p)
            sum += x = std::exp(x - m);
        const QJsonArray top = out["top"].toArray();
        QCOMPARE(top.size(), 5);
        for (int i = 0; i < top.size(); ++i) {
            const int id = top[i]["id"].toInt();
            QCOMPARE(id, int(std::max_element(p.begin(), p.end()) - p.begin()));
            QVERIFY(std::abs(top[i]["probability"].toDouble() - p[size_t(id)] / sum) <=
                    1e-4 * p[size_t(id)] / sum);
            p[size_t(id)] = -1; // the next one is the next largest
        }
    }

    // Masked-LM: the first [MASK] is predicted by default.
    void predictMask() {
        const CliRun r = runCli({"predict", "--model", oraclePath("bert/model"), "--text",
                                 "the cat [MASK] on the mat", "--top", "3"});
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject out = parseObject(r.out);
        QCOMPARE(out["kind"].toString(), QString("masked-token"));
        QCOMPARE(out["position"].toInt(), 4); // [CLS] the ca ##t [MASK] on the mat [SEP]
        QCOMPARE(out["top"].toArray().size(), 3);
    }

    void generateGreedy_data() {
        QTest::addColumn<QString>("extension");
        QTest::newRow("json") << ".json";
        QTest::newRow("safetensors") << ".safetensors";
    }
    // Greedy generation of 10 tokens: the prompt's ids, then each token the argmax of the LM
    // head (read here) over the last hidden state that `dump` writes for the ids before it.
    void generateGreedy() {
        QFETCH(QString, extension);
        const QString ids = caseIds("llama", "case2.safetensors");
        const QString out = m_tmp.filePath("g" + extension);
        const int n = 10;
        const CliRun r = runCli({"generate", "--model", oraclePath("llama/model"), "--ids", ids,
                                 "--tokens", QString::number(n), "--greedy", "-o", out});
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        const QJsonObject summary = parseObject(r.out);
        QCOMPARE(summary["generated"].toInt(), n);
        QVector<qint64> all;
        if (extension == ".json") {
            const QJsonObject dump = readJsonFile(out).object();
            QCOMPARE(dump["generated"].toInt(), n);
            all = jsonInts(dump["ids"]);
            const QVector<qint64> shape = jsonInts(dump["attentions_shape"]);
            QCOMPARE(shape.last(), qint64(all.size()));
        } else {
            const StFile st = readSafetensors(out);
            QVERIFY2(st.ok(), qPrintable(st.error));
            QCOMPARE(st.metadata["generated"].toString(), QString::number(n));
            all = st.tensors.value("input_ids").i64();
            QCOMPARE(st.tensors.value("attentions").shape.last(), qint64(all.size()));
        }
        const QVector<qint64> prompt =
            jsonInts(QJsonDocument::fromJson(("[" + ids + "]").toUtf8()).array());
        QCOMPARE(all.size(), prompt.size() + n);
        QCOMPARE(all.mid(0, prompt.size()), prompt);
        const StFile weights = readSafetensors(oraclePath("llama/model/model.safetensors"));
        const StTensor& head = weights.tensors.value("lm_head.weight");
        const QVector<float> W = head.f32();
        const qint64 V = head.shape[0], D = head.shape[1];
        for (int k = 0; k < n; ++k) {
            const QString step = m_tmp.filePath(QString("step%1.safetensors").arg(k));
            const CliRun d = runCli({"dump", "--model", oraclePath("llama/model"), "--ids",
                                     joinInts(all.mid(0, prompt.size() + k)), "-o", step});
            QVERIFY2(d.exitCode == 0, qPrintable(d.describe()));
            const StTensor last = readSafetensors(step).tensors.value("last_hidden_state");
            const QVector<float> H = last.f32();
            const qint64 row = (last.shape[0] - 1) * D;
            qint64 best = 0;
            double bestLogit = -INFINITY;
            for (qint64 v = 0; v < V; ++v) {
                double z = 0;
                for (qint64 i = 0; i < D; ++i)
                    z += double(W[v * D + i]) * double(H[row + i]);
                if (z > bestLogit) bestLogit = z, best = v;
            }
            QCOMPARE(all[prompt.size() + k], best);
        }
    }

    // Sampling with a seed writes the same tokens each time.
    void generateSeeded() {
        QStringList args{"generate", "--model",       "default", "--text",  "The sea", "--tokens",
                         "6",        "--temperature", "0.9",     "--top-k", "40",      "--top-p",
                         "0.95",     "--seed",        "7",       "-o"};
        const CliRun a = runCli(args + QStringList{m_tmp.filePath("a.json")});
        const CliRun b = runCli(args + QStringList{m_tmp.filePath("b.json")});
        QVERIFY2(a.exitCode == 0 && b.exitCode == 0, qPrintable(a.describe() + b.describe()));
        QCOMPARE(parseObject(a.out)["ids"], parseObject(b.out)["ids"]);
        const QJsonObject dump = readJsonFile(m_tmp.filePath("a.json")).object();
        QVERIFY(dump["text"].toString().startsWith("The sea"));
        QCOMPARE(dump["generated"].toInt(), 6);
    }

    void errors() {
        const QString llama = oraclePath("llama/model");
        expectError(runCli({"predict", "--model", oraclePath("vit/model"), "--ids", "1,2"}),
                    "image model");
        expectError(runCli({"predict", "--model", llama, "--ids", "1,2", "--temperature", "0"}),
                    "--temperature");
        expectError(runCli({"predict", "--model", llama, "--ids", "1,2", "--position", "2"}),
                    "--position");
        expectError(runCli({"predict", "--model", llama, "--ids", "1,2", "--top", "0"}), "--top");
        expectError(runCli({"predict", "--model", llama}), "exactly one input");
        expectError(runCli({"predict", "--model", oraclePath("bert/model"), "--text", "no mask"}),
                    "mask token");
        expectError(runCli({"predict", "--model", llama, "--ids", "1", "--tokens", "3"}),
                    "does not take");
        expectError(runCli({"generate", "--model", llama, "--ids", "1,2", "--tokens", "2"}),
                    "-o OUT");
        expectError(
            runCli({"generate", "--model", llama, "--ids", "1,2", "-o", m_tmp.filePath("x.json")}),
            "--tokens");
        expectError(runCli({"generate", "--model", llama, "--ids", "1,2", "--tokens", "2",
                            "--greedy", "--seed", "3", "-o", m_tmp.filePath("x.json")}),
                    "--greedy");
        expectError(runCli({"generate", "--model", llama, "--ids", "1,2", "--tokens", "2",
                            "--top-p", "1.5", "-o", m_tmp.filePath("x.json")}),
                    "--top-p");
        expectError(runCli({"generate", "--model", oraclePath("bert/model"), "--text", "a",
                            "--tokens", "2", "-o", m_tmp.filePath("x.json")}),
                    "not a causal language model");
        expectError(runCli({"generate", "--model", "default", "--text", "a", "--tokens", "500",
                            "-o", m_tmp.filePath("x.json")}),
                    "positions");
        QVERIFY(!QFile::exists(m_tmp.filePath("x.json")));
    }
};

QTEST_GUILESS_MAIN(TestCliPredict)
#include "tst_cli_predict.moc"
