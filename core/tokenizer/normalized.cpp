// NormalizedString with alignments, Unicode helpers, split helpers.
#include "tok_internal.h"

#include <QChar>

namespace attnscope::tok {

U32 toU32(const QString& s) {
    U32 out;
    out.reserve(size_t(s.size()));
    const char16_t* p = reinterpret_cast<const char16_t*>(s.utf16());
    const qsizetype n = s.size();
    for (qsizetype i = 0; i < n; ++i) {
        char16_t c = p[i];
        if (QChar::isHighSurrogate(c) && i + 1 < n && QChar::isLowSurrogate(p[i + 1])) {
            out.push_back(QChar::surrogateToUcs4(c, p[i + 1]));
            ++i;
        } else if (QChar::isSurrogate(c)) {
            out.push_back(0xFFFD);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

QString fromU32(const char32_t* p, size_t n) {
    QString out;
    out.reserve(qsizetype(n));
    for (size_t i = 0; i < n; ++i) {
        char32_t c = p[i];
        if (c >= 0x10000 && c <= 0x10FFFF) {
            out.append(QChar(QChar::highSurrogate(c)));
            out.append(QChar(QChar::lowSurrogate(c)));
        } else if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            out.append(QChar(0xFFFD));
        } else {
            out.append(QChar(char16_t(c)));
        }
    }
    return out;
}

QString fromU32(const U32& s) {
    return fromU32(s.data(), s.size());
}

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(char(c));
    } else if (c < 0x800) {
        out.push_back(char(0xC0 | (c >> 6)));
        out.push_back(char(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(char(0xE0 | (c >> 12)));
        out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(char(0x80 | (c & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (c >> 18)));
        out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(char(0x80 | (c & 0x3F)));
    }
}

bool isWhitespace(char32_t c) {
    switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

bool isPunctuation(char32_t c) {
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    switch (QChar::category(c)) {
    case QChar::Punctuation_Connector:
    case QChar::Punctuation_Dash:
    case QChar::Punctuation_Open:
    case QChar::Punctuation_Close:
    case QChar::Punctuation_InitialQuote:
    case QChar::Punctuation_FinalQuote:
    case QChar::Punctuation_Other:
        return true;
    default:
        return false;
    }
}

bool isNumeric(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    auto cat = QChar::category(c);
    return cat == QChar::Number_DecimalDigit || cat == QChar::Number_Letter ||
           cat == QChar::Number_Other;
}

static bool isLetter(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    auto cat = QChar::category(c);
    return cat >= QChar::Letter_Uppercase && cat <= QChar::Letter_Other;
}

bool isAlphanumeric(char32_t c) {
    return isLetter(c) || isNumeric(c);
}

bool isMark(char32_t c) {
    if (c < 0x300) return false;
    auto cat = QChar::category(c);
    return cat == QChar::Mark_NonSpacing || cat == QChar::Mark_SpacingCombining ||
           cat == QChar::Mark_Enclosing;
}

bool isNonspacingMark(char32_t c) {
    return c >= 0x300 && QChar::category(c) == QChar::Mark_NonSpacing;
}

bool isWordChar(char32_t c) {
    if (c < 0x80) return isAlphanumeric(c) || c == '_';
    return isAlphanumeric(c) || isMark(c) || QChar::category(c) == QChar::Punctuation_Connector ||
           c == 0x200C || c == 0x200D;
}

bool isControlOther(char32_t c) {
    auto cat = QChar::category(c);
    return cat == QChar::Other_Control || cat == QChar::Other_Format ||
           cat == QChar::Other_Surrogate || cat == QChar::Other_PrivateUse ||
           cat == QChar::Other_NotAssigned;
}

bool isChineseChar(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

U32 lowercaseChar(char32_t c) {
    if (c < 0x80) return U32(1, (c >= 'A' && c <= 'Z') ? c + 32 : c);
    return toU32(fromU32(&c, 1).toLower());
}

const std::vector<char32_t>& byteToChar() {
    static const std::vector<char32_t> table = [] {
        std::vector<char32_t> t(256, 0);
        std::vector<bool> used(256, false);
        for (int b = '!'; b <= '~'; ++b)
            used[b] = true;
        for (int b = 0xA1; b <= 0xAC; ++b)
            used[b] = true;
        for (int b = 0xAE; b <= 0xFF; ++b)
            used[b] = true;
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            if (used[b])
                t[b] = char32_t(b);
            else
                t[b] = char32_t(256 + n++);
        }
        return t;
    }();
    return table;
}

int charToByte(char32_t c) {
    static const std::unordered_map<char32_t, int> rev = [] {
        std::unordered_map<char32_t, int> m;
        const auto& t = byteToChar();
        for (int b = 0; b < 256; ++b)
            m[t[b]] = b;
        return m;
    }();
    auto it = rev.find(c);
    return it == rev.end() ? -1 : it->second;
}

// ---------------- NormStr ----------------

NormStr NormStr::fromOriginal(const U32& text, int offset) {
    NormStr n;
    n.s = text;
    n.al.resize(text.size());
    for (size_t i = 0; i < text.size(); ++i)
        n.al[i] = {offset + int(i), offset + int(i) + 1};
    n.origBegin = offset;
    n.origEnd = offset + int(text.size());
    return n;
}

NormStr NormStr::slice(int b, int e) const {
    NormStr n;
    b = std::clamp(b, 0, size());
    e = std::clamp(e, b, size());
    n.s = s.substr(size_t(b), size_t(e - b));
    n.al.assign(al.begin() + b, al.begin() + e);
    if (e > b) {
        n.origBegin = al[b].first;
        n.origEnd = al[e - 1].second;
    } else {
        int p = b < size() ? al[b].first : (b > 0 ? al[b - 1].second : origBegin);
        n.origBegin = n.origEnd = p;
    }
    return n;
}

void NormStr::rebuild(const std::vector<Out>& out) {
    s.resize(out.size());
    al.resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) {
        s[i] = out[i].c;
        al[i] = out[i].r;
    }
}

Range NormStr::toOriginal(int b, int e) const {
    if (b >= e || b < 0 || e > size()) {
        if (b == e && b >= 0 && b <= size()) {
            int p = b < size() ? al[b].first : (b > 0 ? al[b - 1].second : origBegin);
            return {p, p};
        }
        return {origBegin, origBegin};
    }
    return {al[b].first, al[e - 1].second};
}

void NormStr::prepend(const U32& str) {
    if (s.empty() || str.empty()) return;
    std::vector<Out> out;
    out.reserve(s.size() + str.size());
    for (char32_t c : str)
        out.push_back({c, al[0]});
    for (size_t i = 0; i < s.size(); ++i)
        out.push_back({s[i], al[i]});
    rebuild(out);
}

void NormStr::lowercase() {
    bool ascii = true;
    for (char32_t c : s)
        if (c >= 0x80) {
            ascii = false;
            break;
        }
    if (ascii) {
        for (char32_t& c : s)
            if (c >= 'A' && c <= 'Z') c += 32;
        return;
    }
    std::vector<Out> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        for (char32_t c : lowercaseChar(s[i]))
            out.push_back({c, al[i]});
    }
    rebuild(out);
}

void NormStr::filter(bool (*keep)(char32_t)) {
    std::vector<Out> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i)
        if (keep(s[i])) out.push_back({s[i], al[i]});
    rebuild(out);
}

void NormStr::replaceAll(const QRegularExpression& re, const U32& content) {
    replaceMatches(regexMatches(s, re), content);
}

// Each matched range becomes `content`, aligned like the match's last character (as HF does).
void NormStr::replaceMatches(const Matches& m, const U32& content) {
    std::vector<Out> out;
    out.reserve(s.size());
    for (const auto& [r, isMatch] : m) {
        if (!isMatch) {
            for (int i = r.first; i < r.second; ++i)
                out.push_back({s[size_t(i)], al[size_t(i)]});
        } else {
            Range a = alignBefore(r.second);
            for (char32_t c : content)
                out.push_back({c, a});
        }
    }
    rebuild(out);
}

void NormStr::replaceString(const U32& pattern, const U32& content) {
    replaceMatches(literalMatches(s, pattern), content);
}

static bool continuesChunk(char32_t c) {
    if (c < 0x300) return false;
    if (c >= 0x1161 && c <= 0x11C2)
        return true; // Hangul vowel / trailing jamo compose with previous
    return QChar::combiningClass(c) != 0;
}

Status NormStr::unicodeNormalize(QString::NormalizationForm form) {
    bool ascii = true;
    for (char32_t c : s)
        if (c >= 0x80) {
            ascii = false;
            break;
        }
    if (ascii) return okStatus();
    {
        QString q = fromU32(s);
        if (q.normalized(form) == q) return okStatus();
    }
    std::vector<Out> out;
    out.reserve(s.size() + 8);
    const int n = size();
    int i = 0;
    while (i < n) {
        int j = i + 1;
        while (j < n && continuesChunk(s[size_t(j)]))
            ++j;
        if (j - i == 1 && s[size_t(i)] < 0x80) {
            out.push_back({s[size_t(i)], al[size_t(i)]});
            i = j;
            continue;
        }
        U32 whole = toU32(fromU32(s.data() + i, size_t(j - i)).normalized(form));
        std::vector<U32> per;
        U32 concat;
        for (int k = i; k < j; ++k) {
            per.push_back(j - i == 1 ? whole : toU32(fromU32(s.data() + k, 1).normalized(form)));
            concat += per.back();
        }
        if (concat == whole) {
            for (int k = i; k < j; ++k)
                for (char32_t c : per[size_t(k - i)])
                    out.push_back({c, al[size_t(k)]});
        } else {
            const int m = j - i;
            for (size_t k = 0; k < whole.size(); ++k)
                out.push_back({whole[k], al[size_t(i + std::min(int(k), m - 1))]});
        }
        i = j;
    }
    rebuild(out);
    return okStatus();
}

void NormStr::stripWs(bool left, bool right) {
    int b = 0, e = size();
    if (left)
        while (b < e && isWhitespace(s[size_t(b)]))
            ++b;
    if (right)
        while (e > b && isWhitespace(s[size_t(e - 1)]))
            --e;
    if (b == 0 && e == size()) return;
    int ob = origBegin, oe = origEnd;
    *this = slice(b, e);
    if (s.empty()) {
        origBegin = ob;
        origEnd = oe;
    }
}

// ---------------- matching / splitting ----------------

Matches regexMatches(const U32& s, const QRegularExpression& re) {
    Matches out;
    if (s.empty()) {
        out.push_back({{0, 0}, false});
        return out;
    }
    // UTF-16 copy with index map back to code points
    QString q;
    q.reserve(qsizetype(s.size()));
    std::vector<int> u16ToCp;
    u16ToCp.reserve(s.size() + 1);
    for (size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (c >= 0x10000 && c <= 0x10FFFF) {
            q.append(QChar(QChar::highSurrogate(c)));
            q.append(QChar(QChar::lowSurrogate(c)));
            u16ToCp.push_back(int(i));
            u16ToCp.push_back(int(i));
        } else {
            q.append(QChar(char16_t(c > 0x10FFFF ? 0xFFFD : c)));
            u16ToCp.push_back(int(i));
        }
    }
    u16ToCp.push_back(int(s.size()));
    int prev = 0;
    auto it = re.globalMatch(q);
    while (it.hasNext()) {
        QRegularExpressionMatch m = it.next();
        int b = u16ToCp[size_t(m.capturedStart())];
        int e = u16ToCp[size_t(m.capturedEnd())];
        if (b < prev) continue;
        if (prev != b) out.push_back({{prev, b}, false});
        out.push_back({{b, e}, true});
        prev = e;
    }
    if (prev != int(s.size())) out.push_back({{prev, int(s.size())}, false});
    return out;
}

Matches charMatches(const U32& s, bool (*pred)(char32_t)) {
    Matches out;
    if (s.empty()) {
        out.push_back({{0, 0}, false});
        return out;
    }
    int prev = 0;
    for (int i = 0; i < int(s.size()); ++i) {
        if (pred(s[size_t(i)])) {
            if (prev != i) out.push_back({{prev, i}, false});
            out.push_back({{i, i + 1}, true});
            prev = i + 1;
        }
    }
    if (prev != int(s.size())) out.push_back({{prev, int(s.size())}, false});
    return out;
}

Matches literalMatches(const U32& s, const U32& pattern) {
    Matches out;
    if (s.empty() || pattern.empty()) {
        out.push_back({{0, int(s.size())}, false});
        return out;
    }
    int prev = 0;
    size_t pos = 0;
    while ((pos = s.find(pattern, pos)) != U32::npos) {
        if (int(pos) != prev) out.push_back({{prev, int(pos)}, false});
        out.push_back({{int(pos), int(pos + pattern.size())}, true});
        pos += pattern.size();
        prev = int(pos);
    }
    if (prev != int(s.size())) out.push_back({{prev, int(s.size())}, false});
    return out;
}

std::vector<NormStr> splitNorm(const NormStr& n, const Matches& matches, SplitBehavior behavior) {
    std::vector<std::pair<Range, bool>> splits; // (range, remove)
    switch (behavior) {
    case SplitBehavior::Isolated:
        for (const auto& m : matches)
            splits.push_back({m.first, false});
        break;
    case SplitBehavior::Removed:
        splits = matches;
        break;
    case SplitBehavior::Contiguous: {
        bool prevMatch = false;
        for (const auto& [r, isMatch] : matches) {
            if (isMatch == prevMatch && !splits.empty())
                splits.back().first.second = r.second;
            else
                splits.push_back({r, false});
            prevMatch = isMatch;
        }
        break;
    }
    case SplitBehavior::MergedWithPrevious: {
        bool prevMatch = false;
        for (const auto& [r, isMatch] : matches) {
            if (isMatch && !prevMatch && !splits.empty())
                splits.back().first.second = r.second;
            else
                splits.push_back({r, false});
            prevMatch = isMatch;
        }
        break;
    }
    case SplitBehavior::MergedWithNext: {
        bool prevMatch = false;
        for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
            const auto& [r, isMatch] = *it;
            if (isMatch && !prevMatch && !splits.empty())
                splits.back().first.first = r.first;
            else
                splits.push_back({r, false});
            prevMatch = isMatch;
        }
        std::reverse(splits.begin(), splits.end());
        break;
    }
    }
    std::vector<NormStr> out;
    for (const auto& [r, remove] : splits) {
        if (remove) continue;
        out.push_back(n.slice(r.first, r.second));
    }
    return out;
}

Result<QRegularExpression> compileRegex(const QString& pattern) {
    QRegularExpression re(pattern, QRegularExpression::UseUnicodePropertiesOption);
    if (!re.isValid())
        return Error{QStringLiteral("invalid regular expression \"%1\" in tokenizer.json: %2")
                         .arg(pattern, re.errorString())};
    re.optimize();
    return re;
}

Result<QRegularExpression> parsePattern(const QJsonValue& v) {
    QJsonObject o = v.toObject();
    if (o.contains(QStringLiteral("String")))
        return compileRegex(
            QRegularExpression::escape(o.value(QStringLiteral("String")).toString()));
    if (o.contains(QStringLiteral("Regex")))
        return compileRegex(o.value(QStringLiteral("Regex")).toString());
    if (v.isString()) return compileRegex(QRegularExpression::escape(v.toString()));
    return Error{
        QStringLiteral("unsupported pattern in tokenizer.json (expected String or Regex)")};
}

} // namespace attnscope::tok
