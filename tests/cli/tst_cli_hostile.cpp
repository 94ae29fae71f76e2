// Hostile inputs and outputs through the real binary (issue 15): -o naming a device, a FIFO or a
// symlink to one is written in place, never replaced, and a failed write is exit 2; model files
// that are FIFOs, /dev/zero or huge, and endless text, image, token and list inputs, end with one
// error line within a timeout instead of hanging or filling memory.
#include "cli_support.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace clitest;

namespace {

constexpr int kTimeoutMs = 30000; // a hang is a failure, not a stuck suite

bool isCharDevice(const QString& path) {
    struct stat st;
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 && S_ISCHR(st.st_mode);
}

bool isFifo(const QString& path) {
    struct stat st;
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISFIFO(st.st_mode);
}

bool makeFifo(const QString& path) {
    return ::mkfifo(QFile::encodeName(path).constData(), 0600) == 0;
}

// Runs the CLI while reading everything it writes into `fifo` (opened without blocking first,
// so the CLI's open for writing never waits and a CLI that never opens it cannot hang the test).
CliRun runReadingFifo(const QStringList& args, const QString& fifo, QByteArray* got) {
    CliRun r;
    const int fd = ::open(QFile::encodeName(fifo).constData(), O_RDONLY | O_NONBLOCK);
    if (fd < 0) return r;
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(binary(), args);
    r.started = p.waitForStarted(20000);
    QElapsedTimer timer;
    timer.start();
    char buffer[1 << 16];
    bool done = !r.started;
    while (timer.elapsed() < kTimeoutMs) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            got->append(buffer, qsizetype(n));
            continue;
        }
        if (done) break; // the process has ended and the pipe is drained
        done = p.waitForFinished(20);
    }
    ::close(fd);
    r.finished = done && r.started;
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.status = p.exitStatus();
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

} // namespace

class TestCliHostile : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    int m_serial = 0;

    QString tmp(const QString& rel) const { return m_tmp.filePath(rel); }
    QString fresh(const QString& name) {
        return tmp(QStringLiteral("%1-%2").arg(++m_serial).arg(name));
    }

    // A model folder whose files link to llama's, except `file`, which is `kind`: a symlink to
    // /dev/zero or /dev/urandom, a FIFO nobody writes, or a sparse file larger than its limit.
    QString hostileModel(const QString& file, const QString& kind) {
        const QString dir = fresh(QStringLiteral("model"));
        if (!QDir().mkpath(dir)) return {};
        const QDir src(oraclePath(QStringLiteral("llama/model")));
        for (const QString& name : src.entryList(QDir::Files))
            if (name != file && !QFile::link(src.filePath(name), dir + QLatin1Char('/') + name))
                return {};
        const QString target = dir + QLatin1Char('/') + file;
        if (kind == QLatin1String("zero") || kind == QLatin1String("urandom")) {
            if (!QFile::link(QStringLiteral("/dev/") + kind, target)) return {};
        } else if (kind == QLatin1String("fifo")) {
            if (!makeFifo(target)) return {};
        } else if (kind == QLatin1String("huge")) {
            QFile f(target);
            const qint64 size = file == QLatin1String("config.json") ? (17ll << 20) : (513ll << 20);
            if (!f.open(QIODevice::WriteOnly) || !f.resize(size)) return {}; // sparse
        }
        return dir;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(binary()).isExecutable(), qPrintable(binary()));
        QVERIFY(isCharDevice(QStringLiteral("/dev/null")));
        QVERIFY(isCharDevice(QStringLiteral("/dev/full")));
        // An attention file for the --tokens rows.
        const CliRun r =
            runCli({QStringLiteral("dump"), QStringLiteral("--model"), QStringLiteral("default"),
                    QStringLiteral("--text"), QStringLiteral("one two three"), QStringLiteral("-o"),
                    tmp(QStringLiteral("attention.safetensors"))});
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
    }

    // -o LINK where LINK -> /dev/null or /dev/full: written in place; the link and the device
    // stay what they were; /dev/full's ENOSPC is exit 2 with one line.
    void outputToDevice_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<QString>("device");
        QTest::addColumn<int>("exitCode");
        const QStringList dump{QStringLiteral("dump"), QStringLiteral("--model"),
                               QStringLiteral("default"), QStringLiteral("--text"),
                               QStringLiteral("The cat sat on the mat.")};
        const QStringList exportArgs{QStringLiteral("export"), QStringLiteral("--model"),
                                     QStringLiteral("default"), QStringLiteral("--text"),
                                     QStringLiteral("The cat sat on the mat.")};
        const QStringList rollout =
            dump + QStringList{QStringLiteral("--analysis"), QStringLiteral("rollout")};
        const QStringList grid =
            exportArgs + QStringList{QStringLiteral("--view"), QStringLiteral("grid")};
        for (const QString device : {QStringLiteral("/dev/null"), QStringLiteral("/dev/full")}) {
            const int code = device.endsWith(QLatin1String("full")) ? 2 : 0;
            const QByteArray d = device.toLatin1();
            QTest::newRow("dump json " + d) << dump << "json" << device << code;
            QTest::newRow("dump npy " + d) << dump << "npy" << device << code;
            QTest::newRow("dump safetensors " + d) << dump << "safetensors" << device << code;
            QTest::newRow("dump --analysis rollout json " + d)
                << rollout << "json" << device << code;
            QTest::newRow("dump --analysis rollout safetensors " + d)
                << rollout << "safetensors" << device << code;
            QTest::newRow("export png " + d) << exportArgs << "png" << device << code;
            QTest::newRow("export pdf " + d) << exportArgs << "pdf" << device << code;
            QTest::newRow("export --view grid svg " + d) << grid << "svg" << device << code;
        }
    }
    void outputToDevice() {
        QFETCH(QStringList, args);
        QFETCH(QString, suffix);
        QFETCH(QString, device);
        QFETCH(int, exitCode);
        const QString dir = fresh(QStringLiteral("out"));
        QVERIFY(QDir().mkpath(dir));
        const QString link = dir + QStringLiteral("/result.") + suffix;
        QVERIFY(QFile::link(device, link));
        const CliRun r = runCli(args + QStringList{QStringLiteral("-o"), link},
                                QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        if (exitCode == 0) {
            QVERIFY2(r.normalExit() && r.exitCode == 0 && r.err.isEmpty(),
                     qPrintable(r.describe()));
        } else {
            checkOneErrorLine(r, QStringLiteral("No space left on device"));
        }
        QVERIFY2(QFileInfo(link).isSymLink(), "the symlink was replaced");
        QCOMPARE(QFileInfo(link).symLinkTarget(), device);
        QVERIFY2(isCharDevice(device), "the device was replaced");
        QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System),
                 QStringList{QStringLiteral("result.") + suffix}); // no temporary file left
    }

    // -o FIFO (or a symlink to one): the reader gets exactly the bytes a regular file gets, and
    // the FIFO stays a FIFO.
    void outputToFifo_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<bool>("throughLink");
        const QStringList dump{QStringLiteral("dump"), QStringLiteral("--model"),
                               QStringLiteral("default"), QStringLiteral("--text"),
                               QStringLiteral("A FIFO is not a file to replace.")};
        const QStringList exportArgs{QStringLiteral("export"), QStringLiteral("--model"),
                                     QStringLiteral("default"), QStringLiteral("--text"),
                                     QStringLiteral("A FIFO is not a file to replace.")};
        for (bool link : {false, true}) {
            const QByteArray how = link ? " via symlink" : "";
            QTest::newRow("dump json" + how) << dump << "json" << link;
            QTest::newRow("dump npy" + how) << dump << "npy" << link;
            QTest::newRow("dump safetensors" + how) << dump << "safetensors" << link;
            QTest::newRow("export png" + how) << exportArgs << "png" << link;
            QTest::newRow("export svg" + how) << exportArgs << "svg" << link;
        }
    }
    void outputToFifo() {
        QFETCH(QStringList, args);
        QFETCH(QString, suffix);
        QFETCH(bool, throughLink);
        const QString dir = fresh(QStringLiteral("fifo"));
        QVERIFY(QDir().mkpath(dir));
        const QString fifo = dir + QStringLiteral("/pipe.") + suffix;
        QVERIFY(makeFifo(fifo));
        const QString target = throughLink ? dir + QStringLiteral("/link.") + suffix : fifo;
        if (throughLink) QVERIFY(QFile::link(fifo, target));
        QByteArray got;
        const CliRun r =
            runReadingFifo(args + QStringList{QStringLiteral("-o"), target}, fifo, &got);
        QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(isFifo(fifo));
        if (throughLink) QVERIFY(QFileInfo(target).isSymLink());

        const QString regular = dir + QStringLiteral("/regular.") + suffix;
        const CliRun ref = runCli(args + QStringList{QStringLiteral("-o"), regular});
        QVERIFY2(ref.normalExit() && ref.exitCode == 0, qPrintable(ref.describe()));
        QFile f(regular);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray expected = f.readAll();
        QVERIFY(expected.size() > 100);
        QCOMPARE(got.size(), expected.size());
        QVERIFY(got == expected);
    }

    // Model files that are /dev/zero, /dev/urandom, a FIFO nobody writes, or larger than any
    // real one: one error line, at once.
    void endlessModelFiles_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("needle");
        const QString notRegular = QStringLiteral("is not a regular file");
        for (const QString command :
             {QStringLiteral("info"), QStringLiteral("tokenize"), QStringLiteral("dump")}) {
            const QByteArray c = command.toLatin1();
            for (const QString file :
                 {QStringLiteral("config.json"), QStringLiteral("tokenizer.json"),
                  QStringLiteral("model.safetensors")}) {
                const QByteArray f = file.toLatin1();
                for (const QString kind : {QStringLiteral("zero"), QStringLiteral("fifo")})
                    QTest::newRow(c + " " + f + " " + kind.toLatin1())
                        << file << kind << command << notRegular;
            }
            QTest::newRow(c + " config.json urandom")
                << QStringLiteral("config.json") << QStringLiteral("urandom") << command
                << notRegular;
            QTest::newRow(c + " config.json 17 MB")
                << QStringLiteral("config.json") << QStringLiteral("huge") << command
                << QStringLiteral("larger than 16 MB");
        }
        QTest::newRow("tokenize tokenizer.json 513 MB")
            << QStringLiteral("tokenizer.json") << QStringLiteral("huge")
            << QStringLiteral("tokenize") << QStringLiteral("larger than 512 MB");
    }
    void endlessModelFiles() {
        QFETCH(QString, file);
        QFETCH(QString, kind);
        QFETCH(QString, command);
        QFETCH(QString, needle);
        const QString model = hostileModel(file, kind);
        QVERIFY(!model.isEmpty());
        QStringList args{command, QStringLiteral("--model"), model};
        if (command != QLatin1String("info"))
            args << QStringLiteral("--text") << QStringLiteral("hello world");
        if (command == QLatin1String("dump")) args << QStringLiteral("-o") << fresh("d.json");
        QElapsedTimer timer;
        timer.start();
        const CliRun r = runCli(args, QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        checkOneErrorLine(r, needle);
        QVERIFY(r.errLines().first().contains(file));
        QVERIFY2(timer.elapsed() < 20000, "took too long");
    }

    // Inputs that may be streams (pipes, devices) are read up to their limit and stopped there.
    void endlessInputs_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        const QString model = QStringLiteral("--model");
        QTest::newRow("tokenize --text-file /dev/zero")
            << QStringList{"tokenize", model, "default", "--text-file", "/dev/zero"}
            << QStringLiteral("text file /dev/zero is larger than 64 MB");
        QTest::newRow("dump --text-file /dev/urandom")
            << QStringList{"dump", model, "default", "--text-file", "/dev/urandom", "-o", "x.json"}
            << QStringLiteral("text file /dev/urandom is larger than 64 MB");
        QTest::newRow("export --text-file /dev/zero")
            << QStringList{"export", model, "default", "--text-file", "/dev/zero", "-o", "x.png"}
            << QStringLiteral("larger than 64 MB");
        QTest::newRow("dump --image /dev/zero")
            << QStringList{"dump", model, "default-vision", "--image", "/dev/zero", "-o", "x.json"}
            << QStringLiteral("image /dev/zero is larger than 256 MB");
        QTest::newRow("dump --analysis stats --input-list /dev/zero")
            << QStringList{"dump",         model,       "default", "--analysis", "stats",
                           "--input-list", "/dev/zero", "-o",      "x.json"}
            << QStringLiteral("input list /dev/zero is larger than 64 MB");
        QTest::newRow("info --attention --tokens /dev/zero")
            << QStringList{"info", "--attention", tmp(QStringLiteral("attention.safetensors")),
                           "--tokens", "/dev/zero"}
            << QStringLiteral("tokens file /dev/zero is larger than 256 MB");
        QTest::newRow("info --attention /dev/zero.npy (symlink)")
            << QStringList{"info", "--attention", tmp(QStringLiteral("zero.npy"))}
            << QStringLiteral("zero.npy");
    }
    void endlessInputs() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        QFile::link(QStringLiteral("/dev/zero"), tmp(QStringLiteral("zero.npy")));
        for (QString& a : args)
            if (a.startsWith(QLatin1String("x."))) a = fresh(a);
        const CliRun r = runCli(args, QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        checkOneErrorLine(r, needle);
    }

    // ATTNSCOPE_MEMORY_LIMIT_MB that is not a positive number is an error naming it.
    void invalidMemoryLimit_data() {
        QTest::addColumn<QString>("value");
        QTest::addColumn<bool>("attentionFile");
        for (const char* v : {"0", "-5", "abc", "inf", "nan", "12MB", "1e400"}) {
            QTest::newRow(QByteArray("model ") + v) << QString::fromLatin1(v) << false;
            QTest::newRow(QByteArray("attention file ") + v) << QString::fromLatin1(v) << true;
        }
    }
    void invalidMemoryLimit() {
        QFETCH(QString, value);
        QFETCH(bool, attentionFile);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB"), value);
        const QStringList args =
            attentionFile ? QStringList{"info", "--attention", tmp("attention.safetensors")}
                          : QStringList{"info", "--model", "default"};
        const CliRun r = runCli(args, env);
        checkOneErrorLine(r, QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB must be a positive number"));
        QVERIFY(r.errLines().first().contains(QLatin1Char('"') + value + QLatin1Char('"')));
        env.insert(QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB"), QStringLiteral("4096"));
        const CliRun valid = runCli(args, env);
        QVERIFY2(valid.normalExit() && valid.exitCode == 0, qPrintable(valid.describe()));
    }

    // The memory guard counts what writing the dump costs: 1500 tokens of an 8-head model keep
    // 72 MB of attention (about 110 MB with the per-thread buffers), which fits 400 MB, but a
    // JSON dump builds about 42 bytes per value (measured: 1.35 GB at 2000 tokens): refused up
    // front, while .npy (one more float32 copy) runs under the same limit.
    void memoryGuardCountsOutput_data() {
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<int>("exitCode");
        QTest::newRow("npy fits") << "npy" << 0;
        QTest::newRow("safetensors fits") << "safetensors" << 0;
        QTest::newRow("json refused") << "json" << 2;
    }
    void memoryGuardCountsOutput() {
        QFETCH(QString, suffix);
        QFETCH(int, exitCode);
        const QString model = tmp(QStringLiteral("long-llama"));
        if (!QFileInfo::exists(model)) { // llama with rotary positions up to 20000
            QVERIFY(QDir().mkpath(model));
            const QDir src(oraclePath(QStringLiteral("llama/model")));
            QVERIFY(QFile::link(src.filePath("model.safetensors"), model + "/model.safetensors"));
            QVERIFY(QFile::link(src.filePath("tokenizer.json"), model + "/tokenizer.json"));
            QJsonObject config = readJsonFile(src.filePath("config.json")).object();
            QVERIFY(!config.isEmpty());
            config.insert(QStringLiteral("max_position_embeddings"), 20000);
            QFile f(model + QStringLiteral("/config.json"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QJsonDocument(config).toJson());
        }
        QStringList ids;
        for (int i = 0; i < 1500; ++i)
            ids << QString::number(5 + i % 1000);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB"), QStringLiteral("400"));
        env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("2")); // per-thread buffers
        const QString out = fresh(QStringLiteral("long.") + suffix);
        const CliRun r =
            runCli({"dump", "--model", model, "--ids", ids.join(','), "-o", out}, env, 120000);
        if (exitCode == 0) {
            QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
            QVERIFY(QFileInfo(out).size() > 8 * 1500 * 1500 * 4);
        } else {
            checkOneErrorLine(r, QStringLiteral("1500 tokens would need"));
            QVERIFY(r.errLines().first().contains(QLatin1String("write it out")));
            QVERIFY(!QFileInfo::exists(out));
        }
    }

    // Inputs that used to give NaN attention with exit 0, or be read as something else: a NaN
    // weight, a NaN-producing or mistyped config.json. Through the CLI: one line, exit 2.
    void silentlyWrongModels_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QByteArray>("configEdit"); // JSON object merged into config.json
        QTest::addColumn<bool>("nanWeight");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<bool>("lazy"); // every head computed on demand (kept as Q and K only)
        QTest::newRow("gpt2 NaN weight") << "gpt2" << QByteArray("{}") << true
                                         << "computed NaN or infinite attention (layer 0" << false;
        QTest::newRow("llama NaN weight") << "llama" << QByteArray("{}") << true
                                          << "computed NaN or infinite attention (layer 0" << false;
        QTest::newRow("llama rope_theta -1")
            << "llama" << QByteArray(R"({"rope_theta":-1})") << false
            << "rope_theta must be a positive number" << false;
        QTest::newRow("llama rope_theta big") << "llama" << QByteArray(R"({"rope_theta":"big"})")
                                              << false << "found a string (\"big\")" << false;
        QTest::newRow("gpt2 n_embd 32.5")
            << "gpt2" << QByteArray(R"({"n_embd":32.5})") << false
            << "n_embd must be a positive integer, found the number 32.5" << false;
        QTest::newRow("gpt2 n_head \"4\"")
            << "gpt2" << QByteArray(R"({"n_head":"4"})") << false
            << "n_head must be a positive integer, found a string" << false;
        QTest::newRow("gpt2 layer_norm_epsilon -1")
            << "gpt2" << QByteArray(R"({"layer_norm_epsilon":-1})") << false
            << "layer_norm_epsilon must be a positive number" << false;
        QTest::newRow("llama num_hidden_layers -2")
            << "llama" << QByteArray(R"({"num_hidden_layers":-2})") << false
            << "num_hidden_layers must be a positive integer, found the number -2" << false;
        // Lazy passes: the pass's finiteness record of heads it does not keep says so too.
        QTest::newRow("gpt2 NaN weight, lazy heads")
            << "gpt2" << QByteArray("{}") << true << "computed NaN or infinite attention (layer 0"
            << true;
        QTest::newRow("llama NaN weight, lazy heads")
            << "llama" << QByteArray("{}") << true << "computed NaN or infinite attention (layer 0"
            << true;
    }
    void silentlyWrongModels() {
        QFETCH(QString, family);
        QFETCH(QByteArray, configEdit);
        QFETCH(bool, nanWeight);
        QFETCH(QString, expected);
        QFETCH(bool, lazy);
        const QString dir = fresh(family);
        QVERIFY(QDir().mkpath(dir));
        const QDir src(oraclePath(family + QStringLiteral("/model")));
        QVERIFY(QFile::link(src.filePath("tokenizer.json"), dir + "/tokenizer.json"));
        QJsonObject config = readJsonFile(src.filePath("config.json")).object();
        const QJsonObject edit = QJsonDocument::fromJson(configEdit).object();
        for (auto it = edit.begin(); it != edit.end(); ++it)
            config.insert(it.key(), it.value());
        QFile c(dir + "/config.json");
        QVERIFY(c.open(QIODevice::WriteOnly));
        c.write(QJsonDocument(config).toJson());
        c.close();
        QFile w(src.filePath("model.safetensors"));
        QVERIFY(w.open(QIODevice::ReadOnly));
        QByteArray weights = w.readAll();
        if (nanWeight) { // the first query weight of layer 0 becomes NaN
            uint64_t n = 0;
            std::memcpy(&n, weights.constData(), 8);
            const QJsonObject header =
                QJsonDocument::fromJson(weights.mid(8, qsizetype(n))).object();
            QString name;
            for (const QString& k : header.keys())
                if (k.contains("h.0.attn.c_attn.weight") ||
                    k.contains("layers.0.self_attn.q_proj.weight"))
                    name = k;
            QVERIFY(!name.isEmpty());
            const qint64 at =
                8 + qint64(n) +
                header.value(name).toObject().value("data_offsets").toArray()[0].toInteger();
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::memcpy(weights.data() + at, &nan, 4);
        }
        QFile out(dir + "/model.safetensors");
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(weights);
        out.close();
        const QString dump = fresh(QStringLiteral("nan.json"));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (lazy) env.insert(QStringLiteral("ATTNSCOPE_EAGER_ATTENTION_MB"), QStringLiteral("0"));
        const CliRun r = runCli({"dump", "--model", dir, "--text", "hello world", "-o", dump}, env);
        checkOneErrorLine(r, expected);
        QVERIFY(!QFileInfo::exists(dump));
    }

    // tokenizer.json read as something else before: through `tokenize` on a tokenizer folder.
    void wrongTokenizers_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("expected");
        QTest::newRow("llama vocab id as string")
            << "llama"
            << "string id"
            << "the id of \"<s>\" must be a non-negative integer";
        QTest::newRow("bert vocab id as string")
            << "bert"
            << "string id"
            << "the id of \"[CLS]\" must be a non-negative integer";
        QTest::newRow("gpt2 merges a string") << "gpt2"
                                              << "merges string"
                                              << "\"merges\" in tokenizer.json must be a list";
        QTest::newRow("llama merge of a missing token")
            << "llama"
            << "missing merge"
            << "names a token missing from the vocabulary";
    }
    void wrongTokenizers() {
        QFETCH(QString, family);
        QFETCH(QString, edit);
        QFETCH(QString, expected);
        QJsonObject json =
            readJsonFile(oraclePath(family + QStringLiteral("/model/tokenizer.json"))).object();
        QJsonObject model = json.value("model").toObject();
        QVERIFY(!model.isEmpty());
        if (edit == QLatin1String("string id")) {
            QJsonObject vocab = model.value("vocab").toObject();
            const QString token = family == QLatin1String("bert") ? "[CLS]" : "<s>";
            QVERIFY(vocab.contains(token));
            vocab.insert(token, QString::number(vocab.value(token).toInt()));
            model.insert("vocab", vocab);
        } else if (edit == QLatin1String("merges string")) {
            model.insert("merges", QStringLiteral("Ġ t"));
        } else {
            QJsonArray merges = model.value("merges").toArray();
            merges.append(QJsonArray{QStringLiteral("▁"), QStringLiteral("\u2603no-such-token")});
            model.insert("merges", merges);
        }
        json.insert("model", model);
        const QString dir = fresh(QStringLiteral("tokenizer"));
        QVERIFY(QDir().mkpath(dir));
        QFile f(dir + "/tokenizer.json");
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(json).toJson());
        f.close();
        const CliRun r = runCli({"tokenize", "--model", dir, "--text", "hello world"});
        checkOneErrorLine(r, expected);
    }

    // ATTNSCOPE_MEMORY_LIMIT_MB covers tokenizing too: 500 000 characters need about 125 MB
    // (measured: 0.96 GB for 4 MB): refused under 100 MB, fine under 1000 MB.
    void memoryGuardCountsTokenizing_data() {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("limit");
        QTest::addColumn<int>("exitCode");
        for (const QString command : {QStringLiteral("tokenize"), QStringLiteral("dump")}) {
            QTest::newRow(qPrintable(command + " 100 MB")) << command << "100" << 2;
            if (command == QLatin1String("tokenize"))
                QTest::newRow(qPrintable(command + " 1000 MB")) << command << "1000" << 0;
        }
    }
    void memoryGuardCountsTokenizing() {
        QFETCH(QString, command);
        QFETCH(QString, limit);
        QFETCH(int, exitCode);
        const QString text = tmp(QStringLiteral("long.txt"));
        if (!QFileInfo::exists(text)) {
            QFile f(text);
            QVERIFY(f.open(QIODevice::WriteOnly));
            const QByteArray sentence("The quick brown fox jumps over the lazy dog. ");
            for (int i = 0; i < 500000 / sentence.size() + 1; ++i)
                f.write(sentence);
        }
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB"), limit);
        QStringList args{command, "--model", "default", "--text-file", text};
        if (command == QLatin1String("dump")) args << "-o" << fresh("t.json");
        const CliRun r = runCli(args, env, 120000);
        if (exitCode == 0) {
            QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
            QVERIFY(QJsonDocument::fromJson(r.out).object().value("ids").toArray().size() > 90000);
        } else {
            checkOneErrorLine(r, QStringLiteral("would need about 0.13 GB to tokenize"));
        }
    }

    // Pickle checkpoints are never unpickled: a folder with only pytorch_model.bin / *.pt /
    // *.pth / *.ckpt (or such a file given as the model) is one error line that names the file
    // and says how to convert it to safetensors. The pickle here would write a file if it were
    // ever loaded (os.system through __reduce__, protocol 2).
    void pickleCheckpointsRefused_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("fileAsModel");
        QTest::addColumn<QString>("command");
        for (const char* name : {"pytorch_model.bin", "pytorch_model-00001-of-00002.bin",
                                 "model.pt", "weights.pth", "last.ckpt"})
            for (const char* command : {"info", "dump"})
                QTest::addRow("%s %s", command, name)
                    << QString::fromLatin1(name) << false << QString::fromLatin1(command);
        QTest::newRow("info file itself") << "pytorch_model.bin" << true << "info";
        QTest::newRow("tokenize file itself") << "model.pt" << true << "tokenize";
    }
    void pickleCheckpointsRefused() {
        QFETCH(QString, file);
        QFETCH(bool, fileAsModel);
        QFETCH(QString, command);
        const QString dir = fresh(QStringLiteral("pickle"));
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(QFile::copy(oraclePath(QStringLiteral("llama/model/config.json")),
                            dir + QStringLiteral("/config.json")));
        const QString marker = dir + QStringLiteral("/unpickled");
        QFile pickle(dir + QLatin1Char('/') + file);
        QVERIFY(pickle.open(QIODevice::WriteOnly));
        pickle.write(QByteArray("\x80\x02cos\nsystem\nq\x00X\x0e\x00\x00\x00touch ") +
                     QFile::encodeName(marker) + QByteArray("q\x01\x85q\x02Rq\x03."));
        pickle.close();
        const QString model = fileAsModel ? pickle.fileName() : dir;
        QStringList args{command, "--model", model};
        if (command == QLatin1String("dump"))
            args << "--ids"
                 << "1,2"
                 << "-o" << fresh("p.npy");
        if (command == QLatin1String("tokenize"))
            args << "--text"
                 << "hi";
        const CliRun r = runCli(args, QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        checkOneErrorLine(r, QStringLiteral("holds PyTorch pickle weights (%1)").arg(file));
        const QString line = r.errLines().first();
        QVERIFY2(line.contains(QLatin1String("never loads")) &&
                     line.contains(QLatin1String("weights_only=True")) &&
                     line.contains(QLatin1String("/model.safetensors")),
                 qPrintable(line));
        QVERIFY(!QFileInfo::exists(marker));
        // With safetensors beside it, the pickle is ignored and the model opens.
        QVERIFY(QFile::copy(oraclePath(QStringLiteral("llama/model/model.safetensors")),
                            dir + QStringLiteral("/model.safetensors")));
        if (!fileAsModel) {
            const CliRun ok = runCli({"info", "--model", dir});
            QVERIFY2(ok.normalExit() && ok.exitCode == 0, qPrintable(ok.describe()));
        }
    }

    // The memory limit counts the model's weights (the Llama fixture: 1.32 MB of float32,
    // mapped; GPT-2: 3.3 MB of F16, kept 16-bit, plus its widened vectors; with
    // ATTNSCOPE_WIDEN_WEIGHTS=1 another 6.6 MB widened): a limit below them refuses the model at
    // open, one just above opens it, and an analysis's estimate includes them.
    void memoryLimitCountsWeights_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("limit");
        QTest::addColumn<bool>("widen");
        QTest::addColumn<QString>("error");
        QTest::newRow("llama under 1 MB") << "llama/model"
                                          << "1" << false << "weights take 1.3 MB";
        QTest::newRow("llama under 2 MB") << "llama/model"
                                          << "2" << false << "";
        QTest::newRow("gpt2 under 3 MB") << "gpt2/model"
                                         << "3" << false << "weights take 3.3 MB";
        QTest::newRow("gpt2 under 4 MB") << "gpt2/model"
                                         << "4" << false << "";
        QTest::newRow("gpt2 widened under 8 MB") << "gpt2/model"
                                                 << "8" << true << "weights take 9.8 MB";
        QTest::newRow("gpt2 widened under 11 MB") << "gpt2/model"
                                                  << "11" << true << "";
    }
    void memoryLimitCountsWeights() {
        QFETCH(QString, model);
        QFETCH(QString, limit);
        QFETCH(bool, widen);
        QFETCH(QString, error);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ATTNSCOPE_MEMORY_LIMIT_MB"), limit);
        if (widen) env.insert(QStringLiteral("ATTNSCOPE_WIDEN_WEIGHTS"), QStringLiteral("1"));
        const CliRun r = runCli({"info", "--model", oraclePath(model)}, env, kTimeoutMs);
        if (error.isEmpty()) {
            QVERIFY2(r.normalExit() && r.exitCode == 0, qPrintable(r.describe()));
        } else {
            checkOneErrorLine(r, error);
            QVERIFY(r.errLines().first().contains(QLatin1String("ATTNSCOPE_MEMORY_LIMIT_MB")));
        }
    }

    // A stream that ends is a fine input: --text-file from a FIFO a writer fills.
    void textFromFifo() {
        const QString fifo = fresh(QStringLiteral("text"));
        QVERIFY(makeFifo(fifo));
        const QByteArray text("Pipes are inputs too.");
        std::atomic<bool> stop{false};
        std::thread writer([&] {
            int fd = -1;
            while (fd < 0 && !stop) { // non-blocking open fails (ENXIO) until the CLI reads
                fd = ::open(QFile::encodeName(fifo).constData(), O_WRONLY | O_NONBLOCK);
                if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (fd >= 0) {
                [[maybe_unused]] const ssize_t n =
                    ::write(fd, text.constData(), size_t(text.size()));
                ::close(fd);
            }
        });
        const CliRun piped = runCli({"tokenize", "--model", "default", "--text-file", fifo},
                                    QProcessEnvironment::systemEnvironment(), kTimeoutMs);
        stop = true;
        writer.join();
        const CliRun direct = runCli({"tokenize", "--model", "default", "--text", text});
        QVERIFY2(piped.normalExit() && piped.exitCode == 0, qPrintable(piped.describe()));
        QVERIFY2(direct.normalExit() && direct.exitCode == 0, qPrintable(direct.describe()));
        QCOMPARE(piped.out, direct.out);
    }
};

QTEST_GUILESS_MAIN(TestCliHostile)
#include "tst_cli_hostile.moc"
