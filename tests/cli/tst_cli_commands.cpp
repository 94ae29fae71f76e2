// End-to-end: `attnscope info | tokenize | models | export` and the error contract
// (exit code 2, exactly one `attnscope: error: ...` line on stderr, never a crash).
#include "cli_support.h"

#include <QImage>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <functional>

using namespace clitest;

class TestCliCommands : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_fx; // fixture root

    QString fx(const QString& rel) const { return m_fx + QLatin1Char('/') + rel; }

    // A model folder holding a copy of `family`'s config.json (optionally edited) and weights.
    bool makeModelCopy(const QString& family, const QString& name,
                       const std::function<void(QJsonObject&)>& editConfig = {}) {
        const QString dir = fx(name);
        if (!QDir().mkpath(dir)) return false;
        const QString src = oraclePath(family + QStringLiteral("/model"));
        QString error;
        QJsonObject config = readJsonFile(src + QStringLiteral("/config.json"), &error).object();
        if (!error.isEmpty() || config.isEmpty()) return false;
        if (editConfig) editConfig(config);
        QFile c(dir + QStringLiteral("/config.json"));
        if (!c.open(QIODevice::WriteOnly) || c.write(QJsonDocument(config).toJson()) <= 0)
            return false;
        c.close();
        const QString weights = dir + QStringLiteral("/model.safetensors");
        if (!QFile::copy(src + QStringLiteral("/model.safetensors"), weights)) return false;
        return QFile::setPermissions(weights, QFile::ReadOwner | QFile::WriteOwner);
    }

    // Replaces `name`/model.safetensors by a variant of gpt2's whose header was edited.
    bool rewriteHeader(const QString& name, const std::function<void(QJsonObject&)>& edit) {
        QFile f(oraclePath(QStringLiteral("gpt2/model/model.safetensors")));
        if (!f.open(QIODevice::ReadOnly)) return false;
        const QByteArray all = f.readAll();
        uint64_t n = 0;
        for (int k = 7; k >= 0; --k)
            n = (n << 8) | uint8_t(all[k]);
        QJsonObject header = QJsonDocument::fromJson(all.mid(8, qsizetype(n))).object();
        if (header.isEmpty()) return false;
        edit(header);
        return writeSafetensorsRaw(fx(name + QStringLiteral("/model.safetensors")),
                                   QJsonDocument(header).toJson(QJsonDocument::Compact),
                                   all.mid(8 + qsizetype(n)));
    }

    static QString gpt2() { return oraclePath(QStringLiteral("gpt2/model")); }
    static QString vit() { return oraclePath(QStringLiteral("vit/model")); }

    // Rows: HF `tokenizers` output for `key` in `vectorsFile`, to be reproduced with --model
    // `folder`.
    static void addTokenizeRows(const QString& vectorsFile, const QString& key,
                                const QString& folder) {
        QString error;
        const QJsonArray vectors =
            readJsonFile(oraclePath(vectorsFile), &error).object().value(key).toArray();
        QVERIFY2(!vectors.isEmpty(),
                 qPrintable(vectorsFile + QStringLiteral(": no vectors for ") + key + error));
        int i = 0;
        for (const QJsonValue& v : vectors) {
            const QJsonObject e = v.toObject();
            QStringList offsets;
            for (const QJsonValue& o : e.value(QLatin1String("offsets")).toArray())
                offsets << joinInts(jsonInts(o));
            QTest::addRow("%s/%d", qPrintable(key), i++)
                << oraclePath(folder) << e.value(QLatin1String("text")).toString()
                << joinInts(jsonInts(e.value(QLatin1String("ids"))))
                << jsonStrings(e.value(QLatin1String("tokens"))) << offsets.join(QLatin1Char(' '))
                << e.value(QLatin1String("text_pair"))
                       .toString(e.value(QLatin1String("pair")).toString())
                << (e.contains(QLatin1String("type_ids"))
                        ? joinInts(jsonInts(e.value(QLatin1String("type_ids"))))
                        : QString());
        }
    }
    static void addTokenizeColumns() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("ids");
        QTest::addColumn<QStringList>("tokens");
        QTest::addColumn<QString>("offsets");
        QTest::addColumn<QString>("pair");    // empty: a single sequence
        QTest::addColumn<QString>("typeIds"); // empty: all zero expected
    }
    static void checkTokenize() {
        QFETCH(QString, model);
        QFETCH(QString, text);
        QFETCH(QString, ids);
        QFETCH(QStringList, tokens);
        QFETCH(QString, offsets);
        QFETCH(QString, pair);
        QFETCH(QString, typeIds);
        QStringList args{QStringLiteral("tokenize"), QStringLiteral("--model"), model,
                         QStringLiteral("--text"), text};
        if (!pair.isEmpty()) args << QStringLiteral("--pair") << pair;
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        QJsonParseError pe;
        const QJsonObject o = QJsonDocument::fromJson(run.out, &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        QCOMPARE(joinInts(jsonInts(o.value(QLatin1String("ids")))), ids);
        QCOMPARE(jsonStrings(o.value(QLatin1String("tokens"))), tokens);
        QStringList got;
        for (const QJsonValue& v : o.value(QLatin1String("offsets")).toArray())
            got << joinInts(jsonInts(v));
        QCOMPARE(got.join(QLatin1Char(' ')), offsets);
        const QVector<qint64> types = jsonInts(o.value(QLatin1String("type_ids")));
        QCOMPARE(types.size(), qsizetype(tokens.size()));
        if (typeIds.isEmpty())
            QVERIFY(std::all_of(types.begin(), types.end(), [](qint64 t) { return t == 0; }));
        else
            QCOMPARE(joinInts(types), typeIds);
    }

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(binary()).isExecutable(), qPrintable(binary()));
        m_fx = m_tmp.filePath(QStringLiteral("fixtures"));
        QVERIFY(QDir().mkpath(m_fx));

        // folder without config.json
        QVERIFY(QDir().mkpath(fx(QStringLiteral("noconfig"))));
        QVERIFY(QFile::copy(oraclePath(QStringLiteral("llama/model/model.safetensors")),
                            fx(QStringLiteral("noconfig/model.safetensors"))));

        // truncated weights: the file cut to half its size
        QVERIFY(makeModelCopy(QStringLiteral("gpt2"), QStringLiteral("truncated")));
        {
            QFile w(fx(QStringLiteral("truncated/model.safetensors")));
            QVERIFY(w.resize(w.size() / 2));
        }

        // garbage JSON header
        QVERIFY(makeModelCopy(QStringLiteral("gpt2"), QStringLiteral("garbage-header")));
        QVERIFY(writeSafetensorsRaw(
            fx(QStringLiteral("garbage-header/model.safetensors")),
            QByteArray("{\"wte.weight\": {\"dtype\": \"F16\", \"shape\": [50257, 32], garbage!!"),
            QByteArray(4096, '\x01')));

        // header length larger than the file
        QVERIFY(makeModelCopy(QStringLiteral("gpt2"), QStringLiteral("long-header")));
        QVERIFY(writeSafetensorsRaw(fx(QStringLiteral("long-header/model.safetensors")),
                                    QByteArray("{}"), QByteArray(1024, '\0'), qint64(1) << 40));

        // overlapping byte ranges: two tensors of equal size given the same offsets
        QVERIFY(makeModelCopy(QStringLiteral("gpt2"), QStringLiteral("overlap")));
        bool edited = false;
        QVERIFY(rewriteHeader(QStringLiteral("overlap"), [&](QJsonObject& h) {
            QString a, b;
            for (auto it = h.begin(); it != h.end(); ++it)
                if (it.key().endsWith(QLatin1String("h.0.ln_1.weight")))
                    a = it.key();
                else if (it.key().endsWith(QLatin1String("h.1.ln_1.weight")))
                    b = it.key();
            if (a.isEmpty() || b.isEmpty()) return;
            QJsonObject eb = h.value(b).toObject();
            eb.insert(QStringLiteral("data_offsets"),
                      h.value(a).toObject().value(QLatin1String("data_offsets")));
            h.insert(b, eb);
            edited = true;
        }));
        QVERIFY2(edited, "gpt2 checkpoint lacks h.0/h.1.ln_1.weight");

        // shape that does not match the byte range
        QVERIFY(makeModelCopy(QStringLiteral("gpt2"), QStringLiteral("bad-shape")));
        edited = false;
        QVERIFY(rewriteHeader(QStringLiteral("bad-shape"), [&](QJsonObject& h) {
            for (auto it = h.begin(); it != h.end(); ++it)
                if (it.key().endsWith(QLatin1String("h.0.ln_1.weight"))) {
                    QJsonObject e = it.value().toObject();
                    e.insert(QStringLiteral("shape"), QJsonArray{33});
                    h.insert(it.key(), e);
                    edited = true;
                    return;
                }
        }));
        QVERIFY(edited);

        // configs the engine must refuse rather than compute wrongly
        QVERIFY(makeModelCopy(
            QStringLiteral("gpt2"), QStringLiteral("unknown-type"), [](QJsonObject& c) {
                c.insert(QStringLiteral("model_type"), QStringLiteral("frobnitz_lm"));
            }));
        QVERIFY(makeModelCopy(QStringLiteral("llama-v4-config"), QStringLiteral("yarn-v4"),
                              [](QJsonObject& c) {
                                  c.insert(QStringLiteral("rope_scaling"),
                                           QJsonObject{{"rope_type", "yarn"},
                                                       {"factor", 4.0},
                                                       {"original_max_position_embeddings", 64}});
                              }));
        QVERIFY(
            makeModelCopy(QStringLiteral("llama"), QStringLiteral("yarn-v5"), [](QJsonObject& c) {
                c.insert(QStringLiteral("rope_parameters"),
                         QJsonObject{{"rope_type", "yarn"},
                                     {"rope_theta", 10000.0},
                                     {"factor", 4.0},
                                     {"original_max_position_embeddings", 64}});
            }));
        QVERIFY(makeModelCopy(QStringLiteral("llama-v4-config"), QStringLiteral("mistral-sliding"),
                              [](QJsonObject& c) {
                                  c.insert(QStringLiteral("model_type"), QStringLiteral("mistral"));
                                  c.insert(QStringLiteral("architectures"),
                                           QJsonArray{QStringLiteral("MistralForCausalLM")});
                                  c.insert(QStringLiteral("sliding_window"), 4096);
                              }));

        // corrupt PNG
        QFile png(fx(QStringLiteral("corrupt.png")));
        QVERIFY(png.open(QIODevice::WriteOnly));
        png.write(QByteArray("\x89PNG\r\n\x1a\n", 8) + QByteArray(200, '\x5a'));
        png.close();
    }

    // ------------------------------------------------------------------ 3. info
    void info_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("expFamily");
        QTest::addColumn<int>("layers");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kvHeads");
        QTest::addColumn<int>("hidden");
        QTest::addColumn<int>("vocab");        // -1: not checked
        QTest::addColumn<int>("maxPositions"); // -1: not checked
        QTest::addColumn<QString>("modality");
        // values straight from each config.json (gpt2: n_layer, n_head, n_embd, vocab_size,
        // n_positions)
        QTest::newRow("gpt2") << "gpt2"
                              << "gpt2" << 2 << 4 << 4 << 32 << 50257 << 128 << "text";
        QTest::newRow("llama") << "llama"
                               << "llama" << 2 << 4 << 2 << 64 << 2000 << 256 << "text";
        QTest::newRow("llama-v4-config") << "llama-v4-config"
                                         << "llama" << 2 << 4 << 2 << 64 << 2000 << 256 << "text";
        QTest::newRow("vit") << "vit"
                             << "vit" << 2 << 4 << 4 << 64 << -1 << -1 << "image";
    }
    void info() {
        QFETCH(QString, family);
        QFETCH(QString, expFamily);
        QFETCH(int, layers);
        QFETCH(int, heads);
        QFETCH(int, kvHeads);
        QFETCH(int, hidden);
        QFETCH(int, vocab);
        QFETCH(int, maxPositions);
        QFETCH(QString, modality);
        const CliRun run = runCli({QStringLiteral("info"), QStringLiteral("--model"),
                                   oraclePath(family + QStringLiteral("/model"))});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        QJsonParseError pe;
        const QJsonObject o = QJsonDocument::fromJson(run.out, &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        QCOMPARE(o.value(QLatin1String("family")).toString(), expFamily);
        QCOMPARE(o.value(QLatin1String("layers")).toInt(-1), layers);
        QCOMPARE(o.value(QLatin1String("heads")).toInt(-1), heads);
        QCOMPARE(o.value(QLatin1String("kv_heads")).toInt(-1), kvHeads);
        QCOMPARE(o.value(QLatin1String("hidden")).toInt(-1), hidden);
        QVERIFY(o.value(QLatin1String("vocab")).isDouble());
        QVERIFY(o.value(QLatin1String("max_positions")).isDouble());
        if (vocab >= 0) QCOMPARE(o.value(QLatin1String("vocab")).toInt(-1), vocab);
        if (maxPositions >= 0)
            QCOMPARE(o.value(QLatin1String("max_positions")).toInt(-1), maxPositions);
        QCOMPARE(o.value(QLatin1String("modality")).toString(), modality);
    }

    // ------------------------------------------------------------------ 4. tokenize
    void tokenize_data() {
        addTokenizeColumns();
        addTokenizeRows(QStringLiteral("tokenizers/vectors.json"), QStringLiteral("gpt2"),
                        QStringLiteral("gpt2/model"));
    }
    void tokenize() { checkTokenize(); }

    // tests/data/oracle/README.md: `attnscope tokenize` must work on a folder holding only a
    // tokenizer.
    void tokenizeTokenizerOnlyFolder_data() {
        addTokenizeColumns();
        for (const char* name :
             {"split-regex-bpe", "unigram", "wordlevel", "wordpiece-misc", "byte-fallback-bpe"})
            addTokenizeRows(QStringLiteral("tokenizers-more/vectors.json"),
                            QString::fromLatin1(name),
                            QStringLiteral("tokenizers-more/") + QString::fromLatin1(name));
    }
    void tokenizeTokenizerOnlyFolder() { checkTokenize(); }

    // --text-file: UTF-8 text with tabs, newlines and accents read from a file gives HF's ids.
    void textFile() {
        QString error;
        const QJsonObject c = readJsonFile(oraclePath(QStringLiteral("gpt2/cases.json")), &error)
                                  .object()
                                  .value(QLatin1String("cases"))
                                  .toArray()
                                  .at(3)
                                  .toObject();
        const QString text = c.value(QLatin1String("text")).toString();
        QVERIFY2(text.contains(QLatin1Char('\n')) && text.contains(QChar(0xe9)),
                 "case 3 is expected to hold newlines and accents");
        const QString in = m_tmp.filePath(QStringLiteral("input.txt"));
        QFile f(in);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(text.toUtf8());
        f.close();
        const QString out = m_tmp.filePath(QStringLiteral("textfile.safetensors"));
        const CliRun run = runCli({QStringLiteral("dump"), QStringLiteral("--model"), gpt2(),
                                   QStringLiteral("--text-file"), in, QStringLiteral("-o"), out});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const StFile dump = readSafetensors(out);
        QVERIFY2(dump.ok(), qPrintable(dump.error));
        QCOMPARE(joinInts(dump.tensors[QStringLiteral("input_ids")].i64()),
                 joinInts(jsonInts(c.value(QLatin1String("ids")))));
        const StFile ref = readSafetensors(
            oraclePath(QStringLiteral("gpt2/") + c.value(QLatin1String("file")).toString()));
        const double da = maxAbsDiff(dump.tensors[QStringLiteral("attentions")].f32(),
                                     ref.tensors[QStringLiteral("attentions")].f32());
        QVERIFY2(da >= 0 && da <= 1e-5,
                 qPrintable(QStringLiteral("attentions differ by %1").arg(da)));
    }

    // explain: every key of the contract, the shapes, null exactly for a causal model's future
    // keys, weights equal to the dumped attention row, on stdout and with -o alike.
    void explain() {
        const QString ids = QStringLiteral("464,3797,3332,319,262");
        const QStringList args{QStringLiteral("explain"), QStringLiteral("--model"), gpt2(),
                               QStringLiteral("--ids"),   ids,
                               QStringLiteral("--layer"), QStringLiteral("1"),
                               QStringLiteral("--head"),  QStringLiteral("2"),
                               QStringLiteral("--token"), QStringLiteral("2")};
        const CliRun printed = runCli(args);
        QVERIFY2(printed.normalExit() && printed.exitCode == 0, qPrintable(printed.describe()));
        const QString file = m_tmp.filePath(QStringLiteral("explain.json"));
        const CliRun written = runCli(args + QStringList{QStringLiteral("-o"), file});
        QVERIFY2(written.normalExit() && written.exitCode == 0, qPrintable(written.describe()));
        QVERIFY(written.out.isEmpty());
        QString error;
        const QJsonObject e = readJsonFile(file, &error).object();
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(QJsonDocument::fromJson(printed.out).object(), e);

        const int T = 5, D = 32, d = 8;
        const auto rows = [&](const char* key) { return e.value(QLatin1String(key)).toArray(); };
        QCOMPARE(rows("tokens").size(), T);
        for (const char* key : {"x", "x_norm"}) {
            QCOMPARE(rows(key).size(), T);
            QCOMPARE(rows(key).at(0).toArray().size(), D);
        }
        for (const char* key : {"k", "v"}) {
            QCOMPARE(rows(key).size(), T);
            QCOMPARE(rows(key).at(T - 1).toArray().size(), d);
        }
        for (const char* key : {"q_pre_rotary", "q", "output"})
            QCOMPARE(rows(key).size(), d);
        for (const char* key : {"scores", "scaled", "masked", "weights"})
            QCOMPARE(rows(key).size(), T);
        QCOMPARE(rows("projected").size(), D);
        QCOMPARE(rows("q_pre_rotary"), rows("q")); // GPT-2 has no rotary positions
        QCOMPARE(e.value(QLatin1String("scale")).toDouble(), double(1.0f / std::sqrt(8.0f)));
        double sum = 0;
        for (int j = 0; j < T; ++j) {
            const QJsonValue masked = rows("masked").at(j);
            QCOMPARE(masked.isNull(), j > 2);
            if (j <= 2) QCOMPARE(masked.toDouble(), rows("scaled").at(j).toDouble());
            sum += rows("weights").at(j).toDouble();
            if (j > 2) QCOMPARE(rows("weights").at(j).toDouble(), 0.0);
        }
        QVERIFY(std::abs(sum - 1) < 1e-6);

        const QString dumpFile = m_tmp.filePath(QStringLiteral("explain-dump.safetensors"));
        const CliRun dumped = runCli({QStringLiteral("dump"), QStringLiteral("--model"), gpt2(),
                                      QStringLiteral("--ids"), ids, QStringLiteral("-o"), dumpFile});
        QVERIFY2(dumped.normalExit() && dumped.exitCode == 0, qPrintable(dumped.describe()));
        const QVector<float> attention =
            readSafetensors(dumpFile).tensors[QStringLiteral("attentions")].f32();
        for (int j = 0; j < T; ++j) // [L=2, H=4, T, T]: layer 1, head 2, row 2
            QCOMPARE(float(rows("weights").at(j).toDouble()),
                     attention[((1 * 4 + 2) * T + 2) * T + j]);
    }

    // export --view explain: the Explain figure as PNG (900 wide, as tall as it needs), and
    // SVG with its steps as text; the default query is the last token.
    void exportExplain() {
        const QStringList base{QStringLiteral("export"), QStringLiteral("--model"), gpt2(),
                               QStringLiteral("--ids"),  QStringLiteral("464,3797,3332,319"),
                               QStringLiteral("--view"), QStringLiteral("explain"),
                               QStringLiteral("--layer"), QStringLiteral("1"),
                               QStringLiteral("--head"), QStringLiteral("3")};
        const QString png = m_tmp.filePath(QStringLiteral("explain.png"));
        const QString svg = m_tmp.filePath(QStringLiteral("explain.svg"));
        CliRun run = runCli(base + QStringList{QStringLiteral("--token"), QStringLiteral("2"),
                                               QStringLiteral("-o"), png});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const QImage image(png);
        QCOMPARE(image.width(), 900);
        QVERIFY(image.height() > 500);
        run = runCli(base + QStringList{QStringLiteral("-o"), svg});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        QFile f(svg);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(f.readAll());
        QVERIFY(text.contains(QStringLiteral("query token 3"))); // the last of 4 tokens
        for (const char* step : {"The token's vector", "Its query", "Keys and dot products",
                                 "Scale, mask, softmax", "Values, weighted sum"})
            QVERIFY2(text.contains(QLatin1String(step)), step);
        run = runCli(base + QStringList{QStringLiteral("--token"), QStringLiteral("4"),
                                        QStringLiteral("-o"), png});
        QCOMPARE(run.exitCode, 2);
        QVERIFY(run.errLines().value(0).contains(QStringLiteral("--token")));
    }

    // dump --analysis norms: norms [L, H, T, T] and norms_layer [L, T, T] beside the usual
    // tensors in safetensors and JSON (the same numbers); .npy holds norms, with a note.
    void dumpNorms() {
        const QStringList base{QStringLiteral("dump"), QStringLiteral("--model"), gpt2(),
                               QStringLiteral("--ids"), QStringLiteral("464,3797,3332,319"),
                               QStringLiteral("--analysis"), QStringLiteral("norms"),
                               QStringLiteral("-o")};
        const QString st = m_tmp.filePath(QStringLiteral("norms.safetensors"));
        const QString js = m_tmp.filePath(QStringLiteral("norms.json"));
        const QString np = m_tmp.filePath(QStringLiteral("norms.npy"));
        for (const QString& out : {st, js}) {
            const CliRun run = runCli(base + QStringList{out});
            QVERIFY2(run.normalExit() && run.exitCode == 0 && run.err.isEmpty(),
                     qPrintable(run.describe()));
        }
        const CliRun npyRun = runCli(base + QStringList{np});
        QVERIFY2(npyRun.normalExit() && npyRun.exitCode == 0, qPrintable(npyRun.describe()));
        QVERIFY(npyRun.errLines().size() == 1 && npyRun.errLines()[0].contains("note"));

        const StFile f = readSafetensors(st);
        QVERIFY2(f.ok(), qPrintable(f.error));
        QCOMPARE(f.tensors[QStringLiteral("norms")].shape, (QVector<qint64>{2, 4, 4, 4}));
        QCOMPARE(f.tensors[QStringLiteral("norms_layer")].shape, (QVector<qint64>{2, 4, 4}));
        QVERIFY(f.tensors.contains(QStringLiteral("attentions")));
        const QVector<float> norms = f.tensors[QStringLiteral("norms")].f32();
        const QVector<float> attention = f.tensors[QStringLiteral("attentions")].f32();
        for (qsizetype n = 0; n < norms.size(); ++n) { // zero exactly where attention is
            QVERIFY(norms[n] >= 0);
            QCOMPARE(norms[n] == 0, attention[n] == 0);
        }
        const Npy npy = readNpy(np);
        QVERIFY2(npy.error.isEmpty(), qPrintable(npy.error));
        QCOMPARE(npy.shape, (QVector<qint64>{2, 4, 4, 4}));
        QCOMPARE(npy.data, norms);

        QString error;
        const QJsonObject j = readJsonFile(js, &error).object();
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(jsonInts(j.value(QLatin1String("norms_layer_shape"))),
                 (QVector<qint64>{2, 4, 4}));
        const QVector<float> layer = f.tensors[QStringLiteral("norms_layer")].f32();
        const QJsonArray rows = j.value(QLatin1String("norms_layer")).toArray();
        for (int l = 0; l < 2; ++l)
            for (int i = 0; i < 4; ++i)
                for (int k = 0; k < 4; ++k)
                    QCOMPARE(float(rows.at(l).toArray().at(i).toArray().at(k).toDouble()),
                             layer[(l * 4 + i) * 4 + k]);
    }

    // ------------------------------------------------------------------ 5. errors
    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>(
            "expect"); // the message must contain one of these (case-insensitive)
        const QString m = QStringLiteral("--model");
        const QString ids = QStringLiteral("--ids");
        const auto out = [this](const char* name) {
            return QStringList{QStringLiteral("-o"), m_tmp.filePath(QString::fromLatin1(name))};
        };
        const auto dump = [&](const QString& model, const QStringList& rest) {
            return QStringList{QStringLiteral("dump"), m, model} + rest;
        };
        const QStringList okIds{ids, QStringLiteral("464,3797,3332")};

        QTest::newRow("missing model folder")
            << dump(fx(QStringLiteral("does-not-exist")), okIds + out("e1.safetensors"))
            << QStringList{"does not exist", "no such", "not found"};
        QTest::newRow("info: missing model folder")
            << QStringList{QStringLiteral("info"), m, fx(QStringLiteral("does-not-exist"))}
            << QStringList{"does not exist", "no such", "not found"};
        QTest::newRow("folder without config.json")
            << dump(fx(QStringLiteral("noconfig")), okIds + out("e2.safetensors"))
            << QStringList{"config.json"};
        QTest::newRow("truncated weights")
            << dump(fx(QStringLiteral("truncated")), okIds + out("e3.safetensors"))
            << QStringList{"truncated", "past the end"};
        QTest::newRow("garbage JSON header")
            << dump(fx(QStringLiteral("garbage-header")), okIds + out("e4.safetensors"))
            << QStringList{"json", "header"};
        QTest::newRow("header length past the file")
            << dump(fx(QStringLiteral("long-header")), okIds + out("e5.safetensors"))
            << QStringList{"header length", "exceeds", "past the end"};
        QTest::newRow("overlapping offsets")
            << dump(fx(QStringLiteral("overlap")), okIds + out("e6.safetensors"))
            << QStringList{"overlap"};
        QTest::newRow("shape does not match bytes")
            << dump(fx(QStringLiteral("bad-shape")), okIds + out("e7.safetensors"))
            << QStringList{"does not match", "shape"};
        QTest::newRow("unknown model_type")
            << dump(fx(QStringLiteral("unknown-type")), okIds + out("e8.safetensors"))
            << QStringList{"model type", "model_type"};
        QTest::newRow("info: unknown model_type")
            << QStringList{QStringLiteral("info"), m, fx(QStringLiteral("unknown-type"))}
            << QStringList{"model type", "model_type"};
        QTest::newRow("rope yarn (4.x rope_scaling)")
            << dump(fx(QStringLiteral("yarn-v4")),
                    QStringList{ids, QStringLiteral("1,2,3")} + out("e9.safetensors"))
            << QStringList{"yarn"};
        QTest::newRow("rope yarn (5.x rope_parameters)")
            << dump(fx(QStringLiteral("yarn-v5")),
                    QStringList{ids, QStringLiteral("1,2,3")} + out("e10.safetensors"))
            << QStringList{"yarn"};
        QTest::newRow("mistral sliding window")
            << dump(fx(QStringLiteral("mistral-sliding")),
                    QStringList{ids, QStringLiteral("1,2,3")} + out("e11.safetensors"))
            << QStringList{"sliding"};
        QTest::newRow("id >= vocab")
            << dump(gpt2(), QStringList{ids, QStringLiteral("464,50257")} + out("e12.safetensors"))
            << QStringList{"vocab"};
        QTest::newRow("negative id")
            << dump(gpt2(), QStringList{QStringLiteral("--ids=464,-5")} + out("e13.safetensors"))
            << QStringList{"vocab", "negative"};
        QStringList many;
        for (int i = 0; i < 129; ++i)
            many << QStringLiteral("464"); // n_positions is 128
        QTest::newRow("too many tokens (--ids)")
            << dump(gpt2(), QStringList{ids, many.join(QLatin1Char(','))} + out("e14.safetensors"))
            << QStringList{"position", "too many", "exceed"};
        QTest::newRow("non-integer id")
            << dump(gpt2(), QStringList{ids, QStringLiteral("464,cat")} + out("e15.safetensors"))
            << QStringList{"integer"};
        QTest::newRow("unknown option")
            << dump(gpt2(),
                    okIds + QStringList{QStringLiteral("--frobnicate")} + out("e16.safetensors"))
            << QStringList{"frobnicate"};
        QTest::newRow("unknown command")
            << QStringList{QStringLiteral("frobnicate"), m, gpt2()} << QStringList{"frobnicate"};
        QTest::newRow("missing -o") << dump(gpt2(), okIds) << QStringList{"-o"};
        QTest::newRow("unknown output extension")
            << dump(gpt2(), okIds + out("e17.txt")) << QStringList{"output", "format", "extension"};
        QTest::newRow("two inputs")
            << dump(gpt2(), okIds + QStringList{QStringLiteral("--text"), QStringLiteral("hi")} +
                                out("e18.safetensors"))
            << QStringList{"exactly one", "one input"};
        QTest::newRow("text model given --image")
            << dump(gpt2(), QStringList{QStringLiteral("--image"),
                                        oraclePath(QStringLiteral("vit/image.png"))} +
                                out("e19.safetensors"))
            << QStringList{"text model", "image"};
        QTest::newRow("image model given --ids")
            << dump(vit(), okIds + out("e20.safetensors")) << QStringList{"image model", "image"};
        QTest::newRow("ViT given a corrupt PNG")
            << dump(vit(),
                    QStringList{QStringLiteral("--image"), fx(QStringLiteral("corrupt.png"))} +
                        out("e21.safetensors"))
            << QStringList{"image", "png", "corrupt"};
        QTest::newRow("ViT given a missing image")
            << dump(vit(), QStringList{QStringLiteral("--image"), fx(QStringLiteral("nope.png"))} +
                               out("e22.safetensors"))
            << QStringList{"image", "nope.png"};
        QTest::newRow("pixel-values file without pixel_values")
            << dump(vit(), QStringList{QStringLiteral("--pixel-values"),
                                       oraclePath(QStringLiteral("gpt2/case0.safetensors"))} +
                               out("e23.safetensors"))
            << QStringList{"pixel_values"};
        QTest::newRow("export: layer out of range") << QStringList{QStringLiteral("export"),
                                                                   m,
                                                                   gpt2(),
                                                                   QStringLiteral("--text"),
                                                                   QStringLiteral("hello world"),
                                                                   QStringLiteral("--layer"),
                                                                   QStringLiteral("7"),
                                                                   QStringLiteral("--head"),
                                                                   QStringLiteral("0")} +
                                                           out("e24.png")
                                                    << QStringList{"--layer", "layer"};
        const QStringList explain{QStringLiteral("explain"), m, gpt2(), ids,
                                  QStringLiteral("464,3797,3332")};
        QTest::newRow("explain: token out of range")
            << explain + QStringList{QStringLiteral("--layer"), QStringLiteral("0"),
                                     QStringLiteral("--head"), QStringLiteral("0"),
                                     QStringLiteral("--token"), QStringLiteral("3")} +
                   out("e25.json")
            << QStringList{"--token"};
        QTest::newRow("explain: head out of range")
            << explain + QStringList{QStringLiteral("--layer"), QStringLiteral("0"),
                                     QStringLiteral("--head"), QStringLiteral("4"),
                                     QStringLiteral("--token"), QStringLiteral("0")} +
                   out("e26.json")
            << QStringList{"--head"};
        QTest::newRow("explain: no --token")
            << explain + QStringList{QStringLiteral("--layer"), QStringLiteral("0"),
                                     QStringLiteral("--head"), QStringLiteral("0")} +
                   out("e27.json")
            << QStringList{"--token"};
        QTest::newRow("dump: unknown analysis")
            << dump(gpt2(), okIds + QStringList{QStringLiteral("--analysis"),
                                                QStringLiteral("frobnicate")} +
                                out("e28.safetensors"))
            << QStringList{"frobnicate"};
        QTest::newRow("tokenize: image model")
            << QStringList{QStringLiteral("tokenize"), m, vit(), QStringLiteral("--text"),
                           QStringLiteral("hi")}
            << QStringList{"tokenizer", "image"};
    }
    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QStringList, expect);
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit(),
                 qPrintable(QStringLiteral("crashed or hung: ") + run.describe()));
        QVERIFY2(run.exitCode == 2, qPrintable(run.describe()));
        const QStringList lines = run.errLines();
        QVERIFY2(lines.size() == 1,
                 qPrintable(QStringLiteral("expected exactly one stderr line: ") + run.describe()));
        QVERIFY2(lines.first().startsWith(QLatin1String("attnscope: error: ")),
                 qPrintable(lines.first()));
        bool named = false;
        for (const QString& e : expect)
            named = named || lines.first().contains(e, Qt::CaseInsensitive);
        QVERIFY2(named, qPrintable(QStringLiteral("message does not name the problem (%1): %2")
                                       .arg(expect.join(" | "), lines.first())));
        QVERIFY2(run.out.isEmpty(), qPrintable(QStringLiteral("stdout not empty: ") +
                                               QString::fromUtf8(run.out.left(200))));
        const qsizetype o = args.indexOf(QStringLiteral("-o"));
        if (o >= 0)
            QVERIFY2(!QFileInfo::exists(args.value(o + 1)),
                     "an output file was left behind after an error");
    }

    // ------------------------------------------------------------------ 6. models
    void models_data() {
        QTest::addColumn<QString>("variable");
        QTest::newRow("HF_HUB_CACHE") << QStringLiteral("HF_HUB_CACHE");
        QTest::newRow("HF_HOME") << QStringLiteral("HF_HOME");
    }
    // The GUI without any display: a one-line error and exit code 2, not Qt's abort().
    void guiWithoutDisplay() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* name : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"})
            env.remove(QLatin1String(name));
        p.setProcessEnvironment(env);
        p.start(binary(), {});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.startsWith(QStringLiteral("attnscope: error: no display")), qPrintable(err));
        QVERIFY(!err.contains(QLatin1Char('\n')));
    }

    void models() {
        QFETCH(QString, variable);
        QTemporaryDir root;
        QVERIFY(root.isValid());
        const QString hub = variable == QLatin1String("HF_HOME")
                                ? root.filePath(QStringLiteral("hub"))
                                : root.filePath(QStringLiteral("cache"));
        struct Repo {
            QString dir, id, rev, type;
        };
        const QList<Repo> repos{
            {QStringLiteral("models--acme--tiny-gpt"), QStringLiteral("acme/tiny-gpt"),
             QStringLiteral("0123456789abcdef0123456789abcdef01234567"), QStringLiteral("gpt2")},
            {QStringLiteral("models--some-org--Llama_Mini"), QStringLiteral("some-org/Llama_Mini"),
             QStringLiteral("fedcba9876543210fedcba9876543210fedcba98"), QStringLiteral("llama")},
        };
        for (const Repo& r : repos) {
            const QString snap =
                hub + QLatin1Char('/') + r.dir + QStringLiteral("/snapshots/") + r.rev;
            QVERIFY(QDir().mkpath(snap));
            QVERIFY(QDir().mkpath(hub + QLatin1Char('/') + r.dir + QStringLiteral("/refs")));
            QFile c(snap + QStringLiteral("/config.json"));
            QVERIFY(c.open(QIODevice::WriteOnly));
            c.write(QJsonDocument(QJsonObject{{"model_type", r.type}}).toJson());
            c.close();
            QFile ref(hub + QLatin1Char('/') + r.dir + QStringLiteral("/refs/main"));
            QVERIFY(ref.open(QIODevice::WriteOnly));
            ref.write(r.rev.toUtf8());
        }
        // noise the listing must ignore
        QVERIFY(QDir().mkpath(hub + QStringLiteral("/datasets--acme--data/snapshots/abc")));
        QVERIFY(QDir().mkpath(hub + QStringLiteral("/.locks")));

        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("HF_HUB_CACHE"));
        env.remove(QStringLiteral("HF_HOME"));
        env.insert(QStringLiteral("HOME"),
                   root.filePath(QStringLiteral("home"))); // never the real cache
        env.insert(variable, variable == QLatin1String("HF_HOME") ? root.path() : hub);
        const CliRun run = runCli({QStringLiteral("models")}, env);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        QJsonParseError pe;
        const QJsonObject o = QJsonDocument::fromJson(run.out, &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        QCOMPARE(QFileInfo(o.value(QLatin1String("cache")).toString()).canonicalFilePath(),
                 QFileInfo(hub).canonicalFilePath());
        const QJsonArray list = o.value(QLatin1String("models")).toArray();
        QCOMPARE(list.size(), repos.size());
        for (const Repo& r : repos) {
            QJsonObject found;
            for (const QJsonValue& v : list)
                if (v.toObject().value(QLatin1String("repo")).toString() == r.id)
                    found = v.toObject();
            QVERIFY2(!found.isEmpty(), qPrintable(QStringLiteral("repo %1 not listed: ").arg(r.id) +
                                                  QString::fromUtf8(run.out)));
            QCOMPARE(found.value(QLatin1String("revision")).toString(), r.rev);
            QCOMPARE(found.value(QLatin1String("model_type")).toString(), r.type);
            QCOMPARE(
                QFileInfo(found.value(QLatin1String("path")).toString()).canonicalFilePath(),
                QFileInfo(hub + QLatin1Char('/') + r.dir + QStringLiteral("/snapshots/") + r.rev)
                    .canonicalFilePath());
        }
    }

    // ------------------------------------------------------------------ 7. export
    void exportFigure_data() {
        QTest::addColumn<QString>("ext");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::newRow("png 640x480") << QStringLiteral("png") << 640 << 480;
        QTest::newRow("png 300x700") << QStringLiteral("png") << 300 << 700;
        QTest::newRow("svg 500x400") << QStringLiteral("svg") << 500 << 400;
    }
    void exportFigure() {
        QFETCH(QString, ext);
        QFETCH(int, width);
        QFETCH(int, height);
        const QString out =
            m_tmp.filePath(QStringLiteral("figure_%1x%2.%3").arg(width).arg(height).arg(ext));
        const CliRun run = runCli(
            {QStringLiteral("export"), QStringLiteral("--model"), gpt2(), QStringLiteral("--text"),
             QStringLiteral("The cat sat on the mat because it was tired."),
             QStringLiteral("--layer"), QStringLiteral("1"), QStringLiteral("--head"),
             QStringLiteral("3"), QStringLiteral("-o"), out, QStringLiteral("--size"),
             QStringLiteral("%1x%2").arg(width).arg(height)});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        QVERIFY2(QFileInfo(out).size() > 0, "no figure written");
        if (ext == QLatin1String("png")) {
            QImage image;
            QVERIFY2(image.load(out, "PNG"), "not a loadable PNG");
            QCOMPARE(image.size(), QSize(width, height));
            QSet<QRgb> colours; // a heatmap with axes and a colour bar, not a blank canvas
            for (int y = 0; y < image.height(); y += 3)
                for (int x = 0; x < image.width(); x += 3)
                    colours.insert(image.pixel(x, y));
            QVERIFY2(colours.size() > 20,
                     qPrintable(QStringLiteral("only %1 colours").arg(colours.size())));
        } else {
            QFile f(out);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray svg = f.readAll();
            QVERIFY2(svg.contains("<svg"), "no <svg element");
            QVERIFY2(svg.contains("</svg>"), "SVG not closed");
        }
    }
};

QTEST_GUILESS_MAIN(TestCliCommands)
#include "tst_cli_commands.moc"
