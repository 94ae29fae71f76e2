#pragma once
// Tokenizers as Hugging Face `tokenizers` reads them (tokenizer.json), plus the older file
// sets (vocab.json + merges.txt for byte-level BPE, vocab.txt for WordPiece).
// Offsets are [begin, end) in Unicode code points of the original text, as HF reports them.
#include "../result.h"

#include <QString>
#include <QStringList>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace attnscope {

struct Encoding {
    std::vector<int64_t> ids;
    QStringList tokens;                       // raw vocabulary strings, e.g. "Ġthe", "##ing"
    std::vector<std::pair<int, int>> offsets; // [begin, end) code points into the input text
    std::vector<int64_t> typeIds;             // 0 for the first sequence, 1 for the pair
    std::vector<int> sequenceIds;             // -1 for special tokens, 0 first text, 1 pair
    std::vector<bool> specialMask;            // true for added special tokens ([CLS], </s>, ...)

    int size() const { return int(ids.size()); }
};

class Tokenizer {
public:
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // Reads tokenizer.json from the folder, else vocab.json + merges.txt, else vocab.txt.
    static Result<std::shared_ptr<const Tokenizer>> fromFolder(const QString& dir);
    // How tokenizer.json is read: the vocabulary and merges by a purpose-built reader (falling
    // back to QJsonDocument for anything unusual), or the whole file by QJsonDocument (the
    // reference the tests compare the fast reader with).
    enum class JsonReader { Fast, QJsonDocumentOnly };
    static Result<std::shared_ptr<const Tokenizer>>
    fromTokenizerJson(const QString& path, JsonReader reader = JsonReader::Fast);

    // add_special_tokens as in HF (post-processor applied when true).
    Result<Encoding> encode(const QString& text, const std::optional<QString>& pair = std::nullopt,
                            bool addSpecialTokens = true) const;

    QString idToToken(int64_t id) const; // empty if out of range
    std::optional<int64_t> tokenToId(const QString& token) const;
    int vocabSize() const; // including added tokens
    QString decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = true) const;

    // A readable form of one token for display: byte-level "Ġthe" -> " the", "▁the" -> " the",
    // "<0x0A>" -> "\n" (where valid), WordPiece "##ing" stays as is.
    QString displayToken(const QString& token) const;
    // The same for a vocabulary known only by its strings (an attention file's tokens):
    // byteLevel says whether its pieces are GPT-2-style byte characters.
    static QString displayToken(const QString& token, bool byteLevel);

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace attnscope
