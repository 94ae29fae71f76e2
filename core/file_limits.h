#pragma once
// Bounded reading and safe writing of files (issue 15). Every reader states how large the file it
// reads may be and whether it may be a stream (a pipe, a character device such as /dev/stdin);
// model files must be regular files, so a config.json that is a FIFO or /dev/zero is refused at
// once instead of hanging or filling memory. Every writer goes through OutputFile: a regular file
// (or a new one) is replaced atomically (QSaveFile); anything else (/dev/null, /dev/full, a FIFO,
// /dev/stdout, a symlink to one of them) is written to directly, never replaced, and any failed
// write (ENOSPC, EPIPE) is an error.
#include "result.h"

#include <QByteArray>
#include <QString>

#include <memory>

class QIODevice;

namespace attnscope {

constexpr qint64 kMiB = qint64(1) << 20;

// Size limits per kind of file, generous for real files.
constexpr qint64 kMaxConfigBytes = 16 * kMiB;      // config.json, preprocessor_config.json, indexes
constexpr qint64 kMaxTokenizerBytes = 512 * kMiB;  // tokenizer.json, vocab.*, merges.txt
constexpr qint64 kMaxTextInputBytes = 64 * kMiB;   // --text-file, --input-list
constexpr qint64 kMaxImageBytes = 256 * kMiB;      // --image
constexpr qint64 kMaxTokensJsonBytes = 256 * kMiB; // --tokens TOKENS.json

enum class FileKind { Missing, Regular, Directory, Stream /* FIFO, device, socket */ };

// What `path` is, following symbolic links (a dangling link is Missing).
FileKind fileKind(const QString& path);

// Reads the whole file, at most maxBytes. `what` names the file in messages ("config.json").
// A regular file larger than maxBytes is refused before reading. Streams are refused unless
// allowStreams; then they are read until end of file and refused as soon as they pass maxBytes
// (so /dev/zero or /dev/urandom stop at the limit, with a message).
Result<QByteArray> readBoundedFile(const QString& path, qint64 maxBytes, const QString& what,
                                   bool allowStreams = false);

// Checks that a file about to be memory-mapped or read is a regular file (not a FIFO or device).
Status requireRegularFile(const QString& path, const QString& what);

// An output file. Regular or new files: written to a temporary file next to it and renamed over
// it by commit() (a failed write leaves the old file). Existing non-regular files (devices, FIFOs,
// also through a symlink): opened and written in place; never replaced. Directories: an error.
// Every write is checked: the first failure is kept and commit() reports it.
class OutputFile {
public:
    explicit OutputFile(QString path);
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    Status open();
    // Valid after a successful open(); writers (QImage::save, QSvgGenerator, QPdfWriter) may
    // ignore write errors: they are recorded and come out of commit().
    QIODevice* device();
    bool writesInPlace() const { return m_inPlace; }
    Status commit(); // flushes; the file is complete, or an error (the temporary file is removed)
    // Asks the kernel to start writing what was written so far to disk, without waiting, so that
    // commit()'s sync has less left (a file written while other work goes on). Only for files
    // replaced atomically on Linux; elsewhere nothing. Errors show up at commit().
    void startWriteback();

private:
    QString m_path;
    bool m_inPlace = false;
    std::unique_ptr<QIODevice> m_device;
};

// open, write(bytes...), commit in one call.
Status writeWholeFile(const QString& path, const QByteArray& bytes);

} // namespace attnscope
