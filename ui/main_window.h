#pragma once
#include <atomic>
// The attnscope main window: text (and a pair text for models with token types) at the top,
// layer/head/aggregate/special-token selectors, the head list on the left and the views in tabs
// (heatmap, token links, all heads, side by side, difference); model/token/timing/hover
// information in the status bar. Analysis runs through AnalysisController on a worker thread;
// errors appear in a red, non-modal banner. Every view reads one ViewState.
#include "analysis_controller.h"
#include "heatmap_renderer.h"
#include "view_state.h"

#include <QMainWindow>
#include <QPointer>
#include <QThreadPool>
#include <limits>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QMenu;
class QPlainTextEdit;
class QScrollArea;
class QSettings;
class QMenu;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QTreeView;

namespace attnscope {

struct SessionFile; // core/session_file.h
class CompareView;
struct CurrentFigure;
class DiffView;
class ExplainPanel;
class FigureDialog;
class TokenStripWidget;
class GridView;
class HeadListModel;
class HeadRequests;
class HeatmapWidget;
class ImageView;
class LinksWidget;
class PictureLoader;
class PredictionsPanel;
class SelectionStrip;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void openModel(const QString& path); // asynchronous
    void setText(const QString& text);   // replaces the input text; analysed after the debounce
    QString text() const;

    static QString sampleText() {
        return QStringLiteral("The cat sat on the mat because it was tired.");
    }

    enum class View { Heatmap, Links, Grid, Compare, Difference, Image };

    AnalysisController* controller() const { return m_controller; }
    HeatmapWidget* heatmap() const { return m_heatmap; }
    LinksWidget* links() const { return m_links; }
    GridView* grid() const { return m_grid; }
    CompareView* compare() const { return m_compare; }
    DiffView* difference() const { return m_diff; }
    ImageView* imageView() const { return m_imageView; }
    // Image models: decodes the picture off the GUI thread, shows it and analyses it.
    void openImage(const QString& path);
    void setImage(const QImage& image, const QString& name); // e.g. pasted
    bool isImageMode() const;
    HeadListModel* headList() const { return m_heads; }
    PredictionsPanel* predictions() const { return m_predictions; }
    SelectionStrip* selectionStrip() const { return m_selection; }
    // Query tokens selected together (token indices, sorted); see selection/selection_strip.h.
    const std::vector<int>& selectedTokens() const { return m_selectedTokens; }
    void selectToken(int token, Qt::KeyboardModifiers modifiers);
    void clearTokenSelection();
    ExplainPanel* explainPanel() const { return m_explain; }
    void setView(View view);
    View currentView() const;
    void setAggregate(Aggregate aggregate);
    void setSpecialTokenMode(SpecialTokenMode mode);
    void setDarkTheme(bool dark);
    void setPairText(const QString& text); // BERT-family second sentence; empty = none
    const ViewState& viewState() const { return m_state; }
    // Window geometry, splitter, chosen view and view options.
    void saveSettings(QSettings& settings) const;
    void restoreSettings(QSettings& settings);
    std::shared_ptr<const Analysis> analysis() const { return m_analysis; }
    // The running pass's snapshot the heatmap and grid show (layers as they are computed), or
    // null once the final analysis arrived.
    std::shared_ptr<const Analysis> partialAnalysis() const { return m_partial; }
    // "Opening NAME: n of m MB" while a model is being opened (the Cancel button beside it
    // stops it); empty otherwise.
    QString modelLoadText() const;
    // When on, each newly opened model starts on the head with the clearest pattern in its
    // first analysis (mostPatternedHead), instead of layer 0, head 0. The app turns it on.
    void setOpensOnPatternedHead(bool on) { m_opensOnPatternedHead = on; }
    int currentLayer() const;
    int currentHead() const;
    void setLayerHead(int layer, int head);
    QString errorText() const;
    // The amber warnings shown (a cut text, a model's caveats), one per line; empty if none.
    QString warningText() const;
    // The smallest size at which every control shows its whole text (they wrap onto more rows)
    // and the views keep a usable area.
    static constexpr QSize kMinimumWindowSize{640, 520};

    // Sessions (main_window_session.cpp). currentSession() is what the window shows, as a
    // session file holds it. openSession() reads the file at once and loads its model and
    // analyses off the GUI thread; the window changes only when all of it succeeded, otherwise
    // the banner says why and everything stays as it was.
    SessionFile currentSession() const;
    void openSession(const QString& path);
    Status saveSession(const QString& path);
    QString sessionPath() const { return m_sessionPath; }
    // Attention computed elsewhere (core/attention_file.h), opened without a model: the views
    // of attention work; what needs the model is disabled and says why.
    void openAttentionFile(const QString& path, const QString& tokensPath = {});
    bool showsAttentionFile() const { return !m_attentionFile.isEmpty(); }
    QString attentionFile() const { return m_attentionFile; }
    // File → Recent Sessions / Recent Models (QSettings, newest first, at most kRecentCount).
    static constexpr int kRecentCount = 8;
    QStringList recentSessions() const;
    QStringList recentModels() const;

    // Writes the current heatmap (.png, .svg or .pdf) at the given size.
    Status exportCurrentHeatmap(const QString& path, QSize size) const;
    // Writes the view on screen (.png, .svg or .pdf) through the export renderers; an invalid
    // size picks one that suits the view.
    Status exportCurrentView(const QString& path, QSize size = {}) const;

    // Figures (ui/figure_dialog/main_window_figures.cpp). The view on screen as a figure: its
    // request (view, state, panes, selected query tokens, model name); invalid size = the
    // view's own. Image mode is exported through exportCurrentView only.
    Result<CurrentFigure> currentFigure(QSize size = {}) const;
    // File → Export Figure… (non-modal; created on first use).
    FigureDialog* openFigureDialog();
    FigureDialog* figureDialog() const;
    // Edit → Copy Figure: PNG (and SVG as image/svg+xml) of the view, with the dialog's
    // options when it has been opened.
    Status copyCurrentFigure();
    // File → Export Numbers…: the matrix of the heatmap or difference view (.csv, .npy, .json,
    // .safetensors).
    Status exportCurrentNumbers(const QString& path) const;
    // What Export Numbers… does with the chosen file: written now, or, while lazy heads are
    // computed, on a worker (the status bar says so; the banner shows an error).
    void startNumbersExport(const QString& path);
    // File → Export view once the file is chosen: exportCurrentView now, or on a worker while
    // lazy heads are computed (as startNumbersExport).
    void startViewExport(const QString& path, QSize size = {});
signals:
    void sessionOpened(const QString& path);
    void sessionFailed(const QString& message); // nothing was changed
    void attentionFileOpened(const QString& path);
    // The heatmap shows a head computed off the GUI thread; fromPartial: taken from a running
    // pass's snapshot (benchmarks and tests wait for it).
    void heatmapShown(bool fromPartial);

private slots:
    void chooseModelFolder();
    void chooseExportFile();
    void onTextEdited();
    void onAnalysisReady(std::shared_ptr<const attnscope::Analysis> analysis);
    void onPartialAnalysis(std::shared_ptr<const attnscope::Analysis> partial);
    void onModelChanged(std::shared_ptr<const attnscope::LoadedModel> model);
    void onModelLoading(const QString& path);
    void onError(const QString& message);
    void onBusyChanged(bool busy);
    void onHover(int row, int column);
    void refreshHeatmap();
    void refreshOptions();

protected:
    void resizeEvent(QResizeEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void refreshViews();         // rebuilds the state, then the current view
    void refreshView(View view); // one view from m_state
    void showHeatmapMatrix(const ViewMatrix& matrix);
    // Analyses with lazy heads: the heatmap's matrix is built on m_heatmapPool (a head not in
    // the cache is computed there, "Computing …" shown meanwhile); stale requests are dropped.
    void refreshHeatmapInBackground();
    // The heatmap shows the selected head of this analysis's pass already, taken from one of its
    // snapshots (or its result) with the same view state: every snapshot and the result hold
    // that head's same bits (partial_analysis.h), so a new snapshot costs no copy, colouring or
    // token strip. Only for a single head (an aggregate grows with the layers).
    bool heatmapShowsPassHead(const Analysis& shown) const;
    void rememberPassHead(const Analysis& shown);
    struct PassHead {
        quint64 passId = 0;
        ViewState state;
        std::vector<int> selectedTokens;
        const float* values = nullptr; // the widget's matrix then (cleared or replaced: differs)
    };
    std::optional<PassHead> m_heatmapPassHead;
    // Token links, their heads read through m_linkRequests (links/main_window_links.cpp).
    void refreshLinks();
    // The spin box's threshold: redrawn from the kept links, or below the floor they were kept
    // at (m_linksFloor, of the latest request) rebuilt from the heads.
    void setLinkThreshold(double threshold);
    HeadRequests* m_linkRequests = nullptr;
    double m_linksFloor = -std::numeric_limits<double>::infinity();
    HeadRequests* m_selectionRequests = nullptr;  // the selection strip's matrix
    HeadRequests* m_copyRequests = nullptr;       // Copy Figure (figure_dialog/main_window_figures)
    HeadRequests* m_numbersRequests = nullptr;    // Export Numbers
    HeadRequests* m_viewExportRequests = nullptr; // File → Export view
    // The figure requests above, made on first use (figure_dialog/main_window_figures.cpp).
    HeadRequests* figureRequests(HeadRequests*& requests, const char* name);
    // "Exported NAME" in the status bar, or the error in the banner.
    void reportExport(const QString& path, const Status& status);
    // Runs `write` for `figure`'s lazy heads on `requests`' worker, the status bar saying so.
    void exportOnWorker(const QString& path, const CurrentFigure& figure, HeadRequests* requests,
                        std::function<Status()> write);
    // Heatmap and grid while a pass runs: ready layers from the snapshot, the others say so.
    void showPartial(View view);
    // What the heatmap and grid show: the running pass's snapshot, else the last analysis.
    std::shared_ptr<const Analysis> heatmapAnalysis() const {
        return m_partial ? m_partial : m_analysis;
    }
    void syncState(); // m_state from the controls
    void moveLayer(int delta);
    void moveHead(int delta);
    void onTokensHovered(int queryToken, int keyToken); // analysis token indices
    void applyTheme();
    // Fits the strip's scroll area to its lines at `width` (-1: the heatmap's column width, for
    // a strip not laid out yet), up to three lines.
    void adjustTokenStripHeight(int width = -1);
    void showError(const QString& message);
    void hideError();
    void showModelCaveats(const LoadedModel& model);
    void updateTokenStrip(int queryToken, int keyToken);
    void highlightTokenText(int queryToken, int keyToken);
    void updateSelectorRanges(int layers, int heads);
    void addFigureActions(QMenu* file); // Export Figure…, Export Numbers…, Edit → Copy Figure
    void chooseNumbersFile();
    void chooseImageFile();
    void pasteImage();
    void onPictureLoaded(const QImage& rgb888, const QString& name);
    void setImageMode(bool image);

    AnalysisController* m_controller = nullptr;
    std::shared_ptr<const Analysis> m_analysis;
    // The running pass's snapshot (AnalysisController::partialAnalysisReady), or null.
    std::shared_ptr<const Analysis> m_partial;
    bool m_opensOnPatternedHead = false; // see setOpensOnPatternedHead
    bool m_selectPatternedHead = false;  // set by a model change, used by the next analysis
    // UTF-16 position of each code-point boundary of the analysed text, when the text field
    // still holds exactly that text (token offsets count code points); empty otherwise.
    std::vector<int> m_codePointPositions;
    QPlainTextEdit* m_text = nullptr;
    QSpinBox* m_layer = nullptr;
    QSpinBox* m_head = nullptr;
    QComboBox* m_colorMap = nullptr;
    QCheckBox* m_autoRange = nullptr;
    QLabel* m_busy = nullptr;
    QLabel* m_errorBanner = nullptr;
    QLabel* m_truncated = nullptr;
    QLabel* m_modelWarning = nullptr; // caveats of the opened model (warningText())
    TokenStripWidget* m_tokenStrip = nullptr;
    int m_tokenStripFittedWidth = -1; // the heatmap width the strip's height was fitted to
    QScrollArea* m_tokenScroll = nullptr;
    HeatmapWidget* m_heatmap = nullptr;
    QLabel* m_modelLabel = nullptr;
    // Opening a model (main_window_loading.cpp): progress and Cancel in the status bar.
    void setUpModelLoading();
    QWidget* m_loadBox = nullptr;
    QLabel* m_loadLabel = nullptr;
    QString m_modelPathBeforeLoad, m_modelLabelBeforeLoad; // restored when a load is cancelled
    QLabel* m_tokensLabel = nullptr;
    QLabel* m_timeLabel = nullptr;
    QLabel* m_hoverLabel = nullptr;
    QString m_modelPath;

    ViewState m_state;
    std::vector<int> m_heatmapTokens; // heatmap visible index -> token index
    std::vector<bool> m_viewDirty;    // per View: refresh when it is next shown
    QLineEdit* m_pair = nullptr;
    QWidget* m_pairRow = nullptr;
    QComboBox* m_aggregate = nullptr;
    QComboBox* m_special = nullptr;
    QSplitter* m_splitter = nullptr;
    QTreeView* m_headTree = nullptr;
    HeadListModel* m_heads = nullptr;
    QTabWidget* m_tabs = nullptr;
    LinksWidget* m_links = nullptr;
    QScrollArea* m_linksScroll = nullptr;
    QDoubleSpinBox* m_threshold = nullptr;
    GridView* m_grid = nullptr;
    CompareView* m_compare = nullptr;
    DiffView* m_diff = nullptr;
    AnalysisController* m_againstController = nullptr; // the difference view's other text
    ExplainPanel* m_explain = nullptr;                 // the Explain dock (ui/explain)
    QAction* m_darkAction = nullptr;
    std::shared_ptr<const Analysis> m_statisticsFor; // the analysis the head list's columns show
    QThreadPool m_statisticsPool;                    // computes those columns off the GUI thread
    // The latest statistics job; older ones stop between heads.
    std::shared_ptr<std::atomic<quint64>> m_statisticsJob =
        std::make_shared<std::atomic<quint64>>(0);
    QThreadPool m_heatmapPool; // lazy heads of the heatmap
    std::shared_ptr<std::atomic<quint64>> m_heatmapRequest =
        std::make_shared<std::atomic<quint64>>(0); // the newest heatmap request
    ImageView* m_imageView = nullptr;
    PictureLoader* m_pictureLoader = nullptr;
    quint64 m_modeForModel = 0; // LoadedModel::instanceId() that image / text mode was set for
    QAction* m_openImageAction = nullptr;
    QAction* m_pasteImageAction = nullptr;
    PredictionsPanel* m_predictions = nullptr; // next-token bars and Generate, under the text
    void connectPredictions();                 // its signals (main_window_predictions.cpp)
    void showGeneratedStep(std::shared_ptr<const Analysis> analysis, double computeMs);
    SelectionStrip* m_selection = nullptr; // combined attention of several selected queries
    std::vector<int> m_selectedTokens;
    QPointer<FigureDialog> m_figureDialog;
    int m_selectionAnchor = -1; // the last clicked token, where shift-click extends from
    void connectSelection();    // main_window_selection.cpp
    void refreshSelection();
    std::vector<bool> selectedHeatmapRows() const; // per visible heatmap row

    // Sessions and attention files (main_window_session.cpp).
    void installSessionMenu(QMenu* file, QAction* before);
    void chooseSessionToOpen();
    void chooseSessionToSave(bool askForName);
    void chooseAttentionFile();
    struct LoadedSession;
    void applySession(const LoadedSession& loaded);
    void enterAttentionFileMode(const QString& path, const QString& tokensPath,
                                std::shared_ptr<const Analysis> analysis);
    void leaveAttentionFileMode();
    void rememberRecent(const QString& key, const QString& entry);
    void fillRecentMenu(QMenu* menu, const QString& key, bool sessions);
    QString m_sessionPath;   // the session file last opened or saved
    QString m_attentionFile; // non-empty: the window shows this file, without a model
    QString m_tokensFile;    // its side tokens.json, if any
    QString m_picturePath;   // image mode: the file of the picture shown (empty when pasted)
    QLabel* m_sourceNotice = nullptr; // what an attention file cannot do, and why
    quint64 m_sessionLoadId = 0;      // the latest open; older results are dropped
    QThreadPool m_sessionPool;        // opens sessions' models and attention files
};

} // namespace attnscope
