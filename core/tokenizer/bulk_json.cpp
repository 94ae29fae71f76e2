#include "bulk_json.h"

#include <cstring>
#include <future>

namespace attnscope::tok {

namespace {

// Nesting deeper than this is left to QJsonDocument (which has its own limit and message).
constexpr int kMaxDepth = 256;

class Reader {
public:
    Reader(const char* begin, const char* end) : m_begin(begin), m_p(begin), m_end(end) {}

    qsizetype offset() const { return m_p - m_begin; }
    void skipSpace() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t'))
            ++m_p;
    }
    bool peek(char c) {
        skipSpace();
        return m_p < m_end && *m_p == c;
    }
    bool take(char c) {
        if (!peek(c)) return false;
        ++m_p;
        return true;
    }

    // A JSON string decoded to code points. Control characters, unknown escapes and lone
    // surrogates are refused (the general parser then decides what they mean).
    bool string(U32& out) {
        out.clear();
        if (!take('"')) return false;
        while (m_p < m_end) {
            // A run of plain ASCII (most of a tokenizer's strings) in one step.
            const char* run = m_p;
            while (run < m_end && static_cast<unsigned char>(*run) >= 0x20 &&
                   static_cast<unsigned char>(*run) < 0x80 && *run != '"' && *run != '\\')
                ++run;
            if (run > m_p) {
                const size_t old = out.size();
                out.resize(old + size_t(run - m_p));
                for (char32_t* d = out.data() + old; m_p < run; ++m_p)
                    *d++ = char32_t(static_cast<unsigned char>(*m_p));
                if (m_p >= m_end) break;
            }
            const unsigned char c = static_cast<unsigned char>(*m_p);
            if (c == '"') {
                ++m_p;
                return true;
            }
            if (c < 0x20) return false;
            if (c == '\\') {
                if (!escape(out)) return false;
                continue;
            }
            if (c < 0x80) {
                out.push_back(c);
                ++m_p;
                continue;
            }
            // Multi-byte sequence; the whole file was checked to be valid UTF-8.
            const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
            if (m_end - m_p <= extra) return false;
            char32_t cp = c & (0x3F >> extra);
            for (int i = 1; i <= extra; ++i)
                cp = (cp << 6) | (static_cast<unsigned char>(m_p[i]) & 0x3F);
            out.push_back(cp);
            m_p += extra + 1;
        }
        return false;
    }

    // A non-negative integer id without sign, fraction or exponent, at most 2^31 - 1.
    bool plainId(int64_t& id) {
        skipSpace();
        const char* start = m_p;
        id = 0;
        while (m_p < m_end && *m_p >= '0' && *m_p <= '9') {
            id = id * 10 + (*m_p - '0');
            if (id > 2147483647) return false;
            ++m_p;
        }
        const qsizetype digits = m_p - start;
        if (digits == 0 || (digits > 1 && *start == '0')) return false;
        return !(m_p < m_end && (*m_p == '.' || *m_p == 'e' || *m_p == 'E'));
    }

    // Any JSON value, checked for syntax but not kept.
    bool skipValue(int depth = 0) {
        if (depth > kMaxDepth) return false;
        skipSpace();
        if (m_p >= m_end) return false;
        switch (*m_p) {
        case '"': {
            U32 ignored;
            return string(ignored);
        }
        case '{': {
            ++m_p;
            if (take('}')) return true;
            U32 key;
            do {
                skipSpace();
                if (!string(key) || !take(':') || !skipValue(depth + 1)) return false;
            } while (take(','));
            return take('}');
        }
        case '[':
            ++m_p;
            if (take(']')) return true;
            do {
                if (!skipValue(depth + 1)) return false;
            } while (take(','));
            return take(']');
        case 't':
            return word("true");
        case 'f':
            return word("false");
        case 'n':
            return word("null");
        default:
            return number();
        }
    }

    // model.vocab: {"token": id, ...}; a repeated token gives up.
    bool vocab(VocabTable& out) {
        if (!take('{')) return false;
        // About 20 bytes of JSON per entry in real files; the table grows if there are more.
        const size_t expected = size_t(std::max<qsizetype>(m_end - m_p, 0) / 20);
        out.reserveForAppending(expected, expected * 4);
        if (take('}')) return true;
        U32 key;
        do {
            skipSpace();
            int64_t id = 0;
            if (!string(key) || !take(':') || !plainId(id)) return false;
            out.append(key, id);
        } while (take(','));
        return take('}'); // the caller indexes it (finishAppending)
    }

    // model.merges: ["a b", ...] split at the first space after the first character (as the
    // general path does), or [["a", "b"], ...].
    bool merges(MergeList& out) {
        if (!take('[')) return false;
        // At most one character per byte left, about a merge per 12 bytes ("a b", quotes,
        // comma): reserved once instead of grown.
        const size_t left = size_t(std::max<qsizetype>(m_end - m_p, 0));
        out.chars.reserve(left);
        out.merges.reserve(left / 12);
        if (take(']')) return true;
        U32 s, second;
        do {
            if (peek('"')) {
                if (!string(s)) return false;
                const size_t space = s.size() > 1 ? s.find(U' ', 1) : U32::npos;
                if (space == U32::npos) return false;
                const std::u32string_view whole(s);
                out.add(whole.substr(0, space), whole.substr(space + 1));
            } else if (take('[')) {
                skipSpace();
                if (!string(s) || !take(',')) return false;
                skipSpace();
                if (!string(second) || !take(']')) return false;
                out.add(s, second);
            } else {
                return false;
            }
        } while (take(','));
        return take(']');
    }

private:
    bool escape(U32& out) {
        ++m_p; // the backslash
        if (m_p >= m_end) return false;
        const char e = *m_p++;
        switch (e) {
        case '"':
            out.push_back(U'"');
            return true;
        case '\\':
            out.push_back(U'\\');
            return true;
        case '/':
            out.push_back(U'/');
            return true;
        case 'b':
            out.push_back(U'\b');
            return true;
        case 'f':
            out.push_back(U'\f');
            return true;
        case 'n':
            out.push_back(U'\n');
            return true;
        case 'r':
            out.push_back(U'\r');
            return true;
        case 't':
            out.push_back(U'\t');
            return true;
        case 'u': {
            char32_t unit = 0;
            if (!hex4(unit)) return false;
            if (unit >= 0xDC00 && unit <= 0xDFFF) return false; // lone low surrogate
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                char32_t low = 0;
                if (m_end - m_p < 2 || m_p[0] != '\\' || m_p[1] != 'u') return false;
                m_p += 2;
                if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            }
            out.push_back(unit);
            return true;
        }
        default:
            return false;
        }
    }
    bool hex4(char32_t& value) {
        if (m_end - m_p < 4) return false;
        value = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = *m_p++;
            const int digit = h >= '0' && h <= '9'   ? h - '0'
                              : h >= 'a' && h <= 'f' ? h - 'a' + 10
                              : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                     : -1;
            if (digit < 0) return false;
            value = value * 16 + char32_t(digit);
        }
        return true;
    }
    bool word(const char* w) {
        const size_t n = std::strlen(w);
        if (size_t(m_end - m_p) < n || std::memcmp(m_p, w, n) != 0) return false;
        m_p += n;
        return true;
    }
    // JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    bool number() {
        auto digits = [&] {
            const char* start = m_p;
            while (m_p < m_end && *m_p >= '0' && *m_p <= '9')
                ++m_p;
            return m_p - start;
        };
        if (m_p < m_end && *m_p == '-') ++m_p;
        const char* intStart = m_p;
        const qsizetype intDigits = digits();
        if (intDigits == 0 || (intDigits > 1 && *intStart == '0')) return false;
        if (m_p < m_end && *m_p == '.') {
            ++m_p;
            if (digits() == 0) return false;
        }
        if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
            ++m_p;
            if (m_p < m_end && (*m_p == '+' || *m_p == '-')) ++m_p;
            if (digits() == 0) return false;
        }
        return true;
    }

    const char* m_begin;
    const char* m_p;
    const char* m_end;
};

struct Span {
    qsizetype begin = -1, end = -1;
};

} // namespace

std::optional<BulkSections> readBulkSections(const QByteArray& json) {
    Reader r(json.constData(), json.constData() + json.size());
    BulkSections out;
    // The vocabulary is indexed on a second thread while the reader goes on (the merges usually
    // follow it); declared after `out`, so that leaving early waits for it before `out` goes.
    std::future<bool> vocabIndexed;
    Span vocabSpan, mergesSpan;
    bool seenModel = false;
    if (!r.take('{') || r.take('}')) return std::nullopt;
    U32 key, modelKey;
    do {
        r.skipSpace();
        if (!r.string(key) || !r.take(':')) return std::nullopt;
        if (key != U"model" || !r.peek('{')) {
            if (key == U"model" && seenModel) return std::nullopt; // which one wins is Qt's call
            seenModel = seenModel || key == U"model";
            if (!r.skipValue()) return std::nullopt;
            continue;
        }
        if (seenModel) return std::nullopt;
        seenModel = true;
        r.take('{');
        if (r.take('}')) continue;
        bool seenVocab = false, seenMerges = false;
        do {
            r.skipSpace();
            if (!r.string(modelKey) || !r.take(':')) return std::nullopt;
            const bool isVocab = modelKey == U"vocab", isMerges = modelKey == U"merges";
            if ((isVocab && seenVocab) || (isMerges && seenMerges)) return std::nullopt;
            seenVocab = seenVocab || isVocab;
            seenMerges = seenMerges || isMerges;
            if (isVocab && r.peek('{')) {
                vocabSpan.begin = r.offset();
                out.vocab.emplace();
                if (!r.vocab(*out.vocab)) return std::nullopt;
                vocabSpan.end = r.offset();
                VocabTable* vocab = &*out.vocab;
                vocabIndexed =
                    std::async(std::launch::async, [vocab] { return vocab->finishAppending(); });
            } else if (isMerges && r.peek('[')) {
                mergesSpan.begin = r.offset();
                out.merges.emplace();
                if (!r.merges(*out.merges)) return std::nullopt;
                mergesSpan.end = r.offset();
            } else if (!r.skipValue()) {
                return std::nullopt;
            }
        } while (r.take(','));
        if (!r.take('}')) return std::nullopt;
    } while (r.take(','));
    if (!r.take('}')) return std::nullopt;
    if (vocabIndexed.valid() && !vocabIndexed.get())
        return std::nullopt; // a repeated token: Qt decides

    // The rest of the file, for QJsonDocument: the two big values become empty placeholders of
    // the same kind, so every other field (and the guesses made from them) reads as before.
    struct Cut {
        Span span;
        const char* placeholder;
    };
    std::vector<Cut> cuts;
    if (vocabSpan.begin >= 0) cuts.push_back({vocabSpan, "{}"});
    if (mergesSpan.begin >= 0) cuts.push_back({mergesSpan, "[]"});
    if (cuts.size() == 2 && cuts[1].span.begin < cuts[0].span.begin) std::swap(cuts[0], cuts[1]);
    qsizetype from = 0;
    for (const Cut& cut : cuts) {
        out.rest.append(json.constData() + from, cut.span.begin - from);
        out.rest.append(cut.placeholder);
        from = cut.span.end;
    }
    out.rest.append(json.constData() + from, json.size() - from);
    return out;
}

bool isValidUtf8(const QByteArray& bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.constData());
    const auto* end = p + bytes.size();
    while (p < end) {
        // ASCII eight bytes at a time: most of a tokenizer.json.
        if (end - p >= 8) {
            uint64_t word;
            std::memcpy(&word, p, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra = 0;
        unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            if (c == 0xE0) lo = 0xA0; // no overlong forms
            if (c == 0xED) hi = 0x9F; // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F; // nothing above U+10FFFF
        } else {
            return false;
        }
        if (end - p <= extra) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (int i = 2; i <= extra; ++i)
            if ((p[i] & 0xC0) != 0x80) return false;
        p += extra + 1;
    }
    return true;
}

} // namespace attnscope::tok
