#pragma once
// All tensors of a checkpoint folder: model.safetensors, or the shards listed in
// model.safetensors.index.json. Lookup tolerates the family prefixes checkpoints differ in
// ("transformer.", "bert.", "model.", ...) and legacy LayerNorm names (gamma/beta).
#include "safetensors.h"
#include "weight_tensor.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <vector>

namespace attnscope {

// Pickle checkpoints (pytorch_model.bin, *.pt, *.pth, *.ckpt) are never unpickled: loading a
// pickle can run arbitrary code. The one-line message for a folder (or file) that has only
// those says how to convert them to safetensors; empty when `path` has safetensors or no
// pickle weights.
QString pickleOnlyMessage(const QString& path);

// Opening a checkpoint, reported while it runs: `done` of `total` bytes. Tensors: the stored
// bytes of the tensors the model has taken (converted to float32 where stored otherwise) of
// all the checkpoint's tensors; Reading: the bytes read in ahead of the first pass
// (prefaultMarked) of all it reads. Return false to cancel: opening then fails with
// "cancelled". Called on the opening thread.
enum class LoadStage { Tensors, Reading };
using LoadProgressCallback = std::function<bool(LoadStage stage, int64_t done, int64_t total)>;

class WeightStore {
public:
    static Result<WeightStore> openFolder(const QString& dir);

    // The first of `prefixes` under which `name` exists decides the prefix for all later
    // lookups (set once with choosePrefix).
    void choosePrefix(const QStringList& prefixes, const QString& probeName);
    QString prefix() const { return m_prefix; }

    bool has(const QString& name) const;
    // Looks up prefix + name; for names ending in ".weight"/".bias" of a LayerNorm also tries
    // ".gamma"/".beta". Checks the shape when `expectedShape` is given.
    Result<FloatTensor> get(const QString& name,
                            const std::vector<int64_t>& expectedShape = {}) const;
    // A matrix (projection, embedding table, patch kernel) as stored: F16/BF16 stay 16-bit in
    // the mapping and are widened block by block where they are read (see weight_tensor.h),
    // unless keepsHalfWeights() is false; F32 in place; F64 (or unaligned data) as a float32
    // copy. Same lookup and shape check as get().
    Result<WeightTensor> weight(const QString& name,
                                const std::vector<int64_t>& expectedShape = {}) const;
    // False when ATTNSCOPE_WIDEN_WEIGHTS=1 was set at open: weight() then returns float32
    // copies of 16-bit tensors as before (2x the memory; the reference the tests compare with).
    bool keepsHalfWeights() const { return m_keepHalfWeights; }
    void setKeepsHalfWeights(bool keep) { m_keepHalfWeights = keep; }
    QStringList allNames() const;
    // Memory the float32 copies take once loaded: F64 tensors, and of the F16/BF16 ones the
    // vectors (norm weights, biases: get()) — or all of them when keepsHalfWeights() is false.
    // Matrices of two or more dimensions stay 16-bit (weight()).
    int64_t convertedFloatBytes() const;
    // What the weights take in memory once a pass has read them all: the mapped tensor bytes
    // plus convertedFloatBytes().
    int64_t residentBytes() const;

    // Tensors every forward pass reads whole (the projections, not the embedding tables, of
    // which a pass reads a few rows). prefaultMarked() maps their pages into the process ahead
    // of the first pass, in parallel and in large batches (MADV_POPULATE_READ), so a cold
    // process does not stop at a page fault every few pages while it computes.
    void markReadByEveryPass(const WeightTensor& tensor) const;
    // False when the load progress callback cancelled (the pages read so far stay read).
    bool prefaultMarked() const;

    // Reports every tensor get() returns from now on (shared by copies, like the marks); once
    // the callback returned false, get() fails with "cancelled" and prefaultMarked() stops.
    void setLoadProgress(LoadProgressCallback progress) const;
    bool isLoadCancelled() const { return m_load->cancelled; }

private:
    const SafeTensorsFile* fileFor(const QString& fullName) const;
    // The full name under which `name` is stored (prefix, legacy LayerNorm names), or an error.
    Result<QString> resolve(const QString& name) const;
    bool m_keepHalfWeights = true;
    std::vector<std::shared_ptr<SafeTensorsFile>> m_files;
    QHash<QString, int> m_index; // full tensor name -> file
    QString m_prefix;
    QString m_dir;
    // Shared by copies (the family loaders take one), so marks made on a copy count.
    std::shared_ptr<std::vector<std::pair<const void*, size_t>>> m_readByEveryPass =
        std::make_shared<std::vector<std::pair<const void*, size_t>>>();
    struct LoadState {
        LoadProgressCallback progress;
        int64_t done = 0;
        int64_t storedBytes = 0; // every tensor's bytes in the files: the Tensors stage's total
        bool cancelled = false;
    };
    std::shared_ptr<LoadState> m_load = std::make_shared<LoadState>();
    bool reportLoaded(LoadStage stage, int64_t bytes, int64_t total) const;
    // Whether weight() keeps this F16/BF16 tensor 16-bit (not widened into a float32 copy).
    bool keepsHalf(const SafeTensorsFile& file, const TensorInfo& info) const;
    // Reports tensor `fullName` of `file` as taken (LoadStage::Tensors); false once cancelled.
    bool reportTensorTaken(const SafeTensorsFile& file, const QString& fullName) const;
};

} // namespace attnscope
