#pragma once
// Decodes pictures (files, dropped bytes, clipboard images) on a worker thread, so that a large
// photo never blocks the window; only the newest request's result is delivered.
#include <QImage>
#include <QObject>
#include <QThreadPool>
#include <memory>

namespace attnscope {

class PictureLoader : public QObject {
    Q_OBJECT
public:
    explicit PictureLoader(QObject* parent = nullptr);
    ~PictureLoader() override; // waits for a running decode

    void loadFile(const QString& path);
    void loadData(const QByteArray& data, const QString& name);
    void loadImage(const QImage& image, const QString& name); // e.g. from the clipboard

signals:
    void loaded(const QImage& rgb888, const QString& name); // RGB888 as PIL would decode it
    void failed(const QString& message);

private:
    template <typename Decode> void start(const QString& name, Decode decode);
    QThreadPool m_pool;
    quint64 m_latest = 0;
};

} // namespace attnscope
