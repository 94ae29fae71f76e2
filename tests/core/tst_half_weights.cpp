// F16/BF16 weights kept 16-bit in memory (weight_tensor.h) against the widened float32 copies
// they replaced (ATTNSCOPE_WIDEN_WEIGHTS=1): the same numbers through the products (block edges
// included; bit for bit on float32 kernels, within float32 roundings on the tile unit's split
// product, see sameProduct), the embeddings, the head
// slices (bit for bit everywhere) and the LM head, for every family; and the memory they report.
#include "blocks.h"
#include "dump.h"
#include "predict.h"
#include "safetensors.h"
#include "session.h"
#include "split_product.h"
#include "weights.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <random>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

// Truncating float32 -> bfloat16 / half (flushing what half cannot hold): any 16-bit value is a
// valid fixture, the comparison is between two ways of computing with the same stored bits.
uint16_t toBfloat16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return uint16_t(bits >> 16);
}
uint16_t toHalf(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
    const int exponent = int((bits >> 23) & 0xff) - 127 + 15;
    if (exponent <= 0) return sign;           // too small: zero
    if (exponent >= 31) return sign | 0x7bff; // too large: the largest finite half
    return uint16_t(sign | (exponent << 10) | ((bits >> 13) & 0x3ff));
}

QByteArray halfBytes(const float* data, int64_t n, DType dtype) {
    QByteArray bytes(qsizetype(n * 2), Qt::Uninitialized);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::BF16 ? toBfloat16(data[i]) : toHalf(data[i]);
        std::memcpy(bytes.data() + 2 * i, &h, 2); // little-endian host
    }
    return bytes;
}

// The oracle checkpoint `family` with every float tensor stored as `dtype` (F16 tensors are
// kept as they are when dtype is F16), in `dir`, beside copies of its other files.
QString makeHalfCheckpoint(const QString& family, DType dtype, const QString& dir) {
    const QDir source(kOracle + family + QStringLiteral("/model"));
    for (const QString& name : source.entryList(QDir::Files))
        if (name != QLatin1String("model.safetensors"))
            QFile::copy(source.filePath(name), dir + QLatin1Char('/') + name);
    auto file = SafeTensorsFile::open(source.filePath(QStringLiteral("model.safetensors")));
    if (!file) return file.message();
    std::vector<TensorToWrite> tensors;
    for (const QString& name : (*file)->names()) {
        const TensorInfo* info = (*file)->find(name);
        if (info->dtype == dtype) { // already 16-bit of this kind: copied as stored
            const uchar* b = (*file)->bytes(*info);
            tensors.push_back(
                {name, dtype, info->shape,
                 QByteArray(reinterpret_cast<const char*>(b), qsizetype(info->end - info->begin))});
            continue;
        }
        if (info->dtype == DType::I64) {
            const auto ids = (*file)->int64Tensor(name).value();
            tensors.push_back(makeI64(name, info->shape, ids.data()));
            continue;
        }
        const FloatTensor t = (*file)->floatTensor(name).value();
        tensors.push_back({name, dtype, t.shape, halfBytes(t.data, t.numel(), dtype)});
    }
    if (auto s = writeSafeTensors(dir + QStringLiteral("/model.safetensors"), tensors); !s)
        return s.message();
    return {};
}

AnalysisRequest firstCase(const QString& family) {
    QFile f(kOracle + family + QStringLiteral("/cases.json"));
    f.open(QIODevice::ReadOnly);
    const QJsonArray cases =
        QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("cases")).toArray();
    const QString file = cases.first().toObject().value(QStringLiteral("file")).toString();
    auto ref = SafeTensorsFile::open(kOracle + family + QLatin1Char('/') + file).value();
    AnalysisRequest request;
    if (ref->find(QStringLiteral("pixel_values"))) {
        const FloatTensor px = ref->floatTensor(QStringLiteral("pixel_values")).value();
        request.pixelValues.shape = px.shape;
        request.pixelValues.data.assign(px.data, px.data + px.numel());
    } else {
        request.ids = ref->int64Tensor(QStringLiteral("input_ids")).value();
        if (ref->find(QStringLiteral("token_type_ids")))
            request.typeIds = ref->int64Tensor(QStringLiteral("token_type_ids")).value();
    }
    request.keep.hiddenStates = true;
    return request;
}

bool sameBits(const float* a, const float* b, int64_t n) {
    return std::memcmp(a, b, size_t(n) * sizeof(float)) == 0;
}
bool sameBits(const Mat& a, const Mat& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() && sameBits(a.data(), b.data(), a.size());
}
// Products over widened blocks equal the product over a widened copy to the bit where blocks
// start on the GEMM kernel's row groups (96 features, chosen for Eigen 3.4's kernels; this
// build uses -march=native). On a CPU whose kernels group rows differently the sums may
// round apart in the last bit, so products are compared bit for bit or within 1e-6 of the
// largest value; a misplaced block gives errors of the values' own size.
// Whole passes compound such differences over layers, so they are held to the project's
// attention tolerance (1e-5).
bool sameProduct(const float* a, const float* b, int64_t n, float tolerance = 1e-6f) {
    if (sameBits(a, b, n)) return true;
    float scale = 1.0f, worst = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        scale = std::max(scale, std::abs(b[i]));
        worst = std::max(worst, std::abs(a[i] - b[i]));
    }
    return worst <= tolerance * scale; // false for NaN too
}
bool sameProduct(const Mat& a, const Mat& b, float tolerance = 1e-6f) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           sameProduct(a.data(), b.data(), a.size(), tolerance);
}
constexpr float kPassTolerance = 1e-5f;

// A model opened with 16-bit weights kept (or widened when `widen`).
Result<std::shared_ptr<const LoadedModel>> openModel(const QString& dir, bool widen) {
    if (widen) qputenv("ATTNSCOPE_WIDEN_WEIGHTS", "1");
    auto model = LoadedModel::open(dir);
    qunsetenv("ATTNSCOPE_WIDEN_WEIGHTS");
    if (!model) return model.error();
    return std::shared_ptr<const LoadedModel>(model.value());
}
} // namespace

class TestHalfWeights : public QObject {
    Q_OBJECT
private slots:
    // Widening in blocks is the same conversion as the widened copy's, for every bit pattern.
    void widensEveryPattern_data() {
        QTest::addColumn<int>("dtype");
        QTest::newRow("F16") << int(DType::F16);
        QTest::newRow("BF16") << int(DType::BF16);
    }
    void widensEveryPattern() {
        QFETCH(int, dtype);
        std::vector<uint16_t> all(65536 + 5); // + 5: a tail shorter than a vector
        for (size_t i = 0; i < all.size(); ++i)
            all[i] = uint16_t(i * 40503u); // every pattern, scrambled
        std::vector<float> widened(all.size());
        widenHalfFloats(all.data(), DType(dtype), widened.data(), int64_t(all.size()));
        for (size_t i = 0; i < all.size(); ++i) {
            const float want =
                DType(dtype) == DType::BF16 ? bfloat16ToFloat(all[i]) : halfToFloat(all[i]);
            if (std::isnan(want)) { // NaN payloads may be quietened by the hardware
                QVERIFY(std::isnan(widened[i]));
                continue;
            }
            QVERIFY2(sameBits(&widened[i], &want, 1),
                     qPrintable(QStringLiteral("pattern %1").arg(all[i], 4, 16)));
        }
    }

    // Linear on 16-bit weights against Linear on their float32 copy: sizes on and off the block
    // sizes, one and several blocks per thread, short (columns split over threads) and long
    // (blocks widened in parallel) inputs, both storage orientations.
    void linearMatchesWidenedCopy_data() {
        QTest::addColumn<int>("tokens");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<bool>("inputMajor");
        QTest::addColumn<int>("dtype");
        const struct {
            int tokens, in, out;
        } sizes[] = {{1, 64, 1},
                     {1, 700, 97},
                     {1, 1000, 2917},
                     {5, 37, 1000},
                     {16, 2048, 960},
                     {127, 700, 2017},
                     {128, 1000, 2917},
                     {300, 2100, 961},
                     {200, 65, 20000},
                     // 1 to 4 rows on [out, in]: widened in registers, tails under 16 and 32
                     {2, 37, 100},
                     {3, 2051, 300},
                     {4, 48, 33}};
        // (Blocks below, of 2^12 and 2^16 floats: 96 features per block for in >= 43 on short
        // inputs, so in1000 out2917 is 15 blocks per thread; on long inputs in1000 -> 0 -> 96,
        // in2100 -> 96, in65 -> 960: 30, 10 and 20 blocks.)
        // The dtype only changes the widening (checked above): alternated, so each orientation
        // sees both.
        int row = 0;
        for (const auto& s : sizes) {
            for (bool inputMajor : {false, true}) {
                const DType dtype = row++ % 3 == 0 ? DType::F16 : DType::BF16;
                QTest::addRow("T%d in%d out%d %s %s", s.tokens, s.in, s.out,
                              inputMajor ? "[in,out]" : "[out,in]",
                              dtype == DType::F16 ? "F16" : "BF16")
                    << s.tokens << s.in << s.out << inputMajor << int(dtype);
            }
        }
    }
    void linearMatchesWidenedCopy() {
        QFETCH(int, tokens);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(bool, inputMajor);
        QFETCH(int, dtype);
        std::mt19937 rng(uint32_t(tokens * 7919 + in * 31 + out));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        const int64_t n = int64_t(in) * out;
        std::vector<float> values(size_t(n), 0.0f);
        for (float& v : values)
            v = normal(rng);
        const QByteArray bytes = halfBytes(values.data(), n, DType(dtype));
        auto widenedCopy = std::make_shared<std::vector<float>>(size_t(n));
        widenHalfFloats(reinterpret_cast<const uint16_t*>(bytes.constData()), DType(dtype),
                        widenedCopy->data(), n);

        Linear half, copy;
        half.inputMajor = copy.inputMajor = inputMajor;
        const std::vector<int64_t> shape =
            inputMajor ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
        half.weight.shape = copy.weight.shape = shape;
        half.weight.dtype = DType(dtype);
        half.weight.data = bytes.constData();
        copy.weight.data = widenedCopy->data();
        Mat x(tokens, in); // [T, in]
        for (Eigen::Index i = 0; i < x.size(); ++i)
            x.data()[i] = normal(rng);

        const Mat want = copy(x); // [T, out]
        QVERIFY(sameProduct(half(x), want));
        // Blocks as large as the defaults give for a 64 MB / 256 KB matrix, so long inputs too
        // cross several block edges in these small products.
        setWidenBlockFloats(int64_t(1) << 12, int64_t(1) << 16);
        const Mat got = half(x);
        setWidenBlockFloats(int64_t(1) << 16, int64_t(1) << 24);
        QVERIFY(sameProduct(got, want));
        // BF16 [out, in] weights go through the tile unit's split product where the CPU has one
        // (split_product.h); the float32 widening that other CPUs use must agree as well, with
        // the same block edges.
        setSplitBf16ProductEnabled(false);
        const Mat widened = half(x);
        setWidenBlockFloats(int64_t(1) << 12, int64_t(1) << 16);
        const Mat widenedBlocks = half(x);
        setWidenBlockFloats(int64_t(1) << 16, int64_t(1) << 24);
        setSplitBf16ProductEnabled(true);
        QVERIFY(sameProduct(widened, want));
        QVERIFY(sameProduct(widenedBlocks, want));
        // Head slices from the middle, off any block boundary.
        const int begin = out / 3, width = std::min(7, out - begin);
        QVERIFY(sameBits(half.outputColumns(begin, width), copy.outputColumns(begin, width)));
        const int rowsBegin = in / 3, rowsWidth = std::min(5, in - rowsBegin);
        QVERIFY(
            sameBits(half.inputRows(rowsBegin, rowsWidth), copy.inputRows(rowsBegin, rowsWidth)));
    }

    // Every family, from its oracle checkpoint converted to F16 and to BF16: a whole analysis
    // (attention, hidden states), every head's weight slices and the LM head's logits agree to
    // the bit with the widened-copy path, and the weights take a third of the memory.
    void familiesMatchWidenedCopy_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("dtype");
        for (const char* family :
             {"gpt2", "bert", "distilbert", "roberta", "llama", "qwen2", "gpt_neox", "vit"})
            for (DType dtype : {DType::F16, DType::BF16})
                QTest::addRow("%s %s", family, dtype == DType::F16 ? "F16" : "BF16")
                    << QString::fromLatin1(family) << int(dtype);
    }
    void familiesMatchWidenedCopy() {
        QFETCH(QString, family);
        QFETCH(int, dtype);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString made = makeHalfCheckpoint(family, DType(dtype), dir.path());
        QVERIFY2(made.isEmpty(), qPrintable(made));
        auto kept = openModel(dir.path(), false);
        QVERIFY2(kept.ok(), qPrintable(kept.message()));
        auto widened = openModel(dir.path(), true);
        QVERIFY2(widened.ok(), qPrintable(widened.message()));

        // Memory, counted from the file: the mapped bytes, plus float32 copies of the 16-bit
        // vectors (norms, biases) when kept, of every 16-bit tensor when widened.
        auto file = SafeTensorsFile::open(dir.path() + QStringLiteral("/model.safetensors"));
        QVERIFY(file.ok());
        double mapped = 0, vectorCopies = 0, allCopies = 0;
        for (const QString& name : (*file)->names()) {
            const TensorInfo* info = (*file)->find(name);
            mapped += double(info->end - info->begin);
            if (info->dtype != DType(dtype)) continue;
            allCopies += 4.0 * double(info->numel());
            if (info->shape.size() == 1) vectorCopies += 4.0 * double(info->numel());
        }
        QCOMPARE((*kept)->weightBytes(), mapped + vectorCopies);
        QCOMPARE((*widened)->weightBytes(), mapped + allCopies);
        QCOMPARE(modelInfoJson(**kept).value(QStringLiteral("weight_bytes")).toDouble(),
                 mapped + vectorCopies);
        QVERIFY(mapped + vectorCopies < 0.4 * (mapped + allCopies)); // was ~3x the 16-bit bytes

        const AnalysisRequest request = firstCase(family);
        auto a = (*kept)->analyze(request);
        QVERIFY2(a.ok(), qPrintable(a.message()));
        auto b = (*widened)->analyze(request);
        QVERIFY2(b.ok(), qPrintable(b.message()));
        const Tensor attentionA = a->forward.attentionTensor();
        const Tensor attentionB = b->forward.attentionTensor();
        QCOMPARE(attentionA.shape, attentionB.shape);
        QVERIFY(sameProduct(attentionA.data.data(), attentionB.data.data(), attentionA.numel(),
                            kPassTolerance));
        QVERIFY(sameProduct(a->forward.embeddings, b->forward.embeddings, kPassTolerance));
        for (size_t l = 0; l < a->forward.layers.size(); ++l)
            QVERIFY(sameProduct(a->forward.layers[l].hidden, b->forward.layers[l].hidden,
                                kPassTolerance));
        QVERIFY(
            sameProduct(a->forward.lastHiddenState, b->forward.lastHiddenState, kPassTolerance));

        const ModelConfig& c = (*kept)->config();
        for (int l = 0; l < c.layers; ++l) {
            auto wa = (*kept)->attentionWeights(l);
            auto wb = (*widened)->attentionWeights(l);
            QVERIFY(wa.ok() && wb.ok());
            for (size_t h = 0; h < wa->size(); ++h) {
                const HeadWeights &x = (*wa)[h], &y = (*wb)[h];
                QVERIFY(sameBits(x.wq, y.wq) && sameBits(x.wk, y.wk) && sameBits(x.wv, y.wv) &&
                        sameBits(x.wo, y.wo));
            }
        }

        const LanguageModelHead* headA = (*kept)->languageModelHead();
        const LanguageModelHead* headB = (*widened)->languageModelHead();
        QCOMPARE(headA != nullptr, headB != nullptr);
        if (headA) { // logits of every position: the head's [V, D] read in blocks
            const Mat logitsA = headA->logits(a->forward.lastHiddenState); // [T, V]
            QVERIFY(
                sameProduct(logitsA, headB->logits(b->forward.lastHiddenState), kPassTolerance));
            QCOMPARE(logitsA.cols(), Eigen::Index(c.vocab));
            const Mat lastA = headA->logits(a->forward.lastHiddenState.bottomRows(1)); // [1, V]
            QVERIFY(sameProduct(lastA, headB->logits(b->forward.lastHiddenState.bottomRows(1)),
                                kPassTolerance));
        }
    }
};

QTEST_GUILESS_MAIN(TestHalfWeights)
#include "tst_half_weights.moc"
