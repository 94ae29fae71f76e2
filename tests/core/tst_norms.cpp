// Norm-based attention (Kobayashi et al. 2020) against a straightforward recomputation written
// here: f_h(x_j) = v_j W_O,h from the checkpoint's tensors and Hugging Face's hidden states
// (attention_reference.h, in double), weighted by Hugging Face's attention, the per-layer sum
// formed vector by vector. Every oracle family with its own attention layout; 1e-4 relative.
#include "analyses/norms.h"
#include "attention_reference.h"
#include "session.h"

#include <QtTest>

using namespace attnscope;
using reference::MatD;

using reference::casesOf;
using reference::kOracle;

class TestNorms : public QObject {
    Q_OBJECT
private slots:
    void equalsDefinition_data() { reference::addCaseRows(); }

    void equalsDefinition() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        const QString modelDir = kOracle + family + QStringLiteral("/model");
        auto model = LoadedModel::open(modelDir);
        QVERIFY2(model.ok(), qPrintable(model.message()));
        auto file = SafeTensorsFile::open(kOracle + family + QLatin1Char('/') + caseFile);
        QVERIFY(file.ok());
        const SafeTensorsFile& ref = **file;
        AnalysisRequest request = reference::requestFor(ref);
        request.keep = normsKeepOptions();
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
        auto norms = normBasedAttention(*analysis, **model);
        QVERIFY2(norms.ok(), qPrintable(norms.message()));

        const FloatTensor hidden = ref.floatTensor(QStringLiteral("hidden_states")).value();
        const FloatTensor A = ref.floatTensor(QStringLiteral("attentions")).value();
        const int64_t L = A.shape[0], H = A.shape[1], T = A.shape[2], D = hidden.shape[2];
        QCOMPARE(norms->perHead.shape, (std::vector<int64_t>{L, H, T, T}));
        QCOMPARE(norms->perLayer.shape, (std::vector<int64_t>{L, T, T}));
        std::vector<double> perHead(size_t(L * H * T * T)), perLayer(size_t(L * T * T));
        for (int64_t l = 0; l < L; ++l) {
            const MatD x = reference::slab(hidden, l * T * D, T, D);
            const reference::LayerInputs in = reference::layerInputs(family, modelDir, x, int(l));
            const int d = in.headDim;
            std::vector<MatD> f; // f_h(x_j) for every token j: [T, D] per head
            for (int h = 0; h < H; ++h)
                f.push_back(in.v.middleCols(in.kvHeadFor(h) * d, d) * in.wo.middleRows(h * d, d));
            for (int64_t i = 0; i < T; ++i)
                for (int64_t j = 0; j < T; ++j) {
                    Eigen::VectorXd sum = Eigen::VectorXd::Zero(D);
                    for (int64_t h = 0; h < H; ++h) {
                        const double alpha = A.data[((l * H + h) * T + i) * T + j];
                        const Eigen::VectorXd mixed = alpha * f[size_t(h)].row(j).transpose();
                        perHead[size_t(((l * H + h) * T + i) * T + j)] = mixed.norm();
                        sum += mixed;
                    }
                    perLayer[size_t((l * T + i) * T + j)] = sum.norm();
                }
        }
        const auto relative = [](const std::vector<float>& got, const std::vector<double>& want) {
            double diff = 0, scale = 0;
            for (size_t n = 0; n < want.size(); ++n) {
                diff = std::max(diff, std::abs(double(got[n]) - want[n]));
                scale = std::max(scale, std::abs(want[n]));
            }
            return diff / scale;
        };
        const double headErr = relative(norms->perHead.data, perHead);
        const double layerErr = relative(norms->perLayer.data, perLayer);
        qInfo("%s/%s: per head %.1e, per layer %.1e (relative)", qPrintable(family),
              qPrintable(caseFile), headErr, layerErr);
        QVERIFY2(headErr <= 1e-4, qPrintable(QString::number(headErr)));
        QVERIFY2(layerErr <= 1e-4, qPrintable(QString::number(layerErr)));
    }

    void needsTheValues() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {5, 17, 300};
        request.keep = KeepOptions::attentionOnly();
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis.ok());
        QVERIFY(!normBasedAttention(*analysis, **model).ok());
    }
};

QTEST_GUILESS_MAIN(TestNorms)
#include "tst_norms.moc"
