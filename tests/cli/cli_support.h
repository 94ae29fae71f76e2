// Shared helpers for the end-to-end CLI tests: run the built `attnscope` binary, and read what it
// writes with readers written here (deliberately not the project's own safetensors reader, so a
// bug there cannot hide a bug in the output).
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QString>
#include <QStringList>
#include <QTest>
#include <QVector>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

namespace clitest {

inline QString oracleDir() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle");
}
inline QString oraclePath(const QString& rel) {
    return oracleDir() + QLatin1Char('/') + rel;
}
inline QString binary() {
    return QStringLiteral(ATTNSCOPE_BINARY);
}

// ---------------------------------------------------------------- running the CLI

struct CliRun {
    bool started = false;
    bool finished = false;
    QProcess::ExitStatus status = QProcess::CrashExit;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;

    bool normalExit() const { return started && finished && status == QProcess::NormalExit; }
    QStringList errLines() const {
        QStringList lines = QString::fromUtf8(err).split(QLatin1Char('\n'));
        while (!lines.isEmpty() && lines.last().isEmpty())
            lines.removeLast();
        return lines;
    }
    // One line summary for failure messages.
    QString describe() const {
        return QStringLiteral("started=%1 finished=%2 normal=%3 exit=%4 stderr=[%5] stdout=[%6]")
            .arg(started)
            .arg(finished)
            .arg(status == QProcess::NormalExit)
            .arg(exitCode)
            .arg(QString::fromUtf8(err.left(600)), QString::fromUtf8(out.left(300)));
    }
};

// `inChild`, when given, runs in the child between fork and exec (e.g. to set a resource limit).
inline CliRun runCli(const QStringList& args,
                     const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                     int timeoutMs = 60000, const std::function<void()>& inChild = {}) {
    CliRun r;
    QProcess p;
    QProcessEnvironment e = env;
    e.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(e);
    if (inChild) p.setChildProcessModifier(inChild);
    p.start(binary(), args);
    r.started = p.waitForStarted(20000);
    if (!r.started) return r;
    p.closeWriteChannel();
    r.finished = p.waitForFinished(timeoutMs);
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

// A refused input through the CLI: it finished, exit code 2, and stderr is one line
// "attnscope: error: ..." containing `needle`.
inline void checkOneErrorLine(const CliRun& r, const QString& needle) {
    QVERIFY2(r.finished, qPrintable(QStringLiteral("hung: ") + r.describe()));
    QVERIFY2(r.normalExit(), qPrintable(r.describe()));
    QCOMPARE(r.exitCode, 2);
    const QStringList lines = r.errLines();
    QVERIFY2(lines.size() == 1, qPrintable(r.describe()));
    QVERIFY2(lines.first().startsWith(QLatin1String("attnscope: error: ")),
             qPrintable(r.describe()));
    QVERIFY2(lines.first().contains(needle),
             qPrintable(QStringLiteral("expected \"%1\" in: %2").arg(needle, lines.first())));
}

// ---------------------------------------------------------------- JSON helpers

inline QJsonDocument readJsonFile(const QString& path, QString* error = nullptr) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QStringLiteral("cannot open ") + path;
        return {};
    }
    QJsonParseError pe;
    QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError && error)
        *error = path + QStringLiteral(": ") + pe.errorString();
    return doc;
}

inline QVector<qint64> jsonInts(const QJsonValue& v) {
    QVector<qint64> out;
    for (const QJsonValue& x : v.toArray())
        out.push_back(qint64(x.toDouble()));
    return out;
}

inline QStringList jsonStrings(const QJsonValue& v) {
    QStringList out;
    for (const QJsonValue& x : v.toArray())
        out << x.toString();
    return out;
}

inline QString joinInts(const QVector<qint64>& v) {
    QStringList parts;
    for (qint64 x : v)
        parts << QString::number(x);
    return parts.join(QLatin1Char(','));
}

// ---------------------------------------------------------------- independent safetensors reader

struct StTensor {
    QString dtype;
    QVector<qint64> shape;
    QByteArray bytes;

    qint64 numel() const {
        qint64 n = 1;
        for (qint64 d : shape)
            n *= d;
        return n;
    }
    QVector<float> f32() const {
        QVector<float> v;
        if (dtype != QLatin1String("F32")) return v;
        v.resize(bytes.size() / 4);
        for (qsizetype i = 0; i < v.size(); ++i) { // little-endian bytes → host float
            const auto* b = reinterpret_cast<const unsigned char*>(bytes.constData()) + 4 * i;
            const uint32_t u =
                uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
            float f;
            std::memcpy(&f, &u, 4);
            v[i] = f;
        }
        return v;
    }
    QVector<qint64> i64() const {
        QVector<qint64> v;
        if (dtype != QLatin1String("I64")) return v;
        v.resize(bytes.size() / 8);
        for (qsizetype i = 0; i < v.size(); ++i) {
            const auto* b = reinterpret_cast<const unsigned char*>(bytes.constData()) + 8 * i;
            uint64_t u = 0;
            for (int k = 7; k >= 0; --k)
                u = (u << 8) | b[k];
            v[i] = qint64(u);
        }
        return v;
    }
};

struct StFile {
    QString error; // empty when the file parsed and every entry was consistent
    QMap<QString, StTensor> tensors;
    QJsonObject metadata;
    bool ok() const { return error.isEmpty(); }
};

inline int dtypeBytes(const QString& dtype) {
    static const QMap<QString, int> sizes{{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                          {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                          {"U8", 1},  {"BOOL", 1}};
    return sizes.value(dtype, 0);
}

inline StFile readSafetensors(const QString& path) {
    StFile st;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        st.error = QStringLiteral("cannot open ") + path;
        return st;
    }
    const QByteArray all = f.readAll();
    if (all.size() < 8) {
        st.error = QStringLiteral("shorter than 8 bytes");
        return st;
    }
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
        n = (n << 8) | uint8_t(all[k]);
    if (n > uint64_t(all.size() - 8)) {
        st.error = QStringLiteral("header length %1 past the end").arg(n);
        return st;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(all.mid(8, qsizetype(n)), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        st.error = QStringLiteral("header is not a JSON object: ") + pe.errorString();
        return st;
    }
    const QByteArray data = all.mid(8 + qsizetype(n));
    const QJsonObject header = doc.object();
    QVector<std::pair<qint64, qint64>> ranges;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__")) {
            st.metadata = it.value().toObject();
            for (auto m = st.metadata.begin(); m != st.metadata.end(); ++m)
                if (!m.value().isString())
                    st.error = QStringLiteral("metadata value %1 is not a string").arg(m.key());
            continue;
        }
        const QJsonObject e = it.value().toObject();
        StTensor t;
        t.dtype = e.value(QLatin1String("dtype")).toString();
        t.shape = jsonInts(e.value(QLatin1String("shape")));
        const QVector<qint64> off = jsonInts(e.value(QLatin1String("data_offsets")));
        if (dtypeBytes(t.dtype) == 0 || off.size() != 2 || off[0] < 0 || off[1] < off[0] ||
            off[1] > data.size() || off[1] - off[0] != t.numel() * dtypeBytes(t.dtype)) {
            st.error = QStringLiteral("tensor %1 has an inconsistent entry").arg(it.key());
            return st;
        }
        t.bytes = data.mid(off[0], off[1] - off[0]);
        ranges.push_back({off[0], off[1]});
        st.tensors.insert(it.key(), t);
    }
    std::sort(ranges.begin(), ranges.end());
    for (qsizetype i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            st.error = QStringLiteral("overlapping tensors");
    return st;
}

// Writes a safetensors file (used to build corrupt fixtures from a valid header).
inline bool writeSafetensorsRaw(const QString& path, const QByteArray& headerJson,
                                const QByteArray& data, qint64 declaredHeaderLen = -1) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    uint64_t n = declaredHeaderLen >= 0 ? uint64_t(declaredHeaderLen) : uint64_t(headerJson.size());
    QByteArray len(8, '\0');
    for (int k = 0; k < 8; ++k)
        len[k] = char((n >> (8 * k)) & 0xff);
    return f.write(len) == 8 && f.write(headerJson) == headerJson.size() &&
           f.write(data) == data.size();
}

// ---------------------------------------------------------------- independent .npy reader

struct Npy {
    QString error;
    QString descr;
    bool fortran = true;
    QVector<qint64> shape;
    QVector<float> data;
};

inline Npy readNpy(const QString& path) {
    Npy npy;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        npy.error = QStringLiteral("cannot open ") + path;
        return npy;
    }
    const QByteArray all = f.readAll();
    if (all.size() < 10 || !all.startsWith(QByteArray("\x93NUMPY", 6))) {
        npy.error = QStringLiteral("bad magic");
        return npy;
    }
    const int major = uint8_t(all[6]);
    qsizetype headerLen = 0, start = 0;
    if (major == 1) {
        headerLen = uint8_t(all[8]) | uint8_t(all[9]) << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (all.size() < 12) {
            npy.error = QStringLiteral("short");
            return npy;
        }
        headerLen = qsizetype(uint8_t(all[8]) | uint8_t(all[9]) << 8 | uint8_t(all[10]) << 16 |
                              uint32_t(uint8_t(all[11])) << 24);
        start = 12;
    } else {
        npy.error = QStringLiteral("unknown version %1").arg(major);
        return npy;
    }
    if (start + headerLen > all.size()) {
        npy.error = QStringLiteral("header past the end");
        return npy;
    }
    if ((start + headerLen) % 64 != 0) npy.error = QStringLiteral("data not 64-byte aligned");
    const QString dict = QString::fromLatin1(all.mid(start, headerLen));
    if (!dict.endsWith(QLatin1Char('\n')))
        npy.error = QStringLiteral("header does not end in newline");
    static const QRegularExpression descrRe(QStringLiteral("'descr'\\s*:\\s*'([^']*)'"));
    static const QRegularExpression fortranRe(
        QStringLiteral("'fortran_order'\\s*:\\s*(True|False)"));
    static const QRegularExpression shapeRe(QStringLiteral("'shape'\\s*:\\s*\\(([^)]*)\\)"));
    const auto d = descrRe.match(dict), fo = fortranRe.match(dict), sh = shapeRe.match(dict);
    if (!d.hasMatch() || !fo.hasMatch() || !sh.hasMatch()) {
        npy.error = QStringLiteral("cannot parse header dict: ") + dict;
        return npy;
    }
    npy.descr = d.captured(1);
    npy.fortran = fo.captured(1) == QLatin1String("True");
    qint64 numel = 1;
    for (const QString& part : sh.captured(1).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (part.trimmed().isEmpty()) continue;
        npy.shape << part.trimmed().toLongLong();
        numel *= npy.shape.last();
    }
    const QByteArray payload = all.mid(start + headerLen);
    if (payload.size() != numel * 4) {
        npy.error =
            QStringLiteral("payload %1 bytes, expected %2").arg(payload.size()).arg(numel * 4);
        return npy;
    }
    StTensor t{QStringLiteral("F32"), npy.shape, payload};
    npy.data = t.f32();
    return npy;
}

// ---------------------------------------------------------------- comparisons

// Max |a-b| over equal-length arrays; -1 when lengths differ, they are empty, or anything is NaN.
inline double maxAbsDiff(const QVector<float>& a, const QVector<float>& b,
                         qsizetype* where = nullptr) {
    if (a.size() != b.size() || a.isEmpty()) return -1;
    double worst = 0;
    for (qsizetype i = 0; i < a.size(); ++i) {
        const double d = std::abs(double(a[i]) - double(b[i]));
        if (std::isnan(d)) return -1;
        if (d > worst) {
            worst = d;
            if (where) *where = i;
        }
    }
    return worst;
}

inline double maxAbs(const QVector<float>& a) {
    double m = 0;
    for (float x : a)
        m = std::max(m, std::abs(double(x)));
    return m;
}

// max|a-b| / max|b|, -1 on size mismatch or NaN.
inline double relDiff(const QVector<float>& a, const QVector<float>& ref) {
    const double d = maxAbsDiff(a, ref);
    if (d < 0) return -1;
    const double m = maxAbs(ref);
    return m > 0 ? d / m : d;
}

// Flattens nested JSON arrays of numbers (row-major) and records the shape.
inline void flattenJson(const QJsonValue& v, QVector<float>& out, QVector<qint64>& shape,
                        int depth = 0) {
    if (v.isArray()) {
        const QJsonArray a = v.toArray();
        if (shape.size() <= depth)
            shape.push_back(a.size());
        else if (shape[depth] != a.size())
            shape[depth] = -1; // ragged
        for (const QJsonValue& x : a)
            flattenJson(x, out, shape, depth + 1);
    } else {
        out.push_back(float(v.toDouble(std::nan(""))));
    }
}

inline QString shapeString(const QVector<qint64>& s) {
    return QLatin1Char('[') + joinInts(s) + QLatin1Char(']');
}

// Recursive copy of a folder (fixtures are small).
inline bool copyDir(const QString& from, const QString& to) {
    QDir().mkpath(to);
    const QDir src(from);
    for (const QFileInfo& fi : src.entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot)) {
        const QString target = QDir(to).filePath(fi.fileName());
        if (fi.isDir()) {
            if (!copyDir(fi.filePath(), target)) return false;
        } else if (!QFile::copy(fi.filePath(), target)) {
            return false;
        }
    }
    return true;
}

} // namespace clitest
