#include "hfcache.h"
#include "file_limits.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

namespace attnscope {

QString hfHubCacheDir() {
    const QString hubCache = qEnvironmentVariable("HF_HUB_CACHE");
    if (!hubCache.isEmpty()) return hubCache;
    const QString home = qEnvironmentVariable("HF_HOME");
    if (!home.isEmpty()) return QDir(home).filePath(QStringLiteral("hub"));
    return QDir::home().filePath(QStringLiteral(".cache/huggingface/hub"));
}

std::vector<CachedModel> listCachedModels(const QString& cacheDir) {
    std::vector<CachedModel> models;
    const QDir cache(cacheDir);
    const QStringList repos = cache.entryList({QStringLiteral("models--*")},
                                              QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QString& repo : repos) {
        const QString repoId = repo.mid(8).replace(QLatin1String("--"), QLatin1String("/"));
        const QDir snapshots(cache.filePath(repo + QStringLiteral("/snapshots")));
        // Prefer the revision refs/main points at; list every snapshot that has a config.json.
        QFile ref(cache.filePath(repo + QStringLiteral("/refs/main")));
        const QString mainRevision =
            ref.open(QIODevice::ReadOnly) ? QString::fromUtf8(ref.readAll()).trimmed() : QString();
        QStringList revisions = snapshots.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
        if (revisions.removeOne(mainRevision)) revisions.prepend(mainRevision);
        for (const QString& rev : revisions) {
            const QString path = snapshots.filePath(rev);
            auto config = readBoundedFile(QDir(path).filePath(QStringLiteral("config.json")),
                                          kMaxConfigBytes, QStringLiteral("config file"));
            if (!config) continue;
            const QJsonObject o = QJsonDocument::fromJson(*config).object();
            models.push_back({repoId, rev, path, o.value(QLatin1String("model_type")).toString()});
        }
    }
    return models;
}

} // namespace attnscope
