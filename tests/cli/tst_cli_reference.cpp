// End-to-end: `attnscope dump` against the tensors Hugging Face transformers itself computed
// (tests/data/oracle). Every output file is read back with the independent readers in
// cli_support.h.
#include "cli_support.h"

#include <QTemporaryDir>
#include <QTest>

using namespace clitest;

namespace {

constexpr double kAttnTol = 1e-5;   // absolute, attention probabilities
constexpr double kHiddenTol = 1e-4; // relative, max|a-b| / max|b|

const QStringList kFamilies{
    QStringLiteral("gpt2"),       QStringLiteral("gpt2-hub-names"),
    QStringLiteral("bert"),       QStringLiteral("bert-gamma-beta"),
    QStringLiteral("distilbert"), QStringLiteral("roberta"),
    QStringLiteral("llama"),      QStringLiteral("llama-v4-config"),
    QStringLiteral("qwen2"),      QStringLiteral("qwen2-v4-config"),
    QStringLiteral("gpt_neox"),   QStringLiteral("gpt_neox-v4-config"),
    QStringLiteral("vit"),        QStringLiteral("vit-dino-style"),
};

bool isImageFamily(const QString& family) {
    return family.startsWith(QLatin1String("vit"));
}

QJsonArray casesOf(const QString& family) {
    QString error;
    const QJsonDocument doc =
        readJsonFile(oraclePath(family + QStringLiteral("/cases.json")), &error);
    return doc.object().value(QLatin1String("cases")).toArray();
}

bool hasTokenizer(const QString& family) {
    const QDir model(oraclePath(family + QStringLiteral("/model")));
    return model.exists(QStringLiteral("tokenizer.json")) ||
           model.exists(QStringLiteral("vocab.json")) || model.exists(QStringLiteral("vocab.txt"));
}

} // namespace

class TestCliReference : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    int m_counter = 0;
    QString outPath(const QString& ext) {
        return m_tmp.filePath(QStringLiteral("out%1.%2").arg(++m_counter).arg(ext));
    }

    // Compares a dump read back from disk with the reference case file.
    void compareWithReference(const StFile& dump, const StFile& ref, bool textModel) {
        QVERIFY2(dump.ok(), qPrintable(QStringLiteral("dump unreadable: ") + dump.error));
        QVERIFY2(ref.ok(), qPrintable(QStringLiteral("reference unreadable: ") + ref.error));

        QVERIFY2(dump.tensors.contains(QStringLiteral("attentions")), "dump lacks `attentions`");
        const StTensor& a = dump.tensors[QStringLiteral("attentions")];
        const StTensor& ra = ref.tensors[QStringLiteral("attentions")];
        QCOMPARE(a.dtype, QStringLiteral("F32"));
        QCOMPARE(shapeString(a.shape), shapeString(ra.shape));
        qsizetype where = -1;
        const double da = maxAbsDiff(a.f32(), ra.f32(), &where);
        QVERIFY2(da >= 0 && da <= kAttnTol,
                 qPrintable(QStringLiteral(
                                "attentions differ: max |diff| %1 at flat index %2 (tolerance %3)")
                                .arg(da)
                                .arg(where)
                                .arg(kAttnTol)));

        QVERIFY2(dump.tensors.contains(QStringLiteral("last_hidden_state")),
                 "dump lacks `last_hidden_state`");
        const StTensor& h = dump.tensors[QStringLiteral("last_hidden_state")];
        const StTensor& rh = ref.tensors[QStringLiteral("last_hidden_state")];
        QCOMPARE(h.dtype, QStringLiteral("F32"));
        QCOMPARE(shapeString(h.shape), shapeString(rh.shape));
        const double dh = relDiff(h.f32(), rh.f32());
        QVERIFY2(dh >= 0 && dh <= kHiddenTol,
                 qPrintable(QStringLiteral("last_hidden_state differs: relative %1 (tolerance %2)")
                                .arg(dh)
                                .arg(kHiddenTol)));

        if (textModel) {
            QVERIFY2(dump.tensors.contains(QStringLiteral("input_ids")),
                     "text dump lacks `input_ids`");
            const StTensor& ids = dump.tensors[QStringLiteral("input_ids")];
            QCOMPARE(ids.dtype, QStringLiteral("I64"));
            QCOMPARE(joinInts(ids.i64()), joinInts(ref.tensors[QStringLiteral("input_ids")].i64()));
        }
        // metadata "tokens" is a JSON array string with one entry per position
        const QJsonDocument tokens = QJsonDocument::fromJson(
            dump.metadata.value(QLatin1String("tokens")).toString().toUtf8());
        QVERIFY2(tokens.isArray(), "metadata \"tokens\" is not a JSON array string");
        QCOMPARE(qint64(tokens.array().size()), a.shape.value(2));
    }

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(binary()).isExecutable(), qPrintable(binary()));
        for (const QString& f : kFamilies)
            QVERIFY2(!casesOf(f).isEmpty(), qPrintable(QStringLiteral("no cases for ") + f));
    }

    // 1a. Every family, every case: explicit ids (or pixel values) → .safetensors → reference.
    void dumpReference_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("caseFile");
        for (const QString& family : kFamilies)
            for (const QJsonValue& c : casesOf(family)) {
                const QString file = c.toObject().value(QLatin1String("file")).toString();
                QTest::addRow("%s/%s", qPrintable(family), qPrintable(file)) << family << file;
            }
    }
    void dumpReference() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        const QString refPath = oraclePath(family + QLatin1Char('/') + caseFile);
        const StFile ref = readSafetensors(refPath);
        QVERIFY2(ref.ok(), qPrintable(ref.error));
        const bool image = isImageFamily(family);

        const QString out = outPath(QStringLiteral("safetensors"));
        QStringList args{QStringLiteral("dump"), QStringLiteral("--model"),
                         oraclePath(family + QStringLiteral("/model"))};
        if (image) {
            args << QStringLiteral("--pixel-values") << refPath;
        } else {
            args << QStringLiteral("--ids")
                 << joinInts(ref.tensors[QStringLiteral("input_ids")].i64());
            if (ref.tensors.contains(QStringLiteral("token_type_ids")))
                args << QStringLiteral("--type-ids")
                     << joinInts(ref.tensors[QStringLiteral("token_type_ids")].i64());
        }
        args << QStringLiteral("-o") << out;
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const StFile dump = readSafetensors(out);
        compareWithReference(dump, ref, !image);
        if (!image && hasTokenizer(family)) { // ids → token strings as HF's convert_ids_to_tokens
            QJsonObject theCase;
            for (const QJsonValue& c : casesOf(family))
                if (c.toObject().value(QLatin1String("file")).toString() == caseFile)
                    theCase = c.toObject();
            const QStringList tokens =
                jsonStrings(QJsonDocument::fromJson(
                                dump.metadata.value(QLatin1String("tokens")).toString().toUtf8())
                                .array());
            QCOMPARE(tokens, jsonStrings(theCase.value(QLatin1String("tokens"))));
        }
    }

    // 1b. Text path: the CLI tokenizes the case text (and pair) itself; ids must equal HF's.
    void dumpText_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("caseFile");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("pair");
        QTest::addColumn<bool>("hasPair");
        QTest::addColumn<QString>("ids");
        QTest::addColumn<QStringList>("tokens");
        for (const QString& family : kFamilies) {
            if (isImageFamily(family) || !hasTokenizer(family)) continue;
            for (const QJsonValue& cv : casesOf(family)) {
                const QJsonObject c = cv.toObject();
                const QString file = c.value(QLatin1String("file")).toString();
                QTest::addRow("%s/%s", qPrintable(family), qPrintable(file))
                    << family << file << c.value(QLatin1String("text")).toString()
                    << c.value(QLatin1String("text_pair")).toString()
                    << c.value(QLatin1String("text_pair")).isString()
                    << joinInts(jsonInts(c.value(QLatin1String("ids"))))
                    << jsonStrings(c.value(QLatin1String("tokens")));
            }
        }
    }
    void dumpText() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        QFETCH(QString, text);
        QFETCH(QString, pair);
        QFETCH(bool, hasPair);
        QFETCH(QString, ids);
        QFETCH(QStringList, tokens);
        const QString out = outPath(QStringLiteral("safetensors"));
        QStringList args{QStringLiteral("dump"), QStringLiteral("--model"),
                         oraclePath(family + QStringLiteral("/model")), QStringLiteral("--text"),
                         text};
        if (hasPair) args << QStringLiteral("--pair") << pair;
        args << QStringLiteral("-o") << out;
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const StFile dump = readSafetensors(out);
        QVERIFY2(dump.ok(), qPrintable(dump.error));
        QCOMPARE(joinInts(dump.tensors[QStringLiteral("input_ids")].i64()), ids);
        const QStringList gotTokens =
            jsonStrings(QJsonDocument::fromJson(
                            dump.metadata.value(QLatin1String("tokens")).toString().toUtf8())
                            .array());
        QCOMPARE(gotTokens, tokens);
        // Same ids (and, for pairs, the tokenizer's type ids) → same tensors as the reference.
        compareWithReference(
            dump, readSafetensors(oraclePath(family + QLatin1Char('/') + caseFile)), true);
    }

    // 1c. ViT from an image file: HF's processor output is within 0.02 per pixel, so compare
    // loosely.
    void dumpImage_data() {
        QTest::addColumn<QString>("family");
        QTest::newRow("vit") << QStringLiteral("vit");
        QTest::newRow("vit-dino-style") << QStringLiteral("vit-dino-style");
    }
    void dumpImage() {
        QFETCH(QString, family);
        const QString out = outPath(QStringLiteral("safetensors"));
        const CliRun run =
            runCli({QStringLiteral("dump"), QStringLiteral("--model"),
                    oraclePath(family + QStringLiteral("/model")), QStringLiteral("--image"),
                    oraclePath(family + QStringLiteral("/image.png")), QStringLiteral("-o"), out});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const StFile dump = readSafetensors(out);
        const StFile ref =
            readSafetensors(oraclePath(family + QStringLiteral("/case_image.safetensors")));
        QVERIFY2(dump.ok() && ref.ok(), qPrintable(dump.error + ref.error));
        const StTensor& a = dump.tensors[QStringLiteral("attentions")];
        QCOMPARE(shapeString(a.shape),
                 shapeString(ref.tensors[QStringLiteral("attentions")].shape));
        const double da = maxAbsDiff(a.f32(), ref.tensors[QStringLiteral("attentions")].f32());
        QVERIFY2(da >= 0 && da <= 0.05,
                 qPrintable(QStringLiteral("attentions from --image differ by %1").arg(da)));
        const double dh = relDiff(dump.tensors[QStringLiteral("last_hidden_state")].f32(),
                                  ref.tensors[QStringLiteral("last_hidden_state")].f32());
        QVERIFY2(
            dh >= 0 && dh <= 0.05,
            qPrintable(QStringLiteral("last_hidden_state from --image differs by %1").arg(dh)));
    }

    // 2a. .json output: ids, tokens, offsets, type_ids, nested attentions, last_hidden_state.
    void dumpJson_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("caseIndex");
        QTest::addColumn<bool>("viaText");
        QTest::newRow("gpt2/case0 --ids") << QStringLiteral("gpt2") << 0 << false;
        QTest::newRow("bert/case4 --text --pair") << QStringLiteral("bert") << 4 << true;
    }
    void dumpJson() {
        QFETCH(QString, family);
        QFETCH(int, caseIndex);
        QFETCH(bool, viaText);
        const QJsonObject c = casesOf(family).at(caseIndex).toObject();
        const StFile ref = readSafetensors(
            oraclePath(family + QLatin1Char('/') + c.value(QLatin1String("file")).toString()));
        QVERIFY2(ref.ok(), qPrintable(ref.error));
        const QString out = outPath(QStringLiteral("json"));
        QStringList args{QStringLiteral("dump"), QStringLiteral("--model"),
                         oraclePath(family + QStringLiteral("/model"))};
        if (viaText) {
            args << QStringLiteral("--text") << c.value(QLatin1String("text")).toString();
            if (c.value(QLatin1String("text_pair")).isString())
                args << QStringLiteral("--pair") << c.value(QLatin1String("text_pair")).toString();
        } else {
            args << QStringLiteral("--ids") << joinInts(jsonInts(c.value(QLatin1String("ids"))));
        }
        args << QStringLiteral("-o") << out;
        const CliRun run = runCli(args);
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));

        QString error;
        const QJsonObject root = readJsonFile(out, &error).object();
        QVERIFY2(error.isEmpty() && !root.isEmpty(), qPrintable(error));
        const QVector<qint64> refIds = ref.tensors[QStringLiteral("input_ids")].i64();
        const qsizetype T = refIds.size();
        QCOMPARE(joinInts(jsonInts(root.value(QLatin1String("ids")))), joinInts(refIds));
        QCOMPARE(jsonStrings(root.value(QLatin1String("tokens"))),
                 jsonStrings(c.value(QLatin1String("tokens"))));
        const QVector<qint64> refTypes = ref.tensors.contains(QStringLiteral("token_type_ids"))
                                             ? ref.tensors[QStringLiteral("token_type_ids")].i64()
                                             : QVector<qint64>(T, 0);
        QCOMPARE(joinInts(jsonInts(root.value(QLatin1String("type_ids")))), joinInts(refTypes));
        const QJsonArray offsets = root.value(QLatin1String("offsets")).toArray();
        QCOMPARE(offsets.size(), T);
        for (const QJsonValue& o : offsets) {
            const QVector<qint64> be = jsonInts(o);
            QVERIFY2(be.size() == 2 && be[0] >= 0 && be[0] <= be[1],
                     "offsets must be [begin,end) pairs");
        }
        if (viaText) { // real offsets: each non-special token covers text; they never go backwards
            const QString text = c.value(QLatin1String("text")).toString();
            qint64 covered = 0;
            for (const QJsonValue& o : offsets)
                covered += jsonInts(o)[1] - jsonInts(o)[0];
            QVERIFY2(covered > 0, "text dump has all-empty offsets");
        }

        QVector<float> att;
        QVector<qint64> attShape;
        flattenJson(root.value(QLatin1String("attentions")), att, attShape);
        QCOMPARE(shapeString(attShape),
                 shapeString(ref.tensors[QStringLiteral("attentions")].shape));
        const double da = maxAbsDiff(att, ref.tensors[QStringLiteral("attentions")].f32());
        QVERIFY2(da >= 0 && da <= kAttnTol,
                 qPrintable(QStringLiteral("json attentions differ by %1").arg(da)));

        QVector<float> last;
        QVector<qint64> lastShape;
        flattenJson(root.value(QLatin1String("last_hidden_state")), last, lastShape);
        QCOMPARE(shapeString(lastShape),
                 shapeString(ref.tensors[QStringLiteral("last_hidden_state")].shape));
        const double dh = relDiff(last, ref.tensors[QStringLiteral("last_hidden_state")].f32());
        QVERIFY2(dh >= 0 && dh <= kHiddenTol,
                 qPrintable(QStringLiteral("json last_hidden_state differs by %1").arg(dh)));
    }

    // 2b. .npy output: attentions only, '<f4', C order.
    void dumpNpy() {
        const QJsonObject c = casesOf(QStringLiteral("gpt2")).at(1).toObject();
        const StFile ref = readSafetensors(
            oraclePath(QStringLiteral("gpt2/") + c.value(QLatin1String("file")).toString()));
        QVERIFY2(ref.ok(), qPrintable(ref.error));
        const QString out = outPath(QStringLiteral("npy"));
        const CliRun run =
            runCli({QStringLiteral("dump"), QStringLiteral("--model"),
                    oraclePath(QStringLiteral("gpt2/model")), QStringLiteral("--ids"),
                    joinInts(jsonInts(c.value(QLatin1String("ids")))), QStringLiteral("-o"), out});
        QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
        const Npy npy = readNpy(out);
        QVERIFY2(npy.error.isEmpty(), qPrintable(npy.error));
        QCOMPARE(npy.descr, QStringLiteral("<f4"));
        QCOMPARE(npy.fortran, false);
        QCOMPARE(shapeString(npy.shape),
                 shapeString(ref.tensors[QStringLiteral("attentions")].shape));
        const double da = maxAbsDiff(npy.data, ref.tensors[QStringLiteral("attentions")].f32());
        QVERIFY2(da >= 0 && da <= kAttnTol,
                 qPrintable(QStringLiteral("npy attentions differ by %1").arg(da)));
    }
};

QTEST_GUILESS_MAIN(TestCliReference)
#include "tst_cli_reference.moc"
