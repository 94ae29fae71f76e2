// DeiT: the distillation token after [CLS]. A tiny checkpoint made from the ViT fixture
// (tests/data/deit/make_deit.py) against a float64 numpy forward pass written independently
// (that same script; it reproduces the ViT fixture's Hugging Face attentions within 1.1e-6).
#include "safetensors.h"
#include "session.h"

#include <QtTest>

using namespace attnscope;

namespace {
const QString kDeit = QStringLiteral(ATTNSCOPE_TEST_DATA "/deit/");
}

class TestDeit : public QObject {
    Q_OBJECT

private slots:
    void config() {
        auto model = LoadedModel::open(kDeit + QStringLiteral("model"));
        QVERIFY2(model, qPrintable(model.message()));
        const ModelConfig& c = (*model)->config();
        QVERIFY(c.distillationToken);
        QCOMPARE(c.prefixTokens(), 2);
        QCOMPARE(c.maxPositions, 4 * 4 + 2);
    }

    void attentionMatchesReference() {
        auto model = LoadedModel::open(kDeit + QStringLiteral("model"));
        QVERIFY2(model, qPrintable(model.message()));
        auto file = SafeTensorsFile::open(kDeit + QStringLiteral("reference.safetensors"));
        QVERIFY(file);
        auto pixels = (*file)->floatTensor(QStringLiteral("pixel_values"));    // [3, 32, 32]
        auto want = (*file)->floatTensor(QStringLiteral("attentions"));        // [L, H, T, T]
        auto last = (*file)->floatTensor(QStringLiteral("last_hidden_state")); // [T, D]
        QVERIFY(pixels && want && last);
        AnalysisRequest request;
        request.pixelValues.shape = pixels->shape;
        request.pixelValues.data.assign(pixels->data, pixels->data + pixels->numel());
        auto analysis = (*model)->analyze(request);
        QVERIFY2(analysis, qPrintable(analysis.message()));
        const int L = int(want->shape[0]), H = int(want->shape[1]), T = int(want->shape[2]);
        QCOMPARE(T, 18);
        QCOMPARE(analysis->tokenCount(), T);
        QCOMPARE(analysis->displayTokens.value(0), QStringLiteral("[CLS]"));
        QCOMPARE(analysis->displayTokens.value(1), QStringLiteral("[DIST]"));
        QCOMPARE(analysis->displayTokens.value(2), QStringLiteral("(0,0)"));
        QCOMPARE(analysis->displayTokens.value(17), QStringLiteral("(3,3)"));
        double worst = 0;
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                const ConstMatMap ref(want->data + size_t(l * H + h) * T * T, T, T);
                worst = std::max(
                    worst, double(((*analysis->attention(l, h)) - ref).cwiseAbs().maxCoeff()));
            }
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
        const ConstMatMap refLast(last->data, T, last->shape[1]);
        const double relative =
            (analysis->forward.lastHiddenState - refLast).cwiseAbs().maxCoeff() /
            refLast.cwiseAbs().maxCoeff();
        QVERIFY2(relative < 1e-4, qPrintable(QString::number(relative)));
    }

    // A ViT checkpoint fed the DeiT weights must not load silently (no distillation token slot).
    void vitConfigRefusesDeitPositions() {
        QTemporaryDir dir;
        QVERIFY(QFile::copy(kDeit + QStringLiteral("model/model.safetensors"),
                            dir.filePath(QStringLiteral("model.safetensors"))));
        QFile in(kDeit + QStringLiteral("model/config.json"));
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray json = in.readAll();
        json.replace("\"deit\"", "\"vit\"");
        QFile out(dir.filePath(QStringLiteral("config.json")));
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(json);
        out.close();
        auto model = LoadedModel::open(dir.path());
        QVERIFY(!model);
        QVERIFY2(model.message().contains(QLatin1String("position_embeddings")),
                 qPrintable(model.message()));
    }
};

QTEST_GUILESS_MAIN(TestDeit)
#include "tst_deit.moc"
