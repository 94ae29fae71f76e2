// `attnscope export --session FILE.attnscope`: a saved session draws exactly the figure of the
// equivalent `export` command line, pixel for pixel, for every view (and an attention file's
// session like `export --attention`); relative paths resolve against the session's folder; a bad
// session is one line on stderr and exit code 2. The sessions are written here as JSON by hand,
// in the documented format, not through the library.
#include "cli_support.h"

#include <QImage>
#include <QTemporaryDir>
#include <QTest>

using namespace clitest;

namespace {

const QString kText = QStringLiteral("The cat sat on the mat because it was tired.");
const QString kAgainst = QStringLiteral("The dog sat on the mat because it was tired.");

QJsonArray allHeads(int layers, int heads) {
    QJsonArray out;
    for (int l = 0; l < layers; ++l)
        for (int h = 0; h < heads; ++h)
            out.append(QJsonArray{l, h});
    return out;
}

QJsonArray headsOfLayer(int layer, const QList<int>& heads) {
    QJsonArray out;
    for (int h : heads)
        out.append(QJsonArray{layer, h});
    return out;
}

// A session of the default model (4 layers × 8 heads) on kText; `selection` and `view` fill in
// the rest.
QJsonObject session(const QJsonObject& source, const QJsonObject& input,
                    const QJsonObject& selection, const QJsonObject& view) {
    return QJsonObject{
        {"format", "attnscope-session"}, {"version", 1}, {"source", source}, {"input", input},
        {"selection", selection},        {"view", view}};
}

QJsonObject defaultModel() {
    return QJsonObject{{"model", "default"}};
}

QJsonObject textInput() {
    return QJsonObject{{"text", kText}};
}

bool writeJson(const QString& path, const QJsonObject& object) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return false;
    f.write(QJsonDocument(object).toJson());
    return true;
}

} // namespace

class TestCliSession : public QObject {
    Q_OBJECT
private slots:
    void sameAsExport_data();
    void sameAsExport();
    void attentionFileSession();
    void imageSession();
    void errors_data();
    void errors();

private:
    QTemporaryDir m_dir;
};

void TestCliSession::sameAsExport_data() {
    QTest::addColumn<QJsonObject>("sessionJson");
    QTest::addColumn<QStringList>("exportArgs");  // after --model ... --text ...
    QTest::addColumn<QStringList>("sessionArgs"); // extra options beside --session
    QTest::addColumn<QString>("ext");
    const QJsonObject src = defaultModel(), in = textInput();
    QTest::newRow("heatmap")
        << session(src, in, {{"layer", 1}, {"head", 2}, {"checked_heads", headsOfLayer(1, {2})}},
                   {{"current", "heatmap"}})
        << QStringList{"--view", "heatmap", "--layer", "1", "--head", "2"} << QStringList{}
        << "png";
    QTest::newRow("heatmap mean, hidden specials, dark")
        << session(src, in,
                   {{"layer", 2}, {"show", "mean"}, {"checked_heads", headsOfLayer(2, {0, 3, 5})}},
                   {{"current", "heatmap"}, {"special_tokens", "hide"}, {"theme", "dark"}})
        << QStringList{"--layer", "2",         "--head", "mean",    "--heads",
                       "0,3,5",   "--special", "hide",   "--theme", "dark"}
        << QStringList{} << "png";
    QTest::newRow("heatmap 2x, sized")
        << session(src, in, {{"layer", 0}, {"head", 3}}, {{"current", "heatmap"}})
        << QStringList{"--view", "heatmap", "--layer", "0",      "--head",
                       "3",      "--scale", "2",       "--size", "500x400"}
        << QStringList{"--scale", "2", "--size", "500x400"} << "png";
    QTest::newRow("theme given beside the session")
        << session(src, in, {{"layer", 3}, {"head", 4}}, {{"current", "heatmap"}})
        << QStringList{"--view", "heatmap", "--layer", "3", "--head", "4", "--theme", "dark"}
        << QStringList{"--theme", "dark"} << "png";
    QTest::newRow("links") << session(
                                  src, in,
                                  {{"layer", 1},
                                   {"head", 0},
                                   {"checked_heads", headsOfLayer(1, {0, 1, 2, 3, 4, 5, 6, 7})}},
                                  {{"current", "links"}, {"link_threshold", 0.1}})
                           << QStringList{"--view", "links", "--layer", "1", "--threshold", "0.1"}
                           << QStringList{} << "png";
    QTest::newRow("grid") << session(src, in,
                                     {{"layer", 1}, {"head", 2}, {"checked_heads", allHeads(4, 8)}},
                                     {{"current", "grid"}})
                          << QStringList{"--view", "grid", "--layer", "1", "--head", "2"}
                          << QStringList{} << "png";
    QTest::newRow("compare, mixed panes, greyed")
        << session(src, in, {{"checked_heads", allHeads(4, 8)}},
                   {{"current", "compare"},
                    {"special_tokens", "grey"},
                    {"compare",
                     QJsonArray{QJsonObject{{"layer", 0}, {"head", 1}},
                                QJsonObject{{"layer", 1}, {"head", "mean"}, {"view", "links"}},
                                QJsonObject{{"layer", 3}, {"head", 4}}}}})
        << QStringList{"--view",         "compare",      "--compare",
                       "0:1,1:mean,3:4", "--pane-views", "heatmap,links,heatmap",
                       "--special",      "grey"}
        << QStringList{} << "png";
    QTest::newRow("diff of heads")
        << session(src, in, {{"checked_heads", allHeads(4, 8)}},
                   {{"current", "diff"},
                    {"diff", QJsonObject{{"mode", "heads"},
                                         {"a", QJsonObject{{"layer", 1}, {"head", 2}}},
                                         {"b", QJsonObject{{"layer", 3}, {"head", "max"}}}}}})
        << QStringList{"--view", "diff", "--compare", "1:2,3:max"} << QStringList{} << "png";
    QTest::newRow("diff of texts")
        << session(src, QJsonObject{{"text", kText}, {"against", kAgainst}},
                   {{"checked_heads", allHeads(4, 8)}},
                   {{"current", "diff"},
                    {"diff", QJsonObject{{"mode", "texts"},
                                         {"a", QJsonObject{{"layer", 1}, {"head", 2}}},
                                         {"b", QJsonObject{{"layer", 0}, {"head", 0}}}}}})
        << QStringList{"--view", "diff", "--against", kAgainst, "--layer", "1", "--head", "2"}
        << QStringList{} << "png";
    QTest::newRow("heatmap svg") << session(src, in, {{"layer", 1}, {"head", 2}},
                                            {{"current", "heatmap"}})
                                 << QStringList{"--view", "heatmap", "--layer", "1", "--head", "2"}
                                 << QStringList{} << "svg";
}

void TestCliSession::sameAsExport() {
    QFETCH(QJsonObject, sessionJson);
    QFETCH(QStringList, exportArgs);
    QFETCH(QStringList, sessionArgs);
    QFETCH(QString, ext);
    const QString sessionPath = m_dir.filePath(QStringLiteral("view.attnscope"));
    QVERIFY(writeJson(sessionPath, sessionJson));
    const QString fromExport = m_dir.filePath(QStringLiteral("export.") + ext);
    const QString fromSession = m_dir.filePath(QStringLiteral("session.") + ext);
    const QJsonObject input = sessionJson["input"].toObject();
    const CliRun a = runCli(QStringList{"export", "--model", "default", "--text", kText} +
                            exportArgs + QStringList{"-o", fromExport});
    QVERIFY2(a.exitCode == 0, qPrintable(a.describe()));
    const CliRun b = runCli(QStringList{"export", "--session", sessionPath} + sessionArgs +
                            QStringList{"-o", fromSession});
    QVERIFY2(b.exitCode == 0 && b.err.isEmpty(), qPrintable(b.describe()));
    QFile fa(fromExport), fb(fromSession);
    QVERIFY(fa.open(QIODevice::ReadOnly) && fb.open(QIODevice::ReadOnly));
    const QByteArray bytesA = fa.readAll(), bytesB = fb.readAll();
    QVERIFY(bytesA.size() > 1000);
    if (ext == QLatin1String("png")) {
        const QImage imageA = QImage::fromData(bytesA), imageB = QImage::fromData(bytesB);
        QVERIFY(!imageA.isNull());
        QCOMPARE(imageB.size(), imageA.size());
        QVERIFY(imageA == imageB); // pixel for pixel
    } else {
        QCOMPARE(bytesB, bytesA);
    }
}

// A session naming an attention file (relative to the session's folder) and its tokens draws
// what `export --attention` draws.
void TestCliSession::attentionFileSession() {
    QTemporaryDir dir;
    QDir(dir.path()).mkdir(QStringLiteral("data"));
    const QString dump = dir.filePath(QStringLiteral("data/cat.safetensors"));
    const CliRun d = runCli({"dump", "--model", "default", "--text", kText, "-o", dump});
    QVERIFY2(d.exitCode == 0, qPrintable(d.describe()));
    QDir(dir.path()).mkdir(QStringLiteral("sessions"));
    const QString sessionPath = dir.filePath(QStringLiteral("sessions/file.attnscope"));
    QVERIFY(writeJson(sessionPath, session(QJsonObject{{"attention", "../data/cat.safetensors"}},
                                           {}, {{"layer", 3}, {"head", 7}},
                                           {{"current", "heatmap"}, {"special_tokens", "grey"}})));
    const QString a = dir.filePath(QStringLiteral("a.png")),
                  b = dir.filePath(QStringLiteral("b.png"));
    const CliRun fromFile = runCli({"export", "--attention", dump, "--view", "heatmap", "--layer",
                                    "3", "--head", "7", "--special", "grey", "-o", a});
    QVERIFY2(fromFile.exitCode == 0, qPrintable(fromFile.describe()));
    const CliRun fromModel =
        runCli({"export", "--model", "default", "--text", kText, "--view", "heatmap", "--layer",
                "3", "--head", "7", "--special", "grey", "-o", b});
    QVERIFY2(fromModel.exitCode == 0, qPrintable(fromModel.describe()));
    // Run from another folder: the relative path must resolve against the session's own.
    const QString c = dir.filePath(QStringLiteral("c.png"));
    const CliRun fromSession = runCli({"export", "--session", sessionPath, "-o", c});
    QVERIFY2(fromSession.exitCode == 0, qPrintable(fromSession.describe()));
    const QImage imageA(a), imageB(b), imageC(c);
    QVERIFY(!imageC.isNull());
    QVERIFY(imageC == imageA);
    QVERIFY(imageC == imageB); // and the same as the model's
}

// An image model's session (the picture named relative to the session) draws what
// `export --view image` draws.
void TestCliSession::imageSession() {
    QTemporaryDir dir;
    const QString picture = QStringLiteral(ATTNSCOPE_TEST_DATA "/images/grey-40x30.png");
    QVERIFY(QFile::copy(picture, dir.filePath(QStringLiteral("grey.png"))));
    const QString sessionPath = dir.filePath(QStringLiteral("image.attnscope"));
    QVERIFY(writeJson(
        sessionPath,
        session(QJsonObject{{"model", "default-vision"}}, QJsonObject{{"image", "grey.png"}},
                {{"layer", 3},
                 {"show", "mean"},
                 {"patch", 9},
                 {"checked_heads", headsOfLayer(3, {0, 1, 2, 3})}},
                {{"current", "image"},
                 {"image",
                  QJsonObject{{"opacity", 0.4}, {"top_mass", 0.8}, {"upsample", "smooth"}}}})));
    const QString a = dir.filePath(QStringLiteral("a.png")),
                  b = dir.filePath(QStringLiteral("b.png"));
    const CliRun fromExport = runCli({"export",     "--model",   "default-vision",
                                      "--image",    picture,     "--view",
                                      "image",      "--patch",   "9",
                                      "--layer",    "3",         "--head",
                                      "mean",       "--opacity", "0.4",
                                      "--top-mass", "0.8",       "--upsample",
                                      "smooth",     "-o",        a});
    QVERIFY2(fromExport.exitCode == 0, qPrintable(fromExport.describe()));
    const CliRun fromSession = runCli({"export", "--session", sessionPath, "-o", b});
    QVERIFY2(fromSession.exitCode == 0 && fromSession.err.isEmpty(),
             qPrintable(fromSession.describe()));
    const QImage imageA(a), imageB(b);
    QVERIFY(!imageA.isNull());
    QVERIFY(imageA == imageB);
}

void TestCliSession::errors_data() {
    QTest::addColumn<QByteArray>("sessionBytes"); // empty: the file is not written
    QTest::addColumn<QStringList>("extraArgs");
    QTest::addColumn<QString>("expected");
    const QByteArray good =
        QJsonDocument(session(defaultModel(), textInput(), {{"layer", 1}}, {{"current", "grid"}}))
            .toJson();
    QTest::newRow("missing file") << QByteArray() << QStringList{} << "session file";
    QTest::newRow("truncated") << good.left(good.size() / 2) << QStringList{}
                               << "not a complete session file";
    QTest::newRow("not json") << QByteArray("hello\n") << QStringList{}
                              << "not a complete session file";
    QTest::newRow("newer version")
        << QJsonDocument(QJsonObject{{"format", "attnscope-session"}, {"version", 2}}).toJson()
        << QStringList{}
        << "version 2 session, written by a newer attnscope; this build reads "
           "versions up to 1";
    QTest::newRow("wrong type")
        << QJsonDocument(session(defaultModel(), textInput(), {{"layer", "one"}}, {})).toJson()
        << QStringList{} << "\"selection.layer\" must be a whole number";
    QTest::newRow("layer not in model")
        << QJsonDocument(session(defaultModel(), textInput(), {{"layer", 9}}, {})).toJson()
        << QStringList{} << "layer 9, head 0) is not in";
    QTest::newRow("model missing")
        << QJsonDocument(session(QJsonObject{{"model", "no/such/model"}}, textInput(), {}, {}))
               .toJson()
        << QStringList{} << "no/such/model";
    QTest::newRow("no text") << QJsonDocument(session(defaultModel(), {}, {}, {})).toJson()
                             << QStringList{} << "no text to analyse";
    QTest::newRow("with --model") << good << QStringList{"--model", "default"}
                                  << "--model cannot be given with it";
    QTest::newRow("with --view") << good << QStringList{"--view", "links"}
                                 << "--view cannot be given with it";
    QTest::newRow("bad scale") << good << QStringList{"--scale", "9"} << "--scale must be";
}

void TestCliSession::errors() {
    QFETCH(QByteArray, sessionBytes);
    QFETCH(QStringList, extraArgs);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString sessionPath = dir.filePath(QStringLiteral("bad.attnscope"));
    if (!sessionBytes.isEmpty()) {
        QFile f(sessionPath);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(sessionBytes);
    }
    const QString out = dir.filePath(QStringLiteral("out.png"));
    const CliRun r = runCli(QStringList{"export", "--session", sessionPath, "-o", out} + extraArgs);
    QVERIFY2(r.normalExit(), qPrintable(r.describe()));
    QCOMPARE(r.exitCode, 2);
    QCOMPARE(r.errLines().size(), 1);
    QVERIFY2(r.errLines()[0].startsWith(QStringLiteral("attnscope: error: ")),
             qPrintable(r.describe()));
    QVERIFY2(r.errLines()[0].contains(expected), qPrintable(r.describe()));
    QVERIFY(!QFile::exists(out));
}

QTEST_GUILESS_MAIN(TestCliSession)
#include "tst_cli_session.moc"
