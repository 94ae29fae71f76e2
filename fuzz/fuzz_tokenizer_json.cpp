// Fuzz target: tokenizer.json loading (models, normalizers, pre-tokenizers, post-processors,
// added tokens, decoders); a tokenizer that loads then encodes and decodes a fixed text.
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    const QString path = fuzz::writeScratchFile(QStringLiteral("tokenizer.json"), data, size);
    auto tokenizer = Tokenizer::fromTokenizerJson(path);
    if (!tokenizer) return 0;
    auto encoding = (*tokenizer)
                        ->encode(QStringLiteral("Hello, wörld! 123 <mask> [SEP] 😀\n"),
                                 QStringLiteral("a pair"));
    if (encoding) {
        (void)(*tokenizer)->decode(encoding->ids, false);
        for (const QString& token : encoding->tokens)
            (void)(*tokenizer)->displayToken(token);
    }
    return 0;
}
