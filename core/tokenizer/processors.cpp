// Post-processors and decoders (HF tokenizers semantics).
#include "tok_internal.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QStringDecoder>

namespace attnscope::tok {

namespace {

QString typeOf(const QJsonObject& o) {
    return o.value(QStringLiteral("type")).toString();
}

bool boolOr(const QJsonObject& o, const char* key, bool def) {
    QJsonValue v = o.value(QLatin1String(key));
    return v.isBool() ? v.toBool() : def;
}

// HF ByteLevel process_offsets: trim whitespace ("Ġ") from token offsets.
void trimOffsets(Enc& e, bool addPrefixSpace) {
    const char32_t G = byteToChar()[' '];
    for (size_t i = 0; i < e.ids.size(); ++i) {
        const U32& t = e.tokens[i];
        Range& off = e.offsets[i];
        int lead = 0, trail = 0;
        while (lead < int(t.size()) && (t[size_t(lead)] == G || isWhitespace(t[size_t(lead)])))
            ++lead;
        while (trail < int(t.size()) && (t[t.size() - 1 - size_t(trail)] == G ||
                                         isWhitespace(t[t.size() - 1 - size_t(trail)])))
            ++trail;
        if (lead > 0) {
            bool isFirst = i == 0 || off.first == 0;
            if (isFirst && addPrefixSpace && lead == 1) lead = 0;
            off.first = std::min(off.first + lead, off.second);
        }
        if (trail > 0 && off.second >= trail) off.second = std::max(off.second - trail, off.first);
    }
}

std::vector<Enc> defaultProcess(std::vector<Enc> encs) {
    if (encs.size() <= 1) return encs;
    Enc out;
    for (size_t i = 0; i < encs.size(); ++i) {
        for (auto& s : encs[i].seqIds)
            if (s >= 0) s = int(i);
        out.append(encs[i]);
    }
    return {out};
}

void setType(Enc& e, int64_t type, int seq) {
    for (auto& t : e.typeIds)
        t = type;
    for (auto& s : e.seqIds)
        s = seq;
}

class ByteLevelProcessor : public PostProcessor {
public:
    bool addPrefixSpace = true, trim = true;
    bool isByteLevel() const override { return true; }
    std::vector<Enc> process(std::vector<Enc> encs, bool) const override {
        if (trim)
            for (auto& e : encs)
                trimOffsets(e, addPrefixSpace);
        return encs;
    }
};

class BertProcessor : public PostProcessor {
public:
    U32 sep, cls;
    int64_t sepId = 0, clsId = 0;
    bool roberta = false;
    bool trim = true, addPrefixSpace = true;
    std::vector<Enc> process(std::vector<Enc> encs, bool addSpecial) const override {
        if (roberta && trim)
            for (auto& e : encs)
                trimOffsets(e, addPrefixSpace);
        if (!addSpecial) return encs;
        Enc out;
        out.addSpecial(clsId, cls, 0);
        setType(encs[0], 0, 0);
        out.append(encs[0]);
        out.addSpecial(sepId, sep, 0);
        if (encs.size() > 1) {
            int64_t t = roberta ? 0 : 1;
            if (roberta) out.addSpecial(sepId, sep, 0);
            setType(encs[1], t, 1);
            out.append(encs[1]);
            out.addSpecial(sepId, sep, t);
        }
        return {out};
    }
};

class TemplateProcessor : public PostProcessor {
public:
    struct Piece {
        bool isSeq;
        int seq;
        U32 special;
        int64_t typeId;
    };
    std::vector<Piece> single, pair;
    struct Special {
        std::vector<int64_t> ids;
        std::vector<U32> tokens;
    };
    std::unordered_map<U32, Special> specials;

    std::vector<Enc> process(std::vector<Enc> encs, bool addSpecial) const override {
        const auto& tpl = encs.size() > 1 ? pair : single;
        Enc out;
        for (const Piece& p : tpl) {
            if (p.isSeq) {
                size_t i = size_t(p.seq);
                if (i >= encs.size()) continue;
                Enc e = encs[i];
                setType(e, p.typeId, int(i));
                out.append(e);
            } else if (addSpecial) {
                auto it = specials.find(p.special);
                if (it == specials.end()) continue;
                for (size_t k = 0; k < it->second.ids.size(); ++k)
                    out.addSpecial(it->second.ids[k],
                                   k < it->second.tokens.size() ? it->second.tokens[k] : p.special,
                                   p.typeId);
            }
        }
        return {out};
    }
};

class SequenceProcessor : public PostProcessor {
public:
    std::vector<std::shared_ptr<PostProcessor>> items;
    bool isByteLevel() const override {
        for (const auto& i : items)
            if (i->isByteLevel()) return true;
        return false;
    }
    std::vector<Enc> process(std::vector<Enc> encs, bool addSpecial) const override {
        for (const auto& it : items)
            encs = it->process(std::move(encs), addSpecial);
        return encs;
    }
};

Result<TemplateProcessor::Piece> parsePiece(const QJsonValue& v) {
    TemplateProcessor::Piece p{false, 0, U32(), 0};
    if (v.isObject()) {
        QJsonObject o = v.toObject();
        if (o.contains(QStringLiteral("Sequence"))) {
            QJsonObject s = o.value(QStringLiteral("Sequence")).toObject();
            p.isSeq = true;
            p.seq = s.value(QStringLiteral("id")).toString() == QLatin1String("B") ? 1 : 0;
            p.typeId = int64_t(s.value(QStringLiteral("type_id")).toDouble());
            return p;
        }
        if (o.contains(QStringLiteral("SpecialToken"))) {
            QJsonObject s = o.value(QStringLiteral("SpecialToken")).toObject();
            p.special = toU32(s.value(QStringLiteral("id")).toString());
            p.typeId = int64_t(s.value(QStringLiteral("type_id")).toDouble());
            return p;
        }
    } else if (v.isString()) {
        // "$A", "$B:1", "[CLS]:0"
        QString s = v.toString();
        QString name = s;
        qsizetype colon = s.lastIndexOf(QLatin1Char(':'));
        if (colon > 0) {
            bool ok = false;
            int t = s.mid(colon + 1).toInt(&ok);
            if (ok) {
                p.typeId = t;
                name = s.left(colon);
            }
        }
        if (name.startsWith(QLatin1Char('$'))) {
            p.isSeq = true;
            QString id = name.mid(1);
            p.seq = id == QLatin1String("B") || id == QLatin1String("1") ? 1 : 0;
            if (id.isEmpty() && colon > 0) p.seq = 0;
            return p;
        }
        p.special = toU32(name);
        return p;
    }
    return Error{QStringLiteral("invalid TemplateProcessing piece in tokenizer.json")};
}

Result<std::vector<TemplateProcessor::Piece>> parseTemplate(const QJsonValue& v) {
    std::vector<TemplateProcessor::Piece> out;
    QJsonArray arr;
    if (v.isString()) {
        for (const QString& part : v.toString().split(QLatin1Char(' '), Qt::SkipEmptyParts))
            arr.append(part);
    } else {
        arr = v.toArray();
    }
    for (const auto& e : arr) {
        auto p = parsePiece(e);
        if (!p) return p.error();
        out.push_back(p.value());
    }
    return out;
}

// ---------------- decoders ----------------

class ByteLevelDecoder : public Decoder {
public:
    bool isByteLevel() const override { return true; }
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        std::string bytes;
        for (const U32& t : tokens) {
            std::string tb;
            bool ok = true;
            for (char32_t c : t) {
                int b = charToByte(c);
                if (b < 0) {
                    ok = false;
                    break;
                }
                tb.push_back(char(b));
            }
            if (!ok) {
                tb.clear();
                for (char32_t c : t)
                    appendUtf8(tb, c);
            }
            bytes += tb;
        }
        return {toU32(QString::fromUtf8(bytes.data(), qsizetype(bytes.size())))};
    }
};

U32 replaceAllU32(const U32& s, const U32& from, const U32& to) {
    if (from.empty()) return s;
    U32 out;
    size_t pos = 0;
    while (true) {
        size_t f = s.find(from, pos);
        if (f == U32::npos) {
            out.append(s, pos, U32::npos);
            break;
        }
        out.append(s, pos, f - pos);
        out += to;
        pos = f + from.size();
    }
    return out;
}

class WordPieceDecoder : public Decoder {
public:
    U32 prefix = U"##";
    bool cleanup = true;
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            U32& t = tokens[i];
            if (i != 0) {
                // HF: a token starting with the prefix loses it, any other gets a leading space
                // (an empty prefix matches every token, so nothing changes then).
                if (t.compare(0, prefix.size(), prefix) == 0)
                    t = t.substr(prefix.size());
                else
                    t = U" " + t;
            }
            if (cleanup) {
                static const std::pair<const char32_t*, const char32_t*> reps[] = {
                    {U" .", U"."},   {U" ?", U"?"},     {U" !", U"!"},    {U" ,", U","},
                    {U" ' ", U"'"},  {U" n't", U"n't"}, {U" 'm", U"'m"},  {U" do not", U" don't"},
                    {U" 's", U"'s"}, {U" 've", U"'ve"}, {U" 're", U"'re"}};
                for (const auto& [a, b] : reps)
                    t = replaceAllU32(t, a, b);
            }
        }
        return tokens;
    }
};

class MetaspaceDecoder : public Decoder {
public:
    char32_t replacement = 0x2581;
    bool prepend = true;
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            U32 out;
            for (char32_t c : tokens[i]) {
                if (c == replacement) {
                    if (i == 0 && prepend) continue;
                    out.push_back(' ');
                } else {
                    out.push_back(c);
                }
            }
            tokens[i] = out;
        }
        return tokens;
    }
};

class ByteFallbackDecoder : public Decoder {
public:
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        std::vector<U32> out;
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            QStringDecoder dec(QStringDecoder::Utf8);
            QString s = dec(QByteArray(pending.data(), qsizetype(pending.size())));
            if (dec.hasError()) {
                for (size_t k = 0; k < pending.size(); ++k)
                    out.push_back(U"\uFFFD");
            } else {
                out.push_back(toU32(s));
            }
            pending.clear();
        };
        for (const U32& t : tokens) {
            int byte = -1;
            if (t.size() == 6 && t[0] == '<' && t[1] == '0' && t[2] == 'x' && t[5] == '>') {
                bool ok = false;
                int v = fromU32(t.substr(3, 2)).toInt(&ok, 16);
                if (ok) byte = v;
            }
            if (byte >= 0) {
                pending.push_back(char(byte));
            } else {
                flush();
                out.push_back(t);
            }
        }
        flush();
        return out;
    }
};

class FuseDecoder : public Decoder {
public:
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        U32 all;
        for (const auto& t : tokens)
            all += t;
        return {all};
    }
};

class StripDecoder : public Decoder {
public:
    char32_t content = ' ';
    int start = 0, stop = 0;
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (U32& t : tokens) {
            int n = int(t.size());
            int startCut = 0;
            for (int i = 0; i < std::min(start, n); ++i) {
                if (t[size_t(i)] == content)
                    startCut = i + 1;
                else
                    break;
            }
            int stopCut = n;
            for (int i = 0; i < std::min(stop, n); ++i) {
                if (t[size_t(n - 1 - i)] == content)
                    stopCut = n - i - 1;
                else
                    break;
            }
            if (stopCut < startCut) stopCut = startCut;
            t = t.substr(size_t(startCut), size_t(stopCut - startCut));
        }
        return tokens;
    }
};

class ReplaceDecoder : public Decoder {
public:
    QRegularExpression re;
    U32 content;
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (U32& t : tokens) {
            Matches m = regexMatches(t, re);
            U32 out;
            for (const auto& [r, isMatch] : m) {
                if (isMatch)
                    out += content;
                else
                    out.append(t, size_t(r.first), size_t(r.second - r.first));
            }
            t = out;
        }
        return tokens;
    }
};

class BpeDecoder : public Decoder {
public:
    U32 suffix = U"</w>";
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replaceAllU32(tokens[i], suffix, i + 1 == tokens.size() ? U"" : U" ");
        return tokens;
    }
};

class SequenceDecoder : public Decoder {
public:
    std::vector<std::shared_ptr<Decoder>> items;
    bool isByteLevel() const override {
        for (const auto& i : items)
            if (i->isByteLevel()) return true;
        return false;
    }
    std::vector<U32> decodeChain(std::vector<U32> tokens) const override {
        for (const auto& it : items)
            tokens = it->decodeChain(std::move(tokens));
        return tokens;
    }
};

Result<std::pair<U32, int64_t>> parseSpecialPair(const QJsonValue& v, const char* what) {
    QJsonArray a = v.toArray();
    if (a.size() != 2)
        return Error{QStringLiteral("invalid \"%1\" in post_processor of tokenizer.json")
                         .arg(QLatin1String(what))};
    return std::make_pair(toU32(a.at(0).toString()), int64_t(a.at(1).toDouble()));
}

} // namespace

std::vector<Enc> defaultProcessEncodings(std::vector<Enc> encs) {
    return defaultProcess(std::move(encs));
}

std::shared_ptr<PostProcessor> makeByteLevelProcessor(bool addPrefixSpace, bool trimOffsets_) {
    auto p = std::make_shared<ByteLevelProcessor>();
    p->addPrefixSpace = addPrefixSpace;
    p->trim = trimOffsets_;
    return p;
}

std::shared_ptr<PostProcessor> makeBertProcessor(const U32& sep, int64_t sepId, const U32& cls,
                                                 int64_t clsId) {
    auto p = std::make_shared<BertProcessor>();
    p->sep = sep;
    p->sepId = sepId;
    p->cls = cls;
    p->clsId = clsId;
    return p;
}

std::shared_ptr<Decoder> makeByteLevelDecoder() {
    return std::make_shared<ByteLevelDecoder>();
}

std::shared_ptr<Decoder> makeWordPieceDecoder(const U32& prefix, bool cleanup) {
    auto d = std::make_shared<WordPieceDecoder>();
    d->prefix = prefix;
    d->cleanup = cleanup;
    return d;
}

Result<std::shared_ptr<PostProcessor>> makePostProcessor(const QJsonObject& o) {
    const QString t = typeOf(o);
    if (t == QLatin1String("ByteLevel"))
        return makeByteLevelProcessor(boolOr(o, "add_prefix_space", true),
                                      boolOr(o, "trim_offsets", true));
    if (t == QLatin1String("BertProcessing") || t == QLatin1String("RobertaProcessing")) {
        auto p = std::make_shared<BertProcessor>();
        auto sep = parseSpecialPair(o.value(QStringLiteral("sep")), "sep");
        if (!sep) return sep.error();
        auto cls = parseSpecialPair(o.value(QStringLiteral("cls")), "cls");
        if (!cls) return cls.error();
        p->sep = sep->first;
        p->sepId = sep->second;
        p->cls = cls->first;
        p->clsId = cls->second;
        p->roberta = t == QLatin1String("RobertaProcessing");
        p->trim = boolOr(o, "trim_offsets", true);
        p->addPrefixSpace = boolOr(o, "add_prefix_space", true);
        return std::shared_ptr<PostProcessor>(p);
    }
    if (t == QLatin1String("TemplateProcessing")) {
        auto p = std::make_shared<TemplateProcessor>();
        auto s = parseTemplate(o.value(QStringLiteral("single")));
        if (!s) return s.error();
        p->single = s.value();
        auto pr = parseTemplate(o.value(QStringLiteral("pair")));
        if (!pr) return pr.error();
        p->pair = pr.value();
        QJsonObject sp = o.value(QStringLiteral("special_tokens")).toObject();
        for (auto it = sp.constBegin(); it != sp.constEnd(); ++it) {
            QJsonObject so = it.value().toObject();
            TemplateProcessor::Special s2;
            for (const auto& v : so.value(QStringLiteral("ids")).toArray())
                s2.ids.push_back(int64_t(v.toDouble()));
            for (const auto& v : so.value(QStringLiteral("tokens")).toArray())
                s2.tokens.push_back(toU32(v.toString()));
            QString id = so.value(QStringLiteral("id")).toString(it.key());
            p->specials[toU32(id)] = s2;
        }
        for (const auto* tpl : {&p->single, &p->pair})
            for (const auto& piece : *tpl)
                if (!piece.isSeq && !p->specials.count(piece.special))
                    return Error{QStringLiteral("TemplateProcessing uses special token \"%1\" "
                                                "missing from special_tokens")
                                     .arg(fromU32(piece.special))};
        return std::shared_ptr<PostProcessor>(p);
    }
    if (t == QLatin1String("Sequence")) {
        auto p = std::make_shared<SequenceProcessor>();
        if (auto s = parseSequence(o.value(QStringLiteral("processors")).toArray(),
                                   makePostProcessor, p->items);
            !s)
            return s.error();
        return std::shared_ptr<PostProcessor>(p);
    }
    return Error{QStringLiteral("unsupported post_processor type \"%1\" in tokenizer.json").arg(t)};
}

Result<std::shared_ptr<Decoder>> makeDecoder(const QJsonObject& o) {
    const QString t = typeOf(o);
    if (t == QLatin1String("ByteLevel")) return makeByteLevelDecoder();
    if (t == QLatin1String("WordPiece"))
        return makeWordPieceDecoder(
            toU32(o.value(QStringLiteral("prefix")).toString(QStringLiteral("##"))),
            boolOr(o, "cleanup", true));
    if (t == QLatin1String("Metaspace")) {
        auto d = std::make_shared<MetaspaceDecoder>();
        U32 rep = toU32(o.value(QStringLiteral("replacement")).toString());
        if (!rep.empty()) d->replacement = rep[0];
        QString scheme = o.value(QStringLiteral("prepend_scheme")).toString();
        if (scheme == QLatin1String("never"))
            d->prepend = false;
        else if (scheme.isEmpty() && o.value(QStringLiteral("add_prefix_space")).isBool())
            d->prepend = o.value(QStringLiteral("add_prefix_space")).toBool();
        return std::shared_ptr<Decoder>(d);
    }
    if (t == QLatin1String("ByteFallback"))
        return std::shared_ptr<Decoder>(std::make_shared<ByteFallbackDecoder>());
    if (t == QLatin1String("Fuse"))
        return std::shared_ptr<Decoder>(std::make_shared<FuseDecoder>());
    if (t == QLatin1String("Strip")) {
        auto d = std::make_shared<StripDecoder>();
        U32 c = toU32(o.value(QStringLiteral("content")).toString(QStringLiteral(" ")));
        d->content = c.empty() ? U' ' : c[0];
        d->start = o.value(QStringLiteral("start")).toInt(0);
        d->stop = o.value(QStringLiteral("stop")).toInt(0);
        return std::shared_ptr<Decoder>(d);
    }
    if (t == QLatin1String("Replace")) {
        auto d = std::make_shared<ReplaceDecoder>();
        auto re = parsePattern(o.value(QStringLiteral("pattern")));
        if (!re) return re.error();
        d->re = re.value();
        d->content = toU32(o.value(QStringLiteral("content")).toString());
        return std::shared_ptr<Decoder>(d);
    }
    if (t == QLatin1String("BPEDecoder")) {
        auto d = std::make_shared<BpeDecoder>();
        d->suffix = toU32(o.value(QStringLiteral("suffix")).toString(QStringLiteral("</w>")));
        return std::shared_ptr<Decoder>(d);
    }
    if (t == QLatin1String("Sequence")) {
        auto d = std::make_shared<SequenceDecoder>();
        if (auto s =
                parseSequence(o.value(QStringLiteral("decoders")).toArray(), makeDecoder, d->items);
            !s)
            return s.error();
        return std::shared_ptr<Decoder>(d);
    }
    return Error{QStringLiteral("unsupported decoder type \"%1\" in tokenizer.json").arg(t)};
}

} // namespace attnscope::tok
