#pragma once
#include <QString>

namespace attnscope {

// Creates the QApplication and the main window, opens modelPath ("default" when empty)
// asynchronously, shows initialText (a sample sentence when empty) and runs the event loop.
// With sessionPath, the window opens that session instead (model, text and view); with
// attentionPath, that attention file without a model (tokensPath: its side tokens.json).
int runGui(int argc, char** argv, const QString& modelPath, const QString& initialText,
           const QString& sessionPath = {}, const QString& attentionPath = {},
           const QString& tokensPath = {});

} // namespace attnscope
