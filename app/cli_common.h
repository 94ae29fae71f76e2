#pragma once
// Helpers of cli.cpp that the command files added beside it (cli_predict.cpp) share, so every
// command reports errors and reads inputs the same way.
#include "result.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace attnscope::cli {

// Prints "attnscope: error: MESSAGE" (one line) on stderr; returns the exit code 2.
int fail(const QString& message);
// Indented JSON on stdout.
void printJson(const QJsonObject& object);
// "1,2,3" -> ids; `option` names the flag in messages.
Result<std::vector<int64_t>> parseIdList(const QString& text, const QString& option);
// A UTF-8 text file (invalid bytes become U+FFFD).
Result<QString> readTextFile(const QString& path);

} // namespace attnscope::cli

namespace attnscope {
// `attnscope predict` and `attnscope generate` (cli_predict.cpp); args[0] is the command.
int runPredictCommand(const QStringList& args);
} // namespace attnscope
