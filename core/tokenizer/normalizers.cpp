// Normalizers and pre-tokenizers (HF tokenizers semantics).
#include "tok_internal.h"

#include <QByteArray>
#include <QJsonArray>
#include <QTextBoundaryFinder>

namespace attnscope::tok {

namespace {

QString typeOf(const QJsonObject& o) {
    return o.value(QStringLiteral("type")).toString();
}

bool boolOr(const QJsonObject& o, const char* key, bool def) {
    QJsonValue v = o.value(QLatin1String(key));
    return v.isBool() ? v.toBool() : def;
}

// ---------------- normalizers ----------------

class BertNormalizer : public Normalizer {
public:
    bool cleanText = true, chinese = true, lowercase = true;
    std::optional<bool> stripAccents;
    Status normalize(NormStr& n) const override {
        if (cleanText) {
            std::vector<NormStr::Out> out;
            out.reserve(n.s.size());
            for (size_t i = 0; i < n.s.size(); ++i) {
                char32_t c = n.s[i];
                if (c == 0 || c == 0xFFFD) continue;
                bool ctrl = !(c == '\t' || c == '\n' || c == '\r') && isControlOther(c);
                if (ctrl) continue;
                bool ws = c == '\t' || c == '\n' || c == '\r' || isWhitespace(c);
                out.push_back({ws ? char32_t(' ') : c, n.al[i]});
            }
            n.rebuild(out);
        }
        if (chinese) {
            bool any = false;
            for (char32_t c : n.s)
                if (isChineseChar(c)) {
                    any = true;
                    break;
                }
            if (any) {
                std::vector<NormStr::Out> out;
                for (size_t i = 0; i < n.s.size(); ++i) {
                    char32_t c = n.s[i];
                    if (isChineseChar(c)) {
                        out.push_back({' ', n.al[i]});
                        out.push_back({c, n.al[i]});
                        out.push_back({' ', n.al[i]});
                    } else {
                        out.push_back({c, n.al[i]});
                    }
                }
                n.rebuild(out);
            }
        }
        if (stripAccents.value_or(lowercase)) {
            Status st = n.unicodeNormalize(QString::NormalizationForm_D);
            if (!st) return st;
            n.filter([](char32_t c) { return !isNonspacingMark(c); });
        }
        if (lowercase) n.lowercase();
        return okStatus();
    }
};

class LowercaseNormalizer : public Normalizer {
public:
    Status normalize(NormStr& n) const override {
        n.lowercase();
        return okStatus();
    }
};

class UnicodeNormalizer : public Normalizer {
public:
    QString::NormalizationForm form;
    explicit UnicodeNormalizer(QString::NormalizationForm f) : form(f) {}
    Status normalize(NormStr& n) const override { return n.unicodeNormalize(form); }
};

class StripAccentsNormalizer : public Normalizer {
public:
    Status normalize(NormStr& n) const override {
        n.filter([](char32_t c) { return !isMark(c); });
        return okStatus();
    }
};

class StripNormalizer : public Normalizer {
public:
    bool left = true, right = true;
    Status normalize(NormStr& n) const override {
        n.stripWs(left, right);
        return okStatus();
    }
};

class ReplaceNormalizer : public Normalizer {
public:
    QRegularExpression re;
    U32 content;
    Status normalize(NormStr& n) const override {
        n.replaceAll(re, content);
        return okStatus();
    }
};

class PrependNormalizer : public Normalizer {
public:
    U32 prepend;
    Status normalize(NormStr& n) const override {
        n.prepend(prepend);
        return okStatus();
    }
};

class NmtNormalizer : public Normalizer {
public:
    Status normalize(NormStr& n) const override {
        std::vector<NormStr::Out> out;
        out.reserve(n.s.size());
        for (size_t i = 0; i < n.s.size(); ++i) {
            char32_t c = n.s[i];
            if ((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F ||
                c == 0x8F || c == 0x9F)
                continue;
            switch (c) {
            case 0x9:
            case 0xA:
            case 0xC:
            case 0xD:
            case 0x1680:
            case 0x200B:
            case 0x200C:
            case 0x200D:
            case 0x200E:
            case 0x200F:
            case 0x2028:
            case 0x2029:
            case 0x2581:
            case 0xFEFF:
            case 0xFFFD:
                c = ' ';
                break;
            default:
                break;
            }
            out.push_back({c, n.al[i]});
        }
        n.rebuild(out);
        return okStatus();
    }
};

class SequenceNormalizer : public Normalizer {
public:
    std::vector<std::shared_ptr<Normalizer>> items;
    Status normalize(NormStr& n) const override {
        for (const auto& it : items) {
            Status st = it->normalize(n);
            if (!st) return st;
        }
        return okStatus();
    }
};

// SentencePiece precompiled charsmap: a darts-clone double-array trie over UTF-8 bytes
// mapping to NUL-terminated replacement strings (as in the spm_precompiled crate).
class PrecompiledNormalizer : public Normalizer {
public:
    std::vector<uint32_t> array;
    QByteArray normalized;

    bool load(const QByteArray& blob) {
        if (blob.size() < 4) return false;
        const auto* d = reinterpret_cast<const unsigned char*>(blob.constData());
        uint32_t trieSize = uint32_t(d[0]) | (uint32_t(d[1]) << 8) | (uint32_t(d[2]) << 16) |
                            (uint32_t(d[3]) << 24);
        if (trieSize % 4 != 0 || qsizetype(trieSize) + 4 > blob.size()) return false;
        array.resize(trieSize / 4);
        for (size_t i = 0; i < array.size(); ++i) {
            const unsigned char* p = d + 4 + i * 4;
            array[i] = uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
                       (uint32_t(p[3]) << 24);
        }
        normalized = blob.mid(4 + qsizetype(trieSize));
        return !array.empty();
    }

    // First (shortest) prefix value, as spm_precompiled's transform does.
    std::optional<std::string> transform(const std::string& chunk) const {
        auto offset = [](uint32_t u) -> size_t {
            return size_t((u >> 10) << ((u & (1u << 9)) >> 6));
        };
        auto hasLeaf = [](uint32_t u) { return ((u >> 8) & 1u) == 1u; };
        auto label = [](uint32_t u) { return u & ((1u << 31) | 0xFFu); };
        auto value = [](uint32_t u) { return u & ((1u << 31) - 1); };
        size_t pos = 0;
        if (array.empty()) return std::nullopt;
        uint32_t unit = array[0];
        pos ^= offset(unit);
        for (unsigned char c : chunk) {
            if (c == 0) break;
            pos ^= c;
            if (pos >= array.size()) return std::nullopt;
            unit = array[pos];
            if (label(unit) != c) return std::nullopt;
            pos ^= offset(unit);
            if (hasLeaf(unit)) {
                if (pos >= array.size()) return std::nullopt;
                size_t idx = value(array[pos]);
                if (idx >= size_t(normalized.size())) return std::nullopt;
                size_t end = idx;
                while (end < size_t(normalized.size()) && normalized[qsizetype(end)] != 0)
                    ++end;
                return std::string(normalized.constData() + idx, end - idx);
            }
        }
        return std::nullopt;
    }

    Status normalize(NormStr& n) const override {
        if (n.s.empty()) return okStatus();
        QString q = fromU32(n.s);
        // code point index of each UTF-16 position
        std::vector<int> u16ToCp;
        for (size_t i = 0; i < n.s.size(); ++i) {
            u16ToCp.push_back(int(i));
            if (n.s[i] >= 0x10000) u16ToCp.push_back(int(i));
        }
        u16ToCp.push_back(int(n.s.size()));
        std::vector<NormStr::Out> out;
        bool modified = false;
        auto emitNorm = [&](const std::string& norm, int srcIdx) {
            U32 u = toU32(QString::fromUtf8(norm.data(), qsizetype(norm.size())));
            for (char32_t c : u)
                out.push_back({c, n.al[size_t(srcIdx)]});
        };
        QTextBoundaryFinder bf(QTextBoundaryFinder::Grapheme, q);
        int prev = 0;
        auto handle = [&](int b, int e) { // code point range of one grapheme
            std::string g;
            for (int i = b; i < e; ++i)
                appendUtf8(g, n.s[size_t(i)]);
            if (g.size() < 6) {
                if (auto t = transform(g)) {
                    modified = true;
                    // HF: chars of the replacement: first replaces, the rest are inserted
                    U32 u = toU32(QString::fromUtf8(t->data(), qsizetype(t->size())));
                    for (size_t k = 0; k < u.size(); ++k)
                        out.push_back({u[k], n.al[size_t(b)]});
                    return;
                }
            }
            for (int i = b; i < e; ++i) {
                std::string part;
                appendUtf8(part, n.s[size_t(i)]);
                if (auto t = transform(part)) {
                    modified = true;
                    emitNorm(*t, i);
                } else {
                    out.push_back({n.s[size_t(i)], n.al[size_t(i)]});
                }
            }
        };
        while (true) {
            qsizetype next = bf.toNextBoundary();
            if (next < 0) break;
            int b = u16ToCp[size_t(prev)], e = u16ToCp[size_t(next)];
            if (e > b) handle(b, e);
            prev = int(next);
            if (next >= q.size()) break;
        }
        if (modified) n.rebuild(out);
        return okStatus();
    }
};

// ---------------- pre-tokenizers ----------------

template <typename F> Status splitEach(std::vector<Split>& splits, F&& f) {
    std::vector<Split> out;
    out.reserve(splits.size());
    for (auto& sp : splits) {
        if (sp.hasTokens) {
            out.push_back(std::move(sp));
            continue;
        }
        std::vector<NormStr> pieces;
        Status st = f(sp.n, pieces);
        if (!st) return st;
        for (auto& p : pieces) {
            if (p.empty()) continue;
            Split s;
            s.n = std::move(p);
            out.push_back(std::move(s));
        }
    }
    splits = std::move(out);
    return okStatus();
}

const QRegularExpression& gpt2Regex() {
    static const QRegularExpression re = [] {
        QRegularExpression r(QStringLiteral("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                                            "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
                             QRegularExpression::UseUnicodePropertiesOption);
        r.optimize();
        return r;
    }();
    return re;
}

class ByteLevelPre : public PreTokenizer {
public:
    bool addPrefixSpace = false, useRegex = true;
    bool isByteLevel() const override { return true; }
    Status preTokenize(std::vector<Split>& splits) const override {
        Status st = splitEach(splits, [&](NormStr& n, std::vector<NormStr>& out) {
            NormStr m = n;
            if (addPrefixSpace && !(m.s.size() > 0 && m.s[0] == ' ')) m.prepend(U" ");
            if (useRegex)
                out = splitNorm(m, regexMatches(m.s, gpt2Regex()), SplitBehavior::Isolated);
            else
                out.push_back(std::move(m));
            return okStatus();
        });
        if (!st) return st;
        const auto& table = byteToChar();
        for (auto& sp : splits) {
            if (sp.hasTokens) continue;
            std::vector<NormStr::Out> out;
            out.reserve(sp.n.s.size() * 2);
            std::string bytes;
            for (size_t i = 0; i < sp.n.s.size(); ++i) {
                bytes.clear();
                appendUtf8(bytes, sp.n.s[i]);
                for (unsigned char b : bytes)
                    out.push_back({table[b], sp.n.al[i]});
            }
            sp.n.rebuild(out);
        }
        return okStatus();
    }
};

class FnSplitPre : public PreTokenizer {
public:
    bool (*pred)(char32_t) = nullptr;
    SplitBehavior behavior = SplitBehavior::Isolated;
    Status preTokenize(std::vector<Split>& splits) const override {
        return splitEach(splits, [&](NormStr& n, std::vector<NormStr>& out) {
            out = splitNorm(n, charMatches(n.s, pred), behavior);
            return okStatus();
        });
    }
};

class BertPre : public PreTokenizer {
public:
    Status preTokenize(std::vector<Split>& splits) const override {
        return splitEach(splits, [&](NormStr& n, std::vector<NormStr>& out) {
            for (auto& p : splitNorm(n, charMatches(n.s, isWhitespace), SplitBehavior::Removed)) {
                if (p.empty()) continue;
                for (auto& q :
                     splitNorm(p, charMatches(p.s, isPunctuation), SplitBehavior::Isolated))
                    out.push_back(std::move(q));
            }
            return okStatus();
        });
    }
};

class RegexSplitPre : public PreTokenizer {
public:
    QRegularExpression re;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    Status preTokenize(std::vector<Split>& splits) const override {
        return splitEach(splits, [&](NormStr& n, std::vector<NormStr>& out) {
            Matches m = regexMatches(n.s, re);
            if (invert)
                for (auto& x : m)
                    x.second = !x.second;
            out = splitNorm(n, m, behavior);
            return okStatus();
        });
    }
};

class MetaspacePre : public PreTokenizer {
public:
    char32_t replacement = 0x2581;
    enum { Always, First, Never } scheme = Always;
    bool split = true;
    Status preTokenize(std::vector<Split>& splits) const override {
        U32 rep(1, replacement);
        return splitEach(splits, [&](NormStr& n, std::vector<NormStr>& out) {
            NormStr m = n;
            m.replaceString(U" ", rep);
            bool starts = !m.s.empty() && m.s[0] == replacement;
            if (scheme == Always && !starts)
                m.prepend(rep);
            else if (scheme == First && !starts && m.origBegin == 0)
                m.prepend(rep);
            if (split) {
                out = splitNorm(m, literalMatches(m.s, rep), SplitBehavior::MergedWithNext);
            } else {
                out.push_back(std::move(m));
            }
            return okStatus();
        });
    }
};

class SequencePre : public PreTokenizer {
public:
    std::vector<std::shared_ptr<PreTokenizer>> items;
    bool isByteLevel() const override {
        for (const auto& i : items)
            if (i->isByteLevel()) return true;
        return false;
    }
    Status preTokenize(std::vector<Split>& splits) const override {
        for (const auto& it : items) {
            Status st = it->preTokenize(splits);
            if (!st) return st;
        }
        return okStatus();
    }
};

Result<SplitBehavior> parseBehavior(const QJsonValue& v, SplitBehavior def) {
    if (v.isUndefined() || v.isNull()) return def;
    QString b = v.toString();
    if (b == QLatin1String("Removed")) return SplitBehavior::Removed;
    if (b == QLatin1String("Isolated")) return SplitBehavior::Isolated;
    if (b == QLatin1String("MergedWithPrevious")) return SplitBehavior::MergedWithPrevious;
    if (b == QLatin1String("MergedWithNext")) return SplitBehavior::MergedWithNext;
    if (b == QLatin1String("Contiguous")) return SplitBehavior::Contiguous;
    return Error{QStringLiteral("unsupported split behavior \"%1\" in tokenizer.json").arg(b)};
}

} // namespace

std::shared_ptr<Normalizer> makeBertNormalizer(bool lowercase) {
    auto n = std::make_shared<BertNormalizer>();
    n->lowercase = lowercase;
    return n;
}

std::shared_ptr<PreTokenizer> makeBertPreTokenizer() {
    return std::make_shared<BertPre>();
}

std::shared_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) {
    auto p = std::make_shared<ByteLevelPre>();
    p->addPrefixSpace = addPrefixSpace;
    p->useRegex = useRegex;
    return p;
}

Result<std::shared_ptr<Normalizer>> makeNormalizer(const QJsonObject& o) {
    const QString t = typeOf(o);
    if (t == QLatin1String("BertNormalizer")) {
        auto n = std::make_shared<BertNormalizer>();
        n->cleanText = boolOr(o, "clean_text", true);
        n->chinese = boolOr(o, "handle_chinese_chars", true);
        n->lowercase = boolOr(o, "lowercase", true);
        QJsonValue sa = o.value(QStringLiteral("strip_accents"));
        if (sa.isBool()) n->stripAccents = sa.toBool();
        return std::shared_ptr<Normalizer>(n);
    }
    if (t == QLatin1String("Lowercase"))
        return std::shared_ptr<Normalizer>(std::make_shared<LowercaseNormalizer>());
    if (t == QLatin1String("NFC"))
        return std::shared_ptr<Normalizer>(
            std::make_shared<UnicodeNormalizer>(QString::NormalizationForm_C));
    if (t == QLatin1String("NFD"))
        return std::shared_ptr<Normalizer>(
            std::make_shared<UnicodeNormalizer>(QString::NormalizationForm_D));
    if (t == QLatin1String("NFKC"))
        return std::shared_ptr<Normalizer>(
            std::make_shared<UnicodeNormalizer>(QString::NormalizationForm_KC));
    if (t == QLatin1String("NFKD"))
        return std::shared_ptr<Normalizer>(
            std::make_shared<UnicodeNormalizer>(QString::NormalizationForm_KD));
    if (t == QLatin1String("StripAccents"))
        return std::shared_ptr<Normalizer>(std::make_shared<StripAccentsNormalizer>());
    if (t == QLatin1String("Strip")) {
        auto n = std::make_shared<StripNormalizer>();
        n->left = boolOr(o, "strip_left", true);
        n->right = boolOr(o, "strip_right", true);
        return std::shared_ptr<Normalizer>(n);
    }
    if (t == QLatin1String("Replace")) {
        auto n = std::make_shared<ReplaceNormalizer>();
        auto re = parsePattern(o.value(QStringLiteral("pattern")));
        if (!re) return re.error();
        n->re = re.value();
        n->content = toU32(o.value(QStringLiteral("content")).toString());
        return std::shared_ptr<Normalizer>(n);
    }
    if (t == QLatin1String("Prepend")) {
        auto n = std::make_shared<PrependNormalizer>();
        n->prepend = toU32(o.value(QStringLiteral("prepend")).toString());
        return std::shared_ptr<Normalizer>(n);
    }
    if (t == QLatin1String("Nmt"))
        return std::shared_ptr<Normalizer>(std::make_shared<NmtNormalizer>());
    if (t == QLatin1String("Precompiled")) {
        auto n = std::make_shared<PrecompiledNormalizer>();
        QJsonValue v = o.value(QStringLiteral("precompiled_charsmap"));
        QByteArray blob;
        if (v.isString()) {
            blob = QByteArray::fromBase64(v.toString().toLatin1());
        } else if (v.isArray()) {
            for (const auto& b : v.toArray())
                blob.append(char(b.toInt()));
        }
        if (blob.isEmpty())
            return std::shared_ptr<Normalizer>(std::make_shared<SequenceNormalizer>());
        if (!n->load(blob))
            return Error{QStringLiteral("invalid precompiled_charsmap in Precompiled normalizer")};
        return std::shared_ptr<Normalizer>(n);
    }
    if (t == QLatin1String("Sequence")) {
        auto n = std::make_shared<SequenceNormalizer>();
        if (auto s = parseSequence(o.value(QStringLiteral("normalizers")).toArray(), makeNormalizer,
                                   n->items);
            !s)
            return s.error();
        return std::shared_ptr<Normalizer>(n);
    }
    return Error{QStringLiteral("unsupported normalizer type \"%1\" in tokenizer.json").arg(t)};
}

Result<std::shared_ptr<PreTokenizer>> makePreTokenizer(const QJsonObject& o) {
    const QString t = typeOf(o);
    if (t == QLatin1String("ByteLevel")) {
        return std::shared_ptr<PreTokenizer>(makeByteLevelPreTokenizer(
            boolOr(o, "add_prefix_space", true), boolOr(o, "use_regex", true)));
    }
    if (t == QLatin1String("BertPreTokenizer"))
        return std::shared_ptr<PreTokenizer>(makeBertPreTokenizer());
    if (t == QLatin1String("Whitespace")) {
        auto p = std::make_shared<RegexSplitPre>();
        auto re = compileRegex(QStringLiteral("[\\p{L}\\p{M}\\p{N}\\p{Pc}\\x{200C}\\x{200D}]+|[^"
                                              "\\p{L}\\p{M}\\p{N}\\p{Pc}\\x{200C}\\x{200D}\\s]+"));
        if (!re) return re.error();
        p->re = re.value();
        p->behavior = SplitBehavior::Removed;
        p->invert = true;
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("WhitespaceSplit")) {
        auto p = std::make_shared<FnSplitPre>();
        p->pred = isWhitespace;
        p->behavior = SplitBehavior::Removed;
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("Punctuation")) {
        auto p = std::make_shared<FnSplitPre>();
        p->pred = isPunctuation;
        auto b = parseBehavior(o.value(QStringLiteral("behavior")), SplitBehavior::Isolated);
        if (!b) return b.error();
        p->behavior = b.value();
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("Digits")) {
        auto p = std::make_shared<FnSplitPre>();
        p->pred = isNumeric;
        p->behavior = boolOr(o, "individual_digits", false) ? SplitBehavior::Isolated
                                                            : SplitBehavior::Contiguous;
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("CharDelimiterSplit")) {
        auto p = std::make_shared<RegexSplitPre>();
        auto re = compileRegex(
            QRegularExpression::escape(o.value(QStringLiteral("delimiter")).toString()));
        if (!re) return re.error();
        p->re = re.value();
        p->behavior = SplitBehavior::Removed;
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("Split")) {
        auto p = std::make_shared<RegexSplitPre>();
        auto re = parsePattern(o.value(QStringLiteral("pattern")));
        if (!re) return re.error();
        p->re = re.value();
        auto b = parseBehavior(o.value(QStringLiteral("behavior")), SplitBehavior::Isolated);
        if (!b) return b.error();
        p->behavior = b.value();
        p->invert = boolOr(o, "invert", false);
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("Metaspace")) {
        auto p = std::make_shared<MetaspacePre>();
        U32 rep = toU32(o.value(QStringLiteral("replacement")).toString());
        if (!rep.empty()) p->replacement = rep[0];
        QString scheme = o.value(QStringLiteral("prepend_scheme")).toString();
        if (scheme == QLatin1String("first"))
            p->scheme = MetaspacePre::First;
        else if (scheme == QLatin1String("never"))
            p->scheme = MetaspacePre::Never;
        else if (scheme.isEmpty() && o.value(QStringLiteral("add_prefix_space")).isBool() &&
                 !o.value(QStringLiteral("add_prefix_space")).toBool())
            p->scheme = MetaspacePre::Never;
        p->split = boolOr(o, "split", true);
        return std::shared_ptr<PreTokenizer>(p);
    }
    if (t == QLatin1String("Sequence")) {
        auto p = std::make_shared<SequencePre>();
        if (auto s = parseSequence(o.value(QStringLiteral("pretokenizers")).toArray(),
                                   makePreTokenizer, p->items);
            !s)
            return s.error();
        return std::shared_ptr<PreTokenizer>(p);
    }
    return Error{QStringLiteral("unsupported pre_tokenizer type \"%1\" in tokenizer.json").arg(t)};
}

} // namespace attnscope::tok
