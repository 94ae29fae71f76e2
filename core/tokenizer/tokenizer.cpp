// attnscope::Tokenizer: loading (tokenizer.json and legacy file sets), the encode pipeline
// (added tokens -> normalizer -> pre-tokenizer -> model -> post-processor) and decoding.
#include "tokenizer.h"
#include "file_limits.h"

#include "bulk_json.h"
#include "tok_internal.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringDecoder>
#include <cmath>

#include <algorithm>
#include <future>

namespace attnscope {

using namespace tok;

struct AddedToken {
    U32 content;
    U32 pattern; // normalized content for normalized tokens
    int64_t id = 0;
    bool special = false, lstrip = false, rstrip = false, singleWord = false, normalized = false;
};

struct Tokenizer::Impl {
    std::shared_ptr<Normalizer> normalizer;
    std::shared_ptr<PreTokenizer> preTokenizer;
    std::shared_ptr<Model> model;
    std::shared_ptr<PostProcessor> postProcessor;
    std::shared_ptr<Decoder> decoder;
    std::vector<AddedToken> added;
    std::unordered_map<U32, size_t> addedByContent;
    std::unordered_map<int64_t, size_t> addedById;
    // per first char: indices into `added`, longest pattern first
    std::unordered_map<char32_t, std::vector<size_t>> rawIndex, normIndex;
    bool byteLevel = false;

    void addToken(AddedToken t) {
        auto it = addedByContent.find(t.content);
        if (it != addedByContent.end()) {
            added[it->second] = t;
        } else {
            addedByContent[t.content] = added.size();
            added.push_back(t);
        }
    }

    void refreshAdded() {
        addedById.clear();
        rawIndex.clear();
        normIndex.clear();
        for (size_t i = 0; i < added.size(); ++i) {
            AddedToken& t = added[i];
            addedById[t.id] = i;
            t.pattern = t.content;
            if (t.normalized && normalizer) {
                NormStr n = NormStr::fromOriginal(t.content);
                if (normalizer->normalize(n)) t.pattern = n.s;
            }
            if (t.pattern.empty()) continue;
            (t.normalized ? normIndex : rawIndex)[t.pattern[0]].push_back(i);
        }
        for (auto* idx : {&rawIndex, &normIndex})
            for (auto& [c, v] : *idx)
                std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) {
                    return added[a].pattern.size() > added[b].pattern.size();
                });
    }

    // HF AddedVocabulary::find_matches: leftmost-longest, then single_word / lstrip / rstrip.
    std::vector<std::pair<std::optional<size_t>, Range>>
    findMatches(const U32& s,
                const std::unordered_map<char32_t, std::vector<size_t>>& index) const {
        std::vector<std::pair<std::optional<size_t>, Range>> out;
        const int n = int(s.size());
        if (n == 0 || index.empty()) {
            out.push_back({std::nullopt, {0, n}});
            return out;
        }
        int startOffset = 0;
        int i = 0;
        while (i < n) {
            auto it = index.find(s[size_t(i)]);
            std::optional<size_t> hit;
            if (it != index.end()) {
                for (size_t k : it->second) {
                    const U32& p = added[k].pattern;
                    if (int(p.size()) <= n - i && s.compare(size_t(i), p.size(), p) == 0) {
                        hit = k;
                        break;
                    }
                }
            }
            if (!hit) {
                ++i;
                continue;
            }
            const AddedToken& t = added[*hit];
            int start = i, stop = i + int(t.pattern.size());
            i = stop;
            if (t.singleWord) {
                bool startSpace = start == 0 || !isWordChar(s[size_t(start - 1)]);
                bool stopSpace = stop == n || !isWordChar(s[size_t(stop)]);
                if (!startSpace || !stopSpace) continue;
            }
            if (t.lstrip) {
                int ns = start;
                while (ns > 0 && isWhitespace(s[size_t(ns - 1)]))
                    --ns;
                start = std::max(ns, startOffset);
            }
            if (t.rstrip) {
                while (stop < n && isWhitespace(s[size_t(stop)]))
                    ++stop;
                i = stop;
            }
            if (start > startOffset) out.push_back({std::nullopt, {startOffset, start}});
            out.push_back({hit, {start, stop}});
            startOffset = stop;
        }
        if (startOffset != n) out.push_back({std::nullopt, {startOffset, n}});
        return out;
    }

    void splitAdded(std::vector<Split>& splits, bool normalizedStage) const {
        const auto& index = normalizedStage ? normIndex : rawIndex;
        std::vector<Split> out;
        for (auto& sp : splits) {
            if (sp.hasTokens) {
                out.push_back(std::move(sp));
                continue;
            }
            for (const auto& [hit, r] : findMatches(sp.n.s, index)) {
                Split ns;
                ns.n = sp.n.slice(r.first, r.second);
                if (ns.n.empty()) continue;
                if (hit) {
                    const AddedToken& t = added[*hit];
                    ns.hasTokens = true;
                    ns.special = t.special;
                    ns.tokens.push_back({t.id, ns.n.s, {0, ns.n.size()}});
                }
                out.push_back(std::move(ns));
            }
        }
        splits = std::move(out);
    }

    Result<Enc> encodeOne(const QString& text, int64_t typeId) const {
        const U32 u = toU32(text);
        std::vector<Split> splits;
        Split first;
        first.n = NormStr::fromOriginal(u);
        splits.push_back(std::move(first));
        splitAdded(splits, false);
        // normalize each remaining piece, then split on normalized added tokens
        for (auto& sp : splits) {
            if (sp.hasTokens || !normalizer) continue;
            Status st = normalizer->normalize(sp.n);
            if (!st) return st.error();
        }
        splits.erase(std::remove_if(splits.begin(), splits.end(),
                                    [](const Split& s) { return s.n.empty(); }),
                     splits.end());
        splitAdded(splits, true);
        if (preTokenizer) {
            Status st = preTokenizer->preTokenize(splits);
            if (!st) return st.error();
        }
        Enc enc;
        for (auto& sp : splits) {
            if (!sp.hasTokens) {
                Status st = model->tokenize(sp.n.s, sp.tokens);
                if (!st) return st.error();
                sp.hasTokens = true;
            }
            for (const Token& t : sp.tokens) {
                enc.ids.push_back(t.id);
                enc.tokens.push_back(t.value);
                enc.offsets.push_back(sp.n.toOriginal(t.offsets.first, t.offsets.second));
                enc.typeIds.push_back(typeId);
                enc.seqIds.push_back(int(typeId));
                enc.special.push_back(sp.special);
            }
        }
        return enc;
    }

    std::optional<U32> idToTok(int64_t id) const {
        auto it = addedById.find(id);
        if (it != addedById.end()) return added[it->second].content;
        return model->idToToken(id);
    }
};

namespace {

QString readTextLossy(const QByteArray& bytes) {
    return QString::fromUtf8(bytes); // invalid sequences become U+FFFD
}

QByteArray sanitizeUtf8(const QByteArray& bytes) {
    QStringDecoder dec(QStringDecoder::Utf8);
    QString s = dec(bytes);
    if (dec.hasError()) return s.toUtf8();
    return bytes;
}

Result<QByteArray> readFile(const QString& path) {
    if (fileKind(path) == FileKind::Missing)
        return Error{QStringLiteral("tokenizer file not found: %1").arg(path)};
    // Regular files only, bounded: a tokenizer.json that is /dev/zero or a FIFO is refused.
    return readBoundedFile(path, kMaxTokenizerBytes, QStringLiteral("tokenizer file"));
}

} // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Result<std::shared_ptr<const Tokenizer>> Tokenizer::fromTokenizerJson(const QString& path,
                                                                      JsonReader reader) {
    auto bytes = readFile(path);
    if (!bytes) return bytes.error();
    // The vocabulary and merges read by the purpose-built reader, the rest by QJsonDocument;
    // if either has any doubt, the whole file goes through QJsonDocument (same errors as ever).
    // The reader starts on the bytes as read while this thread checks that they are UTF-8
    // (nearly always); otherwise its result is dropped and it reads the sanitized text.
    std::future<std::optional<BulkSections>> optimistic;
    if (reader == JsonReader::Fast)
        optimistic =
            std::async(std::launch::async, [raw = bytes.value()] { return readBulkSections(raw); });
    const bool valid = isValidUtf8(bytes.value());
    const QByteArray text = valid ? bytes.value() : sanitizeUtf8(bytes.value());
    std::optional<BulkSections> bulk;
    if (reader == JsonReader::Fast) {
        bulk = optimistic.get();
        if (!valid) bulk = readBulkSections(text);
    }
    QJsonParseError perr;
    QJsonDocument doc;
    if (bulk) {
        doc = QJsonDocument::fromJson(bulk->rest, &perr);
        if (perr.error != QJsonParseError::NoError) bulk.reset();
    }
    if (!bulk) doc = QJsonDocument::fromJson(text, &perr);
    if (perr.error != QJsonParseError::NoError)
        return Error{QStringLiteral("corrupt tokenizer.json %1: %2 at offset %3")
                         .arg(path, perr.errorString())
                         .arg(perr.offset)};
    if (!doc.isObject())
        return Error{QStringLiteral("corrupt tokenizer.json %1: not a JSON object").arg(path)};
    const QJsonObject root = doc.object();
    auto impl = std::make_unique<Impl>();

    auto comp = [&](const char* key) { return root.value(QLatin1String(key)); };
    if (!comp("model").isObject())
        return Error{QStringLiteral("tokenizer.json %1 has no \"model\"").arg(path)};
    {
        auto m = makeModel(comp("model").toObject(), bulk ? &*bulk : nullptr);
        if (!m) return m.error();
        impl->model = m.value();
    }
    if (comp("normalizer").isObject()) {
        auto n = makeNormalizer(comp("normalizer").toObject());
        if (!n) return n.error();
        impl->normalizer = n.value();
    }
    if (comp("pre_tokenizer").isObject()) {
        auto p = makePreTokenizer(comp("pre_tokenizer").toObject());
        if (!p) return p.error();
        impl->preTokenizer = p.value();
    }
    if (comp("post_processor").isObject()) {
        auto p = makePostProcessor(comp("post_processor").toObject());
        if (!p) return p.error();
        impl->postProcessor = p.value();
    }
    if (comp("decoder").isObject()) {
        auto d = makeDecoder(comp("decoder").toObject());
        if (!d) return d.error();
        impl->decoder = d.value();
    }
    for (const auto& v : comp("added_tokens").toArray()) {
        QJsonObject o = v.toObject();
        AddedToken t;
        t.content = toU32(o.value(QStringLiteral("content")).toString());
        if (t.content.empty()) continue;
        if (o.value(QStringLiteral("id")).isDouble()) {
            t.id = int64_t(o.value(QStringLiteral("id")).toDouble());
        } else if (auto id = impl->model->tokenToId(t.content)) {
            t.id = *id;
        } else {
            return Error{
                QStringLiteral("added token \"%1\" has no id in %2").arg(fromU32(t.content), path)};
        }
        t.special = o.value(QStringLiteral("special")).toBool(false);
        t.lstrip = o.value(QStringLiteral("lstrip")).toBool(false);
        t.rstrip = o.value(QStringLiteral("rstrip")).toBool(false);
        t.singleWord = o.value(QStringLiteral("single_word")).toBool(false);
        QJsonValue nv = o.value(QStringLiteral("normalized"));
        t.normalized = nv.isBool() ? nv.toBool() : !t.special;
        impl->addToken(t);
    }
    impl->refreshAdded();
    impl->byteLevel = (impl->preTokenizer && impl->preTokenizer->isByteLevel()) ||
                      (impl->decoder && impl->decoder->isByteLevel());
    return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

Result<std::shared_ptr<const Tokenizer>> Tokenizer::fromFolder(const QString& dir) {
    QDir d(dir);
    if (!QFileInfo(dir).isDir())
        return Error{QStringLiteral("tokenizer folder not found: %1").arg(dir)};
    if (d.exists(QStringLiteral("tokenizer.json")))
        return fromTokenizerJson(d.filePath(QStringLiteral("tokenizer.json")));

    if (d.exists(QStringLiteral("vocab.json")) && d.exists(QStringLiteral("merges.txt"))) {
        auto vb = readFile(d.filePath(QStringLiteral("vocab.json")));
        if (!vb) return vb.error();
        QJsonParseError perr;
        QJsonDocument doc = QJsonDocument::fromJson(sanitizeUtf8(vb.value()), &perr);
        if (perr.error != QJsonParseError::NoError || !doc.isObject())
            return Error{
                QStringLiteral("corrupt vocab.json in %1: %2").arg(dir, perr.errorString())};
        std::unordered_map<U32, int64_t> vocab;
        const QJsonObject vo = doc.object();
        for (auto it = vo.constBegin(); it != vo.constEnd(); ++it) {
            const double id = it.value().toDouble();
            if (!it.value().isDouble() || id != std::floor(id) || id < 0 || id > 2147483647.0)
                return Error{QStringLiteral("vocab.json in %1: the id of \"%2\" must be a "
                                            "non-negative integer")
                                 .arg(dir, it.key().left(40))};
            vocab.emplace(toU32(it.key()), int64_t(id));
        }
        auto mb = readFile(d.filePath(QStringLiteral("merges.txt")));
        if (!mb) return mb.error();
        std::vector<std::pair<U32, U32>> merges;
        const QStringList lines = readTextLossy(mb.value()).split(QLatin1Char('\n'));
        for (int i = 0; i < lines.size(); ++i) {
            QString line = lines[i];
            if (line.endsWith(QLatin1Char('\r'))) line.chop(1);
            if (i == 0 && line.startsWith(QLatin1String("#version"))) continue;
            if (line.isEmpty()) continue;
            qsizetype sp = line.indexOf(QLatin1Char(' '), 1);
            if (sp < 0)
                return Error{
                    QStringLiteral("invalid line %1 in merges.txt of %2").arg(i + 1).arg(dir)};
            merges.push_back({toU32(line.left(sp)), toU32(line.mid(sp + 1))});
        }
        auto impl = std::make_unique<Impl>();
        const bool hasEot = vocab.count(U"<|endoftext|>") > 0;
        const int64_t eot = hasEot ? vocab.at(U"<|endoftext|>") : 0;
        auto m = makeBpeModel(std::move(vocab), merges);
        if (!m) return m.error();
        impl->model = m.value();
        impl->preTokenizer = makeByteLevelPreTokenizer(false, true);
        impl->postProcessor = makeByteLevelProcessor(true, false);
        impl->decoder = makeByteLevelDecoder();
        if (hasEot) {
            AddedToken t;
            t.content = U"<|endoftext|>";
            t.id = eot;
            t.special = true;
            impl->addToken(t);
        }
        impl->refreshAdded();
        impl->byteLevel = true;
        return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
    }

    if (d.exists(QStringLiteral("vocab.txt"))) {
        auto vb = readFile(d.filePath(QStringLiteral("vocab.txt")));
        if (!vb) return vb.error();
        std::unordered_map<U32, int64_t> vocab;
        QStringList lines = readTextLossy(vb.value()).split(QLatin1Char('\n'));
        if (!lines.isEmpty() && lines.back().isEmpty()) lines.removeLast();
        int64_t index = 0;
        for (QString line : lines) {
            while (!line.isEmpty() && line.back().isSpace())
                line.chop(1);
            vocab.emplace(toU32(line), index++);
        }
        bool lowercase = true;
        if (d.exists(QStringLiteral("tokenizer_config.json"))) {
            auto cb = readFile(d.filePath(QStringLiteral("tokenizer_config.json")));
            if (cb) {
                QJsonObject c = QJsonDocument::fromJson(sanitizeUtf8(cb.value())).object();
                if (c.value(QStringLiteral("do_lower_case")).isBool())
                    lowercase = c.value(QStringLiteral("do_lower_case")).toBool();
            }
        }
        auto impl = std::make_unique<Impl>();
        std::unordered_map<U32, int64_t> vcopy = vocab;
        auto m = makeWordPieceModel(std::move(vocab));
        if (!m) return m.error();
        impl->model = m.value();
        impl->normalizer = makeBertNormalizer(lowercase);
        impl->preTokenizer = makeBertPreTokenizer();
        impl->decoder = makeWordPieceDecoder(U"##", true);
        auto cls = vcopy.find(U"[CLS]"), sep = vcopy.find(U"[SEP]");
        if (cls != vcopy.end() && sep != vcopy.end())
            impl->postProcessor = makeBertProcessor(U"[SEP]", sep->second, U"[CLS]", cls->second);
        for (const char32_t* s : {U"[PAD]", U"[UNK]", U"[CLS]", U"[SEP]", U"[MASK]"}) {
            auto it = vcopy.find(s);
            if (it == vcopy.end()) continue;
            AddedToken t;
            t.content = s;
            t.id = it->second;
            t.special = true;
            impl->addToken(t);
        }
        impl->refreshAdded();
        return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
    }
    return Error{QStringLiteral("no tokenizer files in %1 (expected tokenizer.json, vocab.json + "
                                "merges.txt, or vocab.txt)")
                     .arg(dir)};
}

Result<Encoding> Tokenizer::encode(const QString& text, const std::optional<QString>& pair,
                                   bool addSpecialTokens) const {
    std::vector<Enc> encs;
    auto a = m_impl->encodeOne(text, 0);
    if (!a) return a.error();
    encs.push_back(std::move(a.value()));
    if (pair) {
        auto b = m_impl->encodeOne(*pair, 1);
        if (!b) return b.error();
        encs.push_back(std::move(b.value()));
    }
    if (m_impl->postProcessor)
        encs = m_impl->postProcessor->process(std::move(encs), addSpecialTokens);
    encs = defaultProcessEncodings(std::move(encs));
    Encoding out;
    if (encs.empty()) return out;
    Enc& e = encs[0];
    out.ids = e.ids;
    for (const U32& t : e.tokens)
        out.tokens.push_back(fromU32(t));
    out.offsets = e.offsets;
    out.typeIds = e.typeIds;
    out.sequenceIds = e.seqIds;
    out.specialMask = e.special;
    return out;
}

QString Tokenizer::idToToken(int64_t id) const {
    auto t = m_impl->idToTok(id);
    return t ? fromU32(*t) : QString();
}

std::optional<int64_t> Tokenizer::tokenToId(const QString& token) const {
    U32 u = toU32(token);
    auto it = m_impl->addedByContent.find(u);
    if (it != m_impl->addedByContent.end()) return m_impl->added[it->second].id;
    return m_impl->model->tokenToId(u);
}

int Tokenizer::vocabSize() const {
    int n = m_impl->model->vocabSize();
    for (const auto& t : m_impl->added)
        if (!m_impl->model->idToToken(t.id)) ++n;
    return n;
}

QString Tokenizer::decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const {
    std::vector<U32> tokens;
    for (int64_t id : ids) {
        auto ai = m_impl->addedById.find(id);
        if (ai != m_impl->addedById.end()) {
            if (skipSpecialTokens && m_impl->added[ai->second].special) continue;
            tokens.push_back(m_impl->added[ai->second].content);
            continue;
        }
        auto t = m_impl->model->idToToken(id);
        if (t) tokens.push_back(*t);
    }
    if (!m_impl->decoder) {
        U32 out;
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (i) out.push_back(' ');
            out += tokens[i];
        }
        return fromU32(out);
    }
    U32 out;
    for (const U32& t : m_impl->decoder->decodeChain(std::move(tokens)))
        out += t;
    return fromU32(out);
}

QString Tokenizer::displayToken(const QString& token) const {
    return displayToken(token, m_impl->byteLevel);
}

QString Tokenizer::displayToken(const QString& token, bool byteLevel) {
    U32 u = toU32(token);
    if (byteLevel) {
        std::string bytes;
        bool all = !u.empty();
        for (char32_t c : u) {
            int b = charToByte(c);
            if (b < 0) {
                all = false;
                break;
            }
            bytes.push_back(char(b));
        }
        if (all) return QString::fromUtf8(bytes.data(), qsizetype(bytes.size()));
        return token;
    }
    if (u.size() == 6 && u[0] == '<' && u[1] == '0' && u[2] == 'x' && u[5] == '>') {
        bool ok = false;
        int v = token.mid(3, 2).toInt(&ok, 16);
        if (ok && v < 0x80) return QString(QChar(char16_t(v)));
        return token;
    }
    QString out = token;
    out.replace(QChar(0x2581), QLatin1Char(' '));
    return out;
}

} // namespace attnscope
