// MainWindow's sessions (.attnscope files, core/session_file.h), recent sessions and models, and
// attention files opened without a model (core/attention_file.h).
#include "attention_file.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "grid/grid_widget.h"
#include "heads/head_list_model.h"
#include "image/image_view.h"
#include "main_window.h"
#include "predictions/predictions_panel.h"
#include "selection/selection_strip.h"
#include "session_view.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>

namespace attnscope {

namespace {

const char* const kRecentSessionsKey = "recent/sessions";
const char* const kRecentModelsKey = "recent/models";

QString needsModelReason() {
    return MainWindow::tr("needs the model: this is attention computed elsewhere");
}

bool isBuiltInModel(const QString& path) {
    return path == QLatin1String("default") || path == QLatin1String("default-vision");
}

// What the window's analyses keep (AnalysisController): Q/K/V for reuse on edits, no scores.
KeepOptions windowKeepOptions() {
    KeepOptions keep;
    keep.scores = false;
    keep.qkv = true;
    keep.hiddenStates = false;
    return keep;
}

} // namespace

struct MainWindow::LoadedSession {
    QString path;           // the session file
    SessionFile session;    // as stored, paths resolved against its folder
    SessionContent content; // model, analyses, picture
};

void MainWindow::installSessionMenu(QMenu* file, QAction* openModelAction) {
    QAction* open = new QAction(tr("&Open Session…"), this);
    open->setObjectName(QStringLiteral("openSessionAction"));
    open->setShortcut(QKeySequence::Open);
    connect(open, &QAction::triggered, this, &MainWindow::chooseSessionToOpen);
    QAction* save = new QAction(tr("&Save Session"), this);
    save->setObjectName(QStringLiteral("saveSessionAction"));
    save->setShortcut(QKeySequence::Save);
    connect(save, &QAction::triggered, this, [this] { chooseSessionToSave(false); });
    QAction* saveAs = new QAction(tr("Save Session &As…"), this);
    saveAs->setObjectName(QStringLiteral("saveSessionAsAction"));
    saveAs->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    connect(saveAs, &QAction::triggered, this, [this] { chooseSessionToSave(true); });
    auto* recentSessions = new QMenu(tr("Recent S&essions"), file);
    recentSessions->setObjectName(QStringLiteral("recentSessionsMenu"));
    connect(recentSessions, &QMenu::aboutToShow, this, [this, recentSessions] {
        fillRecentMenu(recentSessions, QLatin1String(kRecentSessionsKey), true);
    });
    file->insertActions(openModelAction, {open, save, saveAs});
    file->insertMenu(openModelAction, recentSessions);
    file->insertSeparator(openModelAction);

    auto* recentModels = new QMenu(tr("Recent &Models"), file);
    recentModels->setObjectName(QStringLiteral("recentModelsMenu"));
    connect(recentModels, &QMenu::aboutToShow, this, [this, recentModels] {
        fillRecentMenu(recentModels, QLatin1String(kRecentModelsKey), false);
    });
    file->addMenu(recentModels);
    QAction* attention =
        file->addAction(tr("Open A&ttention File…"), this, &MainWindow::chooseAttentionFile);
    attention->setObjectName(QStringLiteral("openAttentionFileAction"));
    attention->setToolTip(tr("Attention computed elsewhere (safetensors, .npy, .npz), opened "
                             "without a model"));
}

QStringList MainWindow::recentSessions() const {
    return QSettings().value(QLatin1String(kRecentSessionsKey)).toStringList();
}

QStringList MainWindow::recentModels() const {
    return QSettings().value(QLatin1String(kRecentModelsKey)).toStringList();
}

void MainWindow::rememberRecent(const QString& key, const QString& entry) {
    QSettings settings;
    QStringList list = settings.value(key).toStringList();
    const QString stored = isBuiltInModel(entry) || entry.startsWith(QLatin1Char(':'))
                               ? entry
                               : QFileInfo(entry).absoluteFilePath();
    list.removeAll(stored);
    list.prepend(stored);
    while (list.size() > kRecentCount)
        list.removeLast();
    settings.setValue(key, list);
}

// Lists the entries that still exist; the others are removed from the list, and the status bar
// says which (a file moved or deleted since).
void MainWindow::fillRecentMenu(QMenu* menu, const QString& key, bool sessions) {
    menu->clear();
    QSettings settings;
    const QStringList list = settings.value(key).toStringList();
    QStringList kept, missing;
    for (const QString& entry : list)
        (isBuiltInModel(entry) || QFileInfo::exists(entry) ? kept : missing) << entry;
    if (!missing.isEmpty()) {
        settings.setValue(key, kept);
        statusBar()->showMessage(tr("Removed from the recent list (no longer there): %1")
                                     .arg(missing.join(QStringLiteral(", "))),
                                 10000);
    }
    for (const QString& entry : kept) {
        const QString label = isBuiltInModel(entry) ? entry : QFileInfo(entry).fileName();
        QAction* a = menu->addAction(label, this, [this, entry, sessions] {
            sessions ? openSession(entry) : openModel(entry);
        });
        a->setToolTip(entry);
        a->setStatusTip(entry);
    }
    if (kept.isEmpty()) menu->addAction(tr("None yet"))->setEnabled(false);
}

void MainWindow::chooseSessionToOpen() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open session"), QFileInfo(m_sessionPath).absolutePath(),
        tr("attnscope sessions (*.attnscope);;All files (*)"));
    if (!path.isEmpty()) openSession(path);
}

void MainWindow::chooseSessionToSave(bool askForName) {
    QString path = m_sessionPath;
    if (askForName || path.isEmpty()) {
        path = QFileDialog::getSaveFileName(this, tr("Save session"),
                                            path.isEmpty() ? tr("view.attnscope") : path,
                                            tr("attnscope sessions (*.attnscope)"));
        if (path.isEmpty()) return;
        if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".attnscope");
    }
    if (const Status status = saveSession(path); !status)
        showError(status.message());
    else
        statusBar()->showMessage(tr("Saved session %1").arg(QFileInfo(path).fileName()), 5000);
}

void MainWindow::chooseAttentionFile() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open attention file"), QString(),
                                     tr("Attention (*.safetensors *.npy *.npz);;All files (*)"));
    if (path.isEmpty()) return;
    // A tokens.json beside it is used when the file holds no token strings of its own.
    const QString tokens = QFileInfo(path).absoluteDir().filePath(QStringLiteral("tokens.json"));
    openAttentionFile(path, QFileInfo::exists(tokens) ? tokens : QString());
}

SessionFile MainWindow::currentSession() const {
    SessionFile s;
    if (showsAttentionFile()) {
        s.attentionFile = m_attentionFile;
        s.tokensFile = m_tokensFile;
    } else {
        s.model = m_modelPath.isEmpty() ? QStringLiteral("default") : m_modelPath;
    }
    s.text = m_text->toPlainText();
    if (!m_pairRow->isHidden()) s.pair = m_pair->text();
    s.against = m_diff->againstText();
    if (isImageMode()) s.image = m_picturePath;
    s.layer = currentLayer();
    s.head = currentHead();
    static const QString shows[] = {QStringLiteral("head"), QStringLiteral("mean"),
                                    QStringLiteral("max")};
    s.show = shows[std::clamp(m_aggregate->currentIndex(), 0, 2)];
    s.allHeadsChecked = false; // the list as it is, also when it is every head
    s.checkedHeads = m_heads->selection().checkedHeads();
    s.queryTokens = m_selectedTokens;
    s.combine =
        m_selection->combine() == RowCombine::Mean ? QStringLiteral("mean") : QStringLiteral("sum");
    s.patch = isImageMode() ? m_imageView->keptPatch() : -1;
    s.view = sessionViewNames().value(int(currentView()), QStringLiteral("heatmap"));
    static const QString specials[] = {QStringLiteral("show"), QStringLiteral("hide"),
                                       QStringLiteral("grey")};
    s.specialTokens = specials[std::clamp(m_special->currentIndex(), 0, 2)];
    s.linkThreshold = m_threshold->value();
    s.theme = m_darkAction->isChecked() ? QStringLiteral("dark") : QStringLiteral("light");
    s.colorMap =
        sessionColorMapNames().value(m_colorMap->currentIndex(), QStringLiteral("viridis"));
    s.stretchColours = m_autoRange->isChecked();
    s.gridTile = m_grid->isFitting() ? 0.0 : m_grid->tilePixels();
    s.gridStatistic =
        sessionGridStatisticNames().value(int(m_grid->tileStatistic()), QStringLiteral("none"));
    for (int i = 0; i < m_compare->paneCount(); ++i) {
        const auto [layer, head] = m_compare->paneHead(i);
        s.comparePanes.push_back(
            {layer, head, m_compare->paneView(i) == CompareView::PaneView::Links});
    }
    s.diffMode = m_diff->mode() == DiffView::Mode::Inputs ? QStringLiteral("texts")
                                                          : QStringLiteral("heads");
    s.diffA = {m_diff->headA().first, m_diff->headA().second, false};
    s.diffB = {m_diff->headB().first, m_diff->headB().second, false};
    const ImageOverlayOptions overlay = m_imageView->overlayOptions();
    s.imageOpacity = overlay.opacity;
    s.imageSmooth = overlay.smooth;
    s.imageTopMass = overlay.topMass;
    s.imageGrid = overlay.showGrid;
    s.imageOverlay = m_imageView->overlay() == ImageView::Overlay::Rollout
                         ? QStringLiteral("rollout")
                         : QStringLiteral("attention");
    return s;
}

Status MainWindow::saveSession(const QString& path) {
    const SessionFile session = currentSession();
    if (isImageMode() && session.image.isEmpty())
        return makeError(tr("This picture was pasted or dropped and has no file a session could "
                            "name: save it and open it with File → Open image… first."));
    if (const Status status = writeSessionFile(path, session); !status) return status;
    m_sessionPath = path;
    rememberRecent(QLatin1String(kRecentSessionsKey), path);
    return okStatus();
}

void MainWindow::openSession(const QString& path) {
    auto read = readSessionFile(path);
    if (!read) {
        const QString message = tr("Could not open the session: %1").arg(read.message());
        showError(message);
        emit sessionFailed(message);
        return;
    }
    const quint64 id = ++m_sessionLoadId;
    statusBar()->showMessage(tr("Opening session %1…").arg(QFileInfo(path).fileName()));
    auto loaded = std::make_shared<LoadedSession>();
    loaded->path = path;
    loaded->session = read->resolvedAgainst(path);
    m_sessionPool.start([this, id, loaded] {
        auto content = std::make_shared<Result<SessionContent>>(
            loadSessionContent(loaded->session, windowKeepOptions()));
        QMetaObject::invokeMethod(
            this,
            [this, id, loaded, content] {
                if (id != m_sessionLoadId) return; // a later open replaced this one
                statusBar()->clearMessage();
                if (!content->ok()) {
                    const QString message =
                        tr("Could not open the session %1: %2")
                            .arg(QFileInfo(loaded->path).fileName(), content->message());
                    showError(message);
                    emit sessionFailed(message);
                    return;
                }
                loaded->content = std::move(content->value());
                applySession(*loaded);
                m_sessionPath = loaded->path;
                rememberRecent(QLatin1String(kRecentSessionsKey), loaded->path);
                emit sessionOpened(loaded->path);
            },
            Qt::QueuedConnection);
    });
}

// Everything loaded and checked: the window takes the session's model (or attention file),
// text and analyses, then its controls, in that order so that each control's range fits.
void MainWindow::applySession(const LoadedSession& loaded) {
    const SessionFile& s = loaded.session;
    const SessionContent& c = loaded.content;
    hideError();
    {
        const QSignalBlocker textBlocker(m_text), pairBlocker(m_pair); // analysed already
        m_text->setPlainText(s.text);
        m_pair->setText(s.pair);
    }
    if (c.model) {
        if (showsAttentionFile()) leaveAttentionFileMode();
        m_modelPath = s.model;
        m_controller->setPair(s.pair.isEmpty() ? std::nullopt : std::optional<QString>(s.pair));
        if (!c.picture.isNull()) {
            m_controller->setPicture(c.picture);
            m_picturePath = s.image;
        }
        m_controller->setModel(c.model); // onModelChanged: labels, ranges, text or image mode
        if (!c.picture.isNull())
            m_imageView->setPicture(c.picture, QFileInfo(s.image).fileName(), c.processor);
        m_selectPatternedHead = false; // the session says which head
        m_controller->adopt(c.analysis, 0);
        m_timeLabel->setText(tr("opened from session"));
    } else {
        enterAttentionFileMode(s.attentionFile, s.tokensFile, c.analysis);
    }

    // Controls, now that the analysis has set their ranges.
    const ViewState state = sessionViewState(s, c.analysis->layerCount(), c.analysis->headCount());
    setLayerHead(s.layer, s.head);
    m_aggregate->setCurrentIndex(int(state.aggregate));
    m_special->setCurrentIndex(int(state.specialTokens));
    m_colorMap->setCurrentIndex(std::max<int>(0, sessionColorMapNames().indexOf(s.colorMap)));
    m_autoRange->setChecked(s.stretchColours);
    m_threshold->setValue(s.linkThreshold);
    m_heads->setSelection(state.checked);
    if (!s.comparePanes.empty()) {
        m_compare->setPaneCount(int(s.comparePanes.size()));
        for (int i = 0; i < int(s.comparePanes.size()); ++i) {
            const SessionPane& pane = s.comparePanes[size_t(i)];
            m_compare->setPaneHead(i, pane.layer, pane.head);
            m_compare->setPaneView(i, pane.links ? CompareView::PaneView::Links
                                                 : CompareView::PaneView::Heatmap);
        }
    }
    m_diff->setHeads(s.diffA.layer, s.diffA.head, s.diffB.layer, s.diffB.head);
    m_diff->setAgainstText(s.against);
    if (c.against) m_diff->setAgainstAnalysis(c.against);
    m_diff->setMode(s.diffMode == QLatin1String("texts") ? DiffView::Mode::Inputs
                                                         : DiffView::Mode::Heads);
    if (s.gridTile > 0)
        m_grid->setZoom(s.gridTile);
    else
        m_grid->fitToWidth();
    if (auto* statistic = findChild<QComboBox*>(QStringLiteral("gridStatistic")))
        statistic->setCurrentIndex(
            std::max<int>(0, sessionGridStatisticNames().indexOf(s.gridStatistic)));
    ImageOverlayOptions overlay;
    overlay.opacity = s.imageOpacity;
    overlay.smooth = s.imageSmooth;
    overlay.topMass = s.imageTopMass;
    overlay.showGrid = s.imageGrid;
    m_imageView->setOverlayOptions(overlay);
    m_imageView->setOverlay(s.imageOverlay == QLatin1String("rollout")
                                ? ImageView::Overlay::Rollout
                                : ImageView::Overlay::Attention);
    if (isImageMode()) m_imageView->setKeptPatch(s.patch);
    m_selection->setCombine(s.combine == QLatin1String("mean") ? RowCombine::Mean
                                                               : RowCombine::Sum);
    m_selectedTokens = s.queryTokens;
    m_selectionAnchor = s.queryTokens.empty() ? -1 : s.queryTokens.back();
    setDarkTheme(state.dark);
    setView(View(std::max<int>(0, sessionViewNames().indexOf(s.view))));
    refreshViews();
    setWindowTitle(tr("attnscope — %1").arg(QFileInfo(loaded.path).fileName()));
}

void MainWindow::openAttentionFile(const QString& path, const QString& tokensPath) {
    const quint64 id = ++m_sessionLoadId;
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    m_sessionPool.start([this, id, path, tokensPath] {
        auto file =
            std::make_shared<Result<Analysis>>(attnscope::openAttentionFile(path, tokensPath));
        QMetaObject::invokeMethod(
            this,
            [this, id, path, tokensPath, file] {
                if (id != m_sessionLoadId) return;
                statusBar()->clearMessage();
                if (!file->ok()) {
                    showError(tr("Could not open the attention file: %1").arg(file->message()));
                    return;
                }
                hideError();
                enterAttentionFileMode(path, tokensPath,
                                       std::make_shared<const Analysis>(std::move(file->value())));
                m_selectedTokens.clear();
                refreshViews();
                emit attentionFileOpened(path);
            },
            Qt::QueuedConnection);
    });
}

// The window without a model: the file's attention is the analysis; editing, predictions,
// Generate, Explain, norms and a difference of two texts are off, and say why.
void MainWindow::enterAttentionFileMode(const QString& path, const QString& tokensPath,
                                        std::shared_ptr<const Analysis> analysis) {
    m_attentionFile = path;
    m_tokensFile = tokensPath;
    m_modelPath.clear();
    m_sessionPath.clear();
    m_predictions->stopGeneration();
    m_controller->setModel(nullptr); // nothing analyses text now; docks drop the old model
    m_againstController->setModel(nullptr);
    m_modeForModel = 0; // the next model is a new one, whatever it is
    if (m_tabs->isTabVisible(int(View::Image))) setImageMode(false);
    {
        const QSignalBlocker textBlocker(m_text), pairBlocker(m_pair);
        m_text->setPlainText(analysis->text);
        m_pair->clear();
    }
    m_text->setReadOnly(true);
    m_text->setToolTip(tr("Editing the text %1.").arg(needsModelReason()));
    m_pairRow->hide();
    m_predictions->setVisible(true);
    m_predictions->setUnavailable(tr("Predictions and Generate %1.").arg(needsModelReason()));
    if (m_diff->mode() == DiffView::Mode::Inputs) m_diff->setMode(DiffView::Mode::Heads);
    m_diff->setInputsUnavailable(tr("A difference of two texts %1.").arg(needsModelReason()));
    const QString name = QFileInfo(path).fileName();
    m_sourceNotice->setText(
        tr("Attention file %1 (%2 layers × %3 heads, %4 tokens), opened without a model. The "
           "heatmap, token links, all heads, side by side, head differences, statistics and "
           "rollout work on it. Editing the text, predictions, Generate, Explain, norms and a "
           "difference of two texts are off: each %5. Open a model to analyse text again.")
            .arg(name)
            .arg(analysis->layerCount())
            .arg(analysis->headCount())
            .arg(analysis->tokenCount())
            .arg(needsModelReason()));
    m_sourceNotice->show();
    m_modelLabel->setText(tr("attention file %1 · %2 layers × %3 heads")
                              .arg(name)
                              .arg(analysis->layerCount())
                              .arg(analysis->headCount()));
    m_modelLabel->setToolTip(path);
    setWindowTitle(tr("attnscope — %1").arg(name));
    m_selectPatternedHead = m_opensOnPatternedHead; // as for a newly opened model
    m_controller->adopt(std::move(analysis), 0);
    m_timeLabel->setText(tr("read from file"));
}

void MainWindow::leaveAttentionFileMode() {
    m_attentionFile.clear();
    m_tokensFile.clear();
    m_text->setReadOnly(false);
    m_text->setToolTip(QString());
    m_sourceNotice->hide();
    m_diff->setInputsUnavailable(QString());
}

} // namespace attnscope
