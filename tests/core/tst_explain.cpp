// The explainer's steps against a second implementation written here (attention_reference.h:
// each family's tensors read by name, in double, from Hugging Face's hidden states), on every
// oracle case of every family with a distinct attention layout: GPT-2 (fused Conv1D), BERT,
// RoBERTa, DistilBERT, Llama (rotary, grouped-query), Qwen2 (q/k/v biases), GPT-NeoX (per-head
// fused QKV, partial rotary) and ViT. Every step within 1e-4 relative; the weights equal
// Hugging Face's attention row within 1e-5.
#include "analyses/explain.h"
#include "attention_reference.h"
#include "session.h"

#include <QtTest>

using namespace attnscope;
using reference::MatD;
using reference::VecD;

using reference::casesOf;
using reference::kOracle;
using reference::requestFor;
using reference::slab;

namespace {

template <typename M> MatD toDouble(const M& m) {
    return m.template cast<double>();
}

} // namespace

class TestExplain : public QObject {
    Q_OBJECT
private slots:
    void stepsEqualReference_data() { reference::addCaseRows(); }

    void stepsEqualReference() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        const QString modelDir = kOracle + family + QStringLiteral("/model");
        auto model = LoadedModel::open(modelDir);
        QVERIFY2(model.ok(), qPrintable(model.message()));
        auto file = SafeTensorsFile::open(kOracle + family + QLatin1Char('/') + caseFile);
        QVERIFY(file.ok());
        const SafeTensorsFile& ref = **file;
        AnalysisRequest request = requestFor(ref);
        request.keep = explainKeepOptions();
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));

        const FloatTensor hidden = ref.floatTensor(QStringLiteral("hidden_states")).value();
        const FloatTensor attention = ref.floatTensor(QStringLiteral("attentions")).value();
        const int64_t L = attention.shape[0], H = attention.shape[1], T = attention.shape[2];
        const int64_t D = hidden.shape[2];
        QCOMPARE(int64_t(analysis->tokenCount()), T);
        double worst = 0, worstWeights = 0;
        int explained = 0;
        for (int layer = 0; layer < L; ++layer) {
            const reference::LayerInputs want =
                reference::layerInputs(family, modelDir, slab(hidden, layer * T * D, T, D), layer);
            QVERIFY2(want.heads == H, "reference: unknown family layout");
            const int d = want.headDim;
            auto weights = (*model)->attentionWeights(layer);
            QVERIFY2(weights.ok(), qPrintable(weights.message()));
            for (int head = 0; head < H; ++head) {
                const int kv = want.kvHeadFor(head);
                const MatD k = want.k.middleCols(kv * d, d), v = want.v.middleCols(kv * d, d);
                const MatD wo = want.wo.middleRows(head * d, d);
                const MatD refAttention = slab(attention, (layer * H + head) * T * T, T, T);
                for (int token = 0; token < T; ++token) {
                    auto got = explainHead(*analysis, *weights, want.causal, layer, head, token);
                    QVERIFY2(got.ok(), qPrintable(got.message()));
                    const Explanation& e = *got;
                    // The textbook steps, spelled out.
                    const VecD qPre = want.qPre.row(token).segment(head * d, d).transpose();
                    const VecD q = want.q.row(token).segment(head * d, d).transpose();
                    const VecD scores = k * q;
                    const double scale = 1.0 / std::sqrt(double(d));
                    const VecD scaled = scores * scale;
                    VecD weightsWant(T);
                    double maxScaled = -1e300;
                    for (int j = 0; j < T; ++j)
                        if (!(want.causal && j > token)) maxScaled = std::max(maxScaled, scaled[j]);
                    for (int j = 0; j < T; ++j)
                        weightsWant[j] =
                            want.causal && j > token ? 0.0 : std::exp(scaled[j] - maxScaled);
                    weightsWant /= weightsWant.sum();
                    const VecD output = v.transpose() * weightsWant; // [d]
                    const VecD projected = wo.transpose() * output;  // [D]

                    QCOMPARE(e.kvHead, kv);
                    QCOMPARE(double(e.scale), double(float(scale)));
                    const std::vector<std::pair<const char*, double>> errors{
                        {"x", reference::relativeError(toDouble(e.x), want.x)},
                        {"x_norm", reference::relativeError(toDouble(e.xNorm), want.xNorm)},
                        {"q_pre_rotary",
                         reference::relativeError(toDouble(e.qPreRotary), qPre.transpose())},
                        {"q", reference::relativeError(toDouble(e.q), q.transpose())},
                        {"k", reference::relativeError(toDouble(e.k), k)},
                        {"v", reference::relativeError(toDouble(e.v), v)},
                        {"scores",
                         reference::relativeError(toDouble(e.scores), scores.transpose())},
                        {"scaled",
                         reference::relativeError(toDouble(e.scaled), scaled.transpose())},
                        {"output",
                         reference::relativeError(toDouble(e.output), output.transpose())},
                        {"projected",
                         reference::relativeError(toDouble(e.projected), projected.transpose())},
                    };
                    for (const auto& [name, err] : errors) {
                        worst = std::max(worst, err);
                        QVERIFY2(err <= 1e-4,
                                 qPrintable(QStringLiteral("L%1 H%2 token %3: %4 off by "
                                                           "%5 (relative)")
                                                .arg(layer)
                                                .arg(head)
                                                .arg(token)
                                                .arg(QLatin1String(name))
                                                .arg(err)));
                    }
                    // The weights are Hugging Face's attention row, and the softmax of the
                    // reference's own scaled, masked scores.
                    const double wHf =
                        (toDouble(e.weights) - refAttention.row(token)).cwiseAbs().maxCoeff();
                    const double wSoftmax =
                        (toDouble(e.weights) - weightsWant.transpose()).cwiseAbs().maxCoeff();
                    worstWeights = std::max({worstWeights, wHf, wSoftmax});
                    QVERIFY2(wHf <= 1e-5 && wSoftmax <= 1e-5,
                             qPrintable(QStringLiteral("L%1 H%2 token %3: weights off by %4 (HF), "
                                                       "%5 (softmax)")
                                            .arg(layer)
                                            .arg(head)
                                            .arg(token)
                                            .arg(wHf)
                                            .arg(wSoftmax)));
                    for (int j = 0; j < T; ++j)
                        QCOMPARE(bool(e.masked[size_t(j)]), want.causal && j > token);
                    // The head's row among all heads' contributions is its own projection.
                    QCOMPARE(e.contributions.rows(), H);
                    QVERIFY(e.contributions.row(head) == e.projected);
                    ++explained;
                }
            }
        }
        QVERIFY(explained == L * H * T);
        qInfo("%s/%s: %d explanations, worst step error %.1e (relative), weights %.1e",
              qPrintable(family), qPrintable(caseFile), explained, worst, worstWeights);
    }

    // The accessor's slices reproduce the forward pass's own q (before rotary), k and v for
    // every layout, the 4.x-config and renamed-tensor twins included.
    void attentionWeightsReproduceForwardPass_data() {
        QTest::addColumn<QString>("family");
        for (const char* family :
             {"gpt2", "gpt2-hub-names", "bert", "bert-gamma-beta", "distilbert", "roberta", "llama",
              "llama-v4-config", "qwen2", "qwen2-v4-config", "gpt_neox", "gpt_neox-v4-config",
              "vit", "vit-dino-style"})
            QTest::newRow(family) << QString::fromLatin1(family);
    }
    void attentionWeightsReproduceForwardPass() {
        QFETCH(QString, family);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        auto file = SafeTensorsFile::open(kOracle + family + QStringLiteral("/case0.safetensors"));
        QVERIFY(file.ok());
        AnalysisRequest request = requestFor(**file);
        request.keep = explainKeepOptions();
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
        const ModelConfig& c = (*model)->config();
        const bool rotary =
            c.family == Family::Llama || c.family == Family::Qwen2 || c.family == Family::GptNeoX;
        const int d = c.headDim;
        for (int layer = 0; layer < c.layers; ++layer) {
            const LayerTrace& trace = analysis->forward.layers[size_t(layer)];
            QCOMPARE(trace.input.rows(), trace.q.rows());
            QCOMPARE(trace.qPreRotary.rows() > 0, rotary);
            const Mat& x = trace.attentionInput();
            auto weights = (*model)->attentionWeights(layer);
            QVERIFY(weights.ok());
            QCOMPARE(int(weights->size()), c.heads);
            for (int h = 0; h < c.heads; ++h) {
                const HeadWeights& w = (*weights)[size_t(h)];
                QCOMPARE(w.kvHead, ForwardResult::kvHeadFor(h, c.heads, c.kvHeads));
                QCOMPARE(w.wo.rows(), d);
                QCOMPARE(w.wo.cols(), c.hidden);
                Mat q = x * w.wq, k = x * w.wk, v = x * w.wv;
                q.rowwise() += w.bq;
                k.rowwise() += w.bk;
                v.rowwise() += w.bv;
                const auto rel = [](const Mat& a, const auto& b) {
                    return double((a - b).cwiseAbs().maxCoeff() /
                                  std::max(b.cwiseAbs().maxCoeff(), 1e-30f));
                };
                QVERIFY(rel(q, trace.queriesBeforeRotary().middleCols(h * d, d)) < 1e-5);
                QVERIFY(rel(v, trace.v.middleCols(w.kvHead * d, d)) < 1e-5);
                if (!rotary) QVERIFY(rel(k, trace.k.middleCols(w.kvHead * d, d)) < 1e-5);
            }
        }
    }

    // Keeping the explainer's inputs is off unless asked, and when asked does not change
    // attention; an edit at the end of a causal text reuses them like the rest of the prefix.
    void attentionInputsOnlyWhenAsked() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {5, 17, 300, 42, 7, 1999, 3};
        QVERIFY(!request.keep.attentionInputs);
        auto plain = (*model)->analyze(request);
        QVERIFY(plain.ok());
        QCOMPARE(plain->forward.layers[0].input.rows(), 0);
        QCOMPARE(plain->forward.layers[0].qPreRotary.rows(), 0);
        request.keep = explainKeepOptions();
        auto kept = (*model)->analyze(request);
        QVERIFY(kept.ok());
        QCOMPARE(kept->forward.attentionTensor().data, plain->forward.attentionTensor().data);

        AnalysisRequest edited = request;
        edited.ids.back() = 4;
        edited.previous = std::make_shared<const Analysis>(std::move(*kept));
        auto incremental = (*model)->analyze(edited);
        QVERIFY(incremental.ok());
        QCOMPARE(incremental->reusedTokens, 6);
        edited.previous.reset();
        auto full = (*model)->analyze(edited);
        QVERIFY(full.ok());
        for (size_t l = 0; l < full->forward.layers.size(); ++l) {
            const LayerTrace &a = incremental->forward.layers[l], &b = full->forward.layers[l];
            QCOMPARE(a.input.rows(), b.input.rows());
            QVERIFY((a.input - b.input).cwiseAbs().maxCoeff() < 1e-5f);
            QVERIFY((a.normed - b.normed).cwiseAbs().maxCoeff() < 1e-5f);
            QVERIFY((a.qPreRotary - b.qPreRotary).cwiseAbs().maxCoeff() < 1e-5f);
        }
    }

    void refusesWhatItCannotExplain() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {5, 17, 300};
        auto plain = (*model)->analyze(request); // without the explainer's inputs
        QVERIFY(plain.ok());
        auto weights = (*model)->attentionWeights(0);
        QVERIFY(weights.ok());
        QVERIFY(!explainHead(*plain, *weights, true, 0, 0, 1).ok());
        request.keep = explainKeepOptions();
        auto kept = (*model)->analyze(request);
        QVERIFY(explainHead(*kept, *weights, true, 0, 0, 2).ok());
        QVERIFY(!explainHead(*kept, *weights, true, 0, 0, 3).ok()); // token out of range
        QVERIFY(!explainHead(*kept, *weights, true, 0, 4, 0).ok()); // head out of range
        QVERIFY(!explainHead(*kept, *weights, true, 2, 0, 0).ok()); // layer out of range
        QVERIFY(!(*model)->attentionWeights(2).ok());
    }
};

QTEST_GUILESS_MAIN(TestExplain)
#include "tst_explain.moc"
