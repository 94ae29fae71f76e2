// Fuzz target: model.safetensors.index.json (a sharded checkpoint's weight map) in a folder
// that also holds one valid shard, opened as a model's weights are.
#include "fuzz_support.h"
#include "safetensors.h"
#include "weights.h"

#include <QFile>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    static const bool shardWritten = [] {
        const float values[4] = {1, 2, 3, 4};
        return bool(
            writeSafeTensors(fuzz::scratchDir().filePath(QStringLiteral("shard-1.safetensors")),
                             {makeF32(QStringLiteral("w"), {2, 2}, values)}));
    }();
    (void)shardWritten;
    fuzz::writeScratchFile(QStringLiteral("model.safetensors.index.json"), data, size);
    auto store = WeightStore::openFolder(fuzz::scratchDir().path());
    if (store)
        for (const QString& name : store->allNames())
            (void)store->get(name);
    return 0;
}
