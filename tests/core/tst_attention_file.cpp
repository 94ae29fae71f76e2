// Attention files opened without a model (core/attention_file.h). The files are written here,
// byte by byte, from the Hugging Face reference attention of the oracle fixtures, in every
// accepted layout and dtype; what opens must equal the reference (exactly for F32, to the
// stored precision for F16/BF16). Damaged and inconsistent files give one clear error.
#include "attention_file.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>

using namespace attnscope;

namespace {

QString oracle(const QString& rel) {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/") + rel;
}

// The reference: attentions [L, H, T, T] float32 and the tokens of a fixture's first case,
// read with a reader written here.
struct Reference {
    std::vector<int64_t> shape;
    std::vector<float> values;
    QStringList tokens;
};

Reference reference(const QString& family) {
    Reference r;
    QFile cases(oracle(family + QStringLiteral("/cases.json")));
    if (!cases.open(QIODevice::ReadOnly)) return r;
    const QJsonObject first =
        QJsonDocument::fromJson(cases.readAll()).object()["cases"].toArray()[0].toObject();
    for (const QJsonValue& t : first["tokens"].toArray())
        r.tokens << t.toString();
    QFile st(oracle(family + QLatin1Char('/') + first["file"].toString()));
    if (!st.open(QIODevice::ReadOnly)) return r;
    const QByteArray all = st.readAll();
    uint64_t n = 0;
    std::memcpy(&n, all.constData(), 8);
    const QJsonObject header = QJsonDocument::fromJson(all.mid(8, qsizetype(n))).object();
    const QJsonObject a = header["attentions"].toObject();
    for (const QJsonValue& d : a["shape"].toArray())
        r.shape.push_back(d.toInteger());
    const qint64 begin = a["data_offsets"].toArray()[0].toInteger();
    const qint64 end = a["data_offsets"].toArray()[1].toInteger();
    r.values.resize(size_t((end - begin) / 4));
    std::memcpy(r.values.data(), all.constData() + 8 + qsizetype(n) + begin, size_t(end - begin));
    return r;
}

uint16_t toF16(float f) {
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    return bits;
}
float fromF16(uint16_t bits) {
    _Float16 h;
    std::memcpy(&h, &bits, 2);
    return float(h);
}
uint16_t toBF16(float f) { // truncation: a valid BF16, whatever rounding the writer used
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return uint16_t(u >> 16);
}
float fromBF16(uint16_t bits) {
    const uint32_t u = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Stored bytes of `values` in dtype, and the values as they will read back.
QByteArray encode(const float* values, size_t n, const QString& dtype, std::vector<float>* back) {
    QByteArray out;
    for (size_t i = 0; i < n; ++i) {
        if (dtype == QLatin1String("F32")) {
            out.append(reinterpret_cast<const char*>(values + i), 4);
            back->push_back(values[i]);
        } else {
            const uint16_t b = dtype == QLatin1String("F16") ? toF16(values[i]) : toBF16(values[i]);
            out.append(reinterpret_cast<const char*>(&b), 2);
            back->push_back(dtype == QLatin1String("F16") ? fromF16(b) : fromBF16(b));
        }
    }
    return out;
}

QString shapeJson(const std::vector<int64_t>& shape) {
    QStringList parts;
    for (int64_t d : shape)
        parts << QString::number(d);
    return parts.join(',');
}

bool writeSafetensors(const QString& path, const std::vector<std::pair<QString, QByteArray>>& data,
                      const std::vector<std::vector<int64_t>>& shapes, const QString& dtype,
                      const QJsonObject& metadata = {}) {
    QJsonObject header;
    qint64 offset = 0;
    QByteArray blob;
    for (size_t i = 0; i < data.size(); ++i) {
        QJsonArray shape;
        for (int64_t d : shapes[i])
            shape.append(qint64(d));
        header[data[i].first] =
            QJsonObject{{"dtype", dtype},
                        {"shape", shape},
                        {"data_offsets", QJsonArray{offset, offset + data[i].second.size()}}};
        offset += data[i].second.size();
        blob += data[i].second;
    }
    if (!metadata.isEmpty()) header["__metadata__"] = metadata;
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (json.size() % 8)
        json.append(' ');
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return false;
    const uint64_t n = uint64_t(json.size());
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(json);
    f.write(blob);
    return true;
}

QByteArray npy(const QByteArray& data, const std::vector<int64_t>& shape, const QString& descr) {
    QString dims = shapeJson(shape);
    if (shape.size() == 1) dims += ',';
    QByteArray dict = QStringLiteral("{'descr': '%1', 'fortran_order': False, 'shape': (%2), }")
                          .arg(descr, dims)
                          .toLatin1();
    while ((10 + dict.size() + 1) % 64)
        dict.append(' ');
    dict.append('\n');
    QByteArray out("\x93NUMPY\x01\x00", 8);
    out.append(char(dict.size() & 0xff)).append(char(dict.size() >> 8));
    return out + dict + data;
}

// A zip of stored members, as np.savez writes it.
QByteArray storedZip(const std::vector<std::pair<QString, QByteArray>>& members) {
    auto le16 = [](QByteArray& b, int v) {
        b.append(char(v & 0xff)).append(char((v >> 8) & 0xff));
    };
    auto le32 = [&](QByteArray& b, uint32_t v) {
        le16(b, int(v & 0xffff));
        le16(b, int(v >> 16));
    };
    QByteArray zip, directory;
    for (const auto& [name, data] : members) {
        const uint32_t offset = uint32_t(zip.size());
        const QByteArray n = name.toUtf8();
        QByteArray local;
        le32(local, 0x04034b50);
        le16(local, 20);
        le16(local, 0);
        le16(local, 0); // stored
        le16(local, 0);
        le16(local, 0);
        le32(local, 0); // crc (not checked by readers of stored numpy members)
        le32(local, uint32_t(data.size()));
        le32(local, uint32_t(data.size()));
        le16(local, int(n.size()));
        le16(local, 0);
        zip += local + n + data;
        QByteArray central;
        le32(central, 0x02014b50);
        le16(central, 20);
        le16(central, 20);
        le16(central, 0);
        le16(central, 0);
        le16(central, 0);
        le16(central, 0);
        le32(central, 0);
        le32(central, uint32_t(data.size()));
        le32(central, uint32_t(data.size()));
        le16(central, int(n.size()));
        le16(central, 0);
        le16(central, 0);
        le16(central, 0);
        le16(central, 0);
        le32(central, 0);
        le32(central, offset);
        directory += central + n;
    }
    QByteArray end;
    le32(end, 0x06054b50);
    le16(end, 0);
    le16(end, 0);
    le16(end, int(members.size()));
    le16(end, int(members.size()));
    le32(end, uint32_t(directory.size()));
    le32(end, uint32_t(zip.size()));
    le16(end, 0);
    return zip + directory + end;
}

bool writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

} // namespace

class TestAttentionFile : public QObject {
    Q_OBJECT
private slots:
    void layouts_data();
    void layouts();
    void tokensAndLabels();
    void errors_data();
    void errors();
    void safetensorsErrors();

private:
    QTemporaryDir m_dir;
};

void TestAttentionFile::layouts_data() {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("layout"); // combined, per-layer, per-layer-batch, npy, npz-layers
    QTest::addColumn<QString>("dtype");
    for (const char* family : {"bert", "llama", "gpt2"}) {
        QTest::addRow("%s combined F32", family) << family << "combined"
                                                 << "F32";
        QTest::addRow("%s per-layer F16", family) << family << "per-layer"
                                                  << "F16";
        QTest::addRow("%s per-layer [1,H,T,T] BF16", family) << family << "per-layer-batch"
                                                             << "BF16";
        QTest::addRow("%s npy f4", family) << family << "npy"
                                           << "F32";
        QTest::addRow("%s npy f2", family) << family << "npy"
                                           << "F16";
        QTest::addRow("%s npz per layer", family) << family << "npz-layers"
                                                  << "F32";
        QTest::addRow("%s npz combined f2", family) << family << "npz"
                                                    << "F16";
    }
}

void TestAttentionFile::layouts() {
    QFETCH(QString, family);
    QFETCH(QString, layout);
    QFETCH(QString, dtype);
    const Reference ref = reference(family);
    QCOMPARE(ref.shape.size(), size_t(4));
    const int64_t L = ref.shape[0], H = ref.shape[1], T = ref.shape[2];
    const size_t perLayer = size_t(H * T * T);
    std::vector<float> expected;
    QString path;
    const QString stem = m_dir.filePath(QString(QTest::currentDataTag()).replace(' ', '_'));
    if (layout == QLatin1String("combined")) {
        path = stem + ".safetensors";
        const QByteArray bytes = encode(ref.values.data(), ref.values.size(), dtype, &expected);
        QVERIFY(writeSafetensors(path, {{"attentions", bytes}}, {ref.shape}, dtype));
    } else if (layout.startsWith(QLatin1String("per-layer"))) {
        path = stem + ".safetensors";
        std::vector<std::pair<QString, QByteArray>> layers;
        std::vector<std::vector<int64_t>> shapes;
        for (int64_t l = 0; l < L; ++l) {
            layers.emplace_back(
                QStringLiteral("attentions.%1").arg(l),
                encode(ref.values.data() + l * perLayer, perLayer, dtype, &expected));
            shapes.push_back(layout.endsWith(QLatin1String("batch"))
                                 ? std::vector<int64_t>{1, H, T, T}
                                 : std::vector<int64_t>{H, T, T});
        }
        QVERIFY(writeSafetensors(path, layers, shapes, dtype));
    } else if (layout == QLatin1String("npy")) {
        path = stem + ".npy";
        const QByteArray bytes = encode(ref.values.data(), ref.values.size(), dtype, &expected);
        QVERIFY(writeBytes(path, npy(bytes, ref.shape, dtype == "F32" ? "<f4" : "<f2")));
    } else {
        path = stem + ".npz";
        std::vector<std::pair<QString, QByteArray>> members;
        const QString descr = dtype == "F32" ? "<f4" : "<f2";
        if (layout == QLatin1String("npz")) {
            members.emplace_back("attentions.npy",
                                 npy(encode(ref.values.data(), ref.values.size(), dtype, &expected),
                                     ref.shape, descr));
        } else {
            for (int64_t l = 0; l < L; ++l)
                members.emplace_back(
                    QStringLiteral("attentions.%1.npy").arg(l),
                    npy(encode(ref.values.data() + l * perLayer, perLayer, dtype, &expected),
                        {H, T, T}, descr));
        }
        QVERIFY(writeBytes(path, storedZip(members)));
    }
    AttentionFileInfo info;
    auto opened = openAttentionFile(path, {}, &info);
    QVERIFY2(opened.ok(), qPrintable(opened.message()));
    const Analysis& a = *opened;
    QCOMPARE(a.layerCount(), int(L));
    QCOMPARE(a.headCount(), int(H));
    QCOMPARE(a.tokenCount(), int(T));
    QCOMPARE(info.dtype, dtype);
    double worst = 0;
    for (int64_t l = 0; l < L; ++l)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t r = 0; r < T; ++r)
                for (int64_t c = 0; c < T; ++c) {
                    const size_t i = size_t(((l * H + h) * T + r) * T + c);
                    worst = std::max(worst, double(std::abs((*a.attention(int(l), int(h)))(r, c) -
                                                            expected[i])));
                }
    QCOMPARE(worst, 0.0); // exactly the stored values, widened
    // And those are the reference within the stored precision.
    const double tolerance = dtype == "F32" ? 0.0 : dtype == "F16" ? 1e-3 : 8e-3;
    for (size_t i = 0; i < ref.values.size(); ++i)
        QVERIFY(std::abs(expected[i] - ref.values[i]) <= tolerance);
    // No tokens anywhere: positions.
    QCOMPARE(a.displayTokens.first(), QStringLiteral("0"));

    // Over the eager-attention budget (forced to 0 here) the file stays mapped: nothing is
    // converted at open, and each head converted on demand equals the loader's above exactly.
    qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "0");
    auto mapped = openAttentionFile(path);
    qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
    QVERIFY2(mapped.ok(), qPrintable(mapped.message()));
    QVERIFY(mapped->hasLazyAttention());
    QVERIFY(!a.hasLazyAttention());
    QCOMPARE(mapped->layerCount(), int(L));
    QCOMPARE(mapped->headCount(), int(H));
    for (const LayerTrace& layer : mapped->forward.layers)
        for (const Mat& m : layer.attention)
            QCOMPARE(m.size(), Eigen::Index(0)); // not converted at open
    for (int64_t l = 0; l < L; ++l)
        for (int64_t h = 0; h < H; ++h) {
            const auto lazy = mapped->attention(int(l), int(h));
            const auto eager = a.attention(int(l), int(h));
            QCOMPARE(lazy->rows(), eager->rows());
            QVERIFY(std::memcmp(lazy->data(), eager->data(), size_t(eager->size()) * 4) == 0);
        }
    QCOMPARE(mapped->forward.attentionTensor().data, a.forward.attentionTensor().data);
}

void TestAttentionFile::tokensAndLabels() {
    const Reference ref = reference(QStringLiteral("gpt2"));
    const QString path = m_dir.filePath(QStringLiteral("gpt2-tokens.safetensors"));
    std::vector<float> back;
    QVERIFY(writeSafetensors(
        path, {{"attentions", encode(ref.values.data(), ref.values.size(), "F32", &back)}},
        {ref.shape}, "F32"));
    const QString tokens = m_dir.filePath(QStringLiteral("tokens.json"));
    QJsonArray list;
    for (const QString& t : ref.tokens)
        list.append(t);
    QVERIFY(writeBytes(tokens, QJsonDocument(list).toJson()));
    auto a = openAttentionFile(path, tokens);
    QVERIFY2(a.ok(), qPrintable(a.message()));
    QCOMPARE(a->encoding.tokens, ref.tokens);
    // Byte-level pieces are shown decoded: "Ġcat" -> " cat"; the text is their concatenation and
    // each token's offsets point at its own characters.
    for (int i = 0; i < a->tokenCount(); ++i) {
        QString expected = ref.tokens[i];
        expected.replace(QChar(0x0120), QLatin1Char(' '));
        QCOMPARE(a->displayTokens[i], expected);
        const auto [b, e] = a->encoding.offsets[size_t(i)];
        QCOMPARE(a->text.mid(b, e - b), expected);
    }
    // An object with "tokens" works too; a wrong count is refused.
    QVERIFY(writeBytes(tokens, QJsonDocument(QJsonObject{{"tokens", list}}).toJson()));
    QVERIFY(openAttentionFile(path, tokens).ok());
    list.removeLast();
    QVERIFY(writeBytes(tokens, QJsonDocument(list).toJson()));
    auto wrong = openAttentionFile(path, tokens);
    QVERIFY(!wrong.ok());
    QVERIFY2(wrong.message().contains(QStringLiteral("tokens for attention over")),
             qPrintable(wrong.message()));
    // Special tokens are recognised by form when nothing says otherwise.
    const QStringList special = {"[CLS]", "<s>", "</s>", "<|endoftext|>", "<pad>"};
    const QStringList plain = {"[cls", "cat", "<3", "s>"};
    for (const QString& t : special) {
        QStringList ts(int(ref.shape[2]), QStringLiteral("x"));
        ts[0] = t;
        QVERIFY(writeBytes(tokens, QJsonDocument(QJsonArray::fromStringList(ts)).toJson()));
        auto s = openAttentionFile(path, tokens);
        QVERIFY(s.ok());
        QVERIFY2(s->encoding.specialMask[0], qPrintable(t));
    }
    for (const QString& t : plain) {
        QStringList ts(int(ref.shape[2]), QStringLiteral("x"));
        ts[0] = t;
        QVERIFY(writeBytes(tokens, QJsonDocument(QJsonArray::fromStringList(ts)).toJson()));
        auto s = openAttentionFile(path, tokens);
        QVERIFY(s.ok());
        QVERIFY2(!s->encoding.specialMask[0], qPrintable(t));
    }
}

void TestAttentionFile::errors_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const QByteArray square = QByteArray(4 * 4, '\0');
    QByteArray nan(16, '\0');
    const float q = std::nanf("");
    std::memcpy(nan.data() + 4, &q, 4);
    QTest::newRow("extension") << "a.bin" << square << "must end in .safetensors, .npy or .npz";
    QTest::newRow("npy not npy") << "a.npy" << QByteArray("hello world") << "not a NumPy";
    QTest::newRow("npy truncated")
        << "b.npy" << npy(square.left(8), {1, 1, 2, 2}, "<f4") << "truncated";
    QTest::newRow("npy int") << "c.npy" << npy(square, {1, 1, 2, 2}, "<i4") << "not supported";
    QTest::newRow("npy not square")
        << "d.npy" << npy(square, {1, 2, 2, 1}, "<f4") << "expected [layers, heads, T, T]";
    QTest::newRow("npy nan") << "e.npy" << npy(nan, {1, 1, 2, 2}, "<f4") << "NaN";
    QTest::newRow("npz garbage") << "a.npz" << QByteArray(100, 'x') << "not a .npz";
    QTest::newRow("npz no attention")
        << "b.npz" << storedZip({{"other.npy", npy(square, {1, 1, 2, 2}, "<f4")}})
        << "holds no attention";
    QTest::newRow("empty") << "f.npy" << QByteArray() << "cannot read";
    // Regression input (tests/data/malformed): a 0-d array was read as one token's attention.
    QFile scalar(QStringLiteral(ATTNSCOPE_TEST_DATA "/malformed/scalar.npy"));
    QVERIFY(scalar.open(QIODevice::ReadOnly));
    QTest::newRow("npy scalar") << "g.npy" << scalar.readAll() << "expected [layers, heads, T, T]";
}

void TestAttentionFile::errors() {
    QFETCH(QString, name);
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    const QString path = m_dir.filePath(name);
    QVERIFY(writeBytes(path, bytes));
    auto a = openAttentionFile(path);
    QVERIFY(!a.ok());
    QVERIFY2(a.message().contains(message), qPrintable(a.message()));
    QVERIFY(!a.message().contains('\n'));
}

void TestAttentionFile::safetensorsErrors() {
    const QByteArray four(4 * 4, '\0'), nine(9 * 4, '\0');
    const QString path = m_dir.filePath(QStringLiteral("bad.safetensors"));
    auto expectError = [&](const QString& message) {
        auto a = openAttentionFile(path);
        QVERIFY(!a.ok());
        QVERIFY2(a.message().contains(message), qPrintable(a.message()));
    };
    QVERIFY(writeSafetensors(path, {{"attentions.0", four}, {"attentions.1", nine}},
                             {{1, 2, 2}, {1, 3, 3}}, "F32"));
    expectError(QStringLiteral("layer 1 has 1 heads of 3 tokens"));
    QVERIFY(writeSafetensors(path, {{"weights", four}}, {{1, 2, 2}}, "F32"));
    expectError(QStringLiteral("holds no attention"));
    QVERIFY(writeSafetensors(path, {{"attentions", four}}, {{2, 2, 2, 2}}, "F32") == true);
    expectError(QStringLiteral("does not match shape")); // 16 bytes for 64: refused
    QVERIFY(writeSafetensors(path, {{"attentions", four}}, {{2, 2}}, "I32"));
    expectError(QStringLiteral("attention must be F32, F16 or BF16"));
    // Bigger than the memory budget: refused up front, nothing read.
    qputenv("ATTNSCOPE_MEMORY_LIMIT_MB", "1");
    QVERIFY(writeSafetensors(path, {{"attentions", QByteArray(4 * 600 * 600, '\0')}},
                             {{1, 1, 600, 600}}, "F32"));
    expectError(QStringLiteral("more than this computer allows"));
    qunsetenv("ATTNSCOPE_MEMORY_LIMIT_MB");
}

QTEST_APPLESS_MAIN(TestAttentionFile)
#include "tst_attention_file.moc"
