#include "picture_loader.h"

#include "image_decode.h"

#include <QFileInfo>
#include <QMetaObject>
#include <QRunnable>

namespace attnscope {

PictureLoader::PictureLoader(QObject* parent) : QObject(parent) {
    m_pool.setMaxThreadCount(1);
}

PictureLoader::~PictureLoader() {
    m_pool.waitForDone();
}

template <typename Decode> void PictureLoader::start(const QString& name, Decode decode) {
    const quint64 id = ++m_latest;
    m_pool.start(QRunnable::create([this, id, name, decode] {
        auto result = std::make_shared<Result<QImage>>(decode());
        QMetaObject::invokeMethod(
            this,
            [this, id, name, result] {
                if (id != m_latest) return; // a newer picture was asked for
                if (*result)
                    emit loaded(result->value(), name);
                else
                    emit failed(result->message());
            },
            Qt::QueuedConnection);
    }));
}

void PictureLoader::loadFile(const QString& path) {
    start(QFileInfo(path).fileName(), [path] { return decodeImageFile(path); });
}

void PictureLoader::loadData(const QByteArray& data, const QString& name) {
    start(name, [data, name] { return decodeImageData(data, name); });
}

void PictureLoader::loadImage(const QImage& image, const QString& name) {
    start(name, [image] { return toRgb888(image); });
}

} // namespace attnscope
