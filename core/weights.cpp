#include "weights.h"
#include "file_limits.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cerrno>
#include <omp.h>
#include <set>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 // Linux 5.14; older kernels answer EINVAL
#endif

namespace attnscope {

namespace {
QString shapeString(const std::vector<int64_t>& shape) {
    QStringList parts;
    for (int64_t d : shape)
        parts << QString::number(d);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}
} // namespace

namespace {
const QStringList kPickleFilePatterns = {QStringLiteral("pytorch_model*.bin"),
                                         QStringLiteral("*.pt"), QStringLiteral("*.pth"),
                                         QStringLiteral("*.ckpt")};

bool isPickleFileName(const QString& name) {
    for (const QString& pattern : kPickleFilePatterns)
        if (QDir::match(pattern, name)) return true;
    return false;
}
} // namespace

QString pickleOnlyMessage(const QString& path) {
    const QFileInfo info(path);
    QString pickle;
    if (info.isFile() && isPickleFileName(info.fileName())) {
        pickle = info.fileName();
    } else if (info.isDir()) {
        const QDir folder(path);
        if (!folder.entryList({QStringLiteral("*.safetensors")}, QDir::Files).isEmpty()) return {};
        const QStringList found = folder.entryList(kPickleFilePatterns, QDir::Files, QDir::Name);
        if (found.isEmpty()) return {};
        pickle = found.first();
    } else {
        return {};
    }
    const QString folder = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
    // torch.load(weights_only=True) refuses pickles that would run code; clone() unties shared
    // tensors, which safetensors cannot store twice.
    return QStringLiteral("%1 holds PyTorch pickle weights (%2), which attnscope never loads "
                          "(unpickling can run code); convert them to safetensors once, e.g. "
                          "python3 -c \"import torch; from safetensors.torch import save_file; "
                          "save_file({k: v.clone().contiguous() for k, v in "
                          "torch.load('%3/%2', weights_only=True).items()}, "
                          "'%3/model.safetensors')\"")
        .arg(QDir::toNativeSeparators(path), pickle, folder);
}

Result<WeightStore> WeightStore::openFolder(const QString& dir) {
    WeightStore store;
    store.m_dir = dir;
    store.m_keepHalfWeights = qgetenv("ATTNSCOPE_WIDEN_WEIGHTS") != "1";
    QDir folder(dir);
    QStringList files;
    const QString indexPath = folder.filePath(QStringLiteral("model.safetensors.index.json"));
    if (QFileInfo::exists(folder.filePath(QStringLiteral("model.safetensors")))) {
        files << folder.filePath(QStringLiteral("model.safetensors"));
    } else if (QFileInfo::exists(indexPath)) {
        auto bytes = readBoundedFile(indexPath, kMaxConfigBytes, QStringLiteral("shard index"));
        if (!bytes) return bytes.error();
        QJsonParseError err;
        const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &err);
        const QJsonObject map = doc.object().value(QLatin1String("weight_map")).toObject();
        if (err.error != QJsonParseError::NoError || map.isEmpty())
            return Error{QStringLiteral("%1: invalid shard index (no weight_map)").arg(indexPath)};
        std::set<QString> shards;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const QString shard = it.value().toString();
            if (shard.isEmpty() || shard.contains(QLatin1Char('/')) ||
                shard.contains(QLatin1String("..")))
                return Error{
                    QStringLiteral("%1: invalid shard file name \"%2\"").arg(indexPath, shard)};
            shards.insert(shard);
        }
        for (const QString& s : shards)
            files << folder.filePath(s);
    } else {
        const QStringList found =
            folder.entryList({QStringLiteral("*.safetensors")}, QDir::Files, QDir::Name);
        for (const QString& s : found)
            files << folder.filePath(s);
    }
    if (files.isEmpty()) {
        if (const QString pickle = pickleOnlyMessage(dir); !pickle.isEmpty()) return Error{pickle};
        return Error{QStringLiteral("no .safetensors weights found in %1").arg(dir)};
    }
    for (const QString& path : files) {
        auto file = SafeTensorsFile::open(path);
        if (!file) return file.error();
        const int idx = int(store.m_files.size());
        for (const QString& name : file.value()->names())
            store.m_index.insert(name, idx);
        store.m_files.push_back(file.value());
    }
    return store;
}

void WeightStore::choosePrefix(const QStringList& prefixes, const QString& probeName) {
    for (const QString& p : prefixes)
        if (m_index.contains(p + probeName)) {
            m_prefix = p;
            return;
        }
    m_prefix = prefixes.isEmpty() ? QString() : prefixes.first();
}

bool WeightStore::has(const QString& name) const {
    return m_index.contains(m_prefix + name);
}

const SafeTensorsFile* WeightStore::fileFor(const QString& fullName) const {
    auto it = m_index.constFind(fullName);
    return it == m_index.constEnd() ? nullptr : m_files[size_t(it.value())].get();
}

Result<QString> WeightStore::resolve(const QString& name) const {
    QString full = m_prefix + name;
    if (fileFor(full)) return full;
    QString legacy = full; // legacy LayerNorm names
    if (legacy.endsWith(QLatin1String(".weight")))
        legacy = legacy.left(legacy.size() - 7) + QStringLiteral(".gamma");
    else if (legacy.endsWith(QLatin1String(".bias")))
        legacy = legacy.left(legacy.size() - 5) + QStringLiteral(".beta");
    if (fileFor(legacy)) return legacy;
    return Error{QStringLiteral("checkpoint in %1 has no tensor \"%2\"").arg(m_dir, full)};
}

Result<FloatTensor> WeightStore::get(const QString& name,
                                     const std::vector<int64_t>& expectedShape) const {
    auto full = resolve(name);
    if (!full) return full.error();
    if (m_load->cancelled) return Error{QStringLiteral("cancelled")};
    const SafeTensorsFile* file = fileFor(*full);
    auto tensor = file->floatTensor(*full);
    if (!tensor) return tensor.error();
    if (!reportTensorTaken(*file, *full)) return Error{QStringLiteral("cancelled")};
    if (!expectedShape.empty() && tensor->shape != expectedShape)
        return Error{QStringLiteral("tensor \"%1\" has shape %2, expected %3 from config.json")
                         .arg(*full, shapeString(tensor->shape), shapeString(expectedShape))};
    return tensor;
}

bool WeightStore::keepsHalf(const SafeTensorsFile& file, const TensorInfo& info) const {
    const bool half = info.dtype == DType::F16 || info.dtype == DType::BF16;
    return half && m_keepHalfWeights && reinterpret_cast<uintptr_t>(file.bytes(info)) % 2 == 0;
}

Result<WeightTensor> WeightStore::weight(const QString& name,
                                         const std::vector<int64_t>& expectedShape) const {
    auto full = resolve(name);
    if (!full) return full.error();
    const int fileIndex = m_index.value(*full);
    const SafeTensorsFile* file = m_files[size_t(fileIndex)].get();
    const TensorInfo* info = file->find(*full);
    if (keepsHalf(*file, *info)) {
        if (!expectedShape.empty() && info->shape != expectedShape)
            return Error{QStringLiteral("tensor \"%1\" has shape %2, expected %3 from config.json")
                             .arg(*full, shapeString(info->shape), shapeString(expectedShape))};
        if (!reportTensorTaken(*file, *full)) return Error{QStringLiteral("cancelled")};
        WeightTensor w;
        w.shape = info->shape;
        w.dtype = info->dtype;
        w.data = file->bytes(*info);
        w.owner = m_files[size_t(fileIndex)];
        return w;
    }
    auto widened = get(name, expectedShape);
    if (!widened) return widened.error();
    return WeightTensor::fromFloat(std::move(widened.value()));
}

int64_t WeightStore::residentBytes() const {
    int64_t bytes = convertedFloatBytes();
    for (const auto& file : m_files)
        bytes += file->tensorBytes();
    return bytes;
}

int64_t WeightStore::convertedFloatBytes() const {
    int64_t bytes = 0;
    for (const auto& file : m_files)
        for (const QString& name : file->names()) {
            const TensorInfo* info = file->find(name);
            const bool half = info->dtype == DType::F16 || info->dtype == DType::BF16;
            // Matrices are taken with weight(), vectors with get() (widened).
            const bool keptHalf = info->shape.size() >= 2 && keepsHalf(*file, *info);
            if ((half || info->dtype == DType::F64) && !keptHalf)
                bytes += info->numel() * int64_t(sizeof(float));
        }
    return bytes;
}

void WeightStore::markReadByEveryPass(const WeightTensor& tensor) const {
    if (tensor.data) m_readByEveryPass->emplace_back(tensor.data, size_t(tensor.bytes()));
}

void WeightStore::setLoadProgress(LoadProgressCallback progress) const {
    m_load->progress = std::move(progress);
    m_load->done = 0;
    m_load->storedBytes = 0;
    for (const auto& file : m_files)
        m_load->storedBytes += file->tensorBytes();
    m_load->cancelled = false;
}

// Adds `bytes` to what the current stage has done and reports it; false once cancelled.
bool WeightStore::reportLoaded(LoadStage stage, int64_t bytes, int64_t total) const {
    if (m_load->cancelled) return false;
    m_load->done = std::min(total, m_load->done + bytes); // a tensor may be taken twice (tied)
    if (m_load->progress && !m_load->progress(stage, m_load->done, total)) m_load->cancelled = true;
    return !m_load->cancelled;
}

bool WeightStore::reportTensorTaken(const SafeTensorsFile& file, const QString& fullName) const {
    if (m_load->cancelled) return false;
    if (!m_load->progress) return true;
    const TensorInfo* info = file.find(fullName);
    return reportLoaded(LoadStage::Tensors, info ? info->end - info->begin : 0,
                        m_load->storedBytes);
}

bool WeightStore::prefaultMarked() const {
    if (m_load->cancelled) return false;
    // Page-aligned chunks of at most 8 MB, so both cores share the work evenly.
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t chunk = uintptr_t(8) << 20;
    std::vector<std::pair<uintptr_t, size_t>> chunks;
    for (const auto& [data, bytes] : *m_readByEveryPass) {
        const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
        const uintptr_t end = reinterpret_cast<uintptr_t>(data) + bytes;
        for (uintptr_t b = begin; b < end; b += chunk)
            chunks.emplace_back(b, size_t(std::min(end - b, chunk)));
    }
    int64_t total = 0;
    for (const auto& c : chunks)
        total += int64_t(c.second);
    m_load->done = 0;
    // Advice only: a kernel without MADV_POPULATE_READ reads ahead instead (MADV_WILLNEED),
    // and a failure changes nothing but speed. Batches of 64 MB per thread between progress
    // reports, so a cancel stops it within a batch (well under a second from disk cache).
    const size_t batch = size_t(8 * std::max(1, omp_get_max_threads()));
    for (size_t first = 0; first < chunks.size(); first += batch) {
        const size_t last = std::min(chunks.size(), first + batch);
#pragma omp parallel for schedule(dynamic)
        for (size_t i = first; i < last; ++i) {
            void* start = reinterpret_cast<void*>(chunks[i].first);
            if (madvise(start, chunks[i].second, MADV_POPULATE_READ) != 0 && errno == EINVAL)
                madvise(start, chunks[i].second, MADV_WILLNEED);
        }
        int64_t bytes = 0;
        for (size_t i = first; i < last; ++i)
            bytes += int64_t(chunks[i].second);
        if (m_load->progress && !reportLoaded(LoadStage::Reading, bytes, total)) return false;
    }
    return true;
}

QStringList WeightStore::allNames() const {
    QStringList names = m_index.keys();
    names.sort();
    return names;
}

} // namespace attnscope
