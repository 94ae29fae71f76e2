#include "gui.h"

#include "main_window.h"

#include <QApplication>
#include <QSettings>

namespace attnscope {

int runGui(int argc, char** argv, const QString& modelPath, const QString& initialText,
           const QString& sessionPath, const QString& attentionPath, const QString& tokensPath) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("attnscope"));
    QApplication::setOrganizationName(QStringLiteral("attnscope"));
    MainWindow window;
    window.setOpensOnPatternedHead(true);
    {
        QSettings settings; // window geometry, splitter, chosen view and options of last time
        window.restoreSettings(settings);
    }
    // A session or an attention file brings its own source: no default model races with it.
    if (!sessionPath.isEmpty()) {
        window.openSession(sessionPath);
    } else if (!attentionPath.isEmpty()) {
        window.openAttentionFile(attentionPath, tokensPath);
    } else {
        window.openModel(modelPath.isEmpty() ? QStringLiteral("default") : modelPath);
        if (!initialText.isEmpty()) window.setText(initialText);
    }
    window.show();
    const int status = app.exec();
    QSettings settings;
    window.saveSettings(settings);
    return status;
}

} // namespace attnscope
