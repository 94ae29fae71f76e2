#pragma once
// Internal building blocks of the tokenizer: a NormalizedString that keeps, for every
// normalized code point, the range of original code points it came from (as HF's
// NormalizedString does with bytes), plus the component interfaces.
#include "../result.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QRegularExpression>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace attnscope::tok {

using U32 = std::u32string;
using Range = std::pair<int, int>;

U32 toU32(const QString& s);
QString fromU32(const U32& s);
QString fromU32(const char32_t* p, size_t n);

// ---- Unicode helpers (Rust char semantics) ----
bool isWhitespace(char32_t c);     // Rust char::is_whitespace (White_Space)
bool isPunctuation(char32_t c);    // ascii punctuation or Unicode P*
bool isNumeric(char32_t c);        // Unicode N*
bool isAlphanumeric(char32_t c);   // Rust char::is_alphanumeric
bool isWordChar(char32_t c);       // regex \w
bool isControlOther(char32_t c);   // Unicode C* (Cc Cf Cs Co Cn)
bool isMark(char32_t c);           // M*
bool isNonspacingMark(char32_t c); // Mn
bool isChineseChar(char32_t c);
U32 lowercaseChar(char32_t c); // full lowercase mapping

// Byte-level alphabet (GPT-2 bytes_to_unicode)
const std::vector<char32_t>& byteToChar();
int charToByte(char32_t c); // -1 if not in the alphabet

void appendUtf8(std::string& out, char32_t c);

struct NormStr {
    U32 s;                          // normalized text
    std::vector<Range> al;          // per normalized char: original [b,e) (absolute code points)
    int origBegin = 0, origEnd = 0; // original extent of this (slice of the) string

    static NormStr fromOriginal(const U32& text, int offset = 0);
    int size() const { return int(s.size()); }
    bool empty() const { return s.empty(); }
    NormStr slice(int b, int e) const;
    // Rebuild from a list of (char, original range). Generic helper used by transformations.
    struct Out {
        char32_t c;
        Range r;
    };
    void rebuild(const std::vector<Out>& out);
    Range alignBefore(int i) const { return i > 0 ? al[i - 1] : Range{origBegin, origBegin}; }
    // HF-like convert of a normalized range [b,e) to original
    Range toOriginal(int b, int e) const;
    void prepend(const U32& str); // HF NormalizedString::prepend
    void lowercase();
    void filter(bool (*keep)(char32_t));
    void replaceAll(const QRegularExpression& re, const U32& content); // HF replace
    void replaceString(const U32& pattern, const U32& content);
    void replaceMatches(const std::vector<std::pair<Range, bool>>& matches, const U32& content);
    Status unicodeNormalize(QString::NormalizationForm form);
    void stripWs(bool left, bool right);
};

// Builds every entry of a "Sequence" component's array with `make`, skipping nulls.
template <typename Base, typename Make>
Status parseSequence(const QJsonArray& entries, Make make,
                     std::vector<std::shared_ptr<Base>>& items) {
    for (const auto& v : entries) {
        if (v.isNull()) continue;
        auto c = make(v.toObject());
        if (!c) return c.error();
        items.push_back(c.value());
    }
    return okStatus();
}

// A match list covering the whole string: (range, isMatch)
using Matches = std::vector<std::pair<Range, bool>>;

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
std::vector<NormStr> splitNorm(const NormStr& n, const Matches& m, SplitBehavior b);
Matches regexMatches(const U32& s, const QRegularExpression& re);
Matches charMatches(const U32& s, bool (*pred)(char32_t));
Matches literalMatches(const U32& s, const U32& pattern);

struct Token {
    int64_t id;
    U32 value;
    Range offsets; // in chars of the model input string (normalized piece)
};

struct Split {
    NormStr n;
    bool hasTokens = false;
    std::vector<Token> tokens; // offsets relative to n (normalized chars)
    bool special = false;
};

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual Status normalize(NormStr& n) const = 0;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual Status preTokenize(std::vector<Split>& splits) const = 0;
    virtual bool isByteLevel() const { return false; }
};

class Model {
public:
    virtual ~Model() = default;
    virtual Status tokenize(const U32& s, std::vector<Token>& out) const = 0;
    virtual std::optional<int64_t> tokenToId(const U32& s) const = 0;
    virtual std::optional<U32> idToToken(int64_t id) const = 0;
    virtual int vocabSize() const = 0;
};

struct Enc {
    std::vector<int64_t> ids;
    std::vector<U32> tokens;
    std::vector<Range> offsets;
    std::vector<int64_t> typeIds;
    std::vector<int> seqIds;
    std::vector<bool> special;
    void append(const Enc& o) {
        ids.insert(ids.end(), o.ids.begin(), o.ids.end());
        tokens.insert(tokens.end(), o.tokens.begin(), o.tokens.end());
        offsets.insert(offsets.end(), o.offsets.begin(), o.offsets.end());
        typeIds.insert(typeIds.end(), o.typeIds.begin(), o.typeIds.end());
        seqIds.insert(seqIds.end(), o.seqIds.begin(), o.seqIds.end());
        special.insert(special.end(), o.special.begin(), o.special.end());
    }
    void addSpecial(int64_t id, const U32& tok, int64_t typeId) {
        ids.push_back(id);
        tokens.push_back(tok);
        offsets.push_back({0, 0});
        typeIds.push_back(typeId);
        seqIds.push_back(-1);
        special.push_back(true);
    }
};

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    // encs has 1 or 2 entries; may modify them and return the list (merged or not).
    virtual std::vector<Enc> process(std::vector<Enc> encs, bool addSpecial) const = 0;
    virtual bool isByteLevel() const { return false; }
};

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual std::vector<U32> decodeChain(std::vector<U32> tokens) const = 0;
    virtual bool isByteLevel() const { return false; }
};

// Merge a pair without a post-processor (HF default_process).
std::vector<Enc> defaultProcessEncodings(std::vector<Enc> encs);

// Factories: from a JSON object; error names the unsupported type.
Result<std::shared_ptr<Normalizer>> makeNormalizer(const QJsonObject& o);
Result<std::shared_ptr<PreTokenizer>> makePreTokenizer(const QJsonObject& o);
struct BulkSections;
// `bulk`: model.vocab / model.merges already read by readBulkSections (then `o` holds empty
// placeholders for them); null to read everything from `o`.
Result<std::shared_ptr<Model>> makeModel(const QJsonObject& o, BulkSections* bulk = nullptr);
Result<std::shared_ptr<PostProcessor>> makePostProcessor(const QJsonObject& o);
Result<std::shared_ptr<Decoder>> makeDecoder(const QJsonObject& o);

// Direct constructors for the legacy file sets.
std::shared_ptr<Normalizer> makeBertNormalizer(bool lowercase);
std::shared_ptr<PreTokenizer> makeBertPreTokenizer();
std::shared_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex);
std::shared_ptr<PostProcessor> makeByteLevelProcessor(bool addPrefixSpace, bool trimOffsets);
std::shared_ptr<PostProcessor> makeBertProcessor(const U32& sep, int64_t sepId, const U32& cls,
                                                 int64_t clsId);
std::shared_ptr<Decoder> makeByteLevelDecoder();
std::shared_ptr<Decoder> makeWordPieceDecoder(const U32& prefix, bool cleanup);
Result<std::shared_ptr<Model>> makeBpeModel(std::unordered_map<U32, int64_t> vocab,
                                            const std::vector<std::pair<U32, U32>>& merges);
Result<std::shared_ptr<Model>> makeWordPieceModel(std::unordered_map<U32, int64_t> vocab);

// Regex compile helper: PCRE2 with Unicode properties; error names the pattern.
Result<QRegularExpression> compileRegex(const QString& pattern);
// Parse {"String": ".."} or {"Regex": ".."} patterns into a regex.
Result<QRegularExpression> parsePattern(const QJsonValue& v);

} // namespace attnscope::tok
