#pragma once
// A purpose-built reader for the two big sections of tokenizer.json, "model.vocab" (an object of
// token → id) and "model.merges" (a list of "a b" strings or [a, b] pairs): tens of thousands of
// entries that would otherwise become a QJsonDocument of several MB (0.2 s for GPT-2's 50k).
// It reads only well-formed, unambiguous files; anything else (a syntax error, a duplicate key,
// an id that is not a plain non-negative integer, an escape it does not expect) makes it give up,
// and the caller parses the whole file with QJsonDocument as before, so errors read the same.
#include "tok_internal.h"
#include "vocab_table.h"

#include <QByteArray>

#include <optional>

namespace attnscope::tok {

// BPE merges "a b" in file order, their characters back to back.
struct MergeList {
    struct Merge {
        uint32_t a, aLength, b, bLength; // into chars
    };
    std::vector<char32_t> chars;
    std::vector<Merge> merges;

    std::u32string_view first(size_t i) const {
        return {chars.data() + merges[i].a, merges[i].aLength};
    }
    std::u32string_view second(size_t i) const {
        return {chars.data() + merges[i].b, merges[i].bLength};
    }
    void add(std::u32string_view a, std::u32string_view b) {
        merges.push_back({uint32_t(chars.size()), uint32_t(a.size()),
                          uint32_t(chars.size() + a.size()), uint32_t(b.size())});
        chars.insert(chars.end(), a.begin(), a.end());
        chars.insert(chars.end(), b.begin(), b.end());
    }
};

struct BulkSections {
    std::optional<VocabTable> vocab; // model.vocab, when it is an object
    std::optional<MergeList> merges; // model.merges, when it is a list
    QByteArray rest; // the file with those values replaced by {} and [] (for QJsonDocument)
};

// `json` must be valid UTF-8. nullopt: read the file the general way.
std::optional<BulkSections> readBulkSections(const QByteArray& json);

// True when `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// above U+10FFFF), i.e. exactly when QStringDecoder would report no error.
bool isValidUtf8(const QByteArray& bytes);

} // namespace attnscope::tok
