// GUI monkey test (issue 15): thousands of random actions in a row on the real window,
// offscreen, seeded so a failure reproduces: typing, deleting, pasting long text, switching
// models (the default, a fixture, a broken folder), toggling heads, switching views, layers,
// heads, aggregates and special-token modes, selecting tokens, exporting. Then: no crash, no
// stuck "computing", bounded memory, and the window's last analysis equal to a direct
// LoadedModel::analyze of the final text.
//
//   ATTNSCOPE_MONKEY_ACTIONS=N (default 1500)   ATTNSCOPE_MONKEY_SEED=S (default 15)
#include "analysis_controller.h"
#include "heads/head_list_model.h"
#include "heatmap_widget.h"
#include "main_window.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace attnscope;

namespace {

constexpr int kIdleTimeoutMs = 60000;

QString fixture(const char* family) {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/%1/model").arg(QLatin1String(family));
}

qint64 residentKb() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

int envInt(const char* name, int fallback) {
    bool ok = false;
    const int value = qEnvironmentVariableIntValue(name, &ok);
    return ok && value > 0 ? value : fallback;
}

// Words that exercise the tokenizers: ASCII, accents, right-to-left scripts, CJK, emoji,
// control characters and markup.
const QStringList kWords = {
    QStringLiteral("the"),
    QStringLiteral("cat"),
    QStringLiteral("sat"),
    QStringLiteral("on"),
    QStringLiteral("mat"),
    QStringLiteral("because"),
    QStringLiteral("tired"),
    QStringLiteral("naïve"),
    QStringLiteral("שלום"),
    QStringLiteral("مرحبا"),
    QStringLiteral("東京"),
    QStringLiteral("😀"),
    QStringLiteral("👩‍👩‍👧"),
    QStringLiteral("\t"),
    QStringLiteral("<b>x</b>"),
    QStringLiteral("[MASK]"),
    QStringLiteral("<mask>"),
    QStringLiteral("..."),
    QStringLiteral("\n"),
    QStringLiteral("1234567"),
    QStringLiteral("e\u0301"),
};

class Monkey {
public:
    Monkey(MainWindow& window, quint32 seed, const QString& scratch, const QStringList& models)
        : m_window(window), m_random(seed), m_scratch(scratch), m_models(models) {}

    // One random action; returns its name (for a failure's context).
    QString act() {
        auto* text = m_window.findChild<QPlainTextEdit*>(QStringLiteral("textInput"));
        const int roll = int(m_random.bounded(1000));
        if (roll < 300) { // type a word at a random place
            QTextCursor cursor = text->textCursor();
            cursor.setPosition(int(m_random.bounded(int(text->toPlainText().size()) + 1)));
            text->setTextCursor(cursor);
            // A key event carrying the word, as an input method delivers non-ASCII text
            // (QTest::keyClicks knows ASCII only).
            QKeyEvent press(QEvent::KeyPress, Qt::Key_unknown, Qt::NoModifier,
                            word() + QLatin1Char(' '));
            QApplication::sendEvent(text, &press);
            return QStringLiteral("type");
        }
        if (roll < 420) { // delete a few characters
            const int n = 1 + int(m_random.bounded(6));
            for (int i = 0; i < n; ++i)
                QTest::keyClick(text, m_random.bounded(2) ? Qt::Key_Backspace : Qt::Key_Delete);
            return QStringLiteral("delete");
        }
        if (roll < 450) { // select all and delete: the empty text
            QTest::keyClick(text, Qt::Key_A, Qt::ControlModifier);
            QTest::keyClick(text, Qt::Key_Backspace);
            return QStringLiteral("clear");
        }
        if (roll < 480) { // paste a long text (up to a few thousand characters)
            QString paste;
            const int words = 20 + int(m_random.bounded(600));
            for (int i = 0; i < words; ++i)
                paste += word() + QLatin1Char(' ');
            QApplication::clipboard()->setText(paste);
            QTest::keyClick(text, Qt::Key_V, Qt::ControlModifier);
            return QStringLiteral("paste");
        }
        if (roll < 490) { // switch models, a broken folder among them
            m_window.openModel(m_models[m_random.bounded(int(m_models.size()))]);
            return QStringLiteral("model");
        }
        if (roll < 580) { // toggle heads
            HeadListModel* heads = m_window.headList();
            const int layers = heads->rowCount();
            if (layers == 0) return QStringLiteral("heads (none)");
            const int layer = int(m_random.bounded(layers));
            const int choice = int(m_random.bounded(10));
            if (choice == 0)
                heads->setAllChecked(m_random.bounded(2));
            else if (choice == 1)
                heads->setLayerChecked(layer, m_random.bounded(2));
            else {
                const int count = heads->rowCount(heads->layerIndex(layer));
                if (count > 0)
                    heads->setHeadChecked(layer, int(m_random.bounded(count)), m_random.bounded(2));
            }
            return QStringLiteral("heads");
        }
        if (roll < 660) { // switch views
            const MainWindow::View views[] = {MainWindow::View::Heatmap, MainWindow::View::Links,
                                              MainWindow::View::Grid, MainWindow::View::Compare,
                                              MainWindow::View::Difference};
            m_window.setView(views[m_random.bounded(5)]);
            return QStringLiteral("view");
        }
        if (roll < 760) { // layer and head
            m_window.setLayerHead(int(m_random.bounded(6)) - 1, int(m_random.bounded(10)) - 1);
            return QStringLiteral("layer/head");
        }
        if (roll < 800) {
            m_window.setAggregate(Aggregate(m_random.bounded(3)));
            return QStringLiteral("aggregate");
        }
        if (roll < 830) {
            m_window.setSpecialTokenMode(SpecialTokenMode(m_random.bounded(3)));
            return QStringLiteral("special tokens");
        }
        if (roll < 900) { // select query tokens (some beyond the text)
            const Qt::KeyboardModifiers modifiers[] = {Qt::NoModifier, Qt::ControlModifier,
                                                       Qt::ShiftModifier};
            if (m_random.bounded(8) == 0)
                m_window.clearTokenSelection();
            else
                m_window.selectToken(int(m_random.bounded(40)) - 2, modifiers[m_random.bounded(3)]);
            return QStringLiteral("select");
        }
        if (roll < 905) {
            m_window.setDarkTheme(m_random.bounded(2));
            return QStringLiteral("theme");
        }
        if (roll < 912) { // export the view on screen
            const char* suffixes[] = {"png", "svg", "pdf"};
            const QString path = QStringLiteral("%1/export-%2.%3")
                                     .arg(m_scratch)
                                     .arg(++m_exports)
                                     .arg(QLatin1String(suffixes[m_random.bounded(3)]));
            const Status status = m_window.exportCurrentView(path, QSize(400, 300));
            if (status)
                ++m_exported;
            else if (m_exportProblem.isEmpty())
                m_exportProblem = status.message();
            return QStringLiteral("export");
        }
        // Let time pass: debounced analyses start, results arrive (some are then stale).
        QTest::qWait(int(m_random.bounded(25)));
        return QStringLiteral("wait");
    }

    int exported() const { return m_exported; }
    QString exportProblem() const { return m_exportProblem; } // the first refused export

private:
    QString word() { return kWords[m_random.bounded(int(kWords.size()))]; }

    MainWindow& m_window;
    QRandomGenerator m_random;
    QString m_scratch;
    QStringList m_models;
    int m_exports = 0;
    int m_exported = 0;
    QString m_exportProblem;
};

} // namespace

class TestMonkey : public QObject {
    Q_OBJECT
private slots:
    void survivesRandomActions();
};

void TestMonkey::survivesRandomActions() {
    const int actions = envInt("ATTNSCOPE_MONKEY_ACTIONS", 1500);
    const quint32 seed = quint32(envInt("ATTNSCOPE_MONKEY_SEED", 15));
    QTemporaryDir scratch;
    QVERIFY(scratch.isValid());
    // A broken model folder: config.json that is not JSON beside a real checkpoint's weights.
    const QString broken = scratch.filePath(QStringLiteral("broken-model"));
    QVERIFY(QDir().mkpath(broken));
    {
        QFile config(broken + QStringLiteral("/config.json"));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write("{\"model_type\": \"llama\", \"num_hidden_layers\": ");
    }
    QVERIFY(QFile::copy(fixture("llama") + QStringLiteral("/model.safetensors"),
                        broken + QStringLiteral("/model.safetensors")));
    const QStringList models = {QStringLiteral("default"), fixture("llama"), fixture("bert"),
                                broken, scratch.filePath(QStringLiteral("missing"))};

    MainWindow window;
    QAbstractItemModelTester tester(window.headList(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    window.resize(1000, 760);
    window.openModel(QStringLiteral("default"));
    window.show();
    auto* heatmap = window.findChild<HeatmapWidget*>(QStringLiteral("heatmap"));
    QVERIFY(heatmap);
    QVERIFY(
        QTest::qWaitFor([&] { return heatmap->tokenCount() > 0 && !window.controller()->isBusy(); },
                        kIdleTimeoutMs));
    const qint64 startKb = residentKb();

    // A short debounce: far more analyses start and finish (or go stale) between actions than
    // with a person's pauses, so dropping stale results is exercised too.
    window.controller()->setDebounceInterval(3);
    int analysesShown = 0, errorsShown = 0;
    connect(window.controller(), &AnalysisController::analysisReady, this,
            [&] { ++analysesShown; });
    connect(window.controller(), &AnalysisController::errorOccurred, this, [&] { ++errorsShown; });
    Monkey monkey(window, seed, scratch.path(), models);
    QElapsedTimer timer;
    timer.start();
    QMap<QString, int> counts;
    for (int i = 0; i < actions; ++i) {
        ++counts[monkey.act()];
        QCoreApplication::processEvents();
    }
    const qint64 actingMs = timer.elapsed();

    // Idle: nothing computing, and the analysis shown is of the text in the field (or the
    // field is empty). A broken model's error leaves the previous model in place.
    auto* busy = window.findChild<QLabel*>(QStringLiteral("busyIndicator"));
    QVERIFY(busy);
    const bool idle = QTest::qWaitFor(
        [&] {
            if (window.controller()->isBusy() || !busy->text().isEmpty()) return false;
            if (window.text().trimmed().isEmpty()) return true;
            return window.analysis() && window.analysis()->text == window.text() &&
                   window.analysis()->producedBy == window.controller()->model()->instanceId();
        },
        kIdleTimeoutMs);
    QVERIFY2(idle, qPrintable(QStringLiteral("still computing after %1 actions (busy=%2, text "
                                             "%3 characters)")
                                  .arg(actions)
                                  .arg(busy->text())
                                  .arg(window.text().size())));
    const qint64 endKb = residentKb();
    QStringList summary;
    for (auto it = counts.begin(); it != counts.end(); ++it)
        summary << QStringLiteral("%1 %2").arg(it.key()).arg(it.value());
    qInfo("%d actions (seed %u) in %lld ms: %s; %d analyses and %d errors shown, %d exports "
          "written",
          actions, seed, actingMs, qPrintable(summary.join(QStringLiteral(", "))), analysesShown,
          errorsShown, monkey.exported());
    if (!monkey.exportProblem().isEmpty())
        qInfo("first refused export: %s", qPrintable(monkey.exportProblem()));
    qInfo("resident memory: %lld MB at the start, %lld MB at the end", startKb / 1024,
          endKb / 1024);
    QVERIFY(startKb > 0 && endKb > 0);
    // Models, analyses and undo history of a few thousand edits: well under 1 GB more.
    QVERIFY2(
        endKb - startKb < 1024 * 1024,
        qPrintable(QStringLiteral("grew from %1 to %2 MB").arg(startKb / 1024).arg(endKb / 1024)));

    // The last result equals a direct analysis of the final text by the window's model.
    if (window.text().trimmed().isEmpty()) window.setText(QStringLiteral("The end."));
    QVERIFY(QTest::qWaitFor(
        [&] {
            return !window.controller()->isBusy() && window.analysis() &&
                   window.analysis()->text == window.text();
        },
        kIdleTimeoutMs));
    const auto model = window.controller()->model();
    QVERIFY(model);
    const auto shown = window.analysis();
    AnalysisRequest request;
    request.text = window.text();
    if (shown->encoding.typeIds.size() == shown->encoding.ids.size() &&
        std::find(shown->encoding.typeIds.begin(), shown->encoding.typeIds.end(), 1) !=
            shown->encoding.typeIds.end())
        QFAIL("the monkey never types a pair, yet the analysis has one");
    const auto direct = model->analyze(request);
    QVERIFY2(direct.ok(), qPrintable(direct.message()));
    QCOMPARE(shown->encoding.ids, direct->encoding.ids);
    QCOMPARE(shown->layerCount(), direct->layerCount());
    QCOMPARE(shown->headCount(), direct->headCount());
    float worst = 0;
    for (int l = 0; l < direct->layerCount(); ++l)
        for (int h = 0; h < direct->headCount(); ++h)
            worst = std::max(
                worst, (*shown->attention(l, h) - *direct->attention(l, h)).cwiseAbs().maxCoeff());
    QVERIFY2(worst <= 1e-5f, qPrintable(QString::number(double(worst))));
}

QTEST_MAIN(TestMonkey)
#include "tst_monkey.moc"
