// Fuzz target: encoding arbitrary bytes (read as UTF-8, invalid sequences included) with every
// kind of tokenizer the fixtures hold. The first byte picks the tokenizer; the rest is the
// text, optionally split at the first 0x01 into a pair.
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

#include <QStringList>
#include <memory>
#include <vector>

namespace {
const std::vector<std::shared_ptr<const attnscope::Tokenizer>>& tokenizers() {
    static const auto all = [] {
        std::vector<std::shared_ptr<const attnscope::Tokenizer>> loaded;
        // ATTNSCOPE_FUZZ_TOKENIZERS: the fixture folders, separated by '|' (set by CMake).
        for (const QString& dir :
             QStringLiteral(ATTNSCOPE_FUZZ_TOKENIZERS).split(QLatin1Char('|'), Qt::SkipEmptyParts))
            if (auto t = attnscope::Tokenizer::fromFolder(dir)) loaded.push_back(*t);
        return loaded;
    }();
    return all;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    if (size == 0 || tokenizers().empty()) return 0;
    const auto& tokenizer = tokenizers()[data[0] % tokenizers().size()];
    const QByteArray bytes(reinterpret_cast<const char*>(data + 1), qsizetype(size - 1));
    const qsizetype split = bytes.indexOf('\x01');
    const QString text = QString::fromUtf8(split < 0 ? bytes : bytes.left(split));
    std::optional<QString> pair;
    if (split >= 0) pair = QString::fromUtf8(bytes.mid(split + 1));
    auto encoding = tokenizer->encode(text, pair);
    if (!encoding) return 0;
    // Offsets must lie inside the text they index, in code points.
    const qsizetype codePoints = text.toUcs4().size();
    const qsizetype pairPoints = pair ? pair->toUcs4().size() : 0;
    for (size_t i = 0; i < encoding->offsets.size(); ++i) {
        const auto [begin, end] = encoding->offsets[i];
        const qsizetype limit = i < encoding->sequenceIds.size() && encoding->sequenceIds[i] == 1
                                    ? pairPoints
                                    : codePoints;
        if (begin < 0 || end < begin || end > limit) __builtin_trap();
    }
    for (int64_t id : encoding->ids)
        if (id < 0 || id >= tokenizer->vocabSize()) __builtin_trap();
    (void)tokenizer->decode(encoding->ids, true);
    return 0;
}
