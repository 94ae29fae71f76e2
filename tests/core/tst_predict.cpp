// Token predictions: the LM head against a recomputation written here, in double precision,
// from the checkpoint's own tensors and Hugging Face's reference last_hidden_state (oracle
// fixtures). Tied heads (GPT-2, Qwen2, the default model), untied heads (Llama lm_head,
// GPT-NeoX embed_out) and masked-LM heads (BERT, RoBERTa, DistilBERT).
#include "predict.h"
#include "safetensors.h"
#include "session.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

using Rows = std::vector<std::vector<double>>; // [n][V] or [n][D]

QJsonObject readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// A tensor of the fixture's model.safetensors as doubles, row-major.
std::vector<double> tensor(const SafeTensorsFile& file, const QString& name) {
    auto t = file.floatTensor(name);
    if (!t) return {};
    return std::vector<double>(t->data, t->data + t->numel());
}

// The straightforward head, written from the transformers sources: masked-LM heads are
// dense -> GELU -> LayerNorm -> decoder (+ bias); causal heads only the decoder.
struct ReferenceHead {
    int D = 0, V = 0;
    std::vector<double> decoder;                                // [V, D]
    std::vector<double> bias;                                   // [V] or empty
    std::vector<double> dense, denseBias, normWeight, normBias; // masked-LM transform
    double eps = 0;
    bool exactGelu = true;

    std::vector<double> logits(const float* h) const {
        std::vector<double> x(h, h + D);
        if (!dense.empty()) {
            std::vector<double> y(static_cast<size_t>(D));
            for (int o = 0; o < D; ++o) {
                double s = denseBias[size_t(o)];
                for (int i = 0; i < D; ++i)
                    s += dense[size_t(o * D + i)] * x[size_t(i)];
                y[size_t(o)] =
                    exactGelu
                        ? 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)))
                        : 0.5 * s *
                              (1 + std::tanh(std::sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
            }
            const double mean = std::accumulate(y.begin(), y.end(), 0.0) / D;
            double var = 0;
            for (double v : y)
                var += (v - mean) * (v - mean) / D;
            for (int i = 0; i < D; ++i)
                x[size_t(i)] =
                    (y[size_t(i)] - mean) / std::sqrt(var + eps) * normWeight[size_t(i)] +
                    normBias[size_t(i)];
        }
        std::vector<double> z(static_cast<size_t>(V));
        for (int v = 0; v < V; ++v) {
            double s = bias.empty() ? 0 : bias[size_t(v)];
            for (int i = 0; i < D; ++i)
                s += decoder[size_t(v) * D + i] * x[size_t(i)];
            z[size_t(v)] = s;
        }
        return z;
    }
};

ReferenceHead readReferenceHead(const QString& family, bool* ok);

// Read once per fixture (test rows share them).
const ReferenceHead& referenceHead(const QString& family, bool* ok) {
    static std::map<QString, std::pair<ReferenceHead, bool>> cache;
    auto it = cache.find(family);
    if (it == cache.end()) {
        bool read = false;
        ReferenceHead head = readReferenceHead(family, &read);
        it = cache.emplace(family, std::make_pair(std::move(head), read)).first;
    }
    *ok = it->second.second;
    return it->second.first;
}

// Tensor names per fixture, spelled out here rather than taken from the engine.
ReferenceHead readReferenceHead(const QString& family, bool* ok) {
    *ok = false;
    ReferenceHead r;
    auto file =
        SafeTensorsFile::open(kOracle + family + QStringLiteral("/model/model.safetensors"));
    if (!file) return r;
    const SafeTensorsFile& f = **file;
    const QJsonObject config = readJson(kOracle + family + QStringLiteral("/model/config.json"));
    const auto pick = [&](const QStringList& names) {
        for (const QString& n : names)
            if (f.find(n)) return tensor(f, n);
        return std::vector<double>{};
    };
    if (family.startsWith(QLatin1String("gpt2"))) {
        r.decoder = pick({"transformer.wte.weight", "wte.weight"});
    } else if (family.startsWith(QLatin1String("qwen2"))) {
        r.decoder = pick({"model.embed_tokens.weight"});
    } else if (family.startsWith(QLatin1String("llama"))) {
        r.decoder = pick({"lm_head.weight"});
    } else if (family.startsWith(QLatin1String("gpt_neox"))) {
        r.decoder = pick({"embed_out.weight"});
    } else if (family.startsWith(QLatin1String("bert"))) {
        r.decoder = pick({"bert.embeddings.word_embeddings.weight"});
        r.bias = pick({"cls.predictions.bias"});
        r.dense = pick({"cls.predictions.transform.dense.weight"});
        r.denseBias = pick({"cls.predictions.transform.dense.bias"});
        r.normWeight = pick({"cls.predictions.transform.LayerNorm.weight",
                             "cls.predictions.transform.LayerNorm.gamma"});
        r.normBias = pick({"cls.predictions.transform.LayerNorm.bias",
                           "cls.predictions.transform.LayerNorm.beta"});
        r.eps = config.value(QStringLiteral("layer_norm_eps")).toDouble();
        r.exactGelu = config.value(QStringLiteral("hidden_act")).toString() == "gelu";
    } else if (family == QLatin1String("roberta")) {
        r.decoder = pick({"roberta.embeddings.word_embeddings.weight"});
        r.bias = pick({"lm_head.bias"});
        r.dense = pick({"lm_head.dense.weight"});
        r.denseBias = pick({"lm_head.dense.bias"});
        r.normWeight = pick({"lm_head.layer_norm.weight"});
        r.normBias = pick({"lm_head.layer_norm.bias"});
        r.eps = config.value(QStringLiteral("layer_norm_eps")).toDouble();
    } else if (family == QLatin1String("distilbert")) {
        r.decoder = pick({"distilbert.embeddings.word_embeddings.weight"});
        r.bias = pick({"vocab_projector.bias"});
        r.dense = pick({"vocab_transform.weight"});
        r.denseBias = pick({"vocab_transform.bias"});
        r.normWeight = pick({"vocab_layer_norm.weight"});
        r.normBias = pick({"vocab_layer_norm.bias"});
        r.eps = 1e-12;
        r.exactGelu = config.value(QStringLiteral("activation")).toString() == "gelu";
    }
    r.V = config.value(QStringLiteral("vocab_size")).toInt();
    r.D = int(r.decoder.size() / std::max(r.V, 1));
    *ok = r.V > 0 && r.D > 0 && r.decoder.size() == size_t(r.V) * r.D;
    return r;
}

std::vector<double> softmax(const std::vector<double>& z, double temperature) {
    const double m = *std::max_element(z.begin(), z.end());
    std::vector<double> p(z.size());
    double sum = 0;
    for (size_t i = 0; i < z.size(); ++i)
        sum += p[i] = std::exp((z[i] - m) / temperature);
    for (double& v : p)
        v /= sum;
    return p;
}

double relativeError(const float* got, const std::vector<double>& want) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        err = std::max(err, std::abs(double(got[i]) - want[i]));
        scale = std::max(scale, std::abs(want[i]));
    }
    return err / std::max(scale, 1e-30);
}

const QStringList kCausal{"gpt2",  "gpt2-hub-names",  "qwen2",    "qwen2-v4-config",
                          "llama", "llama-v4-config", "gpt_neox", "gpt_neox-v4-config"};
const QStringList kMasked{"bert", "bert-gamma-beta", "roberta", "distilbert"};
} // namespace

class TestPredict : public QObject {
    Q_OBJECT
private slots:
    // The head on HF's reference last_hidden_state, every row of every case: logits within
    // 1e-4 relative of the double-precision recomputation.
    void headOnReferenceStates_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("caseFile");
        for (const QString& family : kCausal + kMasked)
            for (const QJsonValue& c :
                 readJson(kOracle + family + "/cases.json").value("cases").toArray())
                QTest::newRow(qPrintable(family + '/' + c["file"].toString()))
                    << family << c["file"].toString();
    }
    void headOnReferenceStates() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        auto model = LoadedModel::open(kOracle + family + "/model");
        QVERIFY2(model, qPrintable(model.message()));
        const LanguageModelHead* head = (*model)->languageModelHead();
        QVERIFY2(head, qPrintable((*model)->languageModelHeadProblem()));
        QCOMPARE(head->kind(), kCausal.contains(family) ? PredictionKind::NextToken
                                                        : PredictionKind::MaskedToken);
        bool ok = false;
        const ReferenceHead reference = referenceHead(family, &ok);
        QVERIFY(ok);
        QCOMPARE(head->vocab(), reference.V);
        auto ref = SafeTensorsFile::open(kOracle + family + '/' + caseFile);
        QVERIFY(ref);
        auto last = (*ref)->floatTensor("last_hidden_state"); // [T, D]
        QVERIFY(last);
        const Mat states = last->matrix();
        const Mat logits = head->logits(states); // [T, V]
        QCOMPARE(logits.rows(), states.rows());
        for (Eigen::Index t = 0; t < states.rows(); ++t) {
            const std::vector<double> want = reference.logits(states.row(t).data());
            const double err = relativeError(logits.row(t).data(), want);
            QVERIFY2(err <= 1e-4, qPrintable(QString("row %1: relative error %2").arg(t).arg(err)));
        }
    }

    // End to end: the ids through the engine's forward pass, then predictTokens at a position,
    // against softmax(reference head(HF's last_hidden_state) / temperature): the same top ids
    // and probabilities within 1e-4 relative.
    void predictionsMatchReference_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<double>("temperature");
        QTest::addColumn<int>("positionFromEnd"); // 1 = last token
        for (const QString& family : kCausal)
            for (double t : {1.0, 0.7, 2.5})
                QTest::newRow(qPrintable(QString("%1 T=%2").arg(family).arg(t)))
                    << family << t << 1;
        QTest::newRow("gpt2 third to last") << "gpt2" << 1.0 << 3;
        QTest::newRow("llama second to last") << "llama" << 1.0 << 2;
        for (const QString& family : kMasked)
            QTest::newRow(qPrintable(family + " middle")) << family << 1.0 << 4;
        QTest::newRow("bert T=0.5") << "bert" << 0.5 << 2;
    }
    void predictionsMatchReference() {
        QFETCH(QString, family);
        QFETCH(double, temperature);
        QFETCH(int, positionFromEnd);
        auto model = LoadedModel::open(kOracle + family + "/model");
        QVERIFY2(model, qPrintable(model.message()));
        bool ok = false;
        const ReferenceHead reference = referenceHead(family, &ok);
        QVERIFY(ok);
        for (const QJsonValue& c : readJson(kOracle + family + "/cases.json")["cases"].toArray()) {
            auto ref = SafeTensorsFile::open(kOracle + family + '/' + c["file"].toString());
            QVERIFY(ref);
            AnalysisRequest request;
            request.ids = (*ref)->int64Tensor("input_ids").value();
            if ((*ref)->find("token_type_ids"))
                request.typeIds = (*ref)->int64Tensor("token_type_ids").value();
            request.keep = {false, false, false};
            auto analysis = (*model)->analyze(request);
            QVERIFY2(analysis, qPrintable(analysis.message()));
            const int position = analysis->tokenCount() - positionFromEnd;
            auto prediction = predictTokens(**model, *analysis, position, 5, temperature);
            QVERIFY2(prediction, qPrintable(prediction.message()));
            QCOMPARE(prediction->position, position);
            QCOMPARE(int(prediction->top.size()), 5);

            auto last = (*ref)->floatTensor("last_hidden_state");
            const std::vector<double> p =
                softmax(reference.logits(last->data + size_t(position) * reference.D), temperature);
            std::vector<int> order(p.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
            for (int i = 0; i < 5; ++i) {
                const TokenScore& s = prediction->top[size_t(i)];
                QCOMPARE(s.id, int64_t(order[size_t(i)]));
                const double want = p[size_t(s.id)];
                QVERIFY2(std::abs(s.probability - want) <= 1e-4 * want,
                         qPrintable(QString("%1: p(%2) = %3, reference %4")
                                        .arg(c["file"].toString())
                                        .arg(s.id)
                                        .arg(s.probability)
                                        .arg(want)));
                if (i > 0) QVERIFY(s.probability <= prediction->top[size_t(i) - 1].probability);
                QVERIFY(!s.token.isEmpty());
            }
        }
    }

    // Untied checkpoints really use their own output matrix: the input embeddings would give
    // other logits (so the comparison above can tell the two apart).
    void untiedHeadsDifferFromEmbeddings_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("embeddings");
        QTest::newRow("llama") << "llama"
                               << "model.embed_tokens.weight";
        QTest::newRow("gpt_neox") << "gpt_neox"
                                  << "gpt_neox.embed_in.weight";
    }
    void untiedHeadsDifferFromEmbeddings() {
        QFETCH(QString, family);
        QFETCH(QString, embeddings);
        auto model = LoadedModel::open(kOracle + family + "/model");
        QVERIFY(model);
        QVERIFY(!(*model)->languageModelHead()->tiedToEmbeddings());
        auto file = SafeTensorsFile::open(kOracle + family + "/model/model.safetensors");
        auto ref = SafeTensorsFile::open(kOracle + family + "/case0.safetensors");
        QVERIFY(file && ref);
        const Mat states = (*ref)->floatTensor("last_hidden_state")->matrix();
        const Mat fromHead = (*model)->languageModelHead()->logits(states.bottomRows(1));
        const Mat fromEmbeddings =
            states.bottomRows(1) * (*file)->floatTensor(embeddings)->matrix().transpose(); // [1, V]
        QVERIFY((fromHead - fromEmbeddings).cwiseAbs().maxCoeff() > 1e-2);
    }

    // A tied head reads the same F16 embedding matrix as the model: by default both read the
    // mapped 16-bit bytes; widened (ATTNSCOPE_WIDEN_WEIGHTS=1, through floatTensor) it is
    // converted to float32 once and shared, not held twice.
    void convertedTensorsAreShared() {
        auto file = SafeTensorsFile::open(kOracle + "gpt2/model/model.safetensors");
        QVERIFY(file);
        QCOMPARE((*file)->find("transformer.wte.weight")->dtype, DType::F16);
        auto a = (*file)->floatTensor("transformer.wte.weight");
        auto b = (*file)->floatTensor("transformer.wte.weight");
        QVERIFY(a && b);
        QCOMPARE(a->data, b->data);
        QCOMPARE(a->data[12345], b->data[12345]);
    }

    void tiedHeads() {
        for (const QString& path : {kOracle + "gpt2/model", kOracle + "qwen2/model",
                                    kOracle + "bert/model", QStringLiteral("default")}) {
            auto model = LoadedModel::open(path);
            QVERIFY2(model, qPrintable(model.message()));
            QVERIFY2((*model)->languageModelHead(), qPrintable(path));
            QVERIFY((*model)->languageModelHead()->tiedToEmbeddings());
        }
    }

    // The default text model: predictions at the end of a sentence equal the tied head
    // recomputed here from its embedding matrix and the analysis' last hidden state; a common
    // continuation is among the likely tokens.
    void defaultModel() {
        auto model = LoadedModel::open(QStringLiteral("default"));
        QVERIFY2(model, qPrintable(model.message()));
        AnalysisRequest request;
        request.text = QStringLiteral("The cat sat on the");
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis);
        const int last = analysis->tokenCount() - 1;
        auto prediction = predictTokens(**model, *analysis, last, 10);
        QVERIFY2(prediction, qPrintable(prediction.message()));
        auto weights = SafeTensorsFile::open(":/attnscope/models/default/model.safetensors");
        QVERIFY(weights);
        const ConstMatMap E = (*weights)->floatTensor("model.embed_tokens.weight")->matrix();
        std::vector<double> z(size_t(E.rows()));
        for (Eigen::Index v = 0; v < E.rows(); ++v)
            for (Eigen::Index i = 0; i < E.cols(); ++i)
                z[size_t(v)] += double(E(v, i)) * analysis->forward.lastHiddenState(last, i);
        const std::vector<double> p = softmax(z, 1.0);
        const auto best = std::max_element(p.begin(), p.end()) - p.begin();
        QCOMPARE(prediction->top[0].id, int64_t(best));
        for (const TokenScore& s : prediction->top)
            QVERIFY(std::abs(s.probability - p[size_t(s.id)]) <= 1e-4 * p[size_t(s.id)]);
        QStringList words;
        for (const TokenScore& s : prediction->top)
            words << s.text;
        qInfo("default model after \"The cat sat on the\": %s", qPrintable(words.join('|')));
        QVERIFY2(words.contains(" ground") || words.contains(" floor") ||
                     words.contains(" table") || words.contains(" earth") || words.contains(" top"),
                 qPrintable(words.join('|')));
    }

    // [MASK] / <mask> in the text: maskPositions finds it, and its prediction is a
    // distribution over the vocabulary.
    void maskTokens_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("text");
        QTest::newRow("bert") << "bert"
                              << "The cat [MASK] on the mat.";
        QTest::newRow("distilbert") << "distilbert"
                                    << "The cat [MASK] on the mat.";
        QTest::newRow("roberta") << "roberta"
                                 << "The cat<mask> on the mat.";
    }
    void maskTokens() {
        QFETCH(QString, family);
        QFETCH(QString, text);
        auto model = LoadedModel::open(kOracle + family + "/model");
        QVERIFY(model);
        AnalysisRequest request;
        request.text = text;
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis);
        const std::vector<int> masks = maskPositions(**model, *analysis);
        QCOMPARE(int(masks.size()), 1);
        QCOMPARE(analysis->displayTokens[masks[0]].trimmed(),
                 family == "roberta" ? QString("<mask>") : QString("[MASK]"));
        auto prediction = predictTokens(**model, *analysis, masks[0], 3000);
        QVERIFY(prediction);
        QCOMPARE(int(prediction->top.size()), (*model)->config().vocab); // k is capped at V
        double sum = 0;
        for (const TokenScore& s : prediction->top)
            sum += s.probability;
        QVERIFY(std::abs(sum - 1) < 1e-9);
    }

    // A checkpoint saved without its masked-LM weights (BertModel) still opens and shows
    // attention; predictions say why there are none. Image models have no vocabulary.
    void encoderWithoutHead() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString src = kOracle + "bert/model/";
        for (const QString& name : {"config.json", "tokenizer.json", "vocab.txt"})
            QVERIFY(QFile::copy(src + name, dir.filePath(name)));
        auto file = SafeTensorsFile::open(src + "model.safetensors");
        QVERIFY(file);
        std::vector<TensorToWrite> kept;
        for (const QString& name : (*file)->names()) {
            if (name.startsWith("cls.")) continue;
            auto t = (*file)->floatTensor(name);
            kept.push_back(makeF32(name, t->shape, t->data));
        }
        QVERIFY(writeSafeTensors(dir.filePath("model.safetensors"), kept));
        auto model = LoadedModel::open(dir.path());
        QVERIFY2(model, qPrintable(model.message()));
        QVERIFY(!(*model)->languageModelHead());
        QVERIFY2((*model)->languageModelHeadProblem().contains("masked-LM head"),
                 qPrintable((*model)->languageModelHeadProblem()));
        AnalysisRequest request;
        request.text = QStringLiteral("a [MASK] b");
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis);
        auto prediction = predictTokens(**model, *analysis, 1, 5);
        QVERIFY(!prediction);
        QVERIFY(prediction.message().contains("cannot predict"));

        auto vision = LoadedModel::open(QStringLiteral("default-vision"));
        QVERIFY(vision);
        QVERIFY(!(*vision)->languageModelHead());
        QVERIFY(!(*vision)->languageModelHeadProblem().isEmpty());
    }

    void badArguments() {
        auto model = LoadedModel::open(kOracle + "gpt2/model");
        QVERIFY(model);
        AnalysisRequest request;
        request.ids = {464, 3797, 3332};
        auto analysis = (*model)->analyze(request);
        QVERIFY(analysis);
        QVERIFY(!predictTokens(**model, *analysis, 3, 5));
        QVERIFY(!predictTokens(**model, *analysis, -1, 5));
        QVERIFY(!predictTokens(**model, *analysis, 2, 0));
        QVERIFY(!predictTokens(**model, *analysis, 2, 5, 0.0));
        QVERIFY(!predictTokens(**model, *analysis, 2, 5, -1.0));
        QVERIFY(!predictTokens(**model, *analysis, 2, 5, std::nan("")));
        auto other = LoadedModel::open(kOracle + "gpt2/model"); // another instance
        QVERIFY(!predictTokens(**other, *analysis, 2, 5));
    }
};

QTEST_GUILESS_MAIN(TestPredict)
#include "tst_predict.moc"
