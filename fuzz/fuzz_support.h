#pragma once
// Helpers shared by the fuzz targets: the readers under test take paths (safetensors files are
// memory-mapped), so each input is written to a file first. One scratch folder per process,
// under $TMPDIR, removed at exit.
#include <QByteArray>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace attnscope::fuzz {

// The process's scratch folder (created on first use).
inline const QTemporaryDir& scratchDir() {
    static const auto dir = std::make_unique<QTemporaryDir>(
        QDir::tempPath() + QStringLiteral("/attnscope-fuzz-XXXXXX"));
    return *dir;
}

// Writes `data` to `name` inside the scratch folder (replacing it) and returns its path.
inline QString writeScratchFile(const QString& name, const uint8_t* data, size_t size) {
    const QString path = scratchDir().filePath(name);
    QFile file(path);
    if (file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        file.write(reinterpret_cast<const char*>(data), qint64(size));
    return path;
}

// Qt readers want an application object for some paths (plugins, codecs); one per process.
inline void ensureApplication() {
    if (QCoreApplication::instance()) return;
    static int argc = 1;
    static char name[] = "attnscope-fuzz";
    static char* argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);
}

} // namespace attnscope::fuzz
