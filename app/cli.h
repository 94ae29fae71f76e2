#pragma once
#include <QStringList>

namespace attnscope {
// Runs a CLI subcommand (args[0] is the subcommand). Returns the process exit code:
// 0 on success, 2 on any error (after printing one "attnscope: error: ..." line).
int runCli(const QStringList& args);
bool isCliCommand(const QString& word);
} // namespace attnscope
