// attnscope: GUI without a subcommand, headless CLI with one (dump, export, tokenize, info,
// models).
#include "cli.h"
#include "gui.h"

#include <QApplication>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QStringList>
#include <cstdio>

int main(int argc, char** argv) {
    QStringList args;
    for (int i = 1; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);
    if (!args.isEmpty() && attnscope::isCliCommand(args.first())) {
        // The CLI reports its own one-line errors; Qt's and libpng's chatter would break that.
        qInstallMessageHandler([](QtMsgType, const QMessageLogContext&, const QString&) {});
        if (args.first() == QLatin1String("bench") &&
            (args.contains(QStringLiteral("--gui-grid")) ||
             args.contains(QStringLiteral("--gui-long")))) {
            // The GUI benchmark drives the real window, offscreen unless a platform is chosen.
            if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
                qputenv("QT_QPA_PLATFORM", "offscreen");
            QApplication app(argc, argv);
            return attnscope::runCli(args);
        }
        if (args.first() == QLatin1String("export")) { // figures need fonts, never a display
            if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
                qputenv("QT_QPA_PLATFORM", "offscreen");
            QGuiApplication app(argc, argv);
            return attnscope::runCli(args);
        }
        QCoreApplication app(argc, argv);
        return attnscope::runCli(args);
    }
    // GUI: attnscope [--model PATH] [--text TEXT] | --session FILE | --attention FILE [--tokens J]
    QString model = QStringLiteral("default");
    QString text = QStringLiteral("The cat sat on the mat because it was tired.");
    QString session, attention, tokens;
    for (int i = 0; i < args.size(); ++i) {
        const QString& a = args[i];
        if ((a == QLatin1String("--model") || a == QLatin1String("--text")) && i + 1 < args.size())
            (a == QLatin1String("--model") ? model : text) = args[++i];
        else if (a == QLatin1String("--session") && i + 1 < args.size())
            session = args[++i];
        else if (a == QLatin1String("--attention") && i + 1 < args.size())
            attention = args[++i];
        else if (a == QLatin1String("--tokens") && i + 1 < args.size())
            tokens = args[++i];
        else if (a.startsWith(QLatin1String("-platform")) || a == QLatin1String("--platform")) {
            ++i; // handled by QApplication
        } else {
            std::fprintf(stderr, "attnscope: error: unknown argument \"%s\" (try attnscope help)\n",
                         qPrintable(a));
            return 2;
        }
    }
    // Without a display Qt would abort; say what to do instead.
    const bool platformChosen = !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") ||
                                args.contains(QStringLiteral("-platform")) ||
                                args.contains(QStringLiteral("--platform"));
    if (!platformChosen && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        std::fprintf(stderr, "attnscope: error: no display found (DISPLAY and WAYLAND_DISPLAY are "
                             "unset); run it in a desktop session, or use the command line "
                             "(attnscope help)\n");
        return 2;
    }
    if (!session.isEmpty() && !attention.isEmpty()) {
        std::fprintf(stderr, "attnscope: error: give --session or --attention, not both\n");
        return 2;
    }
    if (!tokens.isEmpty() && attention.isEmpty()) {
        std::fprintf(stderr, "attnscope: error: --tokens goes with --attention FILE\n");
        return 2;
    }
    return attnscope::runGui(argc, argv, model, text, session, attention, tokens);
}
