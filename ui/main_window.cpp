#include "main_window.h"

#include "analyses/head_statistics.h"
#include "analysis_views/analysis_docks.h"
#include "compare/compare_view.h"
#include "diff/diff_view.h"
#include "explain/explain_panel.h"
#include "figure_dialog/figure_dialog.h"
#include "figure_export.h"
#include "figures.h"
#include "flow_layout.h"
#include "grid/grid_widget.h"
#include "heads/head_list_model.h"
#include "heatmap_export.h"
#include "heatmap_widget.h"
#include "hfcache.h"
#include "image/image_decode.h"
#include "image/image_figure.h"
#include "image/image_view.h"
#include "image/picture_loader.h"
#include "links/links_widget.h"
#include "predictions/predictions_panel.h"
#include "selection/selection_strip.h"
#include "token_strip/token_strip_widget.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTextCursor>
#include <QTextEdit>
#include <QThreadPool>
#include <QTimer>
#include <QTreeView>
#include <QVBoxLayout>

namespace attnscope {

namespace {

const QColor kGeneratedTokenColour(0xc8, 0xe6, 0xc9); // light green: tokens the model wrote

const QString kErrorIcon = QStringLiteral("✖ ");
const QString kWarningIcon = QStringLiteral("⚠ ");

QLabel* makeBanner(const QString& objectName, const QString& style) {
    auto* label = new QLabel;
    label->setObjectName(objectName);
    label->setWordWrap(true);
    label->setTextFormat(Qt::PlainText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setStyleSheet(style);
    label->setVisible(false);
    return label;
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("attnscope"));
    m_controller = new AnalysisController(this);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(8, 8, 8, 4);
    layout->setSpacing(6);

    m_text = new QPlainTextEdit;
    m_text->setObjectName(QStringLiteral("textInput"));
    m_text->setPlaceholderText(tr("Type or paste text; its attention is computed as you type."));
    m_text->setTabChangesFocus(true);
    {
        const int lines = 3;
        const QFontMetrics fm(m_text->font());
        m_text->setFixedHeight(fm.lineSpacing() * lines +
                               2 * int(m_text->document()->documentMargin()) + 6);
    }
    layout->addWidget(m_text);

    // Second sentence, shown for models with token types (BERT family), like the CLI's --pair.
    m_pairRow = new QWidget;
    auto* pairLayout = new QHBoxLayout(m_pairRow);
    pairLayout->setContentsMargins(0, 0, 0, 0);
    auto* pairLabel = new QLabel(tr("&Pair"));
    m_pair = new QLineEdit;
    m_pair->setObjectName(QStringLiteral("pairInput"));
    m_pair->setPlaceholderText(tr("Optional second sentence (token type 1), e.g. a question's "
                                  "answer"));
    pairLabel->setBuddy(m_pair);
    pairLayout->addWidget(pairLabel);
    pairLayout->addWidget(m_pair, 1);
    m_pairRow->hide();
    layout->addWidget(m_pairRow);

    m_predictions = new PredictionsPanel;
    m_predictions->setObjectName(QStringLiteral("predictions"));
    layout->addWidget(m_predictions);

    // The controls wrap onto more rows in a narrow window rather than being squeezed until
    // their text is cut ("Viric", "Stret").
    auto* controls = new FlowLayout(nullptr, 8, 4);
    auto* layerLabel = new QLabel(tr("&Layer"));
    m_layer = new QSpinBox;
    m_layer->setObjectName(QStringLiteral("layerSelector"));
    m_layer->setRange(0, 0);
    m_layer->setToolTip(tr("Layer (0 = first)"));
    layerLabel->setBuddy(m_layer);
    auto* headLabel = new QLabel(tr("&Head"));
    m_head = new QSpinBox;
    m_head->setObjectName(QStringLiteral("headSelector"));
    m_head->setRange(0, 0);
    m_head->setToolTip(tr("Attention head (0 = first)"));
    headLabel->setBuddy(m_head);
    m_aggregate = new QComboBox;
    m_aggregate->setObjectName(QStringLiteral("aggregateSelector"));
    m_aggregate->addItems(
        {tr("Selected head"), tr("Mean of checked heads"), tr("Max of checked heads")});
    m_aggregate->setToolTip(tr("Show one head, or the mean or maximum over the heads checked in "
                               "the head list (no recomputation)"));
    auto* aggregateLabel = new QLabel(tr("Sho&w"));
    aggregateLabel->setBuddy(m_aggregate);
    m_special = new QComboBox;
    m_special->setObjectName(QStringLiteral("specialTokensSelector"));
    m_special->addItems({tr("Special tokens shown"),
                         tr("Special tokens hidden (rows renormalised)"),
                         tr("Special tokens greyed")});
    m_special->setToolTip(tr("[CLS], [SEP], <s>, </s> and the like often take most of a head's "
                             "attention"));
    auto* colorLabel = new QLabel(tr("&Colours"));
    m_colorMap = new QComboBox;
    m_colorMap->setObjectName(QStringLiteral("colorMapSelector"));
    m_colorMap->addItems(colorMapNames());
    colorLabel->setBuddy(m_colorMap);
    m_autoRange = new QCheckBox(tr("&Stretch colours"));
    m_autoRange->setObjectName(QStringLiteral("autoRange"));
    m_autoRange->setToolTip(tr("Off: colours span 0..1. On: they span the head's own min..max."));
    m_busy = new QLabel;
    m_busy->setObjectName(QStringLiteral("busyIndicator"));
    m_busy->setStyleSheet(QStringLiteral("color: #666;"));
    // Fixed width: the text coming and going must not reflow the controls.
    m_busy->setFixedWidth(QFontMetrics(m_busy->font()).horizontalAdvance(tr("computing…")) + 4);
    controls->addWidget(layerLabel);
    controls->addWidget(m_layer);
    controls->addSpacing(8);
    controls->addWidget(headLabel);
    controls->addWidget(m_head);
    controls->addSpacing(8);
    controls->addWidget(aggregateLabel);
    controls->addWidget(m_aggregate);
    controls->addSpacing(8);
    controls->addWidget(m_special);
    controls->addSpacing(16);
    controls->addWidget(colorLabel);
    controls->addWidget(m_colorMap);
    controls->addSpacing(8);
    controls->addWidget(m_autoRange);
    controls->addSpacing(8);
    controls->addWidget(m_busy);
    layout->addLayout(controls);

    m_tokenStrip = new TokenStripWidget;
    m_tokenStrip->setObjectName(QStringLiteral("tokenStrip"));
    m_tokenStrip->setToolTip(
        tr("Tokens; hovering the heatmap marks the query (orange) and key (blue) token."));
    // The strip scrolls after three lines so that long texts do not squeeze the heatmap.
    m_tokenScroll = new QScrollArea;
    m_tokenScroll->setObjectName(QStringLiteral("tokenStripArea"));
    m_tokenScroll->setWidget(m_tokenStrip);
    m_tokenScroll->setWidgetResizable(true);
    m_tokenScroll->setFrameShape(QFrame::NoFrame);
    m_tokenScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_tokenScroll->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    m_tokenScroll->hide();
    connect(m_tokenStrip, &TokenStripWidget::widthChanged, this,
            [this](int width) { adjustTokenStripHeight(width); });
    layout->addWidget(m_tokenScroll);
    m_selection = new SelectionStrip;
    m_selection->setObjectName(QStringLiteral("selectionStrip"));
    layout->addWidget(m_selection);

    m_errorBanner =
        makeBanner(QStringLiteral("errorBanner"),
                   QStringLiteral("QLabel { background: #c62828; color: white; padding: 6px 10px;"
                                  " border-radius: 3px; font-weight: bold; }"));
    layout->addWidget(m_errorBanner);
    // Warnings (the result is shown, with a caveat) are amber with "⚠"; errors (nothing new
    // could be shown) red with "✖". Neither blocks the window.
    const QString warningStyle =
        QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 4px 10px;"
                       " border: 1px solid #e0c36a; border-radius: 3px; }");
    m_truncated = makeBanner(QStringLiteral("truncatedNotice"), warningStyle);
    layout->addWidget(m_truncated);
    m_sourceNotice =
        makeBanner(QStringLiteral("sourceNotice"),
                   QStringLiteral("QLabel { background: #e3f2fd; color: #0d3c61; padding: 4px 10px;"
                                  " border: 1px solid #90caf9; border-radius: 3px; }"));
    layout->addWidget(m_sourceNotice);
    m_modelWarning = makeBanner(QStringLiteral("warningBanner"), warningStyle);
    layout->addWidget(m_modelWarning);

    m_heatmap = new HeatmapWidget;
    m_heatmap->setObjectName(QStringLiteral("heatmap"));
    m_heatmap->setPlaceholder(tr("Loading…"));

    // Head list: check heads (or whole layers) to aggregate them; selecting a head shows it.
    m_heads = new HeadListModel(this);
    m_headTree = new QTreeView;
    m_headTree->setObjectName(QStringLiteral("headList"));
    m_headTree->setModel(m_heads);
    m_headTree->setUniformRowHeights(true);
    m_headTree->header()->setStretchLastSection(false);
    m_headTree->header()->setSectionResizeMode(HeadListModel::NameColumn, QHeaderView::Stretch);
    const QFontMetrics headMetrics(m_headTree->font());
    int statisticsWidth = 0;
    for (int c = HeadListModel::PreviousColumn; c < HeadListModel::Columns; ++c) {
        m_headTree->header()->setSectionResizeMode(c, QHeaderView::Fixed);
        const int width = headMetrics.horizontalAdvance(QStringLiteral("0.000")) + 8;
        m_headTree->header()->resizeSection(c, width);
        statisticsWidth += width;
    }
    // The names ("Head 12" under its layer, with a check box) never shrink away when docks or
    // the splitter take the room: the list keeps enough width for them and the statistics.
    const int nameWidth = 2 * m_headTree->indentation() + 28 +
                          headMetrics.horizontalAdvance(QStringLiteral("Head 00"));
    m_headTree->setMinimumWidth(nameWidth + statisticsWidth + 24);
    auto* headPanel = new QWidget;
    auto* headLayout = new QVBoxLayout(headPanel);
    headLayout->setContentsMargins(0, 0, 0, 0);
    auto* headButtons = new QHBoxLayout;
    auto* checkAll = new QPushButton(tr("Check all"));
    checkAll->setObjectName(QStringLiteral("checkAllHeads"));
    auto* checkNone = new QPushButton(tr("Clear"));
    checkNone->setObjectName(QStringLiteral("checkNoHeads"));
    headButtons->addWidget(checkAll);
    headButtons->addWidget(checkNone);
    headLayout->addLayout(headButtons);
    headLayout->addWidget(m_headTree, 1);
    connect(checkAll, &QPushButton::clicked, this, [this] { m_heads->setAllChecked(true); });
    connect(checkNone, &QPushButton::clicked, this, [this] { m_heads->setAllChecked(false); });

    // Views, one tab each.
    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("views"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_heatmap, tr("&Heatmap"));
    auto* linksPage = new QWidget;
    auto* linksLayout = new QVBoxLayout(linksPage);
    linksLayout->setContentsMargins(0, 4, 0, 0);
    auto* linksBar = new QHBoxLayout;
    auto* thresholdLabel = new QLabel(tr("Hide links &weaker than"));
    m_threshold = new QDoubleSpinBox;
    m_threshold->setObjectName(QStringLiteral("linkThreshold"));
    m_threshold->setRange(0.0, 0.99);
    m_threshold->setSingleStep(0.01);
    m_threshold->setDecimals(2);
    m_threshold->setValue(m_state.linkThreshold);
    thresholdLabel->setBuddy(m_threshold);
    linksBar->addWidget(thresholdLabel);
    linksBar->addWidget(m_threshold);
    auto* linksNote = new QLabel(
        tr("Queries left, keys right; one colour per checked head of the layer. Hover or click "
           "a token to isolate its links."));
    linksNote->setWordWrap(true);
    linksBar->addSpacing(12);
    linksBar->addWidget(linksNote, 1);
    linksLayout->addLayout(linksBar);
    m_links = new LinksWidget;
    m_links->setObjectName(QStringLiteral("links"));
    m_linksScroll = new QScrollArea;
    m_linksScroll->setObjectName(QStringLiteral("linksScroll"));
    m_linksScroll->setWidget(m_links);
    m_linksScroll->setWidgetResizable(true);
    m_linksScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    linksLayout->addWidget(m_linksScroll, 1);
    m_tabs->addTab(linksPage, tr("Token &links"));
    auto* gridPage = new QWidget;
    auto* gridLayout = new QVBoxLayout(gridPage);
    gridLayout->setContentsMargins(0, 4, 0, 0);
    auto* gridBar = new QHBoxLayout;
    auto* statisticLabel = new QLabel(tr("&Frame tiles by"));
    auto* statistic = new QComboBox;
    statistic->setObjectName(QStringLiteral("gridStatistic"));
    statistic->addItems(tileStatisticNames());
    statistic->setToolTip(
        tr("Frame opacity shows the head statistic (hover a tile for its value)"));
    statisticLabel->setBuddy(statistic);
    gridBar->addWidget(statisticLabel);
    gridBar->addWidget(statistic);
    gridBar->addSpacing(12);
    gridBar->addWidget(new QLabel(tr("Click or arrow keys select a head; Ctrl+wheel zooms.")), 1);
    gridLayout->addLayout(gridBar);
    m_grid = new GridView;
    m_grid->setObjectName(QStringLiteral("grid"));
    gridLayout->addWidget(m_grid, 1);
    connect(statistic, &QComboBox::currentIndexChanged, m_grid,
            [this](int i) { m_grid->setTileStatistic(TileStatistic(i)); });
    m_tabs->addTab(gridPage, tr("&All heads"));
    m_compare = new CompareView;
    m_compare->setObjectName(QStringLiteral("compare"));
    m_tabs->addTab(m_compare, tr("Side &by side"));
    m_diff = new DiffView;
    m_diff->setObjectName(QStringLiteral("difference"));
    m_tabs->addTab(m_diff, tr("&Difference"));
    m_imageView = new ImageView;
    m_imageView->setObjectName(QStringLiteral("imageView"));
    m_tabs->addTab(m_imageView, tr("&Image"));
    m_tabs->setTabVisible(int(View::Image), false); // shown for image models
    m_pictureLoader = new PictureLoader(this);
    m_viewDirty.assign(6, true);
    m_againstController = new AnalysisController(this);

    m_splitter = new QSplitter(Qt::Horizontal);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(headPanel);
    m_splitter->addWidget(m_tabs);
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({330, 770});
    m_splitter->setChildrenCollapsible(true);
    layout->addWidget(m_splitter, 1);
    setCentralWidget(central);

    // Status bar: hover text on the left, model / tokens / time on the right.
    m_hoverLabel = new QLabel;
    m_hoverLabel->setObjectName(QStringLiteral("hoverLabel"));
    m_hoverLabel->setTextFormat(Qt::PlainText);
    m_modelLabel = new QLabel(tr("no model"));
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_tokensLabel = new QLabel;
    m_tokensLabel->setObjectName(QStringLiteral("tokensLabel"));
    m_timeLabel = new QLabel;
    m_timeLabel->setObjectName(QStringLiteral("timeLabel"));
    statusBar()->addWidget(m_hoverLabel, 1);
    for (QLabel* l : {m_modelLabel, m_tokensLabel, m_timeLabel})
        l->setStyleSheet(QStringLiteral("QLabel { border-left: 1px solid #bbb; padding: 0 8px; }"));
    setUpModelLoading(); // "Opening NAME: n of m MB" and Cancel, left of the model label
    statusBar()->addPermanentWidget(m_modelLabel);
    statusBar()->addPermanentWidget(m_tokensLabel);
    statusBar()->addPermanentWidget(m_timeLabel);

    // Menu.
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open =
        file->addAction(tr("&Open model folder…"), this, &MainWindow::chooseModelFolder);
    // Ctrl+O opens a session (File → Open Session…); models have Ctrl+Shift+M.
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M));
    open->setObjectName(QStringLiteral("openModelAction"));
    // Checkpoints already downloaded by Hugging Face tools, listed when the menu opens (a few
    // directory reads, so the list is always current and start-up pays nothing).
    QMenu* cached = file->addMenu(tr("Models on this &computer"));
    cached->setObjectName(QStringLiteral("cachedModelsMenu"));
    connect(cached, &QMenu::aboutToShow, this, [this, cached] {
        cached->clear();
        cached->addAction(tr("Default text model (trained by attnscope)"), this,
                          [this] { openModel(QStringLiteral("default")); });
        cached->addAction(tr("Default vision model (Fashion-MNIST)"), this,
                          [this] { openModel(QStringLiteral("default-vision")); });
        cached->addSeparator();
        const std::vector<CachedModel> models = listCachedModels();
        for (const CachedModel& m : models) {
            const QString label = m.modelType.isEmpty()
                                      ? m.repoId
                                      : QStringLiteral("%1  (%2)").arg(m.repoId, m.modelType);
            QAction* a = cached->addAction(label, this, [this, path = m.path] { openModel(path); });
            a->setToolTip(m.path);
        }
        if (models.empty())
            cached->addAction(tr("None in %1").arg(hfHubCacheDir()))->setEnabled(false);
    });
    m_openImageAction = file->addAction(tr("Open &image…"), this, &MainWindow::chooseImageFile);
    m_openImageAction->setObjectName(QStringLiteral("openImageAction"));
    m_openImageAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_openImageAction->setEnabled(false); // image models only
    // Ctrl+V pastes a picture in image mode (the text field, hidden then, keeps its own paste).
    m_pasteImageAction = file->addAction(tr("&Paste image"), this, &MainWindow::pasteImage);
    m_pasteImageAction->setObjectName(QStringLiteral("pasteImageAction"));
    m_pasteImageAction->setShortcut(QKeySequence::Paste);
    m_pasteImageAction->setEnabled(false);
    installSessionMenu(file, open); // sessions, recent models, attention files
    QAction* exportAction =
        file->addAction(tr("&Export view as PNG/SVG/PDF…"), this, &MainWindow::chooseExportFile);
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAction->setObjectName(QStringLiteral("exportAction"));
    addFigureActions(file);
    file->addSeparator();
    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    const QStringList viewNames{tr("&Heatmap"),      tr("Token &links"), tr("&All heads"),
                                tr("Side &by side"), tr("&Difference"),  tr("&Image")};
    for (int i = 0; i < viewNames.size(); ++i) {
        QAction* a = viewMenu->addAction(viewNames[i], this, [this, i] { setView(View(i)); });
        a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }
    viewMenu->addSeparator();
    QAction* nextLayer = viewMenu->addAction(tr("Next layer"), this, [this] { moveLayer(1); });
    nextLayer->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Down));
    QAction* prevLayer = viewMenu->addAction(tr("Previous layer"), this, [this] { moveLayer(-1); });
    prevLayer->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Up));
    QAction* nextHead = viewMenu->addAction(tr("Next head"), this, [this] { moveHead(1); });
    nextHead->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Right));
    QAction* prevHead = viewMenu->addAction(tr("Previous head"), this, [this] { moveHead(-1); });
    prevHead->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Left));
    QAction* zoomIn =
        viewMenu->addAction(tr("Zoom all heads in"), this, [this] { m_grid->zoomIn(); });
    zoomIn->setShortcut(QKeySequence::ZoomIn);
    QAction* zoomOut =
        viewMenu->addAction(tr("Zoom all heads out"), this, [this] { m_grid->zoomOut(); });
    zoomOut->setShortcut(QKeySequence::ZoomOut);
    viewMenu->addSeparator();
    m_darkAction = viewMenu->addAction(tr("Dar&k theme"));
    m_darkAction->setObjectName(QStringLiteral("darkThemeAction"));
    m_darkAction->setCheckable(true);
    m_darkAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    connect(m_darkAction, &QAction::toggled, this, &MainWindow::setDarkTheme);
    installAnalysisDocks( // head statistics table, rollout and flow (ui/analysis_views)
        this, m_controller, viewMenu, [this](int layer, int head) { setLayerHead(layer, head); },
        [this] {
            return std::pair{currentLayer(), currentHead()};
        });
    m_explain = installExplainDock(this, m_controller, viewMenu); // Q/K/V step by step
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setObjectName(QStringLiteral("quitAction"));

    connect(m_text, &QPlainTextEdit::textChanged, this, &MainWindow::onTextEdited);
    connect(m_pair, &QLineEdit::textChanged, this, &MainWindow::onTextEdited);
    connect(m_layer, &QSpinBox::valueChanged, this, &MainWindow::refreshHeatmap);
    connect(m_head, &QSpinBox::valueChanged, this, &MainWindow::refreshHeatmap);
    connect(m_aggregate, &QComboBox::currentIndexChanged, this, &MainWindow::refreshViews);
    connect(m_special, &QComboBox::currentIndexChanged, this, &MainWindow::refreshViews);
    connect(m_heads, &HeadListModel::checkedHeadsChanged, this, &MainWindow::refreshViews);
    connect(m_headTree, &QTreeView::activated, this, [this](const QModelIndex& index) {
        const int head = index.data(HeadListModel::HeadRole).toInt();
        if (head >= 0) setLayerHead(index.data(HeadListModel::LayerRole).toInt(), head);
    });
    connect(m_headTree, &QTreeView::clicked, this, [this](const QModelIndex& index) {
        const int head = index.data(HeadListModel::HeadRole).toInt();
        if (head >= 0) setLayerHead(index.data(HeadListModel::LayerRole).toInt(), head);
    });
    // Arrow keys in the head list select heads too.
    connect(m_headTree->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& index) {
                const int head = index.data(HeadListModel::HeadRole).toInt();
                if (index.isValid() && head >= 0)
                    setLayerHead(index.data(HeadListModel::LayerRole).toInt(), head);
            });
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &MainWindow::setLinkThreshold);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int i) {
        if (i >= 0 && size_t(i) < m_viewDirty.size() && m_viewDirty[size_t(i)])
            refreshView(View(i));
    });
    connect(m_grid, &GridView::headClicked, this, [this](int layer, int head) {
        if (m_aggregate->currentIndex() != 0) m_aggregate->setCurrentIndex(0);
        setLayerHead(layer, head);
    });
    connect(m_links, &LinksWidget::tokenHovered, this,
            [this](int token) { onTokensHovered(token, -1); });
    connect(m_compare, &CompareView::tokensHovered, this, &MainWindow::onTokensHovered);
    connect(m_diff, &DiffView::againstTextChanged, this, [this](const QString& text) {
        if (text.trimmed().isEmpty()) {
            m_againstController->cancel();
        } else {
            m_againstController->setPair(m_controller->pair()); // the same sentence pair
            m_againstController->requestAnalysis(text);
        }
    });
    connect(
        m_againstController, &AnalysisController::analysisReady, this,
        [this](std::shared_ptr<const Analysis> a) { m_diff->setAgainstAnalysis(std::move(a)); });
    connect(m_againstController, &AnalysisController::errorOccurred, m_diff,
            &DiffView::setAgainstError);
    connect(m_colorMap, &QComboBox::currentIndexChanged, this, &MainWindow::refreshOptions);
    connect(m_autoRange, &QCheckBox::toggled, this, &MainWindow::refreshOptions);
    connect(m_controller, &AnalysisController::analysisReady, this, &MainWindow::onAnalysisReady);
    connect(m_controller, &AnalysisController::partialAnalysisReady, this,
            &MainWindow::onPartialAnalysis);
    connect(m_controller, &AnalysisController::modelChanged, this, &MainWindow::onModelChanged);
    connect(m_controller, &AnalysisController::modelLoadingStarted, this,
            &MainWindow::onModelLoading);
    connect(m_controller, &AnalysisController::errorOccurred, this, &MainWindow::onError);
    connect(m_controller, &AnalysisController::busyChanged, this, &MainWindow::onBusyChanged);
    connect(m_heatmap, &HeatmapWidget::hoverTextChanged, m_hoverLabel, &QLabel::setText);
    connect(m_imageView, &ImageView::hoverTextChanged, m_hoverLabel, &QLabel::setText);
    connect(m_imageView, &ImageView::openImageRequested, this, &MainWindow::chooseImageFile);
    connect(m_imageView, &ImageView::sampleRequested, this, &MainWindow::openImage);
    connect(m_imageView, &ImageView::headClicked, this, [this](int layer, int head) {
        if (m_aggregate->currentIndex() != 0) m_aggregate->setCurrentIndex(0);
        setLayerHead(layer, head);
    });
    connect(m_pictureLoader, &PictureLoader::loaded, this, &MainWindow::onPictureLoaded);
    connect(m_pictureLoader, &PictureLoader::failed, this, &MainWindow::showError);
    setAcceptDrops(true);
    connect(m_heatmap, &HeatmapWidget::cellHovered, this,
            [this](int r, int c, float) { onHover(r, c); });
    connect(m_heatmap, &HeatmapWidget::cellClicked, this, [this](int row, int) {
        if (row >= 0 && size_t(row) < m_heatmapTokens.size())
            m_explain->setToken(m_heatmapTokens[size_t(row)]); // the row's query, explained
    });
    connect(m_explain, &ExplainPanel::hoverTextChanged, m_hoverLabel, &QLabel::setText);

    connectPredictions();
    connectSelection();

    m_heatmapPool.setMaxThreadCount(1); // one head at a time; stale requests are skipped
    // Below this the views would be squeezed to a few pixels; the controls reflow down to it.
    setMinimumSize(kMinimumWindowSize);
    resize(1100, 800);
    setText(sampleText());
    m_text->setFocus();
}

MainWindow::~MainWindow() {
    ++*m_statisticsJob;             // a running job stops at its next head
    m_statisticsPool.waitForDone(); // its jobs post back to this window
    m_sessionPool.waitForDone();
    ++*m_heatmapRequest; // queued heatmap jobs return at once
    m_heatmapPool.waitForDone();
}

void MainWindow::openModel(const QString& path) {
    ++m_sessionLoadId; // the last thing asked for wins: a session still loading is dropped
    m_controller->openModel(path.isEmpty() ? QStringLiteral("default") : path);
}

void MainWindow::setText(const QString& text) {
    if (m_text->toPlainText() == text) {
        onTextEdited();
        return;
    }
    m_text->setPlainText(text);
    m_text->moveCursor(QTextCursor::End);
}

QString MainWindow::text() const {
    return m_text->toPlainText();
}
int MainWindow::currentLayer() const {
    return m_layer->value();
}
int MainWindow::currentHead() const {
    return m_head->value();
}

void MainWindow::setLayerHead(int layer, int head) {
    m_layer->setValue(layer);
    m_head->setValue(head);
}

QString MainWindow::errorText() const {
    return m_errorBanner->isVisible() ? m_errorBanner->text() : QString();
}

void MainWindow::onTextEdited() {
    if (isImageMode()) return; // image models analyse pictures (onPictureLoaded)
    const QString text = m_text->toPlainText();
    m_codePointPositions.clear(); // offsets of the last analysis no longer match the field
    if (text.trimmed().isEmpty()) {
        m_controller->cancel();
        m_analysis.reset();
        m_partial.reset();
        m_heatmap->clear(tr("Type some text above to see how its tokens attend to each other."));
        m_tokenStrip->clear();
        m_tokenScroll->hide();
        m_tokensLabel->clear();
        m_timeLabel->clear();
        m_truncated->hide();
        m_predictions->clear();
        return;
    }
    const QString pair = m_pair->text();
    m_controller->setPair(!m_pairRow->isHidden() && !pair.trimmed().isEmpty()
                              ? std::optional<QString>(pair)
                              : std::nullopt);
    m_controller->requestAnalysis(text);
}

void MainWindow::onModelLoading(const QString& path) {
    m_modelPath = path;
    m_modelLabel->setText(tr("loading %1…").arg(path));
    if (!m_analysis) m_heatmap->setPlaceholder(tr("Loading model %1…").arg(path));
}

void MainWindow::onModelChanged(std::shared_ptr<const LoadedModel> model) {
    if (!model) return;
    m_selectPatternedHead = m_opensOnPatternedHead; // see onAnalysisReady
    if (m_partial && m_partial->producedBy != model->instanceId()) m_partial.reset();
    const ModelConfig& c = model->config();
    const QString name = model->displayName();
    const QString family = familyName(c.family);
    const QString who = name.compare(family, Qt::CaseInsensitive) == 0
                            ? name
                            : name + QStringLiteral(" · ") + family;
    m_modelLabel->setText(tr("%1 · %2 layers × %3 heads").arg(who).arg(c.layers).arg(c.heads));
    m_modelLabel->setToolTip(model->path());
    setWindowTitle(tr("attnscope — %1").arg(model->displayName()));
    updateSelectorRanges(c.layers, c.heads);
    m_heads->setShape(c.layers, c.heads);
    m_againstController->setModel(model);
    const bool pairs = c.modality == Modality::Text && c.typeVocab > 1;
    if (pairs != !m_pairRow->isHidden()) {
        m_pairRow->setVisible(pairs);
        if (!m_pair->text().isEmpty()) onTextEdited();
    }
    m_predictions->setVisible(c.modality == Modality::Text);
    // Once per opened model (showError() calls this again to restore the labels).
    const bool newModel = model->instanceId() != m_modeForModel;
    const bool wasImage = m_tabs->isTabVisible(int(View::Image));
    const bool image = c.modality == Modality::Image;
    m_modeForModel = model->instanceId();
    if (newModel && showsAttentionFile()) leaveAttentionFileMode(); // a model analyses again
    if (newModel && !m_modelPath.isEmpty())
        rememberRecent(QStringLiteral("recent/models"), m_modelPath);
    if (newModel) setImageMode(image);
    if (newModel && image) {
        if (!wasImage) m_analysis.reset(); // text analyses do not apply to pictures
        if (auto processor = imageProcessorFor(*model); !processor) {
            m_imageView->clear(processor.message());
        } else if (m_controller->picture().isNull()) {
            // A newcomer sees something at once: a bundled picture, analysed.
            openImage(QStringLiteral(":/attnscope/samples/fashion/fashion-0-t-shirt-top.png"));
        } else { // the same picture through this model's processor (re-analysed already)
            m_imageView->setPicture(m_controller->picture(), m_imageView->pictureName(),
                                    *processor);
        }
        if (!m_analysis) m_heatmap->setPlaceholder(tr("Analysing the picture…"));
    } else if (newModel && wasImage) {
        m_analysis.reset();
        m_heatmap->setPlaceholder(tr("Analysing…"));
        onTextEdited(); // the text field's text, with this text model
    } else if (!m_analysis && !image) {
        m_heatmap->setPlaceholder(tr("Analysing…"));
    }
    showModelCaveats(*model);
    hideError();
}

void MainWindow::showModelCaveats(const LoadedModel& model) {
    QStringList caveats;
    if (model.config().modality == Modality::Text && !model.tokenizer())
        caveats << tr("%1 has no tokenizer files (tokenizer.json, vocab.json or vocab.txt), so "
                      "typed text cannot be analysed; the command line takes token ids (--ids).")
                       .arg(model.displayName());
    const QStringList pickles =
        QDir(model.path())
            .entryList({QStringLiteral("pytorch_model*.bin"), QStringLiteral("*.pt"),
                        QStringLiteral("*.pth"), QStringLiteral("*.ckpt")},
                       QDir::Files, QDir::Name);
    if (!pickles.isEmpty() && !model.path().startsWith(QLatin1String(":/")))
        caveats << tr("%1 is ignored: pickle weights are never loaded; the safetensors weights "
                      "are used.")
                       .arg(pickles.join(QStringLiteral(", ")));
    m_modelWarning->setText(kWarningIcon + caveats.join(QLatin1Char(' ')));
    m_modelWarning->setVisible(!caveats.isEmpty());
}

QString MainWindow::warningText() const {
    QStringList shown;
    for (const QLabel* banner : {m_modelWarning, m_truncated})
        if (!banner->isHidden()) shown << banner->text();
    return shown.join(QLatin1Char('\n'));
}

void MainWindow::updateSelectorRanges(int layers, int heads) {
    const QSignalBlocker b1(m_layer), b2(m_head);
    m_layer->setRange(0, std::max(0, layers - 1));
    m_head->setRange(0, std::max(0, heads - 1));
    m_layer->setSuffix(tr(" / %1").arg(std::max(0, layers - 1)));
    m_head->setSuffix(tr(" / %1").arg(std::max(0, heads - 1)));
}

void MainWindow::onPartialAnalysis(std::shared_ptr<const Analysis> partial) {
    const bool newPass = !m_partial || m_partial->passId != partial->passId;
    m_partial = std::move(partial);
    hideError(); // an earlier edit's error no longer applies to the text being computed
    m_layer->setToolTip(tr("Layer (0 = first); %1 of %2 computed so far")
                            .arg(m_partial->layersReady())
                            .arg(m_partial->layerCount()));
    if (newPass) { // the new text's tokens, once per pass
        const int t = m_partial->tokenCount();
        m_tokensLabel->setText(t == 1 ? tr("1 token") : tr("%1 tokens").arg(t));
        // The bars are the previous text's: the new text's come from the finished pass.
        m_predictions->clear(
            tr("Predicted once all %1 layers are computed…").arg(m_partial->layerCount()));
        if (currentView() == View::Heatmap || currentView() == View::Grid) updateTokenStrip(-1, -1);
    }
    m_timeLabel->setText(tr("computing: %1 of %2 layers")
                             .arg(m_partial->layersReady())
                             .arg(m_partial->layerCount()));
    syncState();
    if (currentView() == View::Heatmap || currentView() == View::Grid) showPartial(currentView());
}

void MainWindow::showPartial(View view) {
    if (view == View::Grid) {
        m_grid->setContent(m_partial, m_state);
        return;
    }
    if (m_partial->tokenCount() == 0) return;
    if (!m_partial->isLayerReady(m_state.layer)) {
        ++*m_heatmapRequest; // a ready layer's head still being computed is not shown now
        m_heatmapTokens.clear();
        m_heatmap->clear(tr("Layer %1: computing (%2 of %3 layers done)")
                             .arg(m_state.layer)
                             .arg(m_partial->layersReady())
                             .arg(m_partial->layerCount()));
        return;
    }
    refreshHeatmapInBackground();
}

void MainWindow::onAnalysisReady(std::shared_ptr<const Analysis> analysis) {
    m_partial.reset(); // the final analysis replaces the running pass's snapshot
    m_layer->setToolTip(tr("Layer (0 = first)"));
    m_analysis = std::move(analysis);
    m_codePointPositions.clear();
    std::erase_if(m_selectedTokens, [&](int t) { return t >= m_analysis->tokenCount(); });
    const QString text = m_text->toPlainText();
    if (text == m_analysis->text) {
        for (qsizetype i = 0; i < text.size(); ++i) {
            m_codePointPositions.push_back(int(i));
            if (text[i].isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate())
                ++i;
        }
        m_codePointPositions.push_back(int(text.size()));
    }
    hideError();
    if (isImageMode() && m_controller->model())
        m_imageView->setAnalysis(m_analysis, m_controller->model()->config());
    updateSelectorRanges(m_analysis->layerCount(), m_analysis->headCount());
    m_heads->setShape(m_analysis->layerCount(), m_analysis->headCount());
    if (m_selectPatternedHead && m_analysis->hasLazyAttention()) {
        // Finding it reads every head: too long on the GUI thread for lazy heads; keep the head.
        m_selectPatternedHead = false;
    }
    if (m_selectPatternedHead) {
        // First analysis by a newly opened model: show a head with a clear pattern (found by a
        // statistic of this input), not whichever head happens to be first.
        m_selectPatternedHead = false;
        const auto [layer, head] = mostPatternedHead(*m_analysis);
        const QSignalBlocker b1(m_layer), b2(m_head);
        setLayerHead(layer, head);
    }
    const int t = m_analysis->tokenCount();
    m_tokensLabel->setText(t == 1 ? tr("1 token") : tr("%1 tokens").arg(t));
    const double ms = m_controller->lastElapsedMs();
    QString timing = tr("%1 ms").arg(ms, 0, 'f', ms < 10 ? 1 : 0);
    if (m_analysis->reusedTokens > 0) // say when the prefix of an edit came from the last pass
        timing += tr(" (%1 of %2 tokens reused)").arg(m_analysis->reusedTokens).arg(t);
    m_timeLabel->setText(timing);
    if (m_analysis->truncatedTokens > 0) {
        const int dropped = m_analysis->truncatedTokens;
        m_truncated->setText(
            kWarningIcon +
            (dropped == 1
                 ? tr("The text is longer than the model's %1-token window: its last token was "
                      "dropped and is not shown.")
                       .arg(t)
                 : tr("The text is longer than the model's %1-token window: its last %2 tokens "
                      "were "
                      "dropped and are not shown.")
                       .arg(t)
                       .arg(dropped)));
        m_truncated->show();
    } else {
        m_truncated->hide();
    }
    refreshHeatmap();
    highlightTokenText(-1, -1); // marks the generated tokens in the text, if any
    // After the views have painted: the LM head's product over the vocabulary would otherwise
    // compete with this edit's repaint for the cores (measured: +17 ms edit to repaint), so
    // it starts a frame later.
    QTimer::singleShot(20, this, [this, analysis = m_analysis] {
        // A newer pass already showing layers has cleared the bars; its result predicts.
        if (analysis != m_analysis || m_partial) return;
        // Only the model that made the analysis predicts from it (never an attention file's).
        if (showsAttentionFile() || analysis->producedBy == 0)
            m_predictions->setUnavailable(
                tr("Predictions need the model: this is attention computed elsewhere."));
        else
            m_predictions->setAnalysis(m_controller->model(), analysis);
    });
}

void MainWindow::refreshHeatmap() {
    refreshViews();
}

void MainWindow::refreshOptions() {
    refreshViews();
}

void MainWindow::syncState() {
    m_state.layer = m_layer->value();
    m_state.head = m_head->value();
    m_state.aggregate = Aggregate(std::clamp(m_aggregate->currentIndex(), 0, 2));
    m_state.specialTokens = SpecialTokenMode(std::clamp(m_special->currentIndex(), 0, 2));
    m_state.checked = m_heads->selection();
    m_state.colorMap = colorMapFromIndex(m_colorMap->currentIndex());
    m_state.autoRange = m_autoRange->isChecked();
    m_state.linkThreshold = m_threshold->value();
    m_state.dark = m_darkAction->isChecked();
}

// Only the visible view is rebuilt; the others are marked and rebuilt when shown, so that an
// edit costs one view's work.
void MainWindow::refreshViews() {
    syncState();
    m_explain->setView(m_analysis, m_state.layer, m_state.head, m_state.dark);
    if (m_analysis && m_analysis != m_statisticsFor) { // head list columns, once per analysis
        // Off the GUI thread (a log per attention weight: several ms for 144 heads), so the
        // edit's repaint does not wait for the columns; a newer analysis drops the result.
        // A newer analysis or closing the window stops a running job between two heads (with
        // lazy heads of a long input each is a [T, T] computation, minutes for all of them).
        m_statisticsFor = m_analysis;
        const quint64 job = ++*m_statisticsJob;
        m_statisticsPool.start([this, analysis = m_analysis, latest = m_statisticsJob, job] {
            const auto stop = [&latest, job] { return latest->load() != job; };
            auto statistics = std::make_shared<std::vector<HeadStatistics>>(
                headStatistics(*analysis, tokenClasses(*analysis), stop));
            if (stop()) return;
            QMetaObject::invokeMethod(
                this,
                [this, analysis, statistics] {
                    if (analysis == m_statisticsFor)
                        m_heads->setStatistics(std::move(*statistics), analysis->tokenCount());
                },
                Qt::QueuedConnection);
        });
    }
    // The head list opens the selected layer and marks the selected head.
    m_headTree->expand(m_heads->layerIndex(m_state.layer));
    m_headTree->setCurrentIndex(m_heads->headIndex(m_state.layer, m_state.head));
    std::fill(m_viewDirty.begin(), m_viewDirty.end(), true);
    refreshView(currentView());
    // The heatmap view marks its hovered tokens itself; the others show the strip unmarked.
    if (currentView() != View::Heatmap) updateTokenStrip(-1, -1);
    refreshSelection();
    if (m_figureDialog) m_figureDialog->refresh(); // its preview shows the view on screen
}

void MainWindow::refreshView(View view) {
    m_viewDirty[size_t(view)] = false;
    if (m_partial && (view == View::Heatmap || view == View::Grid)) {
        showPartial(view);
        return;
    }
    if (!m_analysis) return;
    if (m_analysis->tokenCount() == 0) {
        m_heatmap->clear(tr("The text has no tokens."));
        m_links->clear(tr("The text has no tokens."), m_state.chrome());
        updateTokenStrip(-1, -1);
        return;
    }
    switch (view) {
    case View::Heatmap:
        if (m_analysis->hasLazyAttention()) {
            refreshHeatmapInBackground();
        } else if (heatmapShowsPassHead(*m_analysis)) { // the pass's snapshot showed it
            ++*m_heatmapRequest;                        // a pending one is older
            m_heatmap->update();
        } else {
            showHeatmapMatrix(viewMatrix(*m_analysis, m_state));
            rememberPassHead(*m_analysis);
        }
        break;
    case View::Links:
        refreshLinks(); // links/main_window_links.cpp
        break;
    case View::Grid:
        m_grid->setContent(m_analysis, m_state);
        break;
    case View::Compare:
        m_compare->setContent(m_analysis, m_state);
        break;
    case View::Difference:
        m_diff->setContent(m_analysis, m_state);
        break;
    case View::Image:
        m_imageView->setState(m_state);
        break;
    }
}

bool MainWindow::heatmapShowsPassHead(const Analysis& shown) const {
    const PassHead* h = m_heatmapPassHead ? &*m_heatmapPassHead : nullptr;
    return h && shown.passId != 0 && h->passId == shown.passId &&
           m_state.aggregate == Aggregate::SingleHead && shown.isLayerReady(m_state.layer) &&
           h->state == m_state && h->selectedTokens == m_selectedTokens && h->values &&
           h->values == m_heatmap->matrix().data();
}

void MainWindow::rememberPassHead(const Analysis& shown) {
    m_heatmapPassHead.reset();
    if (shown.passId != 0 && m_state.aggregate == Aggregate::SingleHead &&
        m_heatmap->matrix().size() > 0)
        m_heatmapPassHead =
            PassHead{shown.passId, m_state, m_selectedTokens, m_heatmap->matrix().data()};
}

void MainWindow::showHeatmapMatrix(const ViewMatrix& matrix) {
    m_heatmapPassHead.reset(); // rememberPassHead() after, where it applies
    m_heatmapTokens = matrix.tokens;
    if (matrix.isEmpty()) {
        m_heatmap->clear(matrix.emptyReason);
        return;
    }
    HeatmapRenderer r;
    configureHeatmap(r, matrix, m_state);
    HeatmapOptions options = r.options();
    options.markedRows = selectedHeatmapRows(); // queries selected together
    m_heatmap->setOptions(options);
    m_heatmap->setData(r.matrix(), r.rowLabels(), r.columnLabels(), r.title());
    const HeatmapCell h = m_heatmap->hoveredCell();
    auto token = [&](int i) {
        return i >= 0 && size_t(i) < m_heatmapTokens.size() ? m_heatmapTokens[size_t(i)] : -1;
    };
    updateTokenStrip(token(h.row), token(h.column));
}

void MainWindow::refreshHeatmapInBackground() {
    const quint64 request = ++*m_heatmapRequest;
    const bool single = m_state.aggregate == Aggregate::SingleHead;
    const std::shared_ptr<const Analysis> shown = heatmapAnalysis();
    if (heatmapShowsPassHead(*shown)) { // a later snapshot or the result of the pass shown
        m_heatmap->update();
        emit heatmapShown(shown->isPartial());
        return;
    }
    if (!single || !shown->isAttentionReady(m_state.layer, m_state.head)) {
        m_heatmapTokens.clear();
        m_heatmap->clear(
            single ? tr("Computing layer %1, head %2 of %3 tokens…")
                         .arg(m_state.layer)
                         .arg(m_state.head)
                         .arg(shown->tokenCount())
                   : tr("Computing the %1 of the checked heads…")
                         .arg(m_state.aggregate == Aggregate::Max ? tr("maximum") : tr("mean")));
    }
    m_heatmapPool.start(
        [this, request, latest = m_heatmapRequest, analysis = shown, state = m_state] {
            if (*latest != request) return; // a newer head was asked for meanwhile
            auto matrix = std::make_shared<const ViewMatrix>(viewMatrix(*analysis, state));
            QMetaObject::invokeMethod(
                this,
                [this, request, latest, analysis, matrix] {
                    if (*latest == request && analysis == heatmapAnalysis()) {
                        showHeatmapMatrix(*matrix);
                        rememberPassHead(*analysis);
                        emit heatmapShown(analysis->isPartial());
                    }
                },
                Qt::QueuedConnection);
        });
}

void MainWindow::setView(View view) {
    m_tabs->setCurrentIndex(int(view));
}

MainWindow::View MainWindow::currentView() const {
    return View(std::clamp(m_tabs->currentIndex(), 0, int(View::Image)));
}

void MainWindow::setAggregate(Aggregate aggregate) {
    m_aggregate->setCurrentIndex(int(aggregate));
}

void MainWindow::setSpecialTokenMode(SpecialTokenMode mode) {
    m_special->setCurrentIndex(int(mode));
}

void MainWindow::setPairText(const QString& text) {
    m_pair->setText(text);
}

void MainWindow::moveLayer(int delta) {
    m_layer->setValue(std::clamp(m_layer->value() + delta, 0, m_layer->maximum()));
}

void MainWindow::moveHead(int delta) {
    m_head->setValue(std::clamp(m_head->value() + delta, 0, m_head->maximum()));
}

void MainWindow::setDarkTheme(bool dark) {
    if (m_darkAction->isChecked() != dark) {
        m_darkAction->setChecked(dark); // comes back here through toggled()
        return;
    }
    applyTheme();
    refreshViews();
}

void MainWindow::applyTheme() {
    // Fusion draws every control from the palette, so one palette switches the whole window.
    QPalette palette;
    if (m_darkAction->isChecked()) {
        const ChromePalette c = ChromePalette::forTheme(true);
        palette.setColor(QPalette::Window, QColor(0x2b, 0x2c, 0x30));
        palette.setColor(QPalette::WindowText, c.text);
        palette.setColor(QPalette::Base, c.background);
        palette.setColor(QPalette::AlternateBase, QColor(0x2b, 0x2c, 0x30));
        palette.setColor(QPalette::Text, c.text);
        palette.setColor(QPalette::Button, QColor(0x3a, 0x3b, 0x40));
        palette.setColor(QPalette::ButtonText, c.text);
        palette.setColor(QPalette::ToolTipBase, QColor(0x3a, 0x3b, 0x40));
        palette.setColor(QPalette::ToolTipText, c.text);
        palette.setColor(QPalette::PlaceholderText, c.muted);
        palette.setColor(QPalette::Highlight, QColor(0x35, 0x84, 0xe4));
        palette.setColor(QPalette::HighlightedText, Qt::white);
        palette.setColor(QPalette::Mid, c.muted);
        palette.setColor(QPalette::Disabled, QPalette::Text, c.muted);
        palette.setColor(QPalette::Disabled, QPalette::WindowText, c.muted);
        palette.setColor(QPalette::Disabled, QPalette::ButtonText, c.muted);
        // setStyle does not take ownership: one Fusion style, owned by the window (the
        // sanitiser build found one leaked per switch to dark).
        auto* fusion =
            findChild<QStyle*>(QStringLiteral("darkThemeStyle"), Qt::FindDirectChildrenOnly);
        if (!fusion && (fusion = QStyleFactory::create(QStringLiteral("Fusion")))) {
            fusion->setObjectName(QStringLiteral("darkThemeStyle"));
            fusion->setParent(this);
        }
        if (fusion) setStyle(fusion);
        setPalette(palette);
    } else {
        setPalette(style()->standardPalette());
    }
}

void MainWindow::saveSettings(QSettings& settings) const {
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("view/current"), m_tabs->currentIndex());
    settings.setValue(QStringLiteral("view/aggregate"), m_aggregate->currentIndex());
    settings.setValue(QStringLiteral("view/specialTokens"), m_special->currentIndex());
    settings.setValue(QStringLiteral("view/colorMap"), m_colorMap->currentIndex());
    settings.setValue(QStringLiteral("view/stretch"), m_autoRange->isChecked());
    settings.setValue(QStringLiteral("view/linkThreshold"), m_threshold->value());
    settings.setValue(QStringLiteral("view/dark"), m_darkAction->isChecked());
    settings.setValue(QStringLiteral("view/comparePanes"), m_compare->paneCount());
    for (int i = 0; i < m_compare->paneCount(); ++i) {
        const auto [layer, head] = m_compare->paneHead(i);
        settings.setValue(QStringLiteral("compare/pane%1").arg(i),
                          QStringLiteral("%1:%2:%3")
                              .arg(layer)
                              .arg(head)
                              .arg(m_compare->paneView(i) == CompareView::PaneView::Links
                                       ? QStringLiteral("links")
                                       : QStringLiteral("heatmap")));
    }
    settings.setValue(QStringLiteral("grid/fit"), m_grid->isFitting());
    settings.setValue(QStringLiteral("grid/tile"), m_grid->tilePixels());
    settings.setValue(QStringLiteral("grid/statistic"), int(m_grid->tileStatistic()));
}

void MainWindow::restoreSettings(QSettings& settings) {
    if (settings.contains(QStringLiteral("window/geometry")))
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (settings.contains(QStringLiteral("window/splitter")))
        m_splitter->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray());
    auto index = [&](const QString& key, int count, int fallback) {
        const int v = settings.value(key, fallback).toInt();
        return v >= 0 && v < count ? v : fallback;
    };
    m_aggregate->setCurrentIndex(index(QStringLiteral("view/aggregate"), 3, 0));
    m_special->setCurrentIndex(index(QStringLiteral("view/specialTokens"), 3, 0));
    m_colorMap->setCurrentIndex(index(QStringLiteral("view/colorMap"), m_colorMap->count(), 0));
    m_autoRange->setChecked(settings.value(QStringLiteral("view/stretch"), false).toBool());
    m_threshold->setValue(settings.value(QStringLiteral("view/linkThreshold"), 0.05).toDouble());
    m_compare->setPaneCount(std::max(2, index(QStringLiteral("view/comparePanes"), 5, 2)));
    // Pane heads are restored as saved; the panes' spin boxes clamp them to the next model.
    for (int i = 0; i < m_compare->paneCount(); ++i) {
        const QStringList parts =
            settings.value(QStringLiteral("compare/pane%1").arg(i)).toString().split(':');
        bool okLayer = false, okHead = false;
        const int layer = parts.value(0).toInt(&okLayer), head = parts.value(1).toInt(&okHead);
        if (parts.size() != 3 || !okLayer || !okHead) continue;
        m_compare->setPaneHead(i, layer, head);
        m_compare->setPaneView(i, parts[2] == QLatin1String("links")
                                      ? CompareView::PaneView::Links
                                      : CompareView::PaneView::Heatmap);
    }
    if (settings.value(QStringLiteral("grid/fit"), true).toBool())
        m_grid->fitToWidth();
    else
        m_grid->setZoom(
            std::clamp(settings.value(QStringLiteral("grid/tile"), 48.0).toDouble(), 8.0, 240.0));
    if (auto* statistic = findChild<QComboBox*>(QStringLiteral("gridStatistic")))
        statistic->setCurrentIndex(index(QStringLiteral("grid/statistic"), statistic->count(), 0));
    setDarkTheme(settings.value(QStringLiteral("view/dark"), false).toBool());
    m_tabs->setCurrentIndex(index(QStringLiteral("view/current"), m_tabs->count(), 0));
}

void MainWindow::onTokensHovered(int queryToken, int keyToken) {
    updateTokenStrip(queryToken, keyToken);
    highlightTokenText(queryToken, keyToken);
}

void MainWindow::onHover(int row, int column) {
    // The heatmap counts visible rows; hidden special tokens shift them against token indices.
    auto token = [&](int i) {
        return i >= 0 && size_t(i) < m_heatmapTokens.size() ? m_heatmapTokens[size_t(i)] : -1;
    };
    onTokensHovered(token(row), token(column));
}

// Marks the characters the hovered query (orange) and key (blue) tokens came from in the text
// field, through the tokens' offsets. Special tokens and stale analyses mark nothing.
void MainWindow::highlightTokenText(int queryToken, int keyToken) {
    QList<QTextEdit::ExtraSelection> selections;
    const auto mark = [&](int token, const QColor& colour) {
        if (!m_analysis || token < 0 || token >= m_analysis->tokenCount()) return;
        const Encoding& e = m_analysis->encoding;
        if (size_t(token) >= e.offsets.size() ||
            (size_t(token) < e.sequenceIds.size() && e.sequenceIds[size_t(token)] != 0))
            return;
        const auto [begin, end] = e.offsets[size_t(token)];
        if (begin >= end || end >= int(m_codePointPositions.size())) return;
        QTextEdit::ExtraSelection selection;
        selection.cursor = QTextCursor(m_text->document());
        selection.cursor.setPosition(m_codePointPositions[size_t(begin)]);
        selection.cursor.setPosition(m_codePointPositions[size_t(end)], QTextCursor::KeepAnchor);
        selection.format.setBackground(colour);
        selection.format.setForeground(QColor(0x1b, 0x1b, 0x1b)); // light marks, dark theme too
        selections << selection;
    };
    if (m_analysis) // what the model wrote, under the hover marks
        for (int i = m_analysis->tokenCount() - m_analysis->generatedTokens;
             i < m_analysis->tokenCount(); ++i)
            mark(i, kGeneratedTokenColour);
    mark(keyToken, QColor(0x64, 0xb5, 0xf6));
    mark(queryToken, QColor(0xff, 0xb7, 0x4d));
    m_text->setExtraSelections(selections);
}

void MainWindow::updateTokenStrip(int queryToken, int keyToken) {
    // The tokens of the text in the field: a running pass's snapshot has them first.
    const std::shared_ptr<const Analysis> shown = heatmapAnalysis();
    // Image models' tokens are patches: the picture and the heatmap's labels show them.
    if (!shown || shown->tokenCount() == 0 || isImageMode()) {
        m_tokenStrip->clear();
        m_tokenScroll->hide();
        return;
    }
    m_tokenScroll->show();
    TokenStripContent content;
    content.labels = tokenLabels(*shown);
    content.generatedTokens = shown->generatedTokens;
    content.selected = m_selectedTokens;
    if (shown->generatedTokens > 0)
        content.note =
            shown->generatedTokens == 1
                ? tr("— green, ▸: the token the model wrote")
                : tr("— green, ▸: the %1 tokens the model wrote").arg(shown->generatedTokens);
    // The same tokens again (a hover, a new snapshot of the pass, a view switch) keep their
    // layout: only the marks change, and only their boxes are painted again.
    const bool changed = m_tokenStrip->setContent(std::move(content));
    m_tokenStrip->setHighlight(queryToken, keyToken);
    if (changed) {
        m_tokenStripFittedWidth = -1;
        adjustTokenStripHeight();
    }
    // A hovered query outside the strip's three visible lines (a long text) is scrolled into
    // view, so the strip always shows which token the heatmap's row is.
    if (queryToken >= 0 && queryToken < m_tokenStrip->renderer().tokenCount()) {
        const TokenStripRenderer& strip = m_tokenStrip->renderer();
        const QRect box = strip.tokenRect(queryToken).toAlignedRect();
        const int margin = int(std::ceil(strip.tokenRect(0).top())); // the strip's own padding
        if (!box.isEmpty())
            m_tokenScroll->ensureVisible(box.center().x(), box.center().y(), 0,
                                         box.height() / 2 + margin + 1);
    }
}

void MainWindow::adjustTokenStripHeight(int width) {
    if (!m_tokenScroll->isVisible() && m_tokenStrip->renderer().isEmpty()) return;
    const int maxHeight = int(std::ceil(m_tokenStrip->renderer().heightForLines(3)));
    // The strip's own width once its scroll area has laid it out (a later change of it fits
    // again: widthChanged); before, the heatmap's column, which it spans.
    if (width < 0)
        width = m_tokenStrip->testAttribute(Qt::WA_Resized)
                    ? m_tokenStrip->width()
                    : std::max(100, m_heatmap->width() - 20);
    if (width == m_tokenStripFittedWidth) return;
    m_tokenStripFittedWidth = width;
    // Wrapping at another width is cheap (the tokens are measured once per token list).
    const int content = m_tokenStrip->heightForWidth(width);
    m_tokenScroll->setFixedHeight(std::clamp(content, 10, maxHeight));
}

void MainWindow::resizeEvent(QResizeEvent* event) {
    QMainWindow::resizeEvent(event);
    adjustTokenStripHeight();
}

void MainWindow::onError(const QString& message) {
    if (m_partial && !m_controller->partialAnalysis()) { // the pass failed: back to the last
        m_partial.reset();
        refreshViews();
    }
    showError(message);
}

void MainWindow::showError(const QString& message) {
    m_errorBanner->setText(kErrorIcon + message);
    m_errorBanner->show();
    if (!m_controller->model()) {
        m_modelLabel->setText(tr("no model"));
        if (!m_analysis)
            m_heatmap->setPlaceholder(tr("No model loaded. Use File → Open model folder…"));
    } else if (m_controller->model()) {
        onModelChanged(m_controller->model()); // restores the label after a failed load
        m_errorBanner->setText(kErrorIcon + message);
        m_errorBanner->show();
    }
}

void MainWindow::hideError() {
    m_errorBanner->hide();
}

void MainWindow::onBusyChanged(bool busy) {
    m_busy->setText(busy ? tr("computing…") : QString());
}

void MainWindow::chooseModelFolder() {
    const QString start =
        m_modelPath.isEmpty() || m_modelPath == QLatin1String("default") ? QString() : m_modelPath;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder"), start);
    if (!dir.isEmpty()) openModel(dir);
}

Status MainWindow::exportCurrentHeatmap(const QString& path, QSize size) const {
    if (!m_analysis || m_heatmap->renderer().isEmpty())
        return makeError(tr("There is no heatmap to export yet."));
    HeatmapRenderer renderer = m_heatmap->renderer();
    renderer.setHighlight({});
    return exportRenderer(renderer, path, size, 1, figureDescription(*m_analysis));
}

Status MainWindow::exportCurrentView(const QString& path, QSize size) const {
    if (!m_analysis || m_analysis->tokenCount() == 0)
        return makeError(tr("There is nothing to export yet."));
    if (currentView() == View::Image) {
        if (!m_controller->model()) return makeError(tr("There is nothing to export yet."));
        ImageFigureRequest image;
        image.state = m_state;
        image.queryToken = m_imageView->queryToken();
        image.overlay = m_imageView->overlayOptions();
        image.size = size;
        return exportImageFigure(*m_analysis, m_imageView->sourcePicture(),
                                 m_imageView->processor(), m_controller->model()->config(), image,
                                 path);
    }
    auto figure = currentFigure(size);
    if (!figure) return makeError(figure.message());
    figure->request.options.queryTokens.clear(); // as before: the view without its selection
    return exportFigure(figure->analysis, figure->request, path);
}

void MainWindow::chooseExportFile() {
    if (!m_analysis) {
        showError(tr("There is nothing to export yet."));
        return;
    }
    QString selectedFilter;
    const QString pngFilter = tr("PNG image (*.png)"), svgFilter = tr("SVG image (*.svg)"),
                  pdfFilter = tr("PDF document (*.pdf)");
    static const char* const viewNames[] = {"heatmap",      "links",      "all-heads",
                                            "side-by-side", "difference", "image"};
    const QString suggested = QStringLiteral("attention-%1-layer%2-head%3.png")
                                  .arg(QLatin1String(viewNames[int(currentView())]))
                                  .arg(currentLayer())
                                  .arg(currentHead());
    QString path = QFileDialog::getSaveFileName(this, tr("Export view"), suggested,
                                                pngFilter + QStringLiteral(";;") + svgFilter +
                                                    QStringLiteral(";;") + pdfFilter,
                                                &selectedFilter);
    if (path.isEmpty()) return;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        path += selectedFilter == svgFilter   ? QStringLiteral(".svg")
                : selectedFilter == pdfFilter ? QStringLiteral(".pdf")
                                              : QStringLiteral(".png");
    // The heatmap at least as large as on screen; the other views at the size that suits them.
    const QSize size =
        currentView() == View::Heatmap ? m_heatmap->size().expandedTo(QSize(1000, 900)) : QSize();
    startViewExport(path, size); // figure_dialog/main_window_figures.cpp
}

// ---- Image mode ----

bool MainWindow::isImageMode() const {
    return m_controller->model() && m_controller->model()->config().modality == Modality::Image;
}

void MainWindow::setImageMode(bool image) {
    m_text->setVisible(!image);
    if (image) m_pairRow->hide();
    m_openImageAction->setEnabled(image);
    m_pasteImageAction->setEnabled(image);
    m_tabs->setTabVisible(int(View::Image), image);
    if (image)
        setView(View::Image);
    else if (currentView() == View::Image)
        setView(View::Heatmap);
}

void MainWindow::openImage(const QString& path) {
    m_picturePath = path; // a session saves it
    m_pictureLoader->loadFile(path);
}

void MainWindow::setImage(const QImage& image, const QString& name) {
    m_picturePath.clear(); // pasted or dropped: no file a session could name
    m_pictureLoader->loadImage(image, name);
}

void MainWindow::chooseImageFile() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open image"), QString(),
        tr("Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.ppm *.pgm);;All files "
           "(*)"));
    if (!path.isEmpty()) openImage(path);
}

void MainWindow::pasteImage() {
    const QMimeData* mime = QApplication::clipboard()->mimeData();
    if (mime && mime->hasImage())
        setImage(qvariant_cast<QImage>(mime->imageData()), tr("pasted picture"));
    else if (mime && mime->hasUrls() && !mime->urls().isEmpty() && mime->urls()[0].isLocalFile())
        openImage(mime->urls()[0].toLocalFile());
    else
        showError(tr("The clipboard holds no picture."));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (isImageMode() && (mime->hasImage() || mime->hasUrls())) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls()[0].isLocalFile())
        openImage(mime->urls()[0].toLocalFile());
    else if (mime->hasImage())
        setImage(qvariant_cast<QImage>(mime->imageData()), tr("dropped picture"));
    else
        return;
    event->acceptProposedAction();
}

void MainWindow::onPictureLoaded(const QImage& rgb888, const QString& name) {
    const auto model = m_controller->model();
    if (!model || model->config().modality != Modality::Image) return;
    auto processor = imageProcessorFor(*model);
    if (!processor) {
        showError(processor.message());
        return;
    }
    hideError();
    m_imageView->setPicture(rgb888, name, *processor);
    m_controller->requestImageAnalysis(rgb888);
    statusBar()->showMessage(
        tr("%1: %2 × %3 pixels").arg(name).arg(rgb888.width()).arg(rgb888.height()), 5000);
}

} // namespace attnscope
