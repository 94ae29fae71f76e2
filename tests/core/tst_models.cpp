// Every oracle case through the engine: attention within 1e-5 absolute, hidden states within
// 1e-4 relative of what Hugging Face transformers computed.
#include "safetensors.h"
#include "session.h"
#include "split_product.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cstring>
#include <omp.h>
#include <tuple>

using namespace attnscope;

namespace {
const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");
const QStringList kFamilies{"gpt2",       "gpt2-hub-names",  "bert",     "bert-gamma-beta",
                            "distilbert", "roberta",         "llama",    "llama-v4-config",
                            "qwen2",      "qwen2-v4-config", "gpt_neox", "gpt_neox-v4-config",
                            "vit",        "vit-dino-style"};

QJsonArray casesOf(const QString& family) {
    QFile f(kOracle + family + QStringLiteral("/cases.json"));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("cases")).toArray();
}

double maxAbsDiff(const float* a, const float* b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i)
        m = std::max(m, double(std::abs(a[i] - b[i])));
    return m;
}

double relDiff(const float* a, const float* b, int64_t n) {
    double scale = 0;
    for (int64_t i = 0; i < n; ++i)
        scale = std::max(scale, double(std::abs(b[i])));
    return maxAbsDiff(a, b, n) / std::max(scale, 1e-30);
}
} // namespace

class TestModels : public QObject {
    Q_OBJECT
private slots:
    void oracleCases_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("caseFile");
        for (const QString& family : kFamilies) {
            const QJsonArray cases = casesOf(family);
            QVERIFY2(!cases.isEmpty(), qPrintable(family));
            for (const QJsonValue& c : cases) {
                const QString file = c.toObject().value(QStringLiteral("file")).toString();
                QTest::newRow(qPrintable(family + QLatin1Char('/') + file)) << family << file;
            }
        }
    }

    void oracleCases() {
        QFETCH(QString, family);
        QFETCH(QString, caseFile);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY2(model.ok(), qPrintable(model.message()));
        auto ref = SafeTensorsFile::open(kOracle + family + QLatin1Char('/') + caseFile);
        QVERIFY2(ref.ok(), qPrintable(ref.message()));
        const SafeTensorsFile& r = **ref;

        AnalysisRequest request;
        if (r.find(QStringLiteral("pixel_values"))) {
            auto px = r.floatTensor(QStringLiteral("pixel_values"));
            QVERIFY(px.ok());
            request.pixelValues.shape = px->shape;
            request.pixelValues.data.assign(px->data, px->data + px->numel());
        } else {
            request.ids = r.int64Tensor(QStringLiteral("input_ids")).value();
            if (r.find(QStringLiteral("token_type_ids")))
                request.typeIds = r.int64Tensor(QStringLiteral("token_type_ids")).value();
        }
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis.ok(), qPrintable(analysis.message()));

        const Tensor attention = analysis->forward.attentionTensor();
        auto refAttention = r.floatTensor(QStringLiteral("attentions"));
        QVERIFY(refAttention.ok());
        QCOMPARE(attention.shape, refAttention->shape);
        const double attnDiff =
            maxAbsDiff(attention.data.data(), refAttention->data, attention.numel());
        QVERIFY2(attnDiff <= 1e-5,
                 qPrintable(QStringLiteral("attention differs by %1").arg(attnDiff)));

        const Mat& last = analysis->forward.lastHiddenState;
        auto refLast = r.floatTensor(QStringLiteral("last_hidden_state"));
        QVERIFY(refLast.ok());
        QCOMPARE(std::vector<int64_t>({last.rows(), last.cols()}), refLast->shape);
        const double lastDiff = relDiff(last.data(), refLast->data, refLast->numel());
        QVERIFY2(
            lastDiff <= 1e-4,
            qPrintable(QStringLiteral("last_hidden_state differs by %1 (relative)").arg(lastDiff)));

        // hidden_states[0] is the embeddings output, [l+1] layer l's output (the last one after
        // the final norm in families that have one, so it is checked through last_hidden_state).
        auto refHidden = r.floatTensor(QStringLiteral("hidden_states"));
        if (refHidden.ok()) {
            const int64_t T = last.rows(), D = last.cols();
            const auto& layers = analysis->forward.layers;
            QCOMPARE(refHidden->shape[0], int64_t(layers.size() + 1));
            QVERIFY(relDiff(analysis->forward.embeddings.data(), refHidden->data, T * D) <= 1e-4);
            for (size_t l = 0; l + 1 < layers.size(); ++l)
                QVERIFY2(relDiff(layers[l].hidden.data(), refHidden->data + (l + 1) * T * D,
                                 T * D) <= 1e-4,
                         qPrintable(QStringLiteral("hidden state of layer %1").arg(l)));
        }
    }

    // The transformers 4.x style config must give exactly what its 5.x twin gives.
    void v4ConfigsMatchV5_data() {
        QTest::addColumn<QString>("family");
        QTest::newRow("llama") << "llama";
        QTest::newRow("qwen2") << "qwen2";
        QTest::newRow("gpt_neox") << "gpt_neox";
    }
    void v4ConfigsMatchV5() {
        QFETCH(QString, family);
        auto v5 = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        auto v4 = LoadedModel::open(kOracle + family + QStringLiteral("-v4-config/model"));
        QVERIFY2(v5.ok() && v4.ok(), qPrintable(v5.message() + v4.message()));
        const ModelConfig &a = (*v5)->config(), &b = (*v4)->config();
        QCOMPARE(a.ropeTheta, b.ropeTheta);
        QCOMPARE(a.rotaryFraction, b.rotaryFraction);
        QCOMPARE(a.kvHeads, b.kvHeads);
        QCOMPARE(a.headDim, b.headDim);
        AnalysisRequest request;
        request.ids = {5, 17, 300, 42, 7, 1999, 3};
        auto ra = (*v5)->analyze(request), rb = (*v4)->analyze(request);
        QVERIFY(ra.ok() && rb.ok());
        QCOMPARE(ra->forward.attentionTensor().data, rb->forward.attentionTensor().data);
    }

    // Grouped-query attention: query heads sharing a key/value head read the same K.
    void groupedQueryHeadsShareKeys() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("llama/model"));
        QVERIFY(model.ok());
        QCOMPARE((*model)->config().heads, 4);
        QCOMPARE((*model)->config().kvHeads, 2);
        QCOMPARE(ForwardResult::kvHeadFor(0, 4, 2), 0);
        QCOMPARE(ForwardResult::kvHeadFor(1, 4, 2), 0);
        QCOMPARE(ForwardResult::kvHeadFor(3, 4, 2), 1);
        AnalysisRequest request;
        request.ids = {1, 2, 3, 4, 5};
        auto a = (*model)->analyze(request);
        QVERIFY(a.ok());
        QCOMPARE(a->forward.layers[0].k.cols(), 2 * 16);
        QCOMPARE(a->forward.layers[0].q.cols(), 4 * 16);
        QCOMPARE(int(a->forward.layers[0].scores.size()), 4);
        // scores row-softmax equals the stored probabilities
        const Mat& s = a->forward.layers[1].scores[2];
        const Mat& p = a->forward.layers[1].attention[2];
        const float rowMax = s.row(3).head(4).maxCoeff();
        float sum = 0;
        for (int j = 0; j < 4; ++j)
            sum += std::exp(s(3, j) - rowMax);
        QVERIFY(std::abs(std::exp(s(3, 1) - rowMax) / sum - p(3, 1)) < 1e-6);
        QCOMPARE(p(3, 4), 0.0f); // causal
    }

    // Typing at the end: a causal model reuses the shared prefix and gets the same numbers.
    void prefixReuseEqualsFullPass_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("keptTokens");
        for (const char* family : {"gpt2", "llama", "qwen2", "gpt_neox"}) {
            QTest::newRow(qPrintable(QStringLiteral("%1 edit at end").arg(family)))
                << QString(family) << 9;
            QTest::newRow(qPrintable(QStringLiteral("%1 edit in middle").arg(family)))
                << QString(family) << 3;
            QTest::newRow(qPrintable(QStringLiteral("%1 no change").arg(family)))
                << QString(family) << 12;
        }
    }
    void prefixReuseEqualsFullPass() {
        QFETCH(QString, family);
        QFETCH(int, keptTokens);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY(model.ok());
        AnalysisRequest first;
        first.ids = {11, 22, 33, 44, 55, 66, 77, 88, 99, 111, 122, 133};
        auto before = (*model)->analyze(first);
        QVERIFY(before.ok());
        QCOMPARE(before->reusedTokens, 0);

        AnalysisRequest edited;
        edited.ids.assign(first.ids.begin(), first.ids.begin() + keptTokens);
        for (int64_t id : {500, 600, 700})
            edited.ids.push_back(id);
        if (keptTokens == 12) edited.ids = first.ids;
        auto full = (*model)->analyze(edited);
        edited.previous = std::make_shared<const Analysis>(std::move(before.value()));
        auto incremental = (*model)->analyze(edited);
        QVERIFY(full.ok() && incremental.ok());
        QCOMPARE(incremental->reusedTokens, std::min(keptTokens, int(edited.ids.size()) - 1));

        const Tensor a = full->forward.attentionTensor(),
                     b = incremental->forward.attentionTensor();
        QCOMPARE(a.shape, b.shape);
        QVERIFY(maxAbsDiff(a.data.data(), b.data.data(), a.numel()) <= 1e-6);
        const Mat &x = full->forward.lastHiddenState, &y = incremental->forward.lastHiddenState;
        QCOMPARE(x.rows(), y.rows());
        QVERIFY(relDiff(y.data(), x.data(), x.size()) <= 1e-6);
        for (size_t l = 0; l < full->forward.layers.size(); ++l) {
            const LayerTrace &f = full->forward.layers[l], &g = incremental->forward.layers[l];
            QVERIFY(relDiff(g.k.data(), f.k.data(), f.k.size()) <= 1e-6);
            QVERIFY(relDiff(g.q.data(), f.q.data(), f.q.size()) <= 1e-6);
            QVERIFY(relDiff(g.hidden.data(), f.hidden.data(), f.hidden.size()) <= 1e-6);
            QCOMPARE(g.scores[0].rows(), f.scores[0].rows());
            QCOMPARE(g.scores[1](1, 0), f.scores[1](1, 0));
        }
    }

    // dump --layers/--heads: the other heads run row block by row block without a [T, T]
    // matrix. What is kept, and everything downstream, equals a pass that keeps all.
    void onlySomeHeadsKept_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("tokens");
        for (const char* family :
             {"gpt2", "llama", "qwen2", "gpt_neox", "bert", "roberta", "distilbert"})
            QTest::newRow(family) << QString(family) << 12;
        QTest::newRow("llama past one row block") << QStringLiteral("llama") << 200;
    }
    void onlySomeHeadsKept() {
        QFETCH(QString, family);
        QFETCH(int, tokens);
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        for (int i = 0; i < tokens; ++i)
            request.ids.push_back(5 + (i * 37) % 300);
        request.keep = KeepOptions::attentionOnly();
        auto full = (*model)->analyze(request);
        QVERIFY2(full.ok(), qPrintable(full.message()));
        const int L = full->layerCount(), H = full->headCount();
        request.keep.onlyLayers = {L - 1};
        request.keep.onlyHeads = {H - 1, 0};
        auto some = (*model)->analyze(request);
        QVERIFY2(some.ok(), qPrintable(some.message()));
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                const Mat& a = (*some->attention(l, h));
                if (l != L - 1 || (h != 0 && h != H - 1)) {
                    QCOMPARE(a.size(), Eigen::Index(0));
                    continue;
                }
                const Mat& b = (*full->attention(l, h));
                QCOMPARE(a.rows(), b.rows());
                QVERIFY2(maxAbsDiff(a.data(), b.data(), b.size()) == 0, // bit for bit
                         qPrintable(QString::number(maxAbsDiff(a.data(), b.data(), b.size()))));
            }
        const Mat &x = full->forward.lastHiddenState, &y = some->forward.lastHiddenState;
        QVERIFY(relDiff(y.data(), x.data(), x.size()) <= 1e-6);
        QCOMPARE(some->forward.keptAttention().layers, std::vector<int>{L - 1});
        QCOMPARE(some->forward.keptAttention().heads, (std::vector<int>{0, H - 1}));
        QCOMPARE(full->forward.keptAttention().heads.size(), size_t(H));
        const Tensor t = some->forward.attentionTensor();
        QCOMPARE(t.shape, (std::vector<int64_t>{1, 2, tokens, tokens}));
        QCOMPARE(t.data[size_t(tokens * tokens) + 1], (*full->attention(L - 1, H - 1))(0, 1));
    }

    void prefixReuseIgnoredForBidirectionalModels() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("bert/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {2, 50, 60, 70, 3};
        auto before = (*model)->analyze(request);
        QVERIFY(before.ok());
        request.previous = std::make_shared<const Analysis>(std::move(before.value()));
        request.ids.push_back(80);
        auto after = (*model)->analyze(request);
        QVERIFY(after.ok());
        QCOMPARE(after->reusedTokens, 0);
    }

    // The same checkpoint split into shards with an index, and stored as BF16, still loads;
    // the shards give identical numbers, BF16 ones the numbers of the rounded weights.
    void shardedAndBf16Checkpoints() {
        const QString source = kOracle + QStringLiteral("llama/model");
        auto whole = SafeTensorsFile::open(source + QStringLiteral("/model.safetensors"));
        QVERIFY(whole.ok());
        QTemporaryDir sharded, bf16, roundedF32;
        for (const QTemporaryDir* dir : {&sharded, &bf16, &roundedF32})
            QVERIFY(QFile::copy(source + QStringLiteral("/config.json"),
                                dir->filePath(QStringLiteral("config.json"))));
        std::vector<TensorToWrite> first, second, rounded, roundedAsF32;
        QJsonObject weightMap;
        const QStringList names = (*whole)->names();
        for (int i = 0; i < names.size(); ++i) {
            auto t = (*whole)->floatTensor(names[i]);
            QVERIFY(t.ok());
            const bool inFirst = i < names.size() / 2;
            (inFirst ? first : second).push_back(makeF32(names[i], t->shape, t->data));
            weightMap.insert(names[i], inFirst ? "model-00001-of-00002.safetensors"
                                               : "model-00002-of-00002.safetensors");
            QByteArray halves; // round to nearest even into bfloat16
            std::vector<float> widened;
            for (int64_t k = 0; k < t->numel(); ++k) {
                uint32_t bits;
                std::memcpy(&bits, &t->data[k], 4);
                const uint16_t b = uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
                halves.append(reinterpret_cast<const char*>(&b), 2);
                const uint32_t back = uint32_t(b) << 16;
                float f;
                std::memcpy(&f, &back, 4);
                widened.push_back(f);
            }
            rounded.push_back({names[i], DType::BF16, t->shape, halves});
            roundedAsF32.push_back(makeF32(names[i], t->shape, widened.data()));
        }
        QVERIFY(writeSafeTensors(sharded.filePath("model-00001-of-00002.safetensors"), first).ok());
        QVERIFY(
            writeSafeTensors(sharded.filePath("model-00002-of-00002.safetensors"), second).ok());
        QFile index(sharded.filePath("model.safetensors.index.json"));
        QVERIFY(index.open(QIODevice::WriteOnly));
        index.write(QJsonDocument(QJsonObject{{"weight_map", weightMap}}).toJson());
        index.close();
        QVERIFY(writeSafeTensors(bf16.filePath("model.safetensors"), rounded).ok());
        QVERIFY(writeSafeTensors(roundedF32.filePath("model.safetensors"), roundedAsF32).ok());

        AnalysisRequest request;
        request.ids = {1, 50, 700, 1999, 3, 42};
        auto reference = LoadedModel::open(source);
        auto fromShards = LoadedModel::open(sharded.path());
        auto fromBf16 = LoadedModel::open(bf16.path());
        auto fromRounded = LoadedModel::open(roundedF32.path());
        QVERIFY2(reference.ok() && fromShards.ok() && fromBf16.ok() && fromRounded.ok(),
                 qPrintable(reference.message() + fromShards.message() + fromBf16.message()));
        auto a = (*reference)->analyze(request), b = (*fromShards)->analyze(request),
             c = (*fromBf16)->analyze(request);
        auto d = (*fromRounded)->analyze(request);
        QVERIFY(a.ok() && b.ok() && c.ok() && d.ok());
        QCOMPARE(b->forward.attentionTensor().data, a->forward.attentionTensor().data);
        // Where the CPU has a tile unit, BF16 products go through the split product: the same
        // exact products summed in another order, so float32 roundings apart.
        const Tensor splitAttention = c->forward.attentionTensor();
        const Tensor widenedAttention = d->forward.attentionTensor();
        QVERIFY(maxAbsDiff(splitAttention.data.data(), widenedAttention.data.data(),
                           widenedAttention.numel()) < 1e-5);
        // With the float32 kernels the widening is exact: bit-identical to the rounded float32.
        setSplitBf16ProductEnabled(false);
        auto c32 = (*fromBf16)->analyze(request);
        setSplitBf16ProductEnabled(true);
        QVERIFY(c32.ok());
        QCOMPARE(c32->forward.attentionTensor().data, d->forward.attentionTensor().data);
        // bfloat16 keeps 8 bits of mantissa: close to, but not equal to, the float32 result
        const Tensor ta = a->forward.attentionTensor(), tc = c->forward.attentionTensor();
        const double bfDiff = maxAbsDiff(ta.data.data(), tc.data.data(), ta.numel());
        QVERIFY2(bfDiff > 0 && bfDiff < 0.2, qPrintable(QString::number(bfDiff)));
    }

    // Byte-level pieces of one character are labelled with that character, numbered.
    void splitCharactersGetReadableLabels() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.text = QStringLiteral("Hi \U0001F600!");
        auto a = (*model)->analyze(request);
        QVERIFY2(a.ok(), qPrintable(a.message()));
        // GPT-2 splits the emoji's four UTF-8 bytes over two tokens; HF gives them the offsets
        // of " 😀" and "😀".
        QCOMPARE(a->encoding.tokens,
                 (QStringList{"Hi", "\u0120\u00f0\u0141\u013a", "\u0122", "!"}));
        QCOMPARE(a->displayTokens,
                 (QStringList{"Hi", " \U0001F600 (1/2)", "\U0001F600 (2/2)", "!"}));
    }

    // A tiny GPT-2 with a 100k-token window: 100k tokens would need 160 GB for attention and
    // scores (80 GB each), which is refused up front with a message, not attempted.
    void inputsTooLargeForMemoryAreRefused() {
        QTemporaryDir dir;
        const int D = 8, P = 100000, V = 10;
        QFile config(dir.filePath("config.json"));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write(QJsonDocument(QJsonObject{{"model_type", "gpt2"},
                                               {"n_layer", 1},
                                               {"n_head", 2},
                                               {"n_embd", D},
                                               {"n_positions", P},
                                               {"vocab_size", V}})
                         .toJson());
        config.close();
        std::vector<std::vector<float>> storage;
        std::vector<TensorToWrite> tensors;
        const auto add = [&](const QString& name, std::vector<int64_t> shape) {
            int64_t n = 1;
            for (int64_t d : shape)
                n *= d;
            storage.emplace_back(size_t(n), 0.01f);
            tensors.push_back(makeF32(name, shape, storage.back().data()));
        };
        add("wte.weight", {V, D});
        add("wpe.weight", {P, D});
        for (const char* ln : {"h.0.ln_1", "h.0.ln_2", "ln_f"}) {
            add(QString(ln) + ".weight", {D});
            add(QString(ln) + ".bias", {D});
        }
        for (const auto& [name, in, out] :
             std::vector<std::tuple<QString, int, int>>{{"h.0.attn.c_attn", D, 3 * D},
                                                        {"h.0.attn.c_proj", D, D},
                                                        {"h.0.mlp.c_fc", D, 4 * D},
                                                        {"h.0.mlp.c_proj", 4 * D, D}}) {
            add(name + ".weight", {in, out});
            add(name + ".bias", {out});
        }
        QVERIFY(writeSafeTensors(dir.filePath("model.safetensors"), tensors).ok());
        auto model = LoadedModel::open(dir.path());
        QVERIFY2(model.ok(), qPrintable(model.message()));
        AnalysisRequest request;
        request.ids.assign(size_t(P), 1);
        qputenv("ATTNSCOPE_MEMORY_LIMIT_MB", "16384"); // the same limit on any machine
        // Lazy heads need one [T, T] head at a time: 40 GB here, refused too, saying so.
        auto lazy = (*model)->analyze(request);
        QVERIFY(!lazy.ok());
        QVERIFY2(lazy.message().contains(QStringLiteral("computing its heads on demand")),
                 qPrintable(lazy.message()));
        qputenv("ATTNSCOPE_EAGER_ATTENTION_MB", "1e12"); // every head kept: the eager estimate
        auto a = (*model)->analyze(request);
        qunsetenv("ATTNSCOPE_EAGER_ATTENTION_MB");
        qunsetenv("ATTNSCOPE_MEMORY_LIMIT_MB");
        QVERIFY(!a.ok());
        QVERIFY2(a.message().contains(QStringLiteral("allows 17.2 GB")), qPrintable(a.message()));
        // 2 heads' attention and scores kept (4 × 40 GB), plus the scores and probabilities
        // each thread builds for a kept head (2 × 40 GB per thread).
        const double gb = 4 * 40.0 + 2 * 40.0 * std::max(1, omp_get_max_threads());
        QVERIFY2(a.message().contains(
                     QStringLiteral("100000 tokens would need %1 GB").arg(gb, 0, 'f', 1)),
                 qPrintable(a.message()));
        request.ids.assign(64, 1); // and a normal length still runs
        QVERIFY((*model)->analyze(request).ok());
    }

    // 16-bit weights too large to widen to float32 within the memory limit are refused at
    // open. The GPT-2 fixture is stored as F16: about 6.7 MB once widened.
    void halfPrecisionTooLargeIsRefused() {
        // Widened to float32 (ATTNSCOPE_WIDEN_WEIGHTS=1), the copies alone exceed the limit.
        qputenv("ATTNSCOPE_MEMORY_LIMIT_MB", "2");
        qputenv("ATTNSCOPE_WIDEN_WEIGHTS", "1");
        auto widened = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        qunsetenv("ATTNSCOPE_WIDEN_WEIGHTS");
        QVERIFY(!widened.ok());
        QVERIFY2(widened.message().contains(QStringLiteral("16-bit floats")) &&
                     widened.message().contains(QStringLiteral("needs 0.007 GB")),
                 qPrintable(widened.message()));
        // Kept 16-bit, the weights take 3.3 MB (mapped, plus the widened vectors): still over 2 MB.
        auto kept = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(!kept.ok());
        QVERIFY2(kept.message().contains(QStringLiteral("weights take 3.3 MB")),
                 qPrintable(kept.message()));
        qputenv("ATTNSCOPE_MEMORY_LIMIT_MB", "4"); // fits kept, not widened (3.3 + 6.6 MB)
        QVERIFY(LoadedModel::open(kOracle + QStringLiteral("gpt2/model")).ok());
        qputenv("ATTNSCOPE_WIDEN_WEIGHTS", "1");
        QVERIFY(!LoadedModel::open(kOracle + QStringLiteral("gpt2/model")).ok());
        qunsetenv("ATTNSCOPE_WIDEN_WEIGHTS");
        qunsetenv("ATTNSCOPE_MEMORY_LIMIT_MB");
        QVERIFY(LoadedModel::open(kOracle + QStringLiteral("gpt2/model")).ok());
    }

    // The memory guard counts the weights: LoadedModel::weightBytes() is the file's tensor
    // bytes (mapped) plus a float32 copy of every F64 tensor and of the F16/BF16 vectors (16-bit
    // matrices stay 16-bit), or of every F16/BF16/F64 tensor with ATTNSCOPE_WIDEN_WEIGHTS=1;
    // computed here from the header with Qt's JSON reader alone.
    void weightBytesCountMappedAndWidened_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<bool>("widen");
        for (const QString& family : kFamilies) {
            QTest::newRow(qPrintable(family)) << family << false;
            QTest::newRow(qPrintable(family + QStringLiteral(" widened"))) << family << true;
        }
    }
    void weightBytesCountMappedAndWidened() {
        QFETCH(QString, family);
        QFETCH(bool, widen);
        QFile file(kOracle + family + QStringLiteral("/model/model.safetensors"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        quint64 headerLength = 0;
        std::memcpy(&headerLength, bytes.constData(), 8);
        const QJsonObject header =
            QJsonDocument::fromJson(bytes.mid(8, qsizetype(headerLength))).object();
        double expected = 0;
        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == QLatin1String("__metadata__")) continue;
            const QJsonObject entry = it.value().toObject();
            const QJsonArray offsets = entry.value(QStringLiteral("data_offsets")).toArray();
            expected += offsets[1].toDouble() - offsets[0].toDouble();
            const QString dtype = entry.value(QStringLiteral("dtype")).toString();
            const QJsonArray shape = entry.value(QStringLiteral("shape")).toArray();
            const bool half = dtype == QLatin1String("F16") || dtype == QLatin1String("BF16");
            if (dtype == QLatin1String("F64") || (half && (widen || shape.size() == 1))) {
                double values = 1;
                for (const QJsonValue& d : shape)
                    values *= d.toDouble();
                expected += 4 * values;
            }
        }
        if (widen) qputenv("ATTNSCOPE_WIDEN_WEIGHTS", "1");
        auto model = LoadedModel::open(kOracle + family + QStringLiteral("/model"));
        qunsetenv("ATTNSCOPE_WIDEN_WEIGHTS");
        QVERIFY2(model.ok(), qPrintable(model.message()));
        QVERIFY(expected > 100000);
        QCOMPARE((*model)->weightBytes(), expected);
    }

    void keepLessSavesMemory() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {464, 3797, 3332};
        request.keep = KeepOptions::attentionOnly();
        auto a = (*model)->analyze(request);
        QVERIFY(a.ok());
        QVERIFY(a->forward.layers[0].scores.empty());
        QCOMPARE(a->forward.layers[0].q.size(), Eigen::Index(0));
        QCOMPARE(a->forward.layers[0].hidden.size(), Eigen::Index(0));
        QCOMPARE(int(a->forward.layers[0].attention.size()), 4);
    }

    void cancellationStopsBetweenLayers() {
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids = {464, 3797, 3332};
        int calls = 0;
        auto a = (*model)->analyze(request, [&](int, int) { return ++calls < 1; });
        QVERIFY(!a.ok());
        QCOMPARE(a.message(), QStringLiteral("cancelled"));
        QCOMPARE(calls, 1);
    }

    void badTokenInputsAreErrors_data() {
        QTest::addColumn<QList<qint64>>("ids");
        QTest::addColumn<QString>("expected");
        QTest::newRow("id past vocab") << QList<qint64>{1, 50257} << "outside the vocabulary";
        QTest::newRow("negative id") << QList<qint64>{-1} << "outside the vocabulary";
        QList<qint64> tooMany;
        for (int i = 0; i < 129; ++i)
            tooMany << 1;
        QTest::newRow("too many positions") << tooMany << "maximum of 128 positions";
    }
    void badTokenInputsAreErrors() {
        QFETCH(QList<qint64>, ids);
        QFETCH(QString, expected);
        auto model = LoadedModel::open(kOracle + QStringLiteral("gpt2/model"));
        QVERIFY(model.ok());
        AnalysisRequest request;
        request.ids.assign(ids.begin(), ids.end());
        auto a = (*model)->analyze(request);
        QVERIFY(!a.ok());
        QVERIFY2(a.message().contains(expected), qPrintable(a.message()));
    }
};

QTEST_GUILESS_MAIN(TestModels)
#include "tst_models.moc"
