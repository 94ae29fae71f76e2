// Tokenizer tests: HF tokenizers reference vectors (ids, tokens, offsets, type ids, decode),
// model-folder cases, legacy file sets, hand-worked component tests and error handling.
#include "tokenizer/tokenizer.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <map>

using namespace attnscope;

namespace {

const QString kData = QStringLiteral(ATTNSCOPE_TEST_DATA);
QString oracle(const QString& rel) {
    return kData + QStringLiteral("/oracle/") + rel;
}

QJsonDocument readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll());
}

std::shared_ptr<const Tokenizer> cachedLoad(const QString& path, bool folder) {
    static std::map<QString, std::shared_ptr<const Tokenizer>> cache;
    auto it = cache.find(path);
    if (it != cache.end()) return it->second;
    auto r = folder ? Tokenizer::fromFolder(path) : Tokenizer::fromTokenizerJson(path);
    if (!r) {
        qWarning("load failed: %s", qPrintable(r.message()));
        return nullptr;
    }
    cache[path] = r.value();
    return r.value();
}

std::vector<int64_t> toIds(const QJsonValue& v) {
    std::vector<int64_t> out;
    for (const auto& x : v.toArray())
        out.push_back(int64_t(x.toDouble()));
    return out;
}

QStringList toStrings(const QJsonValue& v) {
    QStringList out;
    for (const auto& x : v.toArray())
        out << x.toString();
    return out;
}

std::vector<std::pair<int, int>> toOffsets(const QJsonValue& v) {
    std::vector<std::pair<int, int>> out;
    for (const auto& x : v.toArray())
        out.push_back({x.toArray().at(0).toInt(), x.toArray().at(1).toInt()});
    return out;
}

QString offsetsStr(const std::vector<std::pair<int, int>>& o) {
    QStringList parts;
    for (const auto& [a, b] : o)
        parts << QStringLiteral("(%1,%2)").arg(a).arg(b);
    return parts.join(QLatin1Char(' '));
}

QString idsStr(const std::vector<int64_t>& ids) {
    QStringList parts;
    for (auto i : ids)
        parts << QString::number(i);
    return parts.join(QLatin1Char(' '));
}

// Writes an inline tokenizer.json to a temp dir and loads it.
Result<std::shared_ptr<const Tokenizer>> loadInline(const QByteArray& json) {
    static QTemporaryDir dir;
    static int n = 0;
    QString path = dir.filePath(QStringLiteral("tok%1.json").arg(n++));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return Error{QStringLiteral("cannot write temp file")};
    f.write(json);
    f.close();
    return Tokenizer::fromTokenizerJson(path);
}

} // namespace

class TstTokenizer : public QObject {
    Q_OBJECT

private slots:
    void vectors_data();
    void vectors();
    void modelCases_data();
    void modelCases();
    void legacyFileSets_data();
    void legacyFileSets();

    void unigramViterbi();
    void wordLevel();
    void splitLookahead();
    void splitBehaviors();
    void addedTokensStripAndSingleWord();
    void digitsAndPunctuation();
    void wordPieceMaxChars();
    void bpeByteFallbackFuseUnk();
    void templatePair();
    void offsetsAfterNormalization();
    void surrogatePairsAndEmoji();
    void precompiledCharsmap();
    void bertChineseAndAccents();
    void metaspacePrependScheme();
    void emptyText();
    void displayToken();
    void decoders();
    void vocabAccess();
    void errors();
    void invalidUtf8File();
    void gpt2LoadSpeed();
    void robustness();
};

// ---------------- HF reference vectors ----------------

void TstTokenizer::vectors_data() {
    QTest::addColumn<QString>("tokPath");
    QTest::addColumn<bool>("folder");
    QTest::addColumn<QString>("vectorsFile");
    QTest::addColumn<QString>("key");
    QTest::addColumn<int>("index");
    QTest::addColumn<bool>("addSpecial");
    QTest::addColumn<bool>("skipSpecialInDecode");

    const std::map<QString, QString> files = {
        {QStringLiteral("gpt2"), QStringLiteral("gpt2-tokenizer.json")},
        {QStringLiteral("wordpiece"), QStringLiteral("wordpiece-tokenizer.json")},
        {QStringLiteral("roberta"), QStringLiteral("roberta-tokenizer.json")},
        {QStringLiteral("bytebpe-plain"), QStringLiteral("bytebpe-plain-tokenizer.json")},
        {QStringLiteral("sentencepiece-bpe"), QStringLiteral("spbpe-tokenizer.json")},
    };
    {
        const QString vf = oracle(QStringLiteral("tokenizers/vectors.json"));
        const QJsonObject root = readJson(vf).object();
        QVERIFY(!root.isEmpty());
        for (const QString& key : root.keys()) {
            QVERIFY2(files.count(key), qPrintable(key));
            const int n = int(root.value(key).toArray().size());
            for (int i = 0; i < n; ++i)
                QTest::addRow("%s-%d", qPrintable(key), i)
                    << oracle(QStringLiteral("tokenizers/") + files.at(key)) << false << vf << key
                    << i << (key != QLatin1String("gpt2")) << true;
        }
    }
    {
        const QString vf = oracle(QStringLiteral("tokenizers-more/vectors.json"));
        const QJsonObject root = readJson(vf).object();
        QVERIFY(!root.isEmpty());
        for (const QString& key : root.keys()) {
            const int n = int(root.value(key).toArray().size());
            for (int i = 0; i < n; ++i)
                QTest::addRow("more-%s-%d", qPrintable(key), i)
                    << oracle(QStringLiteral("tokenizers-more/") + key) << true << vf << key << i
                    << true << false;
        }
    }
}

void TstTokenizer::vectors() {
    QFETCH(QString, tokPath);
    QFETCH(bool, folder);
    QFETCH(QString, vectorsFile);
    QFETCH(QString, key);
    QFETCH(int, index);
    QFETCH(bool, addSpecial);
    QFETCH(bool, skipSpecialInDecode);

    auto tok = cachedLoad(tokPath, folder);
    QVERIFY2(tok, qPrintable(tokPath));
    const QJsonObject v = readJson(vectorsFile).object().value(key).toArray().at(index).toObject();
    const QString text = v.value(QStringLiteral("text")).toString();
    std::optional<QString> pair;
    if (v.contains(QStringLiteral("text_pair")))
        pair = v.value(QStringLiteral("text_pair")).toString();
    else if (v.contains(QStringLiteral("pair")))
        pair = v.value(QStringLiteral("pair")).toString();

    auto enc = tok->encode(text, pair, addSpecial);
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    const auto ids = toIds(v.value(QStringLiteral("ids")));
    QCOMPARE(idsStr(enc->ids), idsStr(ids));
    QCOMPARE(enc->tokens, toStrings(v.value(QStringLiteral("tokens"))));
    QCOMPARE(offsetsStr(enc->offsets), offsetsStr(toOffsets(v.value(QStringLiteral("offsets")))));
    if (v.contains(QStringLiteral("type_ids")))
        QCOMPARE(idsStr(enc->typeIds), idsStr(toIds(v.value(QStringLiteral("type_ids")))));
    QCOMPARE(int(enc->sequenceIds.size()), enc->size());
    QCOMPARE(int(enc->specialMask.size()), enc->size());
    if (v.contains(QStringLiteral("decoded")))
        QCOMPARE(tok->decode(enc->ids, skipSpecialInDecode),
                 v.value(QStringLiteral("decoded")).toString());
}

// ---------------- model folders (cases.json) ----------------

void TstTokenizer::modelCases_data() {
    QTest::addColumn<QString>("family");
    QTest::addColumn<int>("index");
    const QDir od(oracle(QString()));
    int rows = 0;
    for (const QString& fam : od.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QString cases = od.filePath(fam + QStringLiteral("/cases.json"));
        if (!QFile::exists(cases)) continue;
        const QDir md(od.filePath(fam + QStringLiteral("/model")));
        if (!md.exists(QStringLiteral("tokenizer.json")) &&
            !md.exists(QStringLiteral("vocab.txt")) && !md.exists(QStringLiteral("vocab.json")))
            continue;
        const QJsonArray arr = readJson(cases).object().value(QStringLiteral("cases")).toArray();
        for (int i = 0; i < arr.size(); ++i) {
            if (!arr.at(i).toObject().contains(QStringLiteral("ids"))) continue;
            QTest::addRow("%s-%d", qPrintable(fam), i) << fam << i;
            ++rows;
        }
    }
    QVERIFY(rows >= 30);
}

void TstTokenizer::modelCases() {
    QFETCH(QString, family);
    QFETCH(int, index);
    auto tok = cachedLoad(oracle(family + QStringLiteral("/model")), true);
    QVERIFY(tok);
    const QJsonObject c = readJson(oracle(family + QStringLiteral("/cases.json")))
                              .object()
                              .value(QStringLiteral("cases"))
                              .toArray()
                              .at(index)
                              .toObject();
    std::optional<QString> pair;
    if (c.value(QStringLiteral("text_pair")).isString())
        pair = c.value(QStringLiteral("text_pair")).toString();
    auto enc = tok->encode(c.value(QStringLiteral("text")).toString(), pair, true);
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(idsStr(enc->ids), idsStr(toIds(c.value(QStringLiteral("ids")))));
    if (c.contains(QStringLiteral("tokens")))
        QCOMPARE(enc->tokens, toStrings(c.value(QStringLiteral("tokens"))));
}

// ---------------- legacy file sets ----------------

void TstTokenizer::legacyFileSets_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("index");
    const QJsonObject root = readJson(oracle(QStringLiteral("tokenizers/vectors.json"))).object();
    const QJsonObject more =
        readJson(oracle(QStringLiteral("tokenizers-more/vectors.json"))).object();
    const int n = int(root.value(QStringLiteral("gpt2")).toArray().size() +
                      more.value(QStringLiteral("unigram")).toArray().size());
    for (int i = 0; i < n; ++i) {
        QTest::addRow("gpt2-vocab-merges-%d", i) << QStringLiteral("gpt2") << i;
        QTest::addRow("wordpiece-vocab-txt-%d", i) << QStringLiteral("wordpiece") << i;
    }
}

void TstTokenizer::legacyFileSets() {
    QFETCH(QString, kind);
    QFETCH(int, index);
    // texts: the gpt2 vectors then the tokenizers-more texts
    QStringList texts;
    QList<std::optional<QString>> pairs;
    for (const auto& v : readJson(oracle(QStringLiteral("tokenizers/vectors.json")))
                             .object()
                             .value(QStringLiteral("gpt2"))
                             .toArray()) {
        texts << v.toObject().value(QStringLiteral("text")).toString();
        pairs << std::nullopt;
    }
    for (const auto& v : readJson(oracle(QStringLiteral("tokenizers-more/vectors.json")))
                             .object()
                             .value(QStringLiteral("unigram"))
                             .toArray()) {
        texts << v.toObject().value(QStringLiteral("text")).toString();
        pairs << (v.toObject().contains(QStringLiteral("text_pair"))
                      ? std::optional<QString>(
                            v.toObject().value(QStringLiteral("text_pair")).toString())
                      : std::nullopt);
    }
    QVERIFY(index < texts.size());

    static QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString legacyDir = tmp.filePath(kind);
    if (!QDir(legacyDir).exists()) {
        QVERIFY(QDir().mkpath(legacyDir));
        if (kind == QLatin1String("gpt2")) {
            QVERIFY(QFile::copy(oracle(QStringLiteral("gpt2/model/vocab.json")),
                                legacyDir + QStringLiteral("/vocab.json")));
            QVERIFY(QFile::copy(oracle(QStringLiteral("gpt2/model/merges.txt")),
                                legacyDir + QStringLiteral("/merges.txt")));
        } else {
            QVERIFY(QFile::copy(oracle(QStringLiteral("tokenizers/wordpiece-vocab.txt")),
                                legacyDir + QStringLiteral("/vocab.txt")));
        }
    }
    auto legacy = cachedLoad(legacyDir, true);
    QVERIFY(legacy);
    auto ref = cachedLoad(kind == QLatin1String("gpt2")
                              ? oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json"))
                              : oracle(QStringLiteral("tokenizers/wordpiece-tokenizer.json")),
                          false);
    QVERIFY(ref);
    const bool special = kind != QLatin1String("gpt2");
    auto a = legacy->encode(texts[index], pairs[index], special);
    auto b = ref->encode(texts[index], pairs[index], special);
    QVERIFY2(a.ok(), qPrintable(a.message()));
    QVERIFY2(b.ok(), qPrintable(b.message()));
    QVERIFY(b->size() > 0);
    QCOMPARE(idsStr(a->ids), idsStr(b->ids));
    QCOMPARE(offsetsStr(a->offsets), offsetsStr(b->offsets));
    QCOMPARE(idsStr(a->typeIds), idsStr(b->typeIds));
    QCOMPARE(legacy->decode(a->ids), ref->decode(b->ids));
}

// ---------------- hand-worked component tests ----------------

void TstTokenizer::unigramViterbi() {
    // Pieces and log-probabilities chosen so that the best path is not the greedy one:
    // "abcd": a+b+c+d = -4*2 = -8; ab+cd = -3 + -3 = -6; abc+d = -2.5 + -2 = -4.5 (best).
    // "x" is unknown: unk score = min(-5) - 10 = -15, "xx" fused into one <unk> token.
    const QByteArray json = R"({
      "version": "1.0", "added_tokens": [], "normalizer": null,
      "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
      "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false, "vocab": [
        ["<unk>", 0.0], ["a", -2.0], ["b", -2.0], ["c", -2.0], ["d", -2.0],
        ["ab", -3.0], ["cd", -3.0], ["abc", -2.5], ["bcd", -5.0]]}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QStringLiteral("abcd xxab"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(enc->tokens, QStringList({"abc", "d", "xx", "ab"}));
    QCOMPARE(idsStr(enc->ids), QStringLiteral("7 4 0 5"));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,3) (3,4) (5,7) (7,9)"));
    // "bcd" alone: "bcd" (-5, written first when the lattice visits start 0) ties with
    // "b" + "cd" (-2 + -3 = -5, found from start 1); HF replaces only on a strictly better
    // score, so "bcd" stays.
    auto enc2 = (*tok)->encode(QStringLiteral("bcd"));
    QVERIFY(enc2.ok());
    QCOMPARE(enc2->tokens, QStringList({"bcd"}));
}

void TstTokenizer::wordLevel() {
    const QByteArray json = R"({
      "added_tokens": [{"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
      "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
      "post_processor": null, "decoder": null,
      "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "hello": 1, "world": 2, "!": 3, "__": 4}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    // Whitespace = \w+|[^\w\s]+ : "Hello", "world", "!!", "foo", "__" ("_" is a word char)
    auto enc = (*tok)->encode(QStringLiteral("Hello  world!! foo __"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(idsStr(enc->ids), QStringLiteral("1 2 0 0 4"));
    QCOMPARE(enc->tokens, QStringList({"hello", "world", "[UNK]", "[UNK]", "__"}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,5) (7,12) (12,14) (15,18) (19,21)"));
    QCOMPARE((*tok)->decode(enc->ids, false), QStringLiteral("hello world [UNK] [UNK] __"));
    QCOMPARE((*tok)->decode(enc->ids, true), QStringLiteral("hello world __"));
}

static QByteArray wordLevelWith(const QByteArray& pre, const QByteArray& vocab,
                                const QByteArray& added = "[]") {
    return QByteArray(R"({"added_tokens": )") + added +
           R"(, "normalizer": null, "pre_tokenizer": )" + pre +
           R"(, "post_processor": null, "decoder": null, "model": {"type": "WordLevel", "unk_token": "?", "vocab": )" +
           vocab + "}}";
}

void TstTokenizer::splitLookahead() {
    // \s+(?!\S) keeps the last space for the following word: "a   b" -> "a", "  ", " b"
    const QByteArray pre =
        R"({"type": "Split", "pattern": {"Regex": "\\s+(?!\\S)|\\s*\\S+"}, "behavior": "Isolated", "invert": false})";
    auto tok = loadInline(wordLevelWith(pre, R"({"?": 0, "a": 1, "  ": 2, " b": 3})"));
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QStringLiteral("a   b"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(enc->tokens, QStringList({"a", "  ", " b"}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,1) (1,3) (3,5)"));
    // \p{L} with Unicode letters
    const QByteArray pre2 =
        R"({"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Removed", "invert": true})";
    auto tok2 = loadInline(wordLevelWith(pre2, R"({"?": 0, "héllo": 1, "wörld": 2})"));
    QVERIFY2(tok2.ok(), qPrintable(tok2.message()));
    auto enc2 = (*tok2)->encode(QStringLiteral("héllo, wörld"));
    QVERIFY(enc2.ok());
    QCOMPARE(idsStr(enc2->ids), QStringLiteral("1 2"));
    QCOMPARE(offsetsStr(enc2->offsets), QStringLiteral("(0,5) (7,12)"));
}

void TstTokenizer::splitBehaviors() {
    const QByteArray vocab =
        R"({"?": 0, "a": 1, "-": 2, "a-": 3, "-b": 4, "b": 5, "--": 6, "a--": 7, "--b": 8})";
    auto run = [&](const char* behavior) -> QStringList {
        QByteArray pre =
            QByteArray(R"({"type": "Split", "pattern": {"String": "-"}, "behavior": ")") +
            behavior + R"(", "invert": false})";
        auto tok = loadInline(wordLevelWith(pre, vocab));
        if (!tok) return {tok.message()};
        auto enc = (*tok)->encode(QStringLiteral("a--b"));
        if (!enc) return {enc.message()};
        return enc->tokens;
    };
    QCOMPARE(run("Removed"), QStringList({"a", "b"}));
    QCOMPARE(run("Isolated"), QStringList({"a", "-", "-", "b"}));
    QCOMPARE(run("MergedWithPrevious"), QStringList({"a-", "-"}) << "b");
    QCOMPARE(run("MergedWithNext"), QStringList({"a", "-", "-b"}));
    QCOMPARE(run("Contiguous"), QStringList({"a", "--", "b"}));
}

void TstTokenizer::addedTokensStripAndSingleWord() {
    const QByteArray added = R"([
      {"id": 10, "content": "<L>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
      {"id": 11, "content": "<R>", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": false},
      {"id": 12, "content": "cat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
      {"id": 13, "content": "<LL>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
    ])";
    auto tok = loadInline(wordLevelWith(R"({"type": "WhitespaceSplit"})",
                                        R"({"?": 0, "x": 1, "y": 2, "cats": 3, "z": 4})", added));
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    // "x  <L>y<R>  z cat cats <LL>":
    //  "x" (0,1); "  <L>" lstrip takes the two spaces (1,6); "y" (6,7);
    //  "<R>  " rstrip takes the two spaces (7,12); "z" (12,13); "cat" single word (14,17);
    //  "cats" is not split ("cat" followed by a word char) (18,22); "<LL>" longest match (23,27)
    auto enc = (*tok)->encode(QStringLiteral("x  <L>y<R>  z cat cats <LL>"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(idsStr(enc->ids), QStringLiteral("1 10 2 11 4 12 3 13"));
    QCOMPARE(enc->tokens, QStringList({"x", "  <L>", "y", "<R>  ", "z", "cat", "cats", "<LL>"}));
    QCOMPARE(offsetsStr(enc->offsets),
             QStringLiteral("(0,1) (1,6) (6,7) (7,12) (12,13) (14,17) (18,22) (23,27)"));
    QCOMPARE(enc->specialMask,
             std::vector<bool>({false, true, false, false, false, false, false, true}));
    QCOMPARE((*tok)->tokenToId(QStringLiteral("<R>")).value_or(-1), int64_t(11));
    QCOMPARE((*tok)->idToToken(12), QStringLiteral("cat"));
    QCOMPARE((*tok)->vocabSize(), 5 + 4);
}

void TstTokenizer::digitsAndPunctuation() {
    const QByteArray vocab =
        R"({"?": 0, "ab": 1, "1": 2, "2": 3, "3": 4, "12": 5, "123": 6, ",": 7, "!": 8, "cd": 9})";
    auto tokInd = loadInline(wordLevelWith(
        R"({"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation"}, {"type": "Digits", "individual_digits": true}]})",
        vocab));
    QVERIFY2(tokInd.ok(), qPrintable(tokInd.message()));
    auto e1 = (*tokInd)->encode(QStringLiteral("ab123,cd!"));
    QVERIFY(e1.ok());
    QCOMPARE(e1->tokens, QStringList({"ab", "1", "2", "3", ",", "cd", "!"}));
    QCOMPARE(offsetsStr(e1->offsets), QStringLiteral("(0,2) (2,3) (3,4) (4,5) (5,6) (6,8) (8,9)"));
    auto tokGrp =
        loadInline(wordLevelWith(R"({"type": "Digits", "individual_digits": false})", vocab));
    QVERIFY(tokGrp.ok());
    auto e2 = (*tokGrp)->encode(QStringLiteral("ab123"));
    QVERIFY(e2.ok());
    QCOMPARE(e2->tokens, QStringList({"ab", "123"}));
    // Punctuation with behavior "Removed" drops the punctuation.
    auto tokRem =
        loadInline(wordLevelWith(R"({"type": "Punctuation", "behavior": "Removed"})", vocab));
    QVERIFY(tokRem.ok());
    auto e3 = (*tokRem)->encode(QStringLiteral("ab,cd!"));
    QVERIFY(e3.ok());
    QCOMPARE(e3->tokens, QStringList({"ab", "cd"}));
}

void TstTokenizer::wordPieceMaxChars() {
    const QByteArray json = R"({
      "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
      "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 5,
        "vocab": {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "a": 4, "##b": 5}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    // "unaff" (5 chars) -> un ##aff ; "unaffable" (9 > 5) -> [UNK] ; "ab" -> a ##b ; "ac" -> [UNK]
    auto enc = (*tok)->encode(QStringLiteral("unaff unaffable ab ac"));
    QVERIFY(enc.ok());
    QCOMPARE(enc->tokens, QStringList({"un", "##aff", "[UNK]", "a", "##b", "[UNK]"}));
    QCOMPARE(offsetsStr(enc->offsets),
             QStringLiteral("(0,2) (2,5) (6,15) (16,17) (17,18) (19,21)"));
    QCOMPARE((*tok)->decode(enc->ids), QStringLiteral("unaff [UNK] ab [UNK]"));
}

void TstTokenizer::bpeByteFallbackFuseUnk() {
    // byte_fallback: "é" is not in the vocab but <0xC3><0xA9> are -> two byte tokens, both
    // with the offsets of "é". "☃" (E2 98 83) has no byte tokens -> <unk>; with fuse_unk
    // two consecutive unknowns become one <unk>.
    const QByteArray json = R"({
      "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
      "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
      "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
        "continuing_subword_prefix": null, "end_of_word_suffix": null, "ignore_merges": false,
        "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "<0xC3>": 4, "<0xA9>": 5, "c": 6, "abc": 7},
        "merges": [["a", "b"], "ab c"]}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QString::fromUtf8("abcé☃☃ab"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(enc->tokens, QStringList({"abc", "<0xC3>", "<0xA9>", "<unk>", "ab"}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,3) (3,4) (3,4) (4,6) (6,8)"));
    QCOMPARE((*tok)->decode({7, 4, 5, 1}), QString::fromUtf8("abcéa"));
    // ignore_merges is not set: merges by rank ("a b" rank 0 before "ab c")
}

void TstTokenizer::templatePair() {
    const QByteArray json = R"({
      "added_tokens": [{"id": 0, "content": "<cls>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                       {"id": 1, "content": "<sep>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
      "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "decoder": null,
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<sep>", "type_id": 0}}, {"SpecialToken": {"id": "<cls>", "type_id": 2}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<sep>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "<sep>", "type_id": 1}}, {"SpecialToken": {"id": "<cls>", "type_id": 2}}],
        "special_tokens": {"<cls>": {"id": "<cls>", "ids": [0], "tokens": ["<cls>"]}, "<sep>": {"id": "<sep>", "ids": [1], "tokens": ["<sep>"]}}},
      "model": {"type": "WordLevel", "unk_token": "<cls>", "vocab": {"<cls>": 0, "<sep>": 1, "x": 2, "y": 3}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QStringLiteral("x y"), QStringLiteral("y"));
    QVERIFY(enc.ok());
    QCOMPARE(idsStr(enc->ids), QStringLiteral("2 3 1 3 1 0"));
    QCOMPARE(idsStr(enc->typeIds), QStringLiteral("0 0 0 1 1 2"));
    QCOMPARE(enc->sequenceIds, std::vector<int>({0, 0, -1, 1, -1, -1}));
    QCOMPARE(enc->specialMask, std::vector<bool>({false, false, true, false, true, true}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,1) (2,3) (0,0) (0,1) (0,0) (0,0)"));
    auto single = (*tok)->encode(QStringLiteral("x"));
    QVERIFY(single.ok());
    QCOMPARE(idsStr(single->ids), QStringLiteral("2 1 0"));
    QCOMPARE(idsStr(single->typeIds), QStringLiteral("0 0 2"));
    auto noSpecial = (*tok)->encode(QStringLiteral("x"), QStringLiteral("y"), false);
    QVERIFY(noSpecial.ok());
    QCOMPARE(idsStr(noSpecial->ids), QStringLiteral("2 3"));
    QCOMPARE(idsStr(noSpecial->typeIds), QStringLiteral("0 1"));
}

void TstTokenizer::offsetsAfterNormalization() {
    // NFKC turns "ﬁ" (1 char) into "fi" (2 chars) and "①" into "1"; Replace "``" -> "\"";
    // lowercase; every token points back at the original characters.
    const QByteArray json = R"({
      "added_tokens": [], "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"String": "``"}, "content": "\""}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": true, "strip_right": true}]},
      "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "fine": 1, "\"x": 2, "1": 3}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QString::fromUtf8("  ﬁNE ``X ①  "));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(idsStr(enc->ids), QStringLiteral("1 2 3"));
    QCOMPARE(enc->tokens, QStringList({"fine", "\"x", "1"}));
    // HF Replace gives the inserted '"' the alignment of the last replaced char (the second
    // backtick, index 7), so the token starts at 7, not 6.
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(2,5) (7,9) (10,11)"));
}

void TstTokenizer::surrogatePairsAndEmoji() {
    // Byte-level GPT-2: offsets are in code points, an emoji (2 UTF-16 units, 4 bytes) is 1.
    auto tok = cachedLoad(oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json")), false);
    QVERIFY(tok);
    const QString text = QString::fromUtf8("a 😀 b");
    auto enc = tok->encode(text, std::nullopt, false);
    QVERIFY(enc.ok());
    QVERIFY(enc->size() >= 3);
    QCOMPARE(enc->offsets.front(), std::make_pair(0, 1));
    QCOMPARE(enc->offsets.back(), std::make_pair(3, 5));
    for (const auto& [b, e] : enc->offsets) {
        QVERIFY(b >= 0 && e <= 5 && b <= e);
    }
    QCOMPARE(tok->decode(enc->ids), text);
    // every token of the emoji points at the emoji's code point range (1,3) once trimmed of Ġ
    for (int i = 1; i + 1 < enc->size(); ++i)
        QCOMPARE(enc->offsets[size_t(i)].second, 3);
}

void TstTokenizer::precompiledCharsmap() {
    // A hand-built darts-clone double array with one key "a" -> "bc":
    // root unit 0 has offset 0, so byte 'a' (0x61) leads to unit 97 whose label is 0x61, with
    // has_leaf (bit 8) and offset 1 (bits 10..): the value unit is 97 ^ 1 = 96 holding 0, the
    // offset of "bc\0" in the string blob.
    std::vector<uint32_t> units(100, 0);
    units[97] = (1u << 10) | (1u << 8) | 0x61u;
    QByteArray blob;
    const uint32_t size = uint32_t(units.size() * 4);
    for (int k = 0; k < 4; ++k)
        blob.append(char((size >> (8 * k)) & 0xFF));
    for (uint32_t u : units)
        for (int k = 0; k < 4; ++k)
            blob.append(char((u >> (8 * k)) & 0xFF));
    blob.append("bc", 2);
    blob.append('\0');
    const QByteArray json =
        QByteArray(R"({"added_tokens": [], "post_processor": null, "decoder": null,
      "normalizer": {"type": "Precompiled", "precompiled_charsmap": ")") +
        blob.toBase64() + R"("},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "."}, "behavior": "Isolated", "invert": false},
      "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "x": 1, "b": 2, "c": 3, "y": 4, "a": 5}}})";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    // "xay" -> "xbcy": "b" and "c" both come from the original "a" at index 1
    auto enc = (*tok)->encode(QStringLiteral("xay"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(enc->tokens, QStringList({"x", "b", "c", "y"}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,1) (1,2) (1,2) (2,3)"));
}

void TstTokenizer::bertChineseAndAccents() {
    // BertNormalizer: CJK chars get spaces around them, accents stripped (strip_accents null +
    // lowercase), control chars removed, whitespace normalised; BertPreTokenizer isolates
    // punctuation.
    const QByteArray json = R"({
      "added_tokens": [], "post_processor": null, "decoder": null,
      "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
        "vocab": {"[UNK]": 0, "cafe": 1, "中": 2, "文": 3, "!": 4, "ab": 5}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QString::fromUtf8("Café中文a\x01"
                                                "b!"));
    QVERIFY2(enc.ok(), qPrintable(enc.message()));
    QCOMPARE(enc->tokens, QStringList({"cafe", "中", "文", "ab", "!"}));
    QCOMPARE(offsetsStr(enc->offsets), QStringLiteral("(0,4) (4,5) (5,6) (6,9) (9,10)"));
}

void TstTokenizer::metaspacePrependScheme() {
    auto make = [](const char* scheme) {
        return loadInline(
            QByteArray(
                R"({"added_tokens": [{"id": 9, "content": "<x>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}],
          "normalizer": null, "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": ")") +
            scheme + R"("},
          "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": ")" +
            scheme + R"(", "split": true},
          "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "\u2581a": 1, "\u2581": 2, "b": 3, "\u2581b": 4, "a": 5}}})");
    };
    // "a <x>b": pieces "a " and "b" around the added token. "first" prepends only to the piece
    // at the start of the text; "always" to every piece; "never" to none.
    auto first = make("first");
    QVERIFY2(first.ok(), qPrintable(first.message()));
    auto e1 = (*first)->encode(QStringLiteral("a <x>b"));
    QVERIFY(e1.ok());
    QCOMPARE(e1->tokens, QStringList({"\u2581a", "\u2581", "<x>", "b"}));
    QCOMPARE(offsetsStr(e1->offsets), QStringLiteral("(0,1) (1,2) (2,5) (5,6)"));
    auto always = make("always");
    QVERIFY(always.ok());
    auto e2 = (*always)->encode(QStringLiteral("a <x>b"));
    QVERIFY(e2.ok());
    QCOMPARE(e2->tokens, QStringList({"\u2581a", "\u2581", "<x>", "\u2581b"}));
    QCOMPARE(offsetsStr(e2->offsets), QStringLiteral("(0,1) (1,2) (2,5) (5,6)"));
    auto never = make("never");
    QVERIFY(never.ok());
    auto e3 = (*never)->encode(QStringLiteral("a <x>b"));
    QVERIFY(e3.ok());
    QCOMPARE(e3->tokens, QStringList({"a", "\u2581", "<x>", "b"}));
    // decode: first token loses its leading replacement (prepend scheme), others become spaces
    QCOMPARE((*always)->decode({1, 2, 4}), QStringLiteral("a  b"));
}

void TstTokenizer::emptyText() {
    auto gpt2 = cachedLoad(oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json")), false);
    QVERIFY(gpt2);
    auto e = gpt2->encode(QString(), std::nullopt, false);
    QVERIFY(e.ok());
    QCOMPARE(e->size(), 0);
    auto bert = cachedLoad(oracle(QStringLiteral("tokenizers/wordpiece-tokenizer.json")), false);
    QVERIFY(bert);
    auto b = bert->encode(QString());
    QVERIFY(b.ok());
    QCOMPARE(b->tokens, QStringList({"[CLS]", "[SEP]"}));
    auto r = cachedLoad(oracle(QStringLiteral("tokenizers/roberta-tokenizer.json")), false);
    QVERIFY(r);
    auto rr = r->encode(QStringLiteral("   "));
    QVERIFY(rr.ok());
    QCOMPARE(rr->tokens.front(), QStringLiteral("<s>"));
    QCOMPARE(rr->tokens.back(), QStringLiteral("</s>"));
}

void TstTokenizer::displayToken() {
    auto gpt2 = cachedLoad(oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json")), false);
    QVERIFY(gpt2);
    QCOMPARE(gpt2->displayToken(QString::fromUtf8("Ġthe")), QStringLiteral(" the"));
    QCOMPARE(gpt2->displayToken(QString::fromUtf8("Ċ")), QStringLiteral("\n"));
    QCOMPARE(gpt2->displayToken(QString::fromUtf8("ĠcafÃ©")), QString::fromUtf8(" café"));
    auto sp = cachedLoad(oracle(QStringLiteral("tokenizers-more/byte-fallback-bpe")), true);
    QVERIFY(sp);
    QCOMPARE(sp->displayToken(QString::fromUtf8("▁the")), QStringLiteral(" the"));
    QCOMPARE(sp->displayToken(QStringLiteral("<0x0A>")), QStringLiteral("\n"));
    auto wp = cachedLoad(oracle(QStringLiteral("tokenizers/wordpiece-tokenizer.json")), false);
    QVERIFY(wp);
    QCOMPARE(wp->displayToken(QStringLiteral("##ing")), QStringLiteral("##ing"));
}

void TstTokenizer::decoders() {
    // Strip (start 1) + Replace + BPEDecoder suffix handling
    const QByteArray json = R"({
      "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
      "decoder": {"type": "Sequence", "decoders": [{"type": "BPEDecoder", "suffix": "</w>"}, {"type": "Replace", "pattern": {"String": "_"}, "content": "-"}, {"type": "Strip", "content": "x", "start": 1, "stop": 1}]},
      "model": {"type": "WordLevel", "unk_token": "a</w>", "vocab": {"a</w>": 0, "xb_": 1, "cx</w>": 2}}
    })";
    auto tok = loadInline(json);
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    // tokens: "a</w>" -> "a " ; "xb_" -> "xb-" -> strip leading x -> "b-" ; "cx</w>" (last) -> "cx"
    // -> "c"
    QCOMPARE((*tok)->decode({0, 1, 2}), QStringLiteral("a b-c"));
}

void TstTokenizer::vocabAccess() {
    auto gpt2 = cachedLoad(oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json")), false);
    QVERIFY(gpt2);
    QCOMPARE(gpt2->vocabSize(), 50257);
    QCOMPARE(gpt2->idToToken(464), QStringLiteral("The"));
    QCOMPARE(gpt2->tokenToId(QString::fromUtf8("Ġcat")).value_or(-1), int64_t(3797));
    QVERIFY(!gpt2->tokenToId(QStringLiteral("no-such-token-xyz")).has_value());
    QVERIFY(gpt2->idToToken(-5).isEmpty());
    QVERIFY(gpt2->idToToken(999999).isEmpty());
    auto r = cachedLoad(oracle(QStringLiteral("tokenizers/roberta-tokenizer.json")), false);
    QVERIFY(r);
    QCOMPARE(r->vocabSize(), 2000);
}

void TstTokenizer::errors() {
    auto bad =
        loadInline(R"({"added_tokens": [], "normalizer": {"type": "Foo"}, "pre_tokenizer": null,
        "post_processor": null, "decoder": null, "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0}}})");
    QVERIFY(!bad.ok());
    QVERIFY2(bad.message().contains(QStringLiteral("normalizer")) &&
                 bad.message().contains(QStringLiteral("\"Foo\"")),
             qPrintable(bad.message()));
    auto badPre = loadInline(
        R"({"normalizer": null, "pre_tokenizer": {"type": "Bar"}, "model": {"type": "WordLevel", "vocab": {"?": 0}}})");
    QVERIFY(!badPre.ok());
    QVERIFY2(badPre.message().contains(QStringLiteral("\"Bar\"")), qPrintable(badPre.message()));
    auto badModel = loadInline(R"({"model": {"type": "Baz", "vocab": {}}})");
    QVERIFY(!badModel.ok());
    QVERIFY2(badModel.message().contains(QStringLiteral("\"Baz\"")),
             qPrintable(badModel.message()));
    auto badDec = loadInline(
        R"({"decoder": {"type": "Qux"}, "model": {"type": "WordLevel", "vocab": {"?": 0}}})");
    QVERIFY(!badDec.ok());
    QVERIFY2(badDec.message().contains(QStringLiteral("\"Qux\"")), qPrintable(badDec.message()));
    auto badPost = loadInline(
        R"({"post_processor": {"type": "Quux"}, "model": {"type": "WordLevel", "vocab": {"?": 0}}})");
    QVERIFY(!badPost.ok());
    QVERIFY2(badPost.message().contains(QStringLiteral("\"Quux\"")), qPrintable(badPost.message()));
    auto badRegex = loadInline(
        R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "model": {"type": "WordLevel", "vocab": {"?": 0}}})");
    QVERIFY(!badRegex.ok());

    auto corrupt = loadInline("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,, }");
    QVERIFY(!corrupt.ok());
    QVERIFY2(corrupt.message().contains(QStringLiteral("corrupt")), qPrintable(corrupt.message()));
    auto noModel = loadInline("{\"normalizer\": null}");
    QVERIFY(!noModel.ok());
    auto missing = Tokenizer::fromTokenizerJson(QStringLiteral("/nonexistent/dir/tokenizer.json"));
    QVERIFY(!missing.ok());
    QVERIFY(missing.message().contains(QStringLiteral("not found")));
    auto missingDir = Tokenizer::fromFolder(QStringLiteral("/nonexistent/dir"));
    QVERIFY(!missingDir.ok());
    QTemporaryDir empty;
    auto emptyDir = Tokenizer::fromFolder(empty.path());
    QVERIFY(!emptyDir.ok());
    QVERIFY(emptyDir.message().contains(QStringLiteral("no tokenizer files")));
    // WordLevel without a usable unk token: an error, not a crash
    auto noUnk = loadInline(
        R"({"model": {"type": "WordLevel", "unk_token": "<missing>", "vocab": {"a": 0}}})");
    QVERIFY(noUnk.ok());
    auto e = (*noUnk)->encode(QStringLiteral("b"));
    QVERIFY(!e.ok());
}

void TstTokenizer::invalidUtf8File() {
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("tokenizer.json")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    QByteArray json =
        R"({"model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "ok": 1, "bad)";
    json += char(0xFF);
    json += R"(": 2}}, "pre_tokenizer": {"type": "WhitespaceSplit"}})";
    f.write(json);
    f.close();
    auto tok = Tokenizer::fromFolder(dir.path());
    QVERIFY2(tok.ok(), qPrintable(tok.message()));
    auto enc = (*tok)->encode(QStringLiteral("ok bad") + QChar(0xFFFD));
    QVERIFY(enc.ok());
    QCOMPARE(idsStr(enc->ids), QStringLiteral("1 2"));
}

void TstTokenizer::gpt2LoadSpeed() {
    QElapsedTimer t;
    t.start();
    auto tok =
        Tokenizer::fromTokenizerJson(oracle(QStringLiteral("tokenizers/gpt2-tokenizer.json")));
    const qint64 loadMs = t.elapsed();
    QVERIFY(tok.ok());
    qInfo("GPT-2 tokenizer.json load: %lld ms", loadMs);
    QVERIFY2(loadMs < 2000, qPrintable(QString::number(loadMs)));
    QString text;
    for (int i = 0; i < 200; ++i)
        text += QStringLiteral("The quick brown fox %1 jumps over the lazy dog. ").arg(i);
    t.restart();
    auto enc = (*tok)->encode(text, std::nullopt, false);
    QVERIFY(enc.ok());
    qInfo("encode %d tokens: %lld ms", enc->size(), t.elapsed());
    QVERIFY(enc->size() > 2000);
}

void TstTokenizer::robustness() {
    // Odd inputs through every fixture tokenizer: no crash, offsets inside the text, and
    // offsets in code points (the emoji and lone surrogate count as one each).
    QStringList paths = {QStringLiteral("tokenizers/gpt2-tokenizer.json"),
                         QStringLiteral("tokenizers/roberta-tokenizer.json"),
                         QStringLiteral("tokenizers/wordpiece-tokenizer.json"),
                         QStringLiteral("tokenizers/spbpe-tokenizer.json"),
                         QStringLiteral("tokenizers/bytebpe-plain-tokenizer.json")};
    for (const char* n :
         {"split-regex-bpe", "unigram", "wordlevel", "wordpiece-misc", "byte-fallback-bpe"})
        paths << QStringLiteral("tokenizers-more/") + QLatin1String(n);
    QString weird = QString::fromUtf8("😀x\u00e9\u0301 \t\n\r\u3000中 <|im_end|><think>  ");
    weird += QChar(0xD800); // lone surrogate
    weird += QString(300, QLatin1Char('z'));
    weird += QString::fromUtf8("\xef\xbf\xbd");
    const int len = int(weird.toUcs4().size());
    for (const QString& p : paths) {
        auto tok = cachedLoad(oracle(p), !p.endsWith(QLatin1String(".json")));
        QVERIFY2(tok, qPrintable(p));
        for (const QString& text : {weird, QString(QLatin1Char(' ')), QString::fromUtf8("😀")}) {
            auto enc = tok->encode(text, text);
            QVERIFY2(enc.ok(), qPrintable(p + QLatin1String(": ") + enc.message()));
            const int n = int(text.toUcs4().size());
            for (const auto& [b, e] : enc->offsets)
                QVERIFY2(b >= 0 && b <= e && e <= n, qPrintable(p));
            (void)tok->decode(enc->ids);
        }
        QVERIFY(len > 300);
    }
}

QTEST_GUILESS_MAIN(TstTokenizer)
#include "tst_tokenizer.moc"
