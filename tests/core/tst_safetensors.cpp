// The safetensors reader: conversions, validation of every header field, sharded folders.
#include "safetensors.h"
#include "weights.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
QByteArray fileWithHeader(const QByteArray& header, const QByteArray& data,
                          qint64 claimedLength = -1) {
    QByteArray out;
    const uint64_t len = claimedLength < 0 ? uint64_t(header.size()) : uint64_t(claimedLength);
    out.append(reinterpret_cast<const char*>(&len), 8);
    out.append(header);
    out.append(data);
    return out;
}

QString writeTemp(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes) {
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(bytes);
    return path;
}
} // namespace

class TestSafeTensors : public QObject {
    Q_OBJECT
private slots:
    void halfAndBfloat16Conversion_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<float>("expected");
        QTest::newRow("one") << 0x3c00 << 1.0f;
        QTest::newRow("minus two") << 0xc000 << -2.0f;
        QTest::newRow("max half") << 0x7bff << 65504.0f;
        QTest::newRow("smallest subnormal") << 0x0001 << 5.9604644775390625e-08f;
        QTest::newRow("largest subnormal") << 0x03ff << 6.097555160522461e-05f;
        QTest::newRow("zero") << 0x0000 << 0.0f;
        QTest::newRow("third") << 0x3555 << 0.333251953125f;
    }
    void halfAndBfloat16Conversion() {
        QFETCH(int, bits);
        QFETCH(float, expected);
        QCOMPARE(halfToFloat(uint16_t(bits)), expected);
    }

    void bfloat16() {
        QCOMPARE(bfloat16ToFloat(0x3f80), 1.0f);
        QCOMPARE(bfloat16ToFloat(0xc040), -3.0f);
        QCOMPARE(bfloat16ToFloat(0x3eab), 0.333984375f);
    }

    void writeThenReadRoundTrip() {
        QTemporaryDir dir;
        const std::vector<float> values{1.5f, -2.25f, 3.0f, 0.0f, 1e-8f, 7.0f};
        const std::vector<int64_t> ids{3, -1, 50000};
        const QString path = dir.filePath(QStringLiteral("t.safetensors"));
        QVERIFY(writeSafeTensors(path,
                                 {makeF32(QStringLiteral("a"), {2, 3}, values.data()),
                                  makeI64(QStringLiteral("ids"), {3}, ids.data())},
                                 {{QStringLiteral("tokens"), QStringLiteral("[\"x\"]")}})
                    .ok());
        auto file = SafeTensorsFile::open(path);
        QVERIFY2(file.ok(), qPrintable(file.message()));
        auto a = (*file)->floatTensor(QStringLiteral("a"));
        QVERIFY(a.ok());
        QCOMPARE(a->shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(std::vector<float>(a->data, a->data + 6), values);
        QCOMPARE((*file)->int64Tensor(QStringLiteral("ids")).value(), ids);
        QCOMPARE((*file)->metadata().value(QStringLiteral("tokens")).toString(),
                 QStringLiteral("[\"x\"]"));
        QVERIFY(!(*file)->floatTensor(QStringLiteral("ids")).ok()); // wrong dtype is an error
    }

    void f16AndBf16TensorsAreConverted() {
        QTemporaryDir dir;
        const uint16_t half[2] = {0x3c00, 0xc000};
        const uint16_t bf[2] = {0x3f80, 0xc040};
        QByteArray data(reinterpret_cast<const char*>(half), 4);
        data.append(reinterpret_cast<const char*>(bf), 4);
        const QByteArray header =
            R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})";
        auto file =
            SafeTensorsFile::open(writeTemp(dir, "x.safetensors", fileWithHeader(header, data)));
        QVERIFY2(file.ok(), qPrintable(file.message()));
        auto h = (*file)->floatTensor(QStringLiteral("h"));
        auto b = (*file)->floatTensor(QStringLiteral("b"));
        QCOMPARE(h->data[0], 1.0f);
        QCOMPARE(h->data[1], -2.0f);
        QCOMPARE(b->data[0], 1.0f);
        QCOMPARE(b->data[1], -3.0f);
    }

    void corruptFilesAreRejected_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        const QByteArray eight(8, '\0');
        QTest::newRow("too short") << QByteArray("abc") << "not a safetensors file";
        QTest::newRow("header longer than file")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                              QByteArray(4, 0), 1000)
            << "header length";
        QTest::newRow("invalid json") << fileWithHeader("{not json}", eight) << "invalid JSON";
        QTest::newRow("unknown dtype")
            << fileWithHeader(R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", eight)
            << "unknown dtype";
        QTest::newRow("shape does not match bytes")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)
            << "does not match";
        QTest::newRow("range past end (truncated)")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight)
            << "past the end";
        QTest::newRow("overlapping ranges")
            << fileWithHeader(
                   R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   eight)
            << "overlap";
        QTest::newRow("negative shape")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)
            << "invalid shape";
        QTest::newRow("offsets reversed")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight)
            << "invalid data_offsets";
        QTest::newRow("missing offsets")
            << fileWithHeader(R"({"a":{"dtype":"F32","shape":[2]}})", eight) << "data_offsets";
        // Regression inputs (tests/data/malformed/README.md): numbers out of integer range
        // were converted before being checked (undefined behaviour; UBSan reports it).
        for (const auto& [file, expected] : {std::pair{"shape-1e300", "invalid shape"},
                                             {"offsets-1e300", "invalid data_offsets"},
                                             {"offsets-fractional", "invalid data_offsets"}}) {
            QFile f(QStringLiteral(ATTNSCOPE_TEST_DATA "/malformed/%1.safetensors")
                        .arg(QLatin1String(file)));
            QVERIFY(f.open(QIODevice::ReadOnly));
            QTest::newRow(file) << f.readAll() << QString::fromLatin1(expected);
        }
    }
    void corruptFilesAreRejected() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        auto file = SafeTensorsFile::open(writeTemp(dir, "bad.safetensors", bytes));
        QVERIFY(!file.ok());
        QVERIFY2(file.message().contains(expected), qPrintable(file.message()));
        QVERIFY(!file.message().contains(QLatin1Char('\n')));
    }

    void truncatedRealCheckpoint() {
        QTemporaryDir dir;
        QFile src(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model/model.safetensors"));
        QVERIFY(src.open(QIODevice::ReadOnly));
        const QByteArray all = src.readAll();
        auto file =
            SafeTensorsFile::open(writeTemp(dir, "cut.safetensors", all.left(all.size() / 2)));
        QVERIFY(!file.ok());
        QVERIFY2(file.message().contains(QStringLiteral("truncated")), qPrintable(file.message()));
    }

    // model.safetensors.index.json: tensors spread over shards resolve through the weight map.
    void shardedCheckpoint() {
        QTemporaryDir dir;
        const std::vector<float> a{1, 2}, b{3, 4, 5};
        QVERIFY(writeSafeTensors(dir.filePath("model-00001-of-00002.safetensors"),
                                 {makeF32("x.a", {2}, a.data())})
                    .ok());
        QVERIFY(writeSafeTensors(dir.filePath("model-00002-of-00002.safetensors"),
                                 {makeF32("x.b", {3}, b.data())})
                    .ok());
        QJsonObject index{{"metadata", QJsonObject{}},
                          {"weight_map", QJsonObject{{"x.a", "model-00001-of-00002.safetensors"},
                                                     {"x.b", "model-00002-of-00002.safetensors"}}}};
        writeTemp(dir, "model.safetensors.index.json", QJsonDocument(index).toJson());
        auto store = WeightStore::openFolder(dir.path());
        QVERIFY2(store.ok(), qPrintable(store.message()));
        store->choosePrefix({QStringLiteral("x.")}, QStringLiteral("a"));
        QCOMPARE(store->get(QStringLiteral("b"), {3})->data[2], 5.0f);
        QCOMPARE(store->get(QStringLiteral("a"))->data[1], 2.0f);
        auto wrongShape = store->get(QStringLiteral("b"), {4});
        QVERIFY(!wrongShape.ok());
        QVERIFY(wrongShape.message().contains(QStringLiteral("expected [4]")));
        QVERIFY(!store->get(QStringLiteral("c")).ok());
    }
};

QTEST_GUILESS_MAIN(TestSafeTensors)
#include "tst_safetensors.moc"
