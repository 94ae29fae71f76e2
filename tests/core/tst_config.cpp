// config.json reading: both transformers styles, and refusal of what is not implemented.
#include "config.h"
#include "session.h"

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
QJsonObject llamaConfig() {
    return QJsonDocument::fromJson(R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,
        "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":128,"vocab_size":2000,
        "max_position_embeddings":256,"rms_norm_eps":1e-5,"hidden_act":"silu"})")
        .object();
}
} // namespace

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    void unsupportedFeaturesAreNamed_data() {
        QTest::addColumn<QJsonObject>("json");
        QTest::addColumn<QString>("expected");
        QJsonObject unknown = llamaConfig();
        unknown["model_type"] = "mamba";
        QTest::newRow("unknown model type") << unknown << "unsupported model type \"mamba\"";
        QJsonObject noType = llamaConfig();
        noType.remove("model_type");
        QTest::newRow("no model type") << noType << "no model_type";
        QJsonObject yarn = llamaConfig();
        yarn["rope_scaling"] = QJsonObject{{"rope_type", "yarn"}, {"factor", 4.0}};
        QTest::newRow("rope scaling v4") << yarn << "rope scaling type \"yarn\"";
        QJsonObject llama3 = llamaConfig();
        llama3["rope_parameters"] = QJsonObject{{"rope_type", "llama3"}, {"rope_theta", 500000.0}};
        QTest::newRow("rope scaling v5") << llama3 << "rope scaling type \"llama3\"";
        QJsonObject mistral = llamaConfig();
        mistral["model_type"] = "mistral";
        mistral["sliding_window"] = 4096;
        QTest::newRow("sliding window") << mistral << "sliding-window attention";
        QJsonObject qwen = llamaConfig();
        qwen["model_type"] = "qwen2";
        qwen["use_sliding_window"] = true;
        qwen["sliding_window"] = 32;
        QTest::newRow("qwen2 sliding window") << qwen << "sliding-window attention";
        QJsonObject act = llamaConfig();
        act["hidden_act"] = "mish";
        QTest::newRow("activation") << act << "activation function \"mish\"";
        QJsonObject gqa = llamaConfig();
        gqa["num_key_value_heads"] = 3;
        QTest::newRow("heads not a multiple") << gqa << "not a multiple of 3";
        QJsonObject bert =
            QJsonDocument::fromJson(R"({"model_type":"bert","hidden_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":100,"position_embedding_type":"relative_key"})")
                .object();
        QTest::newRow("relative positions") << bert << "position_embedding_type \"relative_key\"";
        QJsonObject sizes = llamaConfig();
        sizes.remove("hidden_size");
        QTest::newRow("missing sizes") << sizes << "lacks";
    }
    void unsupportedFeaturesAreNamed() {
        QFETCH(QJsonObject, json);
        QFETCH(QString, expected);
        auto config = ModelConfig::fromJson(json);
        QVERIFY(!config.ok());
        QVERIFY2(config.message().contains(expected), qPrintable(config.message()));
    }

    void bothConfigStyles_data() {
        QTest::addColumn<QJsonObject>("json");
        QTest::addColumn<double>("theta");
        QTest::addColumn<double>("fraction");
        QJsonObject v4 = llamaConfig();
        v4["rope_theta"] = 500000.0;
        QTest::newRow("llama v4") << v4 << 500000.0 << 1.0;
        QJsonObject v5 = llamaConfig();
        v5["rope_parameters"] = QJsonObject{{"rope_type", "default"}, {"rope_theta", 1e6}};
        QTest::newRow("llama v5") << v5 << 1e6 << 1.0;
        QJsonObject neox4 = QJsonDocument::fromJson(
                                R"({"model_type":"gpt_neox","hidden_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":100,"rotary_pct":0.5,"rotary_emb_base":20000})")
                                .object();
        QTest::newRow("neox v4") << neox4 << 20000.0 << 0.5;
        QJsonObject neox5 = QJsonDocument::fromJson(
                                R"({"model_type":"gpt_neox","hidden_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":100,
            "rope_parameters":{"rope_type":"default","rope_theta":30000,"partial_rotary_factor":0.25}})")
                                .object();
        QTest::newRow("neox v5") << neox5 << 30000.0 << 0.25;
    }
    void bothConfigStyles() {
        QFETCH(QJsonObject, json);
        QFETCH(double, theta);
        QFETCH(double, fraction);
        auto config = ModelConfig::fromJson(json);
        QVERIFY2(config.ok(), qPrintable(config.message()));
        QCOMPARE(config->ropeTheta, theta);
        QCOMPARE(config->rotaryFraction, fraction);
    }

    void headDimGivenOrDerived() {
        QJsonObject json = llamaConfig();
        QCOMPARE(ModelConfig::fromJson(json)->headDim, 16);
        json["head_dim"] = 32;
        QCOMPARE(ModelConfig::fromJson(json)->headDim, 32);
    }

    void activations_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("activation");
        QTest::newRow("gelu") << "gelu" << int(Activation::GeluErf);
        QTest::newRow("gelu_new") << "gelu_new" << int(Activation::GeluTanh);
        QTest::newRow("gelu_pytorch_tanh") << "gelu_pytorch_tanh" << int(Activation::GeluTanh);
        QTest::newRow("silu") << "silu" << int(Activation::Silu);
        QTest::newRow("relu") << "relu" << int(Activation::Relu);
    }
    void activations() {
        QFETCH(QString, name);
        QFETCH(int, activation);
        QJsonObject json = llamaConfig();
        json["hidden_act"] = name;
        auto config = ModelConfig::fromJson(json);
        QVERIFY(config.ok());
        QCOMPARE(int(config->activation), activation);
    }

    void openingBadFolders_data() {
        QTest::addColumn<QString>("configJson");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no config") << QString() << "no config.json";
        QTest::newRow("invalid json") << "{oops"
                                      << "invalid JSON";
        QTest::newRow("no weights")
            << QString::fromUtf8(QJsonDocument(llamaConfig()).toJson()) << "no .safetensors";
    }
    void openingBadFolders() {
        QFETCH(QString, configJson);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        if (!configJson.isEmpty()) {
            QFile f(dir.filePath("config.json"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(configJson.toUtf8());
        }
        auto model = LoadedModel::open(dir.path());
        QVERIFY(!model.ok());
        QVERIFY2(model.message().contains(expected), qPrintable(model.message()));
        QVERIFY(!LoadedModel::open(dir.filePath("missing")).ok());
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
