#pragma once
// Models already on this computer: the Hugging Face hub cache
// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), laid out as
// models--org--name/snapshots/<revision>/ with config.json inside.
#include <QString>
#include <vector>

namespace attnscope {

struct CachedModel {
    QString repoId;    // "org/name"
    QString revision;  // snapshot folder name
    QString path;      // the snapshot folder, usable as --model
    QString modelType; // config.json's model_type ("" if unreadable)
};

QString hfHubCacheDir();
std::vector<CachedModel> listCachedModels(const QString& cacheDir = hfHubCacheDir());

} // namespace attnscope
