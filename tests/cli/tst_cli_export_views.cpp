// `attnscope export --view …`: every view in every format, written by the built executable.
// Files are checked for their format, SVGs for their token labels as text, --scale and --theme
// for pixel size and background, errors for the one-line contract and exit code 2, and the
// original `export --layer --head` for unchanged output. (Cell colours and link counts are
// checked on the renderers themselves in tests/ui/tst_workbench.cpp.)
#include "cli_support.h"

#include <QImage>
#include <QTemporaryDir>
#include <QTest>

using namespace clitest;

namespace {

QString gpt2() {
    return oraclePath(QStringLiteral("gpt2/model"));
}
const QString kText = QStringLiteral("The cat sat on the mat because it was tired.");

} // namespace

class TestCliExportViews : public QObject {
    Q_OBJECT
private slots:
    void eachViewEachFormat_data();
    void eachViewEachFormat();
    void scaleAndTheme();
    void originalExportUnchanged();
    void compareWithPaneOutsideModel();
    void errors_data();
    void errors();

private:
    QTemporaryDir m_dir;
};

void TestCliExportViews::eachViewEachFormat_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("label"); // a token label the SVG must hold as text ("" = none)
    const QStringList formats{QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")};
    const QList<QPair<QString, QStringList>> views{
        {"heatmap-mean", {"--view", "heatmap", "--layer", "1", "--head", "mean", "--heads", "0,2"}},
        {"heatmap-max", {"--view", "heatmap", "--layer", "0", "--head", "max"}},
        {"links", {"--view", "links", "--layer", "1"}},
        {"links-heads",
         {"--view", "links", "--layer", "0", "--heads", "1,3", "--threshold", "0.2"}},
        {"grid", {"--view", "grid"}},
        {"compare", {"--view", "compare", "--compare", "0:0,0:1,1:2,1:3"}},
        {"diff-heads", {"--view", "diff", "--compare", "0:0,1:2"}},
        {"compare-links",
         {"--view", "compare", "--compare", "0:1,1:2", "--pane-views", "heatmap,links"}},
        {"compare-aggregates", {"--view", "compare", "--compare", "0:mean,1:max,1:0"}},
        {"diff-mean", {"--view", "diff", "--compare", "1:mean,1:2", "--heads", "0,2"}},
    };
    for (const auto& [name, args] : views)
        for (const QString& format : formats)
            QTest::addRow("%s.%s", qPrintable(name), qPrintable(format))
                << (QStringList{"--text", kText} + args + QStringList{"-o", name + "." + format})
                << (name == QLatin1String("grid") ? QString() : QStringLiteral("mat"));
    QTest::newRow("diff-inputs.svg")
        << QStringList{"--text",    "The cat sat", "--view", "diff",
                       "--layer",   "1",           "--head", "2",
                       "--against", "The dog sat", "-o",     "diff-inputs.svg"}
        << QStringLiteral("sat");
}

void TestCliExportViews::eachViewEachFormat() {
    QFETCH(QStringList, args);
    QFETCH(QString, label);
    QVERIFY(m_dir.isValid());
    QString& out = args.last();
    out = m_dir.filePath(out);
    const CliRun run = runCli(QStringList{"export", "--model", gpt2()} + args);
    QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.size() > 1000);
    if (out.endsWith(QLatin1String(".png"))) {
        QImage image;
        QVERIFY(image.loadFromData(bytes, "PNG"));
        QVERIFY(image.width() >= 200 && image.height() >= 150);
    } else if (out.endsWith(QLatin1String(".svg"))) {
        QVERIFY(bytes.startsWith("<?xml"));
        if (!label.isEmpty()) {
            // Labels are text elements, searchable and selectable, not outlines.
            const QRegularExpression text(QStringLiteral("<text[^>]*>[^<]*%1").arg(label));
            QVERIFY2(text.match(QString::fromUtf8(bytes)).hasMatch(), qPrintable(label));
        }
        // The analysed text itself is in the description: the labels are tokens ("do", "##g").
        const QString analysed = args.value(args.indexOf(QStringLiteral("--text")) + 1);
        QVERIFY2(QString::fromUtf8(bytes).contains(QStringLiteral("<desc>") +
                                                   QStringLiteral("attnscope attention figure of "
                                                                  "the text: ") +
                                                   analysed),
                 qPrintable(analysed));
    } else {
        QVERIFY(bytes.startsWith("%PDF"));
    }
}

void TestCliExportViews::scaleAndTheme() {
    const QString one = m_dir.filePath(QStringLiteral("scale1.png"));
    const QString two = m_dir.filePath(QStringLiteral("scale2.png"));
    for (const auto& [path, scale] : {std::pair{one, "1"}, {two, "2"}}) {
        const CliRun run =
            runCli({"export", "--model", gpt2(), "--text", kText, "--view", "links", "--theme",
                    "dark", "--scale", scale, "--size", "800x500", "-o", path});
        QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    }
    QImage a(one), b(two);
    QCOMPARE(a.size(), QSize(800, 500));
    QCOMPARE(b.size(), QSize(1600, 1000));
    QCOMPARE(QColor(a.pixel(3, 3)), QColor(0x1e, 0x1f, 0x22)); // dark background
    QCOMPARE(QColor(b.pixel(6, 6)), QColor(0x1e, 0x1f, 0x22));
}

void TestCliExportViews::originalExportUnchanged() {
    // The pre-existing form keeps working (1000x900 by default, nothing on stderr), and naming
    // --view heatmap draws the very same picture.
    const QString path = m_dir.filePath(QStringLiteral("original.png"));
    const CliRun run = runCli(
        {"export", "--model", gpt2(), "--text", kText, "--layer", "1", "--head", "2", "-o", path});
    QVERIFY2(run.exitCode == 0 && run.err.isEmpty(), qPrintable(run.describe()));
    QCOMPARE(QImage(path).size(), QSize(1000, 900));
    const QString viaView = m_dir.filePath(QStringLiteral("via-view.png"));
    const CliRun run2 = runCli({"export", "--model", gpt2(), "--text", kText, "--view", "heatmap",
                                "--layer", "1", "--head", "2", "-o", viaView});
    QVERIFY2(run2.exitCode == 0, qPrintable(run2.describe()));
    QCOMPARE(QImage(viaView), QImage(path)); // the same figure through the new options
}

void TestCliExportViews::compareWithPaneOutsideModel() {
    // A comparison written for a deeper model: the panes that exist are drawn, the one that
    // does not says so in its pane, and stderr has a one-line note (not an error).
    const QString path = m_dir.filePath(QStringLiteral("missing-pane.svg"));
    const CliRun run = runCli({"export", "--model", gpt2(), "--text", kText, "--view", "compare",
                               "--compare", "0:0,1:2,2:1", "-o", path});
    QVERIFY2(run.normalExit() && run.exitCode == 0, qPrintable(run.describe()));
    QCOMPARE(run.errLines().size(), 1);
    QVERIFY2(run.errLines()[0].startsWith(QStringLiteral("attnscope: note: --compare: 2:1 is "
                                                         "outside the model's 2 layers × 4 heads")),
             qPrintable(run.errLines()[0]));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString svg = QString::fromUtf8(file.readAll());
    QVERIFY(svg.contains(QStringLiteral("Layer 0 · Head 0")));
    QVERIFY(svg.contains(QStringLiteral("Layer 1 · Head 2")));
    QVERIFY(svg.contains(QStringLiteral("Layer 2 · head 1 is not in this model")));
    QCOMPARE(svg.count(QStringLiteral(">key</text>")), 2); // two heatmaps' key axes

    // --pane-views draws the second pane as token links (lines), the first as a heatmap.
    const QString links = m_dir.filePath(QStringLiteral("pane-links.svg"));
    const CliRun run2 = runCli({"export", "--model", gpt2(), "--text", kText, "--view", "compare",
                                "--compare", "0:0,1:2", "--pane-views", "heatmap,links", "-o",
                                links});
    QVERIFY2(run2.exitCode == 0 && run2.err.isEmpty(), qPrintable(run2.describe()));
    QFile file2(links);
    QVERIFY(file2.open(QIODevice::ReadOnly));
    const QString svg2 = QString::fromUtf8(file2.readAll());
    QCOMPARE(svg2.count(QStringLiteral(">key</text>")), 1); // one heatmap
    QVERIFY(svg2.contains(QStringLiteral(">H2</text>")));    // the links pane's head legend
    QVERIFY(svg2.contains(QStringLiteral("Layer 0 · Head 0")));
}

void TestCliExportViews::errors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown view") << QStringList{"--view", "pie"} << "--view must be";
    QTest::newRow("compare without pairs") << QStringList{"--view", "compare"} << "--compare";
    QTest::newRow("compare with one pair")
        << QStringList{"--view", "compare", "--compare", "0:1"} << "2 to 4";
    QTest::newRow("bad pair") << QStringList{"--view", "compare", "--compare", "0:1,x"}
                              << "is not layer:head";
    QTest::newRow("no pane inside model")
        << QStringList{"--view", "compare", "--compare", "5:1,7:0"} << "none of the panes";
    QTest::newRow("diff pair outside model")
        << QStringList{"--view", "diff", "--compare", "0:1,7:0"} << "outside the model";
    QTest::newRow("negative layer")
        << QStringList{"--view", "compare", "--compare", "0:1,-1:0"} << "is not layer:head";
    QTest::newRow("pane views count")
        << QStringList{"--view", "compare", "--compare", "0:1,1:0", "--pane-views", "links"}
        << "--pane-views";
    QTest::newRow("pane view unknown")
        << QStringList{"--view", "compare", "--compare", "0:1,1:0", "--pane-views", "links,pie"}
        << "--pane-views";
    QTest::newRow("diff without operands") << QStringList{"--view", "diff"} << "--against";
    QTest::newRow("diff lengths differ")
        << QStringList{"--view", "diff", "--against", "A much longer sentence than the other"}
        << "tokens";
    QTest::newRow("bad head") << QStringList{"--view", "links", "--head", "avg"} << "--head";
    QTest::newRow("bad heads") << QStringList{"--head", "mean", "--heads", "0,9"} << "--heads";
    QTest::newRow("bad theme") << QStringList{"--theme", "sepia"} << "--theme";
    QTest::newRow("bad scale") << QStringList{"--scale", "5"} << "--scale";
    QTest::newRow("bad special") << QStringList{"--special", "maybe"} << "--special";
}

void TestCliExportViews::errors() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const QString out = m_dir.filePath(QStringLiteral("never.png"));
    const CliRun run = runCli(QStringList{"export", "--model", gpt2(), "--text", "The cat sat"} +
                              args + QStringList{"-o", out});
    QVERIFY2(run.normalExit(), qPrintable(run.describe()));
    QCOMPARE(run.exitCode, 2);
    QCOMPARE(run.errLines().size(), 1);
    QVERIFY2(run.errLines()[0].startsWith(QStringLiteral("attnscope: error: ")),
             qPrintable(run.errLines()[0]));
    QVERIFY2(run.errLines()[0].contains(message), qPrintable(run.errLines()[0]));
    QVERIFY(!QFile::exists(out));
}

QTEST_MAIN(TestCliExportViews)
#include "tst_cli_export_views.moc"
