// Fuzz target: config.json, read and normalised as for every model family.
#include "config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    const QString path = fuzz::writeScratchFile(QStringLiteral("config.json"), data, size);
    auto config = ModelConfig::fromFile(path);
    (void)config;
    return 0;
}
