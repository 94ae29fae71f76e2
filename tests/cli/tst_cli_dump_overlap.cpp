// `dump -o OUT.npy` writes the attention layer by layer while the pass runs (issue 14,
// core/dump.h OverlappedDump). Through the real binary: the .npy holds what the .safetensors dump
// of the same input holds (written after the pass), and a write that fails in the middle (a
// file-size limit reached after some layers), a pass that fails after layers were written (a NaN
// weight), or a folder that does not exist end with one error line, exit 2, no file or the old
// file untouched, and no temporary file left.
#include "cli_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <limits>
#include <sys/resource.h>

using namespace clitest;

namespace {

constexpr int kTimeoutMs = 60000;

// Runs the CLI with its files limited to `maxFileBytes` (RLIMIT_FSIZE) and SIGXFSZ ignored, so a
// write past the limit fails with EFBIG as a full disk would fail, instead of killing it.
CliRun runWithFileLimit(const QStringList& args, rlim_t maxFileBytes) {
    return runCli(args, QProcessEnvironment::systemEnvironment(), kTimeoutMs, [maxFileBytes] {
        std::signal(SIGXFSZ, SIG_IGN); // kept across exec
        const rlimit limit{maxFileBytes, maxFileBytes};
        ::setrlimit(RLIMIT_FSIZE, &limit);
    });
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString idList(int tokens) {
    QStringList ids;
    for (int t = 0; t < tokens; ++t)
        ids << QString::number(5 + (t * 37) % 190);
    return ids.join(QLatin1Char(','));
}

} // namespace

class TestCliDumpOverlap : public QObject {
    Q_OBJECT

private slots:
    // The .npy (written during the pass) against the "attentions" of the .safetensors dump of the
    // same input (written after it), read by this suite's own readers: same shape and values.
    void npyEqualsSafetensorsAttention_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QStringList>("select"); // --layers / --heads
        QTest::addColumn<QVector<qint64>>("shape");
        QTest::newRow("gpt2 all heads") << "gpt2" << QStringList{} << QVector<qint64>{2, 4, 40, 40};
        QTest::newRow("llama --layers 1 --heads 3,1")
            << "llama" << QStringList{"--layers", "1", "--heads", "3,1"}
            << QVector<qint64>{1, 2, 40, 40};
        QTest::newRow("bert --heads 0")
            << "bert" << QStringList{"--heads", "0"} << QVector<qint64>{2, 1, 40, 40};
    }
    void npyEqualsSafetensorsAttention() {
        QFETCH(QString, family);
        QFETCH(QStringList, select);
        QFETCH(QVector<qint64>, shape);
        QTemporaryDir dir;
        const QString model = oraclePath(family + QStringLiteral("/model"));
        const QString npy = dir.filePath(QStringLiteral("out.npy"));
        const QString st = dir.filePath(QStringLiteral("out.safetensors"));
        for (const QString& out : {npy, st}) {
            const CliRun r = runCli(QStringList{"dump", "--model", model, "--ids", idList(40)} +
                                        select + QStringList{"-o", out},
                                    QProcessEnvironment::systemEnvironment(), kTimeoutMs);
            QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        }
        const Npy written = readNpy(npy);
        QVERIFY2(written.error.isEmpty(), qPrintable(written.error));
        QCOMPARE(written.descr, QStringLiteral("<f4"));
        QCOMPARE(written.shape, shape);
        const StFile reference = readSafetensors(st);
        QVERIFY2(reference.ok(), qPrintable(reference.error));
        const StTensor attention = reference.tensors.value(QStringLiteral("attentions"));
        QCOMPARE(attention.shape, shape);
        QCOMPARE(written.data, attention.f32());
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
                 (QStringList{"out.npy", "out.safetensors"}));
    }

    // The file stops growing at a limit reached before, between or after layers were written
    // during the pass: one line naming the file, exit 2, no file (or the old one, unchanged),
    // nothing else in the folder. llama's fixture has 2 layers of 4 heads; at T = 64 a head is
    // 16 KiB and a layer 64 KiB, after a 128-byte header.
    void failedWriteMidPass_data() {
        QTest::addColumn<int>("limitBytes");
        QTest::addColumn<bool>("existing");
        const int header = 128, layer = 4 * 64 * 64 * 4;
        QTest::newRow("limit inside the header") << 64 << false;
        QTest::newRow("limit inside layer 0's heads") << header + layer / 2 << false;
        QTest::newRow("limit after layer 0, inside layer 1") << header + layer + 100 << false;
        QTest::newRow("limit inside layer 1, old file kept") << header + layer + 100 << true;
        QTest::newRow("limit one byte short of the file, old file kept")
            << header + 2 * layer - 1 << true;
    }
    void failedWriteMidPass() {
        QFETCH(int, limitBytes);
        QFETCH(bool, existing);
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("out.npy"));
        const QByteArray old("an earlier dump the failed one must not replace");
        if (existing) {
            QFile f(out);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(old);
        }
        const CliRun r =
            runWithFileLimit({"dump", "--model", oraclePath(QStringLiteral("llama/model")), "--ids",
                              idList(64), "-o", out},
                             rlim_t(limitBytes));
        checkOneErrorLine(r, QStringLiteral("cannot write %1: ").arg(out));
        QVERIFY2(r.err.contains("File too large"), qPrintable(r.describe()));
        if (existing) {
            QCOMPARE(readAll(out), old);
            QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
                     QStringList{"out.npy"});
        } else {
            QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).isEmpty());
        }
    }

    // The same limit one byte above the file's size: written in full (the limit is real, not
    // failing every write).
    void fileLimitAboveSizeWrites() {
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("out.npy"));
        const int size = 128 + 2 * 4 * 64 * 64 * 4;
        const CliRun r =
            runWithFileLimit({"dump", "--model", oraclePath(QStringLiteral("llama/model")), "--ids",
                              idList(64), "-o", out},
                             rlim_t(size));
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(QFileInfo(out).size(), qint64(size));
        QCOMPARE(readNpy(out).shape, (QVector<qint64>{2, 4, 64, 64}));
    }

    // The pass fails after its layers were written (a NaN query weight: NaN attention from layer
    // 0 on, found when the pass ends), or the file cannot be created at all: the one-line error
    // of a dump written after the pass, exit 2, no file and no temporary file.
    void failedPassAfterLayersWritten_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("NaN weight") << "nan"
                                    << "computed NaN or infinite attention (layer 0";
        QTest::newRow("folder missing") << "missing"
                                        << "cannot write ";
    }
    void failedPassAfterLayersWritten() {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QDir src(oraclePath(QStringLiteral("llama/model")));
        QString model = src.path();
        if (kind == QLatin1String("nan")) {
            model = dir.filePath(QStringLiteral("model"));
            QVERIFY(QDir().mkpath(model));
            for (const QString& name : {"config.json", "tokenizer.json"})
                QVERIFY(QFile::link(src.filePath(name), model + QLatin1Char('/') + name));
            QByteArray weights = readAll(src.filePath(QStringLiteral("model.safetensors")));
            uint64_t n = 0;
            std::memcpy(&n, weights.constData(), 8);
            const QJsonObject header =
                QJsonDocument::fromJson(weights.mid(8, qsizetype(n))).object();
            const QJsonValue entry = header.value("model.layers.0.self_attn.q_proj.weight");
            QVERIFY(entry.isObject());
            const qint64 at =
                8 + qint64(n) + entry.toObject().value("data_offsets").toArray()[0].toInteger();
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::memcpy(weights.data() + at, &nan, 4);
            QFile f(model + QStringLiteral("/model.safetensors"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(weights);
        }
        const QString outDir = dir.filePath(QStringLiteral("out"));
        if (kind != QLatin1String("missing")) QVERIFY(QDir().mkpath(outDir));
        const QString out = outDir + QStringLiteral("/out.npy");
        const CliRun r = runCli({"dump", "--model", model, "--ids", idList(64), "-o", out},
                                QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        checkOneErrorLine(r, expected);
        QVERIFY(!QFileInfo::exists(out));
        if (kind != QLatin1String("missing"))
            QVERIFY(QDir(outDir).entryList(QDir::Files | QDir::Hidden).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCliDumpOverlap)
#include "tst_cli_dump_overlap.moc"
