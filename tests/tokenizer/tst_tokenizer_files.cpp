// tokenizer.json content that used to be read as something else (issue 15): vocab ids given as
// strings (every token became id 0), merges that are not a list (character-level tokens),
// merges naming tokens the vocabulary lacks (accepted silently). Each is now an error naming
// what is wrong; the well-formed file it is derived from tokenizes as expected.
#include "tokenizer/tokenizer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
// A tiny BPE tokenizer: whitespace split, merges l+o -> lo, lo+w -> low.
QJsonObject tokenizerJson() {
    return QJsonDocument::fromJson(R"({
        "version": "1.0",
        "pre_tokenizer": {"type": "Whitespace"},
        "model": {"type": "BPE", "unk_token": "[UNK]",
                  "vocab": {"[UNK]": 0, "l": 1, "o": 2, "w": 3, "lo": 4, "low": 5, "e": 6},
                  "merges": ["l o", "lo w"]}
    })")
        .object();
}
} // namespace

class TestTokenizerFiles : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_serial = 0;

    Result<std::shared_ptr<const Tokenizer>> load(const QJsonObject& json) {
        const QString path = m_dir.filePath(QStringLiteral("t%1.json").arg(++m_serial));
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) return Error{QStringLiteral("cannot write test file")};
        f.write(QJsonDocument(json).toJson());
        f.close();
        return Tokenizer::fromTokenizerJson(path);
    }

private slots:
    void wellFormed() {
        auto t = load(tokenizerJson());
        QVERIFY2(t.ok(), qPrintable(t.message()));
        auto e = (*t)->encode(QStringLiteral("low lo e"));
        QVERIFY2(e.ok(), qPrintable(e.message()));
        QCOMPARE(e->ids, (std::vector<int64_t>{5, 4, 6}));
    }

    void refused_data() {
        QTest::addColumn<QString>("key"); // in "model"
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("expected");
        QJsonObject vocab = tokenizerJson()["model"].toObject()["vocab"].toObject();
        QJsonObject stringIds = vocab;
        stringIds["low"] = "5";
        QTest::newRow("vocab id as string")
            << "vocab" << QJsonValue(stringIds)
            << "the id of \"low\" must be a non-negative integer, found a string (\"5\")";
        QJsonObject negative = vocab;
        negative["e"] = -1;
        QTest::newRow("negative vocab id")
            << "vocab" << QJsonValue(negative) << "the id of \"e\" must be a non-negative integer";
        QJsonObject fraction = vocab;
        fraction["e"] = 6.5;
        QTest::newRow("fractional vocab id")
            << "vocab" << QJsonValue(fraction) << "the id of \"e\" must be a non-negative integer";
        QTest::newRow("merges a string")
            << "merges" << QJsonValue("l o") << "\"merges\" in tokenizer.json must be a list";
        QTest::newRow("merges an object") << "merges" << QJsonValue(QJsonObject{{"l", "o"}})
                                          << "\"merges\" in tokenizer.json must be a list";
        QTest::newRow("merge of a missing token")
            << "merges" << QJsonValue(QJsonArray{"l o", "lo x"})
            << "BPE merge \"lo x\" names a token missing from the vocabulary (\"x\")";
        QTest::newRow("merge whose result is missing")
            << "merges" << QJsonValue(QJsonArray{"l o", "o w"})
            << "BPE merge \"o w\" names a token missing from the vocabulary (\"ow\")";
        QTest::newRow("merge pair form, missing first")
            << "merges" << QJsonValue(QJsonArray{QJsonArray{"q", "o"}})
            << "names a token missing from the vocabulary (\"q\")";
    }
    void refused() {
        QFETCH(QString, key);
        QFETCH(QJsonValue, value);
        QFETCH(QString, expected);
        QJsonObject json = tokenizerJson();
        QJsonObject model = json["model"].toObject();
        model[key] = value;
        json["model"] = model;
        auto t = load(json);
        QVERIFY2(!t.ok(), "accepted");
        QVERIFY2(t.message().contains(expected),
                 qPrintable(QStringLiteral("expected \"%1\" in: %2").arg(expected, t.message())));
    }

    void unigramEntriesChecked_data() {
        QTest::addColumn<QJsonValue>("entry");
        QTest::newRow("score as string") << QJsonValue(QJsonArray{"a", "-1.5"});
        QTest::newRow("piece as number") << QJsonValue(QJsonArray{7, -1.5});
        QTest::newRow("one element") << QJsonValue(QJsonArray{"a"});
    }
    void unigramEntriesChecked() {
        QFETCH(QJsonValue, entry);
        QJsonObject json = tokenizerJson();
        json["model"] = QJsonObject{{"type", "Unigram"},
                                    {"unk_id", 0},
                                    {"vocab", QJsonArray{QJsonArray{"<unk>", 0.0}, entry}}};
        auto t = load(json);
        QVERIFY(!t.ok());
        QVERIFY2(t.message().contains(QLatin1String("invalid Unigram vocab entry")),
                 qPrintable(t.message()));
    }
};

QTEST_GUILESS_MAIN(TestTokenizerFiles)
#include "tst_tokenizer_files.moc"
