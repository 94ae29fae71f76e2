#include "file_limits.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#ifdef __linux__
#include <fcntl.h>
#endif

namespace attnscope {

namespace {

QString megabytes(qint64 bytes) {
    return QString::number(double(bytes) / double(kMiB), 'f', bytes % kMiB == 0 ? 0 : 1);
}

// Why a write or flush of `file` failed. Qt leaves "Unknown error" when a write stops short
// first (a file-size limit reached in the middle of a block) and fails on the retry: the
// system's reason (errno right after the call) is clearer then.
QString writeFailure(const QFileDevice& file, int error) {
    const QString qt = file.errorString();
    if (error != 0 && (qt.isEmpty() || qt == QLatin1String("Unknown error")))
        return QString::fromLocal8Bit(std::strerror(error));
    return qt;
}

// Flushes Qt's buffer of `file` into the system; false with the reason on failure.
bool flushChecked(QFileDevice& file, QString* why) {
    errno = 0;
    if (file.flush()) return true;
    *why = writeFailure(file, errno);
    return false;
}

// Forwards writes to a file and keeps the first failure: QImage::save, QSvgGenerator and
// QPdfWriter ignore failed writes, so the failure must survive until commit().
class CheckedDevice final : public QIODevice {
public:
    explicit CheckedDevice(std::unique_ptr<QFileDevice> inner) : m_inner(std::move(inner)) {}
    ~CheckedDevice() override = default;

    QFileDevice* inner() const { return m_inner.get(); }
    const QString& failure() const { return m_failure; }
    void setFailure(const QString& why) {
        if (m_failure.isEmpty()) m_failure = why.isEmpty() ? QStringLiteral("write failed") : why;
    }

    bool isSequential() const override { return m_inner->isSequential(); }
    bool seek(qint64 pos) override {
        if (!QIODevice::seek(pos)) return false;
        if (!m_inner->seek(pos)) {
            setFailure(m_inner->errorString());
            return false;
        }
        return true;
    }

protected:
    qint64 readData(char*, qint64) override { return -1; }
    // After a failure the rest is dropped but reported as written: writers such as libpng
    // would otherwise print their own complaints; commit() gives the one error message.
    qint64 writeData(const char* data, qint64 len) override {
        qint64 done = 0;
        while (m_failure.isEmpty() && done < len) {
            errno = 0;
            const qint64 n = m_inner->write(data + done, len - done);
            if (n <= 0) setFailure(writeFailure(*m_inner, errno));
            done += std::max<qint64>(n, 0);
        }
        return len;
    }

private:
    std::unique_ptr<QFileDevice> m_inner;
    QString m_failure;
};

} // namespace

FileKind fileKind(const QString& path) {
    if (path.startsWith(QLatin1Char(':'))) { // Qt resource (the embedded default models)
        const QFileInfo info(path);
        return info.isDir()    ? FileKind::Directory
               : info.exists() ? FileKind::Regular
                               : FileKind::Missing;
    }
    struct stat st;
    if (path.isEmpty() || ::stat(QFile::encodeName(path).constData(), &st) != 0)
        return FileKind::Missing;
    if (S_ISREG(st.st_mode)) return FileKind::Regular;
    if (S_ISDIR(st.st_mode)) return FileKind::Directory;
    return FileKind::Stream;
}

Status requireRegularFile(const QString& path, const QString& what) {
    switch (fileKind(path)) {
    case FileKind::Regular:
        return okStatus();
    case FileKind::Missing:
        return Error{QStringLiteral("cannot open %1 %2: no such file").arg(what, path)};
    case FileKind::Directory:
        return Error{QStringLiteral("%1 %2 is a directory, not a file").arg(what, path)};
    case FileKind::Stream:
        break;
    }
    return Error{QStringLiteral("%1 %2 is not a regular file (a pipe or device such as /dev/zero); "
                                "it must be a file")
                     .arg(what, path)};
}

Result<QByteArray> readBoundedFile(const QString& path, qint64 maxBytes, const QString& what,
                                   bool allowStreams) {
    const FileKind kind = fileKind(path);
    if (kind == FileKind::Directory || (kind == FileKind::Stream && !allowStreams))
        return requireRegularFile(path, what).error();
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error{QStringLiteral("cannot read %1 %2: %3").arg(what, path, f.errorString())};
    const QString tooLarge = QStringLiteral("%1 %2 is larger than %3 MB; reading stopped there")
                                 .arg(what, path, megabytes(maxBytes));
    if (kind == FileKind::Regular) {
        if (f.size() > maxBytes) return Error{tooLarge};
    }
    QByteArray out;
    if (kind == FileKind::Regular) out.reserve(qsizetype(f.size()));
    constexpr qint64 kChunk = qint64(1) << 20;
    QByteArray chunk(qsizetype(kChunk), Qt::Uninitialized);
    for (;;) {
        const qint64 n = f.read(chunk.data(), std::min(kChunk, maxBytes + 1 - out.size()));
        if (n < 0)
            return Error{QStringLiteral("cannot read %1 %2: %3").arg(what, path, f.errorString())};
        if (n == 0) break;
        out.append(chunk.constData(), qsizetype(n));
        if (out.size() > maxBytes) return Error{tooLarge};
    }
    return out;
}

OutputFile::OutputFile(QString path) : m_path(std::move(path)) {}
OutputFile::~OutputFile() = default; // an uncommitted QSaveFile removes its temporary file

Status OutputFile::open() {
    const FileKind kind = fileKind(m_path);
    if (kind == FileKind::Directory)
        return Error{QStringLiteral("cannot write %1: it is a directory").arg(m_path)};
    std::unique_ptr<QFileDevice> file;
    m_inPlace = kind == FileKind::Stream;
    if (m_inPlace) {
        // A device, FIFO or socket (perhaps through a symlink): write into it as a shell
        // redirection would; renaming a temporary file over it would destroy it. A reader
        // that goes away must give an error, not kill the process.
        std::signal(SIGPIPE, SIG_IGN);
        file = std::make_unique<QFile>(m_path);
    } else {
        file = std::make_unique<QSaveFile>(m_path);
    }
    if (!file->open(QIODevice::WriteOnly))
        return Error{QStringLiteral("cannot write %1: %2").arg(m_path, file->errorString())};
    auto device = std::make_unique<CheckedDevice>(std::move(file));
    device->open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    m_device = std::move(device);
    return okStatus();
}

QIODevice* OutputFile::device() {
    return m_device.get();
}

Status OutputFile::commit() {
    auto* device = static_cast<CheckedDevice*>(m_device.get());
    if (!device) return Error{QStringLiteral("cannot write %1: not open").arg(m_path)};
    QFileDevice* file = device->inner();
    if (QString why; device->failure().isEmpty() && !flushChecked(*file, &why))
        device->setFailure(why);
    if (m_inPlace) {
        file->close();
        if (device->failure().isEmpty() && file->error() != QFileDevice::NoError)
            device->setFailure(file->errorString());
    } else {
        auto* save = static_cast<QSaveFile*>(file);
        if (!device->failure().isEmpty()) save->cancelWriting();
        if (!save->commit() && device->failure().isEmpty()) device->setFailure(save->errorString());
    }
    const QString failure = device->failure();
    m_device.reset();
    if (!failure.isEmpty())
        return Error{QStringLiteral("cannot write %1: %2").arg(m_path, failure)};
    return okStatus();
}

void OutputFile::startWriteback() {
    auto* device = static_cast<CheckedDevice*>(m_device.get());
    if (!device || m_inPlace || !device->failure().isEmpty()) return;
    QFileDevice* file = device->inner();
    if (QString why; !flushChecked(*file, &why)) {
        device->setFailure(why);
        return;
    }
#ifdef __linux__
    // Offset 0, length 0: the whole file so far. Pages already being written are skipped.
    if (const int fd = file->handle(); fd >= 0) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

Status writeWholeFile(const QString& path, const QByteArray& bytes) {
    OutputFile out(path);
    if (auto s = out.open(); !s) return s;
    out.device()->write(bytes);
    return out.commit();
}

} // namespace attnscope
