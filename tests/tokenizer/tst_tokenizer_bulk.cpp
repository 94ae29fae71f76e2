// tokenizer.json read by the purpose-built reader (vocabulary and merges) against the whole file
// read by QJsonDocument: the same tokenizer (encodings, vocabulary) on a generated 150 000-entry
// byte-level BPE and every fixture, and the same error message for every malformed file.
#include "big_bpe_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "unusual_tokenizer_files.h"

#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace attnscope;

namespace {
const QStringList kSampleTexts = {
    QStringLiteral("The quick brown fox jumps over the lazy dog."),
    QStringLiteral("  leading spaces, trailing spaces   "),
    QStringLiteral("Numbers 1234567 and symbols #$%&*() \"quoted\" back\\slash"),
    QStringLiteral("Unicode: café naïve Zürich 東京 😀 𝔸 — dashes"),
    QStringLiteral("Once upon a time, there lived a tokenizer with a very large vocabulary; "
                   "its merges were many and its strings were long.\nNew line\ttab"),
    QStringLiteral("<|endoftext|>special in the middle<|endoftext|>"),
};

using Loaded = Result<std::shared_ptr<const Tokenizer>>;

// Same vocabulary and the same encodings of every sample text.
void compareTokenizers(const Tokenizer& fast, const Tokenizer& reference) {
    QCOMPARE(fast.vocabSize(), reference.vocabSize());
    const int step = std::max(1, reference.vocabSize() / 997);
    for (int id = 0; id < reference.vocabSize(); id += step)
        QCOMPARE(fast.idToToken(id), reference.idToToken(id));
    for (const QString& text : kSampleTexts) {
        auto a = fast.encode(text);
        auto b = reference.encode(text);
        QCOMPARE(a.ok(), b.ok());
        if (!a.ok()) {
            QCOMPARE(a.message(), b.message());
            continue;
        }
        QCOMPARE(a->ids, b->ids);
        QCOMPARE(a->tokens, b->tokens);
        QCOMPARE(a->offsets, b->offsets);
        QCOMPARE(fast.decode(a->ids), reference.decode(b->ids));
    }
}
} // namespace

class TestTokenizerBulk : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_serial = 0;

    QString write(const QByteArray& bytes) {
        const QString path = m_dir.filePath(QStringLiteral("t%1.json").arg(++m_serial));
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size()) return {};
        return path;
    }

private slots:
    void generatedVocabulary_data() {
        QTest::addColumn<int>("vocabSize");
        QTest::addColumn<bool>("mergesAsPairs");
        QTest::addColumn<bool>("escapeNonAscii");
        QTest::newRow("150k, merges as strings") << 150000 << false << false;
        QTest::newRow("150k, merges as pairs") << 150000 << true << false;
        QTest::newRow("20k, non-ASCII as \\u escapes") << 20000 << false << true;
    }
    void generatedVocabulary() {
        QFETCH(int, vocabSize);
        QFETCH(bool, mergesAsPairs);
        QFETCH(bool, escapeNonAscii);
        const QString path =
            write(testing::bigBpeTokenizerJson({vocabSize, mergesAsPairs, escapeNonAscii}));
        QVERIFY(!path.isEmpty());
        Loaded fast = Tokenizer::fromTokenizerJson(path);
        QVERIFY2(fast.ok(), qPrintable(fast.message()));
        Loaded reference =
            Tokenizer::fromTokenizerJson(path, Tokenizer::JsonReader::QJsonDocumentOnly);
        QVERIFY2(reference.ok(), qPrintable(reference.message()));
        QCOMPARE((*fast)->vocabSize(), vocabSize + 1); // plus <|endoftext|>
        compareTokenizers(**fast, **reference);
        // The merges are in use: a common word is fewer tokens than its characters.
        auto e = (*fast)->encode(QStringLiteral("the the the"));
        QVERIFY(e.ok());
        QVERIFY2(e->size() < 11, qPrintable(e->tokens.join(QLatin1Char('|'))));
    }

    void fixtures_data() {
        QTest::addColumn<QString>("path");
        QDirIterator it(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle"),
                        {QStringLiteral("tokenizer.json")}, QDir::Files,
                        QDirIterator::Subdirectories);
        QStringList paths;
        while (it.hasNext())
            paths << it.next();
        paths.sort();
        QVERIFY(paths.size() >= 10);
        for (const QString& p : paths)
            QTest::newRow(qPrintable(p.mid(p.indexOf(QLatin1String("oracle/")) + 7))) << p;
    }
    void fixtures() {
        QFETCH(QString, path);
        Loaded fast = Tokenizer::fromTokenizerJson(path);
        Loaded reference =
            Tokenizer::fromTokenizerJson(path, Tokenizer::JsonReader::QJsonDocumentOnly);
        QVERIFY2(reference.ok(), qPrintable(reference.message()));
        QVERIFY2(fast.ok(), qPrintable(fast.message()));
        compareTokenizers(**fast, **reference);
    }

    // Files the bulk reader gives up on (or reads) must end exactly as QJsonDocument ends them:
    // the same tokenizer, or the same error message.
    void unusualFiles_data() {
        QTest::addColumn<QByteArray>("model"); // the "model" object's members
        QTest::addColumn<bool>("loads");
        for (const UnusualFile& f : unusualTokenizerFiles())
            QTest::newRow(f.name) << f.model << f.loads;
    }
    void unusualFiles() {
        QFETCH(QByteArray, model);
        QFETCH(bool, loads);
        const QByteArray file = wrapModelMembers(model);
        const QString path = write(file);
        Loaded fast = Tokenizer::fromTokenizerJson(path);
        Loaded reference =
            Tokenizer::fromTokenizerJson(path, Tokenizer::JsonReader::QJsonDocumentOnly);
        QCOMPARE(reference.ok(), loads);
        QCOMPARE(fast.ok(), reference.ok());
        if (!loads) {
            QCOMPARE(fast.message(), reference.message());
            return;
        }
        compareTokenizers(**fast, **reference);
        auto e = (*fast)->encode(QStringLiteral("low lo"));
        QVERIFY(e.ok());
    }

    // A vocabulary big enough that the merges' lookups are split over two threads and the
    // vocabulary is indexed beside the reader (issue 14), edited where those threads meet:
    // a merge naming a missing token in either half or at the end, a token repeated (the
    // index, built on the second thread, finds it), a merge whose joined token is missing.
    // The same tokenizer or the same one-line error as QJsonDocument's path.
    void editedBigVocabulary_data() {
        QTest::addColumn<QByteArray>("find");    // first occurrence replaced...
        QTest::addColumn<QByteArray>("replace"); // ...by this
        QTest::addColumn<bool>("loads");
        QTest::addColumn<QString>("error"); // part of the message when it does not load
        QTest::newRow("missing token, first merge")
            << QByteArray("\"merges\": [\n") << QByteArray("\"merges\": [\n      \"qqq zzz\",\n")
            << false << "BPE merge \"qqq zzz\" names a token missing from the vocabulary (\"qqq\")";
        QTest::newRow("missing token, last merge")
            << QByteArray("\n    ]\n  }") << QByteArray(",\n      \"! qqq\"\n    ]\n  }") << false
            << "names a token missing from the vocabulary (\"qqq\")";
        QTest::newRow("joined token missing")
            << QByteArray("\"merges\": [\n") << QByteArray("\"merges\": [\n      \"~ ~\",\n")
            << false << "(\"~~\")";
        QTest::newRow("token repeated with another id")
            << QByteArray("\"vocab\": {\n") << QByteArray("\"vocab\": {\n      \"!\": 7,\n") << true
            << "";
    }
    void editedBigVocabulary() {
        QFETCH(QByteArray, find);
        QFETCH(QByteArray, replace);
        QFETCH(bool, loads);
        QFETCH(QString, error);
        QByteArray file = testing::bigBpeTokenizerJson({30000, false, false});
        const qsizetype at = file.indexOf(find);
        QVERIFY(at >= 0);
        file.replace(at, find.size(), replace);
        const QString path = write(file);
        Loaded fast = Tokenizer::fromTokenizerJson(path);
        Loaded reference =
            Tokenizer::fromTokenizerJson(path, Tokenizer::JsonReader::QJsonDocumentOnly);
        QCOMPARE(reference.ok(), loads);
        QCOMPARE(fast.ok(), loads);
        if (!loads) {
            QCOMPARE(fast.message(), reference.message());
            QVERIFY2(fast.message().contains(error), qPrintable(fast.message()));
            QVERIFY(!fast.message().contains(QLatin1Char('\n')));
            return;
        }
        compareTokenizers(**fast, **reference);
    }

    // Not UTF-8: both readers see the same repaired text.
    void invalidUtf8() {
        QByteArray file = invalidUtf8TokenizerJson();
        const QString path = write(file);
        Loaded fast = Tokenizer::fromTokenizerJson(path);
        Loaded reference =
            Tokenizer::fromTokenizerJson(path, Tokenizer::JsonReader::QJsonDocumentOnly);
        QCOMPARE(fast.ok(), reference.ok());
        if (reference.ok())
            compareTokenizers(**fast, **reference);
        else
            QCOMPARE(fast.message(), reference.message());
    }
};

QTEST_GUILESS_MAIN(TestTokenizerBulk)
#include "tst_tokenizer_bulk.moc"
