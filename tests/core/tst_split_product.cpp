// The tile unit's split product (core/split_product.h) against sums in double precision: every
// output within a few float32 roundings of the exact sum (relative to sum |x_k w_k|), for shapes
// that put rows, inputs and outputs on and off every tile, panel, block and slice edge; and
// non-finite inputs stay non-finite (the pass's finiteness checks rely on it).
#include "safetensors.h" // bfloat16ToFloat
#include "split_product.h"

#include <QtTest>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace attnscope;

namespace {
uint16_t roundToBfloat16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

struct Problem {
    int64_t rows, in, out;
    std::vector<float> x;    // [rows, in]
    std::vector<uint16_t> w; // [out, in] BF16
    Problem(int64_t r, int64_t i, int64_t o, unsigned seed) : rows(r), in(i), out(o) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal;
        x.resize(size_t(rows * in));
        w.resize(size_t(out * in));
        for (float& v : x)
            v = normal(rng) * 3.0f;
        for (uint16_t& v : w)
            v = roundToBfloat16(normal(rng) * 0.05f);
    }
};
} // namespace

class TestSplitProduct : public QObject {
    Q_OBJECT
private slots:
    void init() {
        if (!splitBf16ProductAvailable())
            QSKIP("this CPU or kernel has no tile unit (AMX): BF16 products use float32 kernels");
    }

    void matchesExactSums_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("begin");
        QTest::addColumn<int>("n");
        QTest::newRow("one tile") << 16 << 32 << 16 << 0 << 16;
        QTest::newRow("one past every tile edge") << 17 << 33 << 17 << 0 << 17;
        QTest::newRow("five rows, odd sizes") << 5 << 100 << 77 << 0 << 77;
        QTest::newRow("one input") << 8 << 1 << 5 << 0 << 5;
        QTest::newRow("panel edge (129 rows)") << 129 << 64 << 33 << 0 << 33;
        QTest::newRow("few panels shared by outputs") << 300 << 96 << 300 << 0 << 300;
        QTest::newRow("panels over the cores") << 600 << 64 << 40 << 0 << 40;
        QTest::newRow("output blocks (513 outputs)") << 40 << 64 << 513 << 0 << 513;
        QTest::newRow("sums reloaded between k blocks") << 33 << 1000 << 20 << 0 << 20;
        QTest::newRow("outputs [7, 57) of 80") << 21 << 70 << 80 << 7 << 50;
        QTest::newRow("two weight slices") << 5 << 2048 << 8300 << 0 << 8300;
    }
    void matchesExactSums() {
        QFETCH(int, rows);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(int, begin);
        QFETCH(int, n);
        const Problem p(rows, in, out, unsigned(rows * 131 + in * 7 + out));
        // y's rows are wider than n and its stride differs from x's: both strides are honoured.
        const int64_t yStride = n + 3;
        std::vector<float> y(size_t(rows * yStride), -7.0f);
        QVERIFY(
            splitBf16Product(p.x.data(), rows, in, in, p.w.data(), begin, n, y.data(), yStride));
        double worst = 0; // error relative to sum |x w|, in float32 roundings (2^-24)
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < n; ++j) {
                double exact = 0, magnitude = 0;
                for (int64_t k = 0; k < in; ++k) {
                    const double term = double(p.x[size_t(r * in + k)]) *
                                        double(bfloat16ToFloat(p.w[size_t((begin + j) * in + k)]));
                    exact += term;
                    magnitude += std::abs(term);
                }
                const double error = std::abs(double(y[size_t(r * yStride + j)]) - exact);
                worst = std::max(worst, error / (magnitude * std::ldexp(1.0, -24)));
            }
            for (int64_t j = n; j < yStride; ++j) // nothing written past the n outputs
                QCOMPARE(y[size_t(r * yStride + j)], -7.0f);
        }
        // A float32 GEMM stays within about one rounding here; dropping the third part would
        // leave errors of 2^-17 per term, hundreds of roundings on these sizes.
        QVERIFY2(worst < 4.0, qPrintable(QString::number(worst)));
    }

    void nonFiniteInputsStayNonFinite_data() {
        QTest::addColumn<float>("value");
        QTest::newRow("NaN") << std::numeric_limits<float>::quiet_NaN();
        QTest::newRow("+inf") << std::numeric_limits<float>::infinity();
        QTest::newRow("-inf") << -std::numeric_limits<float>::infinity();
    }
    void nonFiniteInputsStayNonFinite() {
        QFETCH(float, value);
        Problem p(40, 70, 30, 5);
        p.x[size_t(17 * 70 + 45)] = value; // row 17
        std::vector<float> y(size_t(40 * 30));
        QVERIFY(splitBf16Product(p.x.data(), 40, 70, 70, p.w.data(), 0, 30, y.data(), 30));
        for (int64_t r = 0; r < 40; ++r)
            for (int64_t j = 0; j < 30; ++j)
                QCOMPARE(std::isfinite(y[size_t(r * 30 + j)]), r != 17);
    }

    void switchedOffComputesNothing() {
        const Problem p(20, 40, 10, 9);
        std::vector<float> y(200, 1.5f);
        setSplitBf16ProductEnabled(false);
        const bool done = splitBf16Product(p.x.data(), 20, 40, 40, p.w.data(), 0, 10, y.data(), 10);
        setSplitBf16ProductEnabled(true);
        QVERIFY(!done);
        for (float v : y)
            QCOMPARE(v, 1.5f);
    }
};

QTEST_GUILESS_MAIN(TestSplitProduct)
#include "tst_split_product.moc"
