#include "gui.h"

#include "main_window.h"

#include <QApplication>

namespace attnscope {

int runGui(int argc, char** argv, const QString& modelPath, const QString& initialText) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("attnscope"));
    QApplication::setOrganizationName(QStringLiteral("attnscope"));
    MainWindow window;
    window.openModel(modelPath.isEmpty() ? QStringLiteral("default") : modelPath);
    if (!initialText.isEmpty()) window.setText(initialText);
    window.show();
    return app.exec();
}

} // namespace attnscope
