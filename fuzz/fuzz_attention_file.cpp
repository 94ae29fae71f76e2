// Fuzz target: importing attention computed elsewhere. The first byte picks the format
// (.safetensors, .npy, .npz); the rest is the file.
#include "attention_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    if (size == 0) return 0;
    static const char* const kNames[] = {"attention.safetensors", "attention.npy", "attention.npz"};
    const QString path =
        fuzz::writeScratchFile(QLatin1String(kNames[data[0] % 3]), data + 1, size - 1);
    AttentionFileInfo info;
    auto analysis = openAttentionFile(path, {}, &info);
    if (analysis) (void)attentionFileInfoJson(*analysis, info);
    return 0;
}
