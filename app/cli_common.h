#pragma once
// Helpers of cli.cpp that the command files added beside it (cli_predict.cpp) share, so every
// command reports errors and reads inputs the same way.
#include "result.h"

#include <QCommandLineOption>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace attnscope::cli {

// The input and output options every command that runs a model shares (cli.cpp's commands
// and cli_predict.cpp's), so they read the same way everywhere.
struct ModelInputOptions {
    QCommandLineOption model{QStringLiteral("model"),
                             QStringLiteral("Checkpoint folder or `default`."),
                             QStringLiteral("MODEL")};
    QCommandLineOption text{QStringLiteral("text"), QStringLiteral("Input text."),
                            QStringLiteral("S")};
    QCommandLineOption textFile{QStringLiteral("text-file"),
                                QStringLiteral("Read the input text from a UTF-8 file."),
                                QStringLiteral("F")};
    QCommandLineOption pair{QStringLiteral("pair"), QStringLiteral("Second sentence of a pair."),
                            QStringLiteral("S2")};
    QCommandLineOption ids{QStringLiteral("ids"), QStringLiteral("Token ids, comma-separated."),
                           QStringLiteral("IDS")};
    QCommandLineOption typeIds{QStringLiteral("type-ids"),
                               QStringLiteral("Token type ids for --ids."), QStringLiteral("IDS")};
    QCommandLineOption output{{QStringLiteral("o"), QStringLiteral("output")},
                              QStringLiteral("Output file."),
                              QStringLiteral("OUT")};
};

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
