// Tokenization models: BPE, WordPiece, WordLevel, Unigram (HF tokenizers semantics).
#include "bulk_json.h"
#include "tok_internal.h"
#include "vocab_table.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cmath>
#include <future>
#include <limits>
#include <mutex>
#include <queue>

namespace attnscope::tok {

namespace {

U32 byteToken(unsigned char b) {
    static const char* hex = "0123456789ABCDEF";
    U32 s = U"<0x";
    s.push_back(char32_t(hex[b >> 4]));
    s.push_back(char32_t(hex[b & 15]));
    s.push_back(U'>');
    return s;
}

// ---------------- BPE ----------------

class BpeModel : public Model {
public:
    VocabTable vocab;
    MergeTable merges; // (a,b) -> (rank, new id)
    std::optional<U32> unk;
    U32 prefix, suffix;
    bool hasPrefix = false, hasSuffix = false;
    bool fuseUnk = false, byteFallback = false, ignoreMerges = false;

    mutable std::mutex cacheMutex;
    mutable std::unordered_map<U32, std::vector<Token>> cache;

    static uint64_t key(int64_t a, int64_t b) {
        return (uint64_t(uint32_t(a)) << 32) | uint64_t(uint32_t(b));
    }

    // Merge number `rank`: (a, b) -> a + b without b's continuing-subword prefix. `joined` is
    // scratch space, reused from merge to merge.
    Status addMerge(std::u32string_view a, std::u32string_view b, int rank, U32& joined) {
        auto ia = vocab.id(a), ib = vocab.id(b);
        std::u32string_view bb = b;
        if (hasPrefix && !prefix.empty() && bb.substr(0, prefix.size()) == prefix)
            bb.remove_prefix(prefix.size());
        joined.assign(a);
        joined.append(bb);
        auto in = vocab.id(joined);
        if (!ia || !ib || !in) // as Hugging Face tokenizers: such a file is refused
            return Error{QStringLiteral("BPE merge \"%1 %2\" names a token missing from "
                                        "the vocabulary (\"%3\")")
                             .arg(fromU32(a.data(), a.size()), fromU32(b.data(), b.size()),
                                  !ia   ? fromU32(a.data(), a.size())
                                  : !ib ? fromU32(b.data(), b.size())
                                        : fromU32(joined))};
        merges.insert(key(*ia, *ib), {rank, *in}); // the first rank stays
        return okStatus();
    }
    Status addMerges(const std::vector<std::pair<U32, U32>>& ms) {
        merges.reserve(ms.size());
        U32 joined;
        for (size_t rank = 0; rank < ms.size(); ++rank)
            if (auto s = addMerge(ms[rank].first, ms[rank].second, int(rank), joined); !s) return s;
        return okStatus();
    }
    // The three lookups of each merge are batched (VocabTable::ids) so that their cache misses
    // overlap, and the batches are shared by two threads (lookups only read the vocabulary);
    // errors and ranks then go in file order, worded by addMerge.
    Status addMerges(const MergeList& ms) {
        const size_t n = ms.merges.size();
        merges.reserve(n);
        std::vector<int64_t> ids(3 * n); // left, right, merged id of each merge (-1: missing)
        const auto lookUp = [&](size_t first, size_t last) {
            std::vector<U32> joined(std::min<size_t>(last - first, 1024));
            std::vector<std::u32string_view> tokens;
            for (size_t begin = first; begin < last; begin += joined.size()) {
                const size_t count = std::min(joined.size(), last - begin);
                tokens.clear();
                for (size_t i = 0; i < count; ++i) {
                    const std::u32string_view a = ms.first(begin + i);
                    std::u32string_view b = ms.second(begin + i);
                    tokens.push_back(a);
                    tokens.push_back(b);
                    if (hasPrefix && !prefix.empty() && b.substr(0, prefix.size()) == prefix)
                        b.remove_prefix(prefix.size());
                    joined[i].assign(a);
                    joined[i].append(b);
                    tokens.push_back(joined[i]);
                }
                vocab.ids(tokens.data(), tokens.size(), ids.data() + 3 * begin);
            }
        };
        if (n >= 8192) {
            auto secondHalf = std::async(std::launch::async, lookUp, n / 2, n);
            lookUp(0, n / 2);
            secondHalf.get();
        } else {
            lookUp(0, n);
        }
        U32 scratch;
        for (size_t i = 0; i < n; ++i) {
            const int64_t left = ids[3 * i], right = ids[3 * i + 1], merged = ids[3 * i + 2];
            if (left < 0 || right < 0 || merged < 0)
                return addMerge(ms.first(i), ms.second(i), int(i), scratch);
            merges.insert(key(left, right), {int(i), merged});
        }
        return okStatus();
    }

    struct Sym {
        int64_t id;
        int b, e;
        int prev, next;
        bool alive;
    };

    Status tokenizeWord(const U32& w, std::vector<Token>& out) const {
        if (ignoreMerges) {
            if (auto id = vocab.id(w)) {
                out.push_back({*id, w, {0, int(w.size())}});
                return okStatus();
            }
        }
        std::vector<Sym> syms;
        syms.reserve(w.size());
        std::optional<Sym> pendingUnk;
        auto flushUnk = [&] {
            if (pendingUnk) {
                syms.push_back(*pendingUnk);
                pendingUnk.reset();
            }
        };
        const int n = int(w.size());
        U32 s;
        for (int i = 0; i < n; ++i) {
            s.assign(1, w[size_t(i)]);
            if (i > 0 && hasPrefix) s = prefix + s;
            if (i == n - 1 && hasSuffix) s += suffix;
            if (auto id = vocab.id(s)) {
                flushUnk();
                syms.push_back({*id, i, i + 1, 0, 0, true});
                continue;
            }
            if (byteFallback) {
                std::string bytes;
                for (char32_t c : s)
                    appendUtf8(bytes, c);
                std::vector<int64_t> ids;
                bool all = true;
                for (unsigned char b : bytes) {
                    auto id = vocab.id(byteToken(b));
                    if (!id) {
                        all = false;
                        break;
                    }
                    ids.push_back(*id);
                }
                if (all) {
                    // HF does not flush a pending unk here; it is added after (order kept as HF).
                    for (int64_t id : ids)
                        syms.push_back({id, i, i + 1, 0, 0, true});
                    continue;
                }
            }
            if (unk) {
                auto unkId = vocab.id(*unk);
                if (!unkId)
                    return Error{QStringLiteral("BPE unk_token \"%1\" is not in the vocabulary")
                                     .arg(fromU32(*unk))};
                if (pendingUnk && fuseUnk) {
                    pendingUnk->e = i + 1;
                } else {
                    flushUnk();
                    pendingUnk = Sym{*unkId, i, i + 1, 0, 0, true};
                }
            }
        }
        flushUnk();
        const int m = int(syms.size());
        for (int i = 0; i < m; ++i) {
            syms[size_t(i)].prev = i - 1;
            syms[size_t(i)].next = i + 1 < m ? i + 1 : -1;
        }

        struct Merge {
            int pos;
            int rank;
            int64_t newId;
        };
        auto cmp = [](const Merge& a, const Merge& b) {
            if (a.rank != b.rank) return a.rank > b.rank;
            return a.pos > b.pos;
        };
        std::priority_queue<Merge, std::vector<Merge>, decltype(cmp)> queue(cmp);
        for (int i = 0; i + 1 < m; ++i) {
            if (const auto* found = merges.find(key(syms[size_t(i)].id, syms[size_t(i + 1)].id)))
                queue.push({i, found->rank, found->id});
        }
        while (!queue.empty()) {
            Merge top = queue.top();
            queue.pop();
            Sym& cur = syms[size_t(top.pos)];
            if (!cur.alive || cur.next < 0) continue;
            Sym& right = syms[size_t(cur.next)];
            const auto* found = merges.find(key(cur.id, right.id));
            if (!found || found->id != top.newId) continue;
            cur.id = top.newId;
            cur.e = right.e;
            right.alive = false;
            cur.next = right.next;
            if (cur.next >= 0) syms[size_t(cur.next)].prev = top.pos;
            if (cur.prev >= 0) {
                if (const auto* left = merges.find(key(syms[size_t(cur.prev)].id, cur.id)))
                    queue.push({cur.prev, left->rank, left->id});
            }
            if (cur.next >= 0) {
                if (const auto* next = merges.find(key(cur.id, syms[size_t(cur.next)].id)))
                    queue.push({top.pos, next->rank, next->id});
            }
        }
        for (const auto& sy : syms) {
            if (!sy.alive) continue;
            auto t = vocab.tok(sy.id);
            out.push_back({sy.id, t ? *t : U32(), {sy.b, sy.e}});
        }
        return okStatus();
    }

    Status tokenize(const U32& s, std::vector<Token>& out) const override {
        if (s.empty()) return okStatus();
        if (s.size() <= 64) {
            std::lock_guard<std::mutex> lock(cacheMutex);
            auto it = cache.find(s);
            if (it != cache.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
                return okStatus();
            }
        }
        std::vector<Token> toks;
        Status st = tokenizeWord(s, toks);
        if (!st) return st;
        if (s.size() <= 64) {
            std::lock_guard<std::mutex> lock(cacheMutex);
            if (cache.size() > 50000) cache.clear();
            cache.emplace(s, toks);
        }
        out.insert(out.end(), toks.begin(), toks.end());
        return okStatus();
    }
    std::optional<int64_t> tokenToId(const U32& s) const override { return vocab.id(s); }
    std::optional<U32> idToToken(int64_t id) const override { return vocab.tok(id); }
    int vocabSize() const override { return vocab.size(); }
};

// ---------------- WordPiece ----------------

class WordPieceModel : public Model {
public:
    VocabTable vocab;
    U32 unk = U"[UNK]";
    U32 prefix = U"##";
    int maxChars = 100;

    Status unkToken(int len, std::vector<Token>& out) const {
        auto id = vocab.id(unk);
        if (!id)
            return Error{QStringLiteral("WordPiece unk_token \"%1\" is not in the vocabulary")
                             .arg(fromU32(unk))};
        out.push_back({*id, unk, {0, len}});
        return okStatus();
    }

    Status tokenize(const U32& s, std::vector<Token>& out) const override {
        const int n = int(s.size());
        if (n == 0) return okStatus();
        if (n > maxChars) return unkToken(n, out);
        std::vector<Token> sub;
        int start = 0;
        U32 sb;
        while (start < n) {
            int end = n;
            bool found = false;
            while (start < end) {
                sb = s.substr(size_t(start), size_t(end - start));
                if (start > 0) sb = prefix + sb;
                if (auto id = vocab.id(sb)) {
                    sub.push_back({*id, sb, {start, end}});
                    found = true;
                    break;
                }
                --end;
            }
            if (!found) return unkToken(n, out);
            start = end;
        }
        out.insert(out.end(), sub.begin(), sub.end());
        return okStatus();
    }
    std::optional<int64_t> tokenToId(const U32& s) const override { return vocab.id(s); }
    std::optional<U32> idToToken(int64_t id) const override { return vocab.tok(id); }
    int vocabSize() const override { return vocab.size(); }
};

// ---------------- WordLevel ----------------

class WordLevelModel : public Model {
public:
    VocabTable vocab;
    U32 unk;
    Status tokenize(const U32& s, std::vector<Token>& out) const override {
        if (s.empty()) return okStatus();
        if (auto id = vocab.id(s)) {
            out.push_back({*id, s, {0, int(s.size())}});
            return okStatus();
        }
        auto id = vocab.id(unk);
        if (!id)
            return Error{
                QStringLiteral(
                    "WordLevel: \"%1\" is not in the vocabulary and unk_token \"%2\" is missing")
                    .arg(fromU32(s), fromU32(unk))};
        out.push_back({*id, unk, {0, int(s.size())}});
        return okStatus();
    }
    std::optional<int64_t> tokenToId(const U32& s) const override { return vocab.id(s); }
    std::optional<U32> idToToken(int64_t id) const override { return vocab.tok(id); }
    int vocabSize() const override { return vocab.size(); }
};

// ---------------- Unigram ----------------

class UnigramModel : public Model {
public:
    std::vector<std::pair<U32, double>> pieces;
    std::unordered_map<U32, int64_t> toId;
    std::optional<int64_t> unkId;
    bool byteFallback = false;
    double minScore = 0;
    int maxLen = 1;

    void finish() {
        minScore = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < pieces.size(); ++i) {
            toId.emplace(pieces[i].first, int64_t(i));
            minScore = std::min(minScore, pieces[i].second);
            maxLen = std::max(maxLen, int(pieces[i].first.size()));
        }
        if (pieces.empty()) minScore = 0;
    }

    Status tokenize(const U32& s, std::vector<Token>& out) const override {
        const int n = int(s.size());
        if (n == 0) return okStatus();
        const double unkScore = minScore - 10.0;
        struct Node {
            double score = 0;
            int start = -1;
            int64_t id = -1;
        };
        std::vector<Node> best(size_t(n) + 1);
        U32 sub;
        for (int st = 0; st < n; ++st) {
            if (st > 0 && best[size_t(st)].start < 0) continue; // unreachable (cannot happen)
            const double base = best[size_t(st)].score;
            bool single = false;
            for (int len = 1; len <= maxLen && st + len <= n; ++len) {
                sub.assign(s, size_t(st), size_t(len));
                auto it = toId.find(sub);
                if (it == toId.end()) continue;
                Node& t = best[size_t(st + len)];
                double cand = base + pieces[size_t(it->second)].second;
                if (t.start < 0 || cand > t.score) {
                    t.score = cand;
                    t.start = st;
                    t.id = it->second;
                }
                if (len == 1) single = true;
            }
            if (!single) {
                if (!unkId)
                    return Error{
                        QStringLiteral("Unigram model has no unk_id but the text needs it")};
                Node& t = best[size_t(st + 1)];
                double cand = base + unkScore;
                if (t.start < 0 || cand > t.score) {
                    t.score = cand;
                    t.start = st;
                    t.id = *unkId;
                }
            }
        }
        // backtrack, fusing consecutive unknowns
        std::vector<Range> pieceRanges;
        int end = n;
        std::optional<Range> unkRun;
        while (end > 0) {
            const Node& nd = best[size_t(end)];
            int st = nd.start;
            if (st < 0) return Error{QStringLiteral("Unigram lattice is broken")};
            if (unkId && nd.id == *unkId) {
                if (unkRun)
                    unkRun->first = st;
                else
                    unkRun = Range{st, end};
            } else {
                if (unkRun) {
                    pieceRanges.push_back(*unkRun);
                    unkRun.reset();
                }
                pieceRanges.push_back({st, end});
            }
            end = st;
        }
        if (unkRun) pieceRanges.push_back(*unkRun);
        std::reverse(pieceRanges.begin(), pieceRanges.end());
        for (const Range& r : pieceRanges) {
            U32 str = s.substr(size_t(r.first), size_t(r.second - r.first));
            auto it = toId.find(str);
            if (it != toId.end()) {
                out.push_back({it->second, str, r});
                continue;
            }
            if (byteFallback) {
                std::string bytes;
                for (char32_t c : str)
                    appendUtf8(bytes, c);
                std::vector<Token> bt;
                bool all = true;
                for (unsigned char b : bytes) {
                    U32 bs = byteToken(b);
                    auto bi = toId.find(bs);
                    if (bi == toId.end()) {
                        all = false;
                        break;
                    }
                    bt.push_back({bi->second, bs, r});
                }
                if (all) {
                    out.insert(out.end(), bt.begin(), bt.end());
                    continue;
                }
            }
            if (!unkId)
                return Error{QStringLiteral("Unigram model has no unk_id but the text needs it")};
            out.push_back({*unkId, str, r});
        }
        return okStatus();
    }
    std::optional<int64_t> tokenToId(const U32& s) const override {
        auto it = toId.find(s);
        if (it == toId.end()) return std::nullopt;
        return it->second;
    }
    std::optional<U32> idToToken(int64_t id) const override {
        if (id < 0 || id >= int64_t(pieces.size())) return std::nullopt;
        return pieces[size_t(id)].first;
    }
    int vocabSize() const override { return int(pieces.size()); }
};

Result<std::unordered_map<U32, int64_t>> parseVocabObject(const QJsonValue& v, const char* model) {
    if (!v.isObject())
        return Error{QStringLiteral("%1 model in tokenizer.json has no \"vocab\" object")
                         .arg(QLatin1String(model))};
    QJsonObject o = v.toObject();
    std::unordered_map<U32, int64_t> out;
    out.reserve(size_t(o.size()));
    for (auto it = o.constBegin(); it != o.constEnd(); ++it) {
        const double id = it.value().toDouble();
        if (!it.value().isDouble() || id != std::floor(id) || id < 0 || id > 2147483647.0)
            return Error{QStringLiteral("%1 vocab in tokenizer.json: the id of \"%2\" must be a "
                                        "non-negative integer, found %3")
                             .arg(QLatin1String(model), it.key().left(40),
                                  it.value().isString() ? QStringLiteral("a string (\"%1\")")
                                                              .arg(it.value().toString().left(20))
                                  : it.value().isDouble() ? QString::number(id)
                                                          : QStringLiteral("a non-number"))};
        out.emplace(toU32(it.key()), int64_t(id));
    }
    return out;
}

// The vocabulary read ahead by the bulk reader, else the JSON object's (the placeholder {} stands
// in the object when the bulk reader has it).
Result<VocabTable> takeOrParseVocab(const QJsonObject& o, BulkSections* bulk, const char* model) {
    if (bulk && bulk->vocab) {
        VocabTable vocab = std::move(*bulk->vocab);
        bulk->vocab.reset();
        return vocab;
    }
    auto parsed = parseVocabObject(o.value(QStringLiteral("vocab")), model);
    if (!parsed) return parsed.error();
    VocabTable vocab;
    vocab.build(*parsed);
    return vocab;
}

std::optional<U32> optString(const QJsonObject& o, const char* key) {
    QJsonValue v = o.value(QLatin1String(key));
    if (!v.isString()) return std::nullopt;
    return toU32(v.toString());
}

} // namespace

Result<std::shared_ptr<Model>> makeBpeModel(std::unordered_map<U32, int64_t> vocab,
                                            const std::vector<std::pair<U32, U32>>& merges) {
    auto m = std::make_shared<BpeModel>();
    m->vocab.build(vocab);
    Status st = m->addMerges(merges);
    if (!st) return st.error();
    return std::shared_ptr<Model>(m);
}

Result<std::shared_ptr<Model>> makeWordPieceModel(std::unordered_map<U32, int64_t> vocab) {
    auto m = std::make_shared<WordPieceModel>();
    m->vocab.build(vocab);
    return std::shared_ptr<Model>(m);
}

Result<std::shared_ptr<Model>> makeModel(const QJsonObject& o, BulkSections* bulk) {
    QString t = o.value(QStringLiteral("type")).toString();
    if (t.isEmpty()) {
        // Older files omit the type: guess from the fields.
        if (o.contains(QStringLiteral("merges")))
            t = QStringLiteral("BPE");
        else if (o.value(QStringLiteral("vocab")).isArray())
            t = QStringLiteral("Unigram");
        else if (o.contains(QStringLiteral("continuing_subword_prefix")) ||
                 o.contains(QStringLiteral("max_input_chars_per_word")))
            t = QStringLiteral("WordPiece");
        else
            t = QStringLiteral("WordLevel");
    }
    if (t == QLatin1String("BPE")) {
        auto vocab = takeOrParseVocab(o, bulk, "BPE");
        if (!vocab) return vocab.error();
        auto m = std::make_shared<BpeModel>();
        m->vocab = std::move(vocab.value());
        m->unk = optString(o, "unk_token");
        if (auto p = optString(o, "continuing_subword_prefix")) {
            m->prefix = *p;
            m->hasPrefix = !p->empty();
        }
        if (auto p = optString(o, "end_of_word_suffix")) {
            m->suffix = *p;
            m->hasSuffix = !p->empty();
        }
        m->fuseUnk = o.value(QStringLiteral("fuse_unk")).toBool(false);
        m->byteFallback = o.value(QStringLiteral("byte_fallback")).toBool(false);
        m->ignoreMerges = o.value(QStringLiteral("ignore_merges")).toBool(false);
        std::vector<std::pair<U32, U32>> merges;
        if (bulk && bulk->merges) {
            Status st = m->addMerges(*bulk->merges);
            if (!st) return st.error();
            return std::shared_ptr<Model>(m);
        }
        const QJsonValue mergesValue = o.value(QStringLiteral("merges"));
        if (!mergesValue.isUndefined() && !mergesValue.isNull() && !mergesValue.isArray())
            return Error{QStringLiteral("BPE \"merges\" in tokenizer.json must be a list, found "
                                        "%1")
                             .arg(mergesValue.isString()   ? QStringLiteral("a string")
                                  : mergesValue.isObject() ? QStringLiteral("an object")
                                                           : QStringLiteral("a scalar"))};
        const QJsonArray arr = mergesValue.toArray();
        merges.reserve(size_t(arr.size()));
        for (const auto& v : arr) {
            if (v.isString()) {
                QString s = v.toString();
                qsizetype sp = s.indexOf(QLatin1Char(' '), 1);
                if (sp < 0)
                    return Error{
                        QStringLiteral("invalid BPE merge \"%1\" in tokenizer.json").arg(s)};
                merges.push_back({toU32(s.left(sp)), toU32(s.mid(sp + 1))});
            } else if (v.isArray() && v.toArray().size() == 2) {
                merges.push_back(
                    {toU32(v.toArray().at(0).toString()), toU32(v.toArray().at(1).toString())});
            } else {
                return Error{QStringLiteral("invalid BPE merge entry in tokenizer.json")};
            }
        }
        Status st = m->addMerges(merges);
        if (!st) return st.error();
        return std::shared_ptr<Model>(m);
    }
    if (t == QLatin1String("WordPiece")) {
        auto vocab = takeOrParseVocab(o, bulk, "WordPiece");
        if (!vocab) return vocab.error();
        auto m = std::make_shared<WordPieceModel>();
        m->vocab = std::move(vocab.value());
        if (auto p = optString(o, "unk_token")) m->unk = *p;
        if (auto p = optString(o, "continuing_subword_prefix")) m->prefix = *p;
        QJsonValue mx = o.value(QStringLiteral("max_input_chars_per_word"));
        if (mx.isDouble()) m->maxChars = int(std::min(mx.toDouble(), 1e9));
        return std::shared_ptr<Model>(m);
    }
    if (t == QLatin1String("WordLevel")) {
        auto vocab = takeOrParseVocab(o, bulk, "WordLevel");
        if (!vocab) return vocab.error();
        auto m = std::make_shared<WordLevelModel>();
        m->vocab = std::move(vocab.value());
        m->unk = optString(o, "unk_token").value_or(U"<unk>");
        return std::shared_ptr<Model>(m);
    }
    if (t == QLatin1String("Unigram")) {
        auto m = std::make_shared<UnigramModel>();
        QJsonValue v = o.value(QStringLiteral("vocab"));
        if (!v.isArray())
            return Error{QStringLiteral("Unigram model in tokenizer.json has no \"vocab\" list")};
        for (const auto& e : v.toArray()) {
            QJsonArray p = e.toArray();
            if (p.size() < 2 || !p.at(0).isString() || !p.at(1).isDouble())
                return Error{QStringLiteral("invalid Unigram vocab entry in tokenizer.json (each "
                                            "must be [piece string, score number])")};
            m->pieces.push_back({toU32(p.at(0).toString()), p.at(1).toDouble()});
        }
        QJsonValue u = o.value(QStringLiteral("unk_id"));
        if (u.isDouble()) {
            int64_t id = int64_t(u.toDouble());
            if (id < 0 || id >= int64_t(m->pieces.size()))
                return Error{QStringLiteral("Unigram unk_id out of range in tokenizer.json")};
            m->unkId = id;
        }
        m->byteFallback = o.value(QStringLiteral("byte_fallback")).toBool(false);
        m->finish();
        return std::shared_ptr<Model>(m);
    }
    return Error{QStringLiteral("unsupported model type \"%1\" in tokenizer.json").arg(t)};
}

} // namespace attnscope::tok
