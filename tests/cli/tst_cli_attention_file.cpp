// `--attention FILE` on the command line: a dump reopened without its model draws exactly the
// same figure as the model (pixel for pixel), `info --attention` describes the file, and misuse
// gives the one-line error contract. (The readers themselves: tests/core/tst_attention_file.)
#include "cli_support.h"

#include <QImage>
#include <QTemporaryDir>
#include <QTest>

using namespace clitest;

class TestCliAttentionFile : public QObject {
    Q_OBJECT
private slots:
    void drawsLikeTheModel_data();
    void drawsLikeTheModel();
    void info();
    void errors_data();
    void errors();

private:
    QString dumpOf(const QString& family);
    QTemporaryDir m_dir;
};

// The ids of the fixture's first case, dumped by the model to safetensors.
QString TestCliAttentionFile::dumpOf(const QString& family) {
    const QString path = m_dir.filePath(family + QStringLiteral(".safetensors"));
    if (QFile::exists(path)) return path;
    const QJsonArray cases = readJsonFile(oraclePath(family + QStringLiteral("/cases.json")))
                                 .object()["cases"]
                                 .toArray();
    const QString ids = joinInts(jsonInts(cases[0].toObject()["ids"]));
    const CliRun run =
        runCli({"dump", "--model", oraclePath(family + "/model"), "--ids", ids, "-o", path});
    return run.exitCode == 0 ? path : QString();
}

void TestCliAttentionFile::drawsLikeTheModel_data() {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QStringList>("view");
    for (const char* family : {"bert", "llama", "gpt2"}) {
        QTest::addRow("%s heatmap", family)
            << family << QStringList{"--view", "heatmap", "--layer", "1", "--head", "1"};
        QTest::addRow("%s links", family)
            << family << QStringList{"--view", "links", "--layer", "0", "--threshold", "0.1"};
        QTest::addRow("%s grid", family) << family << QStringList{"--view", "grid"};
        QTest::addRow("%s compare svg", family)
            << family << QStringList{"--view", "compare", "--compare", "0:0,1:mean"};
    }
}

void TestCliAttentionFile::drawsLikeTheModel() {
    QFETCH(QString, family);
    QFETCH(QStringList, view);
    const QString dump = dumpOf(family);
    QVERIFY(!dump.isEmpty());
    const QJsonArray cases = readJsonFile(oraclePath(family + QStringLiteral("/cases.json")))
                                 .object()["cases"]
                                 .toArray();
    const QString ids = joinInts(jsonInts(cases[0].toObject()["ids"]));
    const QString ext = QString(QTest::currentDataTag()).endsWith("svg") ? "svg" : "png";
    const QString fromModel = m_dir.filePath(QStringLiteral("model.") + ext);
    const QString fromFile = m_dir.filePath(QStringLiteral("file.") + ext);
    const CliRun a =
        runCli(QStringList{"export", "--model", oraclePath(family + "/model"), "--ids", ids} +
               view + QStringList{"-o", fromModel});
    QVERIFY2(a.exitCode == 0, qPrintable(a.describe()));
    const CliRun b =
        runCli(QStringList{"export", "--attention", dump} + view + QStringList{"-o", fromFile});
    QVERIFY2(b.exitCode == 0 && b.err.isEmpty(), qPrintable(b.describe()));
    QFile fa(fromModel), fb(fromFile);
    QVERIFY(fa.open(QIODevice::ReadOnly) && fb.open(QIODevice::ReadOnly));
    const QByteArray bytesA = fa.readAll(), bytesB = fb.readAll();
    QVERIFY(bytesA.size() > 1000);
    if (ext == QLatin1String("png")) {
        QCOMPARE(bytesB, bytesA); // the same figure, byte for byte
    } else {
        // The SVG's description differs only if the text differs: the model's is the ids' text.
        const QString svgA = QString::fromUtf8(bytesA), svgB = QString::fromUtf8(bytesB);
        const QRegularExpression desc(QStringLiteral("<desc>[^<]*</desc>"));
        QCOMPARE(QString(svgB).remove(desc), QString(svgA).remove(desc));
    }
}

void TestCliAttentionFile::info() {
    const QString dump = dumpOf(QStringLiteral("llama"));
    QVERIFY(!dump.isEmpty());
    const CliRun run = runCli({"info", "--attention", dump});
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    const QJsonObject o = QJsonDocument::fromJson(run.out).object();
    const StFile st = readSafetensors(dump);
    const QVector<qint64> shape = st.tensors["attentions"].shape;
    QCOMPARE(o["layers"].toInt(), int(shape[0]));
    QCOMPARE(o["heads"].toInt(), int(shape[1]));
    QCOMPARE(o["tokens"].toInt(), int(shape[2]));
    QCOMPARE(o["format"].toString(), QStringLiteral("safetensors"));
    QCOMPARE(o["dtype"].toString(), QStringLiteral("F32"));
    QCOMPARE(o["token_strings"].toString(), QStringLiteral("from file"));
}

void TestCliAttentionFile::errors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("model and attention")
        << QStringList{"info", "--model", "default", "--attention", "DUMP"} << "not both";
    QTest::newRow("text with attention")
        << QStringList{"export", "--attention", "DUMP", "--text", "hi", "-o", "OUT"}
        << "--text needs --model";
    QTest::newRow("against with attention")
        << QStringList{"export",    "--attention", "DUMP", "--view", "diff",
                       "--against", "x",           "-o",   "OUT"}
        << "--against needs --model";
    QTest::newRow("missing file") << QStringList{"export", "--attention", "/no/such.safetensors",
                                                 "-o", "OUT"}
                                  << "cannot open";
    QTest::newRow("missing tokens file")
        << QStringList{"info", "--attention", "DUMP", "--tokens", "/no/tokens.json"}
        << "cannot open tokens file";
    QTest::newRow("layer outside")
        << QStringList{"export",  "--attention", "DUMP", "--view", "heatmap",
                       "--layer", "9",           "-o",   "OUT"}
        << "--layer must be";
}

void TestCliAttentionFile::errors() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const QString dump = dumpOf(QStringLiteral("bert"));
    QVERIFY(!dump.isEmpty());
    const QString out = m_dir.filePath(QStringLiteral("never.png"));
    args.replaceInStrings(QStringLiteral("DUMP"), dump);
    args.replaceInStrings(QStringLiteral("OUT"), out);
    const CliRun run = runCli(args);
    QVERIFY2(run.normalExit(), qPrintable(run.describe()));
    QCOMPARE(run.exitCode, 2);
    QCOMPARE(run.errLines().size(), 1);
    QVERIFY2(run.errLines()[0].startsWith(QStringLiteral("attnscope: error: ")) &&
                 run.errLines()[0].contains(message),
             qPrintable(run.errLines()[0]));
    QVERIFY(!QFile::exists(out));
}

QTEST_MAIN(TestCliAttentionFile)
#include "tst_cli_attention_file.moc"
