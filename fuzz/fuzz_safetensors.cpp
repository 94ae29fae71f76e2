// Fuzz target: a safetensors file (8-byte header length, JSON header, data), opened and every
// tensor read as float32 and as integers, as a model load or an attention import would.
#include "fuzz_support.h"
#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    const QString path = fuzz::writeScratchFile(QStringLiteral("model.safetensors"), data, size);
    auto file = SafeTensorsFile::open(path);
    if (!file) return 0;
    for (const QString& name : (*file)->names()) {
        auto floats = (*file)->floatTensor(name);
        if (floats && floats->numel() > 0) {
            volatile float sink = floats->data[floats->numel() - 1]; // touches the last value
            (void)sink;
        }
        auto ints = (*file)->int64Tensor(name);
        (void)ints;
    }
    return 0;
}
