#pragma once
#include <QString>

namespace attnscope {

// Creates the QApplication and the main window, opens modelPath ("default" when empty)
// asynchronously, shows initialText (a sample sentence when empty) and runs the event loop.
int runGui(int argc, char** argv, const QString& modelPath, const QString& initialText);

} // namespace attnscope
