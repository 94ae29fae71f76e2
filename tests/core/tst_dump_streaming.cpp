// Writing dumps without copies (issue 14): a .safetensors dump streams its [L', H', T, T]
// attention head by head and must give the bytes the in-memory writer gave (the whole tensor
// assembled, then written); an attention .npy written layer by layer during the pass must give
// the bytes of the same file written after it; streamed and held safetensors entries must write
// the same file; and
// the pass's record of which kept heads are finite (LayerTrace::attentionFinite, taken from the
// softmax sums) must agree with reading the values.
#include "blocks.h"
#include "dump.h"
#include "safetensors.h"
#include "session.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>
#include <limits>
#include <random>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The bytes writeNpy gives for `t`, written at `path` and removed again.
QByteArray npyBytes(const QString& path, const Tensor& t) {
    if (!writeNpy(path, t).ok()) return {};
    const QByteArray bytes = readAll(path);
    QFile::remove(path);
    return bytes;
}

std::vector<int> intList(const QString& text) {
    std::vector<int> out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts))
        out.push_back(part.toInt());
    return out;
}
} // namespace

class TestDumpStreaming : public QObject {
    Q_OBJECT
private slots:
    void cleanup() { qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB"); }

    // The same tensors, held or streamed (split in pieces): the same file, header included.
    void streamedEntriesEqualHeld_data() {
        QTest::addColumn<std::vector<int64_t>>("shape");
        QTest::addColumn<int>("pieces"); // the streamed entry writes its bytes in this many calls
        QTest::newRow("matrix, one write") << std::vector<int64_t>{3, 5} << 1;
        QTest::newRow("4-d, three writes") << std::vector<int64_t>{2, 3, 4, 4} << 3;
        QTest::newRow("vector, a write per value") << std::vector<int64_t>{7} << 7;
        QTest::newRow("scalar shape []") << std::vector<int64_t>{} << 1;
    }
    void streamedEntriesEqualHeld() {
        QFETCH(std::vector<int64_t>, shape);
        QFETCH(int, pieces);
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        std::vector<float> values(static_cast<size_t>(n));
        for (size_t i = 0; i < values.size(); ++i)
            values[i] = float(i) * 0.25f - 3.0f;
        const std::vector<int64_t> ids{4, 0, 9};
        const std::map<QString, QString> meta{{QStringLiteral("tokens"), QStringLiteral("[1]")}};
        QTemporaryDir dir;
        const QString held = dir.filePath(QStringLiteral("held.safetensors"));
        const QString streamed = dir.filePath(QStringLiteral("streamed.safetensors"));
        QVERIFY(writeSafeTensors(held,
                                 {makeF32(QStringLiteral("a"), shape, values.data()),
                                  makeI64(QStringLiteral("ids"), {3}, ids.data()),
                                  makeF32(QStringLiteral("b"), shape, values.data())},
                                 meta)
                    .ok());
        TensorToWrite a{QStringLiteral("a"), DType::F32, shape, {}, 0, {}};
        a.streamedBytes = n * 4;
        a.stream = [&](QIODevice& device) {
            for (int p = 0; p < pieces; ++p) {
                const int64_t begin = n * p / pieces, end = n * (p + 1) / pieces;
                device.write(reinterpret_cast<const char*>(values.data() + begin),
                             (end - begin) * 4);
            }
        };
        QVERIFY(writeSafeTensors(streamed,
                                 {a, makeI64(QStringLiteral("ids"), {3}, ids.data()),
                                  referF32(QStringLiteral("b"), shape, values.data())},
                                 meta)
                    .ok());
        const QByteArray expected = readAll(held);
        QVERIFY(!expected.isEmpty());
        QCOMPARE(readAll(streamed), expected);
        auto file = SafeTensorsFile::open(streamed);
        QVERIFY2(file.ok(), qPrintable(file.message()));
        auto b = (*file)->floatTensor(QStringLiteral("b"));
        QVERIFY2(b.ok(), qPrintable(b.message()));
        QCOMPARE(std::vector<float>(b->data, b->data + n), values);
    }

    // writeDump's streamed .safetensors against the in-memory writer (attentionTensor(), then
    // writeSafeTensors of held copies, with the metadata the dump wrote): byte for byte, for
    // causal and bidirectional models, all heads or some (--layers/--heads, in the order
    // given), eager or lazy heads, with an analysis beside it.
    void dumpEqualsInMemoryBytes_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        QTest::addColumn<QString>("layers"); // empty: all
        QTest::addColumn<QString>("heads");
        QTest::addColumn<bool>("lazy");
        QTest::newRow("gpt2 all heads") << "gpt2" << 9 << ""
                                        << "" << false;
        QTest::newRow("gpt2 --layers 1 --heads 2,0") << "gpt2" << 12 << "1"
                                                     << "2,0" << false;
        QTest::newRow("llama all heads") << "llama" << 17 << ""
                                         << "" << false;
        QTest::newRow("llama --layers 1,0 --heads 3") << "llama" << 5 << "1,0"
                                                      << "3" << false;
        QTest::newRow("llama lazy heads") << "llama" << 11 << ""
                                          << "" << true;
        QTest::newRow("bert all heads") << "bert" << 8 << ""
                                        << "" << false;
        QTest::newRow("qwen2 --heads 1") << "qwen2" << 6 << ""
                                         << "1" << false;
    }
    void dumpEqualsInMemoryBytes() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        QFETCH(QString, layers);
        QFETCH(QString, heads);
        QFETCH(bool, lazy);
        if (lazy) qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        AnalysisRequest request;
        request.keep = KeepOptions::attentionOnly();
        request.keep.onlyLayers = intList(layers);
        request.keep.onlyHeads = intList(heads);
        std::mt19937 rng(static_cast<uint32_t>(tokens));
        std::uniform_int_distribution<int64_t> pick(
            5, std::min<int64_t>(200, (*model)->config().vocab - 1));
        for (int t = 0; t < tokens; ++t)
            request.ids.push_back(pick(rng));
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
        QCOMPARE(analysis->forward.isLazy(), lazy);
        // An analysis tensor beside the attention (as dump --analysis writes it).
        Tensor extra;
        extra.shape = {2, 3};
        extra.data = {1.f, -2.f, 3.5f, 0.f, 1e-7f, 8.f};

        QTemporaryDir dir;
        const QString streamed = dir.filePath(QStringLiteral("streamed.safetensors"));
        QVERIFY(writeDump(*analysis, **model, streamed, {{QStringLiteral("extra"), extra}}).ok());
        auto file = SafeTensorsFile::open(streamed);
        QVERIFY2(file.ok(), qPrintable(file.message()));

        const Tensor attention = analysis->forward.attentionTensor(); // [L', H', T, T]
        const int expectedLayers =
            layers.isEmpty() ? (*model)->config().layers : int(intList(layers).size());
        const int expectedHeads =
            heads.isEmpty() ? (*model)->config().heads : int(intList(heads).size());
        QCOMPARE(attention.shape, (std::vector<int64_t>{expectedLayers, expectedHeads,
                                                        int64_t(tokens), int64_t(tokens)}));
        std::map<QString, QString> meta;
        const QJsonObject written = (*file)->metadata();
        for (auto it = written.begin(); it != written.end(); ++it)
            meta[it.key()] = it.value().toString();
        const Encoding& e = analysis->encoding;
        const Mat& last = analysis->forward.lastHiddenState;
        std::vector<TensorToWrite> held{
            makeF32(QStringLiteral("attentions"), attention.shape, attention.data.data())};
        if ((*model)->config().modality == Modality::Text)
            held.push_back(
                makeI64(QStringLiteral("input_ids"), {int64_t(e.ids.size())}, e.ids.data()));
        held.push_back(
            makeF32(QStringLiteral("last_hidden_state"), {last.rows(), last.cols()}, last.data()));
        held.push_back(makeF32(QStringLiteral("extra"), extra.shape, extra.data.data()));
        const QString inMemory = dir.filePath(QStringLiteral("in-memory.safetensors"));
        QVERIFY(writeSafeTensors(inMemory, held, meta).ok());
        const QByteArray expected = readAll(inMemory);
        QVERIFY(expected.size() > qsizetype(attention.data.size() * 4));
        QCOMPARE(readAll(streamed), expected);
    }

    // An attention .npy written layer by layer during the pass (OverlappedDump) against the same
    // analysis written after the pass (writeDump alone) and the in-memory writer (writeNpy of
    // attentionTensor()): byte for byte, with every kept layer written before the pass returned
    // (or none where heads are computed on demand, then written after the pass as before), and
    // no temporary file left beside it.
    void overlappedNpyEqualsWholePass_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        QTest::addColumn<QString>("layers"); // empty: all
        QTest::addColumn<QString>("heads");
        QTest::addColumn<bool>("lazy");
        QTest::newRow("gpt2 all heads") << "gpt2" << 9 << ""
                                        << "" << false;
        QTest::newRow("gpt2 --layers 1 --heads 2,0") << "gpt2" << 12 << "1"
                                                     << "2,0" << false;
        QTest::newRow("llama all heads, two row blocks") << "llama" << 200 << ""
                                                         << "" << false;
        QTest::newRow("llama --layers 1,0 --heads 3") << "llama" << 5 << "1,0"
                                                      << "3" << false;
        QTest::newRow("llama lazy heads: after the pass") << "llama" << 11 << ""
                                                          << "" << true;
        QTest::newRow("bert all heads") << "bert" << 8 << ""
                                        << "" << false;
        QTest::newRow("qwen2 --heads 1") << "qwen2" << 6 << ""
                                         << "1" << false;
        QTest::newRow("gpt_neox --layers 1") << "gpt_neox" << 7 << "1"
                                             << "" << false;
    }
    void overlappedNpyEqualsWholePass() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        QFETCH(QString, layers);
        QFETCH(QString, heads);
        QFETCH(bool, lazy);
        if (lazy) qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        const ModelConfig& c = (*model)->config();
        QTemporaryDir dir;
        const QString overlappedPath = dir.filePath(QStringLiteral("overlapped.npy"));
        AnalysisRequest request;
        request.keep = KeepOptions::attentionOnly();
        request.keep.onlyLayers = intList(layers);
        request.keep.onlyHeads = intList(heads);
        OverlappedDump overlapped(overlappedPath, c.layers, c.heads, request.keep);
        QVERIFY(overlapped.enabled());
        overlapped.install(request.keep);
        std::mt19937 rng(static_cast<uint32_t>(tokens));
        std::uniform_int_distribution<int64_t> pick(5, std::min<int64_t>(200, c.vocab - 1));
        for (int t = 0; t < tokens; ++t)
            request.ids.push_back(pick(rng));
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
        QCOMPARE(analysis->forward.isLazy(), lazy);
        const int keptLayers = layers.isEmpty() ? c.layers : int(intList(layers).size());
        // Written while the pass ran: every kept layer (none for lazy heads, nothing to write).
        QCOMPARE(overlapped.layersWritten(), lazy ? 0 : keptLayers);
        QVERIFY(writeDump(*analysis, **model, overlappedPath, {}, &overlapped).ok());

        const QString afterPass = dir.filePath(QStringLiteral("after-pass.npy"));
        QVERIFY(writeDump(*analysis, **model, afterPass).ok());
        const QString inMemory = dir.filePath(QStringLiteral("in-memory.npy"));
        const Tensor attention = analysis->forward.attentionTensor(); // [L', H', T, T]
        QCOMPARE(attention.shape.size(), size_t(4));
        QCOMPARE(attention.shape[0], int64_t(keptLayers));
        QVERIFY(writeNpy(inMemory, attention).ok());
        const QByteArray expected = readAll(inMemory);
        QVERIFY(expected.size() > qsizetype(attention.data.size() * 4));
        QCOMPARE(readAll(afterPass), expected);
        QCOMPARE(readAll(overlappedPath), expected);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
                 (QStringList{"after-pass.npy", "in-memory.npy", "overlapped.npy"}));
    }

    // What was written during a pass is used only for that pass's own attention .npy: another
    // pass's result, an analysis written instead of the attention, or a .safetensors path get
    // the file writeDump writes without it, and the partial file is removed.
    void overlappedNpyOnlyForItsOwnPass_data() {
        QTest::addColumn<QString>("mismatch");
        QTest::newRow("another pass's result") << "other pass";
        QTest::newRow("an analysis instead of attention") << "analysis";
        QTest::newRow("safetensors output") << "safetensors";
    }
    void overlappedNpyOnlyForItsOwnPass() {
        QFETCH(QString, mismatch);
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        const ModelConfig& c = (*model)->config();
        QTemporaryDir dir;
        const QString path = dir.filePath(mismatch == QLatin1String("safetensors")
                                              ? QStringLiteral("out.safetensors")
                                              : QStringLiteral("out.npy"));
        AnalysisRequest request;
        request.keep = KeepOptions::attentionOnly();
        request.ids = {5, 9, 31, 7, 12, 40};
        OverlappedDump overlapped(path, c.layers, c.heads, request.keep);
        if (mismatch == QLatin1String("safetensors")) {
            QVERIFY(!overlapped.enabled()); // its header needs the whole analysis
            return;
        }
        overlapped.install(request.keep);
        auto first = (*model)->analyze(request);
        QVERIFY2(first.ok(), qPrintable(first.message()));
        QCOMPARE(overlapped.layersWritten(), c.layers);
        AnalysisRequest plain = request;
        plain.keep.attentionDone = {};
        plain.ids = {5, 9, 31, 7, 12, 41}; // not the same attention
        auto second = (*model)->analyze(plain);
        QVERIFY2(second.ok(), qPrintable(second.message()));
        QByteArray expected;
        if (mismatch == QLatin1String("other pass")) {
            QVERIFY(writeDump(*second, **model, path, {}, &overlapped).ok());
            expected = npyBytes(dir.filePath(QStringLiteral("expected.npy")),
                                second->forward.attentionTensor());
        } else {
            Tensor extra;
            extra.shape = {2, 3};
            extra.data = {1.f, -2.f, 3.5f, 0.f, 1e-7f, 8.f};
            QVERIFY(
                writeDump(*first, **model, path, {{QStringLiteral("extra"), extra}}, &overlapped)
                    .ok());
            expected = npyBytes(dir.filePath(QStringLiteral("expected.npy")), extra);
        }
        QVERIFY(!expected.isEmpty());
        QCOMPARE(readAll(path), expected);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), (QStringList{"out.npy"}));
    }

    // The pass's per-head record of finite attention equals reading the values: rows with NaN
    // or infinite queries/keys, scores that overflow to infinity, and ordinary ones.
    void finiteRecordMatchesValues_data() {
        QTest::addColumn<QString>("poison"); // q or k
        QTest::addColumn<int>("row");        // -1: nothing poisoned
        QTest::addColumn<float>("value");
        QTest::addColumn<bool>("causal");
        QTest::addColumn<bool>("someNonFinite"); // whether a head must come out non-finite
        const float inf = std::numeric_limits<float>::infinity();
        QTest::newRow("finite, causal") << "q" << -1 << 0.f << true << false;
        QTest::newRow("finite, bidirectional") << "q" << -1 << 0.f << false << false;
        QTest::newRow("NaN query, causal")
            << "q" << 37 << std::numeric_limits<float>::quiet_NaN() << true << true;
        QTest::newRow("+inf key, causal") << "k" << 3 << inf << true << true;
        QTest::newRow("-inf key, bidirectional") << "k" << 150 << -inf << false << true;
        QTest::newRow("-inf query, causal") << "q" << 200 << -inf << true << true;
        QTest::newRow("3e38 query: scores overflow") << "q" << 129 << 3e38f << true << true;
        QTest::newRow("1e30 key: huge finite scores") << "k" << 0 << 1e30f << false << false;
        QTest::newRow("-1e30 query: huge negative scores") << "q" << 64 << -1e30f << true << false;
    }
    void finiteRecordMatchesValues() {
        QFETCH(QString, poison);
        QFETCH(int, row);
        QFETCH(float, value);
        QFETCH(bool, causal);
        QFETCH(bool, someNonFinite);
        const int T = 260, heads = 4, kvHeads = 2, d = 8; // more than one 128-row block
        std::mt19937 rng(11);
        std::normal_distribution<float> normal;
        Mat q(T, heads * d), k(T, kvHeads * d), v(T, kvHeads * d); // [T, H*d], [T, KV*d] x2
        for (Mat* m : {&q, &k, &v})
            for (Eigen::Index i = 0; i < m->size(); ++i)
                m->data()[i] = normal(rng);
        if (row >= 0) {
            Mat& target = poison == QLatin1String("q") ? q : k;
            target.row(row).segment(d, d).setConstant(value); // head 1 (q) or kv head 1 (k)
        }
        LayerTrace trace;
        KeepOptions keep = KeepOptions::attentionOnly();
        keep.layer = 0;
        multiHeadAttention(q, k, v, heads, kvHeads, d, causal, trace, keep);
        QCOMPARE(trace.attentionFinite.size(), size_t(heads));
        int nonFinite = 0;
        for (int h = 0; h < heads; ++h) {
            const bool finite = trace.attention[size_t(h)].allFinite();
            nonFinite += finite ? 0 : 1;
            QCOMPARE(trace.attentionFinite[size_t(h)] != 0, finite);
        }
        QCOMPARE(nonFinite > 0, someNonFinite);
    }
};

QTEST_GUILESS_MAIN(TestDumpStreaming)
#include "tst_dump_streaming.moc"
