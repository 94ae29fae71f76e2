// config.json values of the wrong type or impossible (issue 15): each is refused with a message
// naming the key and what was found, never read as 0 or a default; null stays "absent".
#include "config.h"

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
QJsonObject base(const QString& family) {
    const char* json =
        family == QLatin1String("gpt2")
            ? R"({"model_type":"gpt2","n_layer":2,"n_head":4,"n_embd":32,"n_positions":128,
                 "vocab_size":50257,"layer_norm_epsilon":1e-5})"
        : family == QLatin1String("vit")
            ? R"({"model_type":"vit","hidden_size":64,"num_hidden_layers":2,
                 "num_attention_heads":4,"intermediate_size":128,"image_size":28,
                 "patch_size":4,"num_channels":1,"layer_norm_eps":1e-12})"
            : R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":128,
                 "vocab_size":2000,"max_position_embeddings":256,"rms_norm_eps":1e-5,
                 "rope_theta":10000.0,"hidden_act":"silu"})";
    return QJsonDocument::fromJson(json).object();
}
} // namespace

class TestConfigTypes : public QObject {
    Q_OBJECT
private slots:
    void baseConfigsLoad() {
        for (const char* f : {"gpt2", "llama", "vit"})
            QVERIFY2(ModelConfig::fromJson(base(QLatin1String(f))).ok(), f);
    }

    void wrongTypesNameKeyAndType_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("expected");
        const QString posInt = QStringLiteral("must be a positive integer, found ");
        const QString posNum = QStringLiteral("must be a positive number, found ");
        QTest::newRow("n_embd 32.5")
            << "gpt2"
            << "n_embd" << QJsonValue(32.5) << "n_embd " + posInt + "the number 32.5";
        QTest::newRow("n_head \"4\"")
            << "gpt2"
            << "n_head" << QJsonValue("4") << "n_head " + posInt + "a string (\"4\")";
        QTest::newRow("n_layer -3")
            << "gpt2"
            << "n_layer" << QJsonValue(-3) << "n_layer " + posInt + "the number -3";
        QTest::newRow("n_layer true")
            << "gpt2"
            << "n_layer" << QJsonValue(true) << "n_layer " + posInt + "a boolean";
        QTest::newRow("n_positions 0")
            << "gpt2"
            << "n_positions" << QJsonValue(0) << "n_positions " + posInt + "the number 0";
        QTest::newRow("vocab_size 1e12")
            << "gpt2"
            << "vocab_size" << QJsonValue(1e12) << "vocab_size " + posInt;
        QTest::newRow("layer_norm_epsilon -1e-5")
            << "gpt2"
            << "layer_norm_epsilon" << QJsonValue(-1e-5)
            << "layer_norm_epsilon " + posNum + "the number -1e-05";
        QTest::newRow("layer_norm_epsilon \"1e-5\"")
            << "gpt2"
            << "layer_norm_epsilon" << QJsonValue("1e-5")
            << "layer_norm_epsilon " + posNum + "a string (\"1e-5\")";
        QTest::newRow("activation_function 3")
            << "gpt2"
            << "activation_function" << QJsonValue(3) << "activation_function must be a string";
        QTest::newRow("num_hidden_layers -2") << "llama"
                                              << "num_hidden_layers" << QJsonValue(-2)
                                              << "num_hidden_layers " + posInt + "the number -2";
        QTest::newRow("num_attention_heads [4]")
            << "llama"
            << "num_attention_heads" << QJsonValue(QJsonArray{4})
            << "num_attention_heads " + posInt + "a list";
        QTest::newRow("num_key_value_heads {}")
            << "llama"
            << "num_key_value_heads" << QJsonValue(QJsonObject{})
            << "num_key_value_heads " + posInt + "an object";
        QTest::newRow("rope_theta -1")
            << "llama"
            << "rope_theta" << QJsonValue(-1) << "rope_theta " + posNum + "the number -1";
        QTest::newRow("rope_theta \"big\"")
            << "llama"
            << "rope_theta" << QJsonValue("big") << "rope_theta " + posNum + "a string (\"big\")";
        QTest::newRow("rope_parameters.rope_theta 0")
            << "llama"
            << "rope_parameters" << QJsonValue(QJsonObject{{"rope_theta", 0}})
            << "rope_parameters.rope_theta " + posNum + "the number 0";
        QTest::newRow("rms_norm_eps 0")
            << "llama"
            << "rms_norm_eps" << QJsonValue(0) << "rms_norm_eps " + posNum + "the number 0";
        QTest::newRow("max_position_embeddings 2.5")
            << "llama"
            << "max_position_embeddings" << QJsonValue(2.5)
            << "max_position_embeddings " + posInt + "the number 2.5";
        QTest::newRow("model_type 5")
            << "llama"
            << "model_type" << QJsonValue(5) << "model_type must be a string, found the number 5";
        QTest::newRow("patch_size \"4\"")
            << "vit"
            << "patch_size" << QJsonValue("4") << "patch_size " + posInt + "a string (\"4\")";
        QTest::newRow("layer_norm_eps -0.1") << "vit"
                                             << "layer_norm_eps" << QJsonValue(-0.1)
                                             << "layer_norm_eps " + posNum + "the number -0.1";
    }
    void wrongTypesNameKeyAndType() {
        QFETCH(QString, family);
        QFETCH(QString, key);
        QFETCH(QJsonValue, value);
        QFETCH(QString, expected);
        QJsonObject json = base(family);
        json.insert(key, value);
        const auto config = ModelConfig::fromJson(json);
        QVERIFY2(!config.ok(), "accepted");
        QVERIFY2(
            config.message().contains(expected),
            qPrintable(QStringLiteral("expected \"%1\" in: %2").arg(expected, config.message())));
    }

    void nullMeansAbsent_data() {
        QTest::addColumn<QString>("key");
        QTest::newRow("n_inner") << "n_inner";
        QTest::newRow("head_dim") << "head_dim";
        QTest::newRow("activation_function") << "activation_function";
    }
    void nullMeansAbsent() {
        QFETCH(QString, key);
        QJsonObject json = base(QStringLiteral("gpt2"));
        json.insert(key, QJsonValue::Null);
        const auto config = ModelConfig::fromJson(json);
        QVERIFY2(config.ok(), qPrintable(config.message()));
        QCOMPARE(config->hidden, 32);
    }

    void fileThatIsNotAnObject_data() {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        QTest::newRow("[]") << QByteArray("[]") << "must hold a JSON object, found a list";
        QTest::newRow("[1,2]") << QByteArray("[1, 2]") << "must hold a JSON object, found a list";
        QTest::newRow("not JSON") << QByteArray("{\"a\":") << "invalid JSON";
    }
    void fileThatIsNotAnObject() {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("config.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(content);
        f.close();
        const auto config = ModelConfig::fromFile(path);
        QVERIFY(!config.ok());
        QVERIFY2(config.message().contains(expected), qPrintable(config.message()));
        QVERIFY(!config.message().contains(QLatin1String("no error occurred")));
    }
};

QTEST_GUILESS_MAIN(TestConfigTypes)
#include "tst_config_types.moc"
