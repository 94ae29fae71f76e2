#include "main_window.h"

#include "heatmap_export.h"
#include "heatmap_widget.h"
#include "hfcache.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QStatusBar>
#include <QTextCursor>
#include <QTextEdit>
#include <QVBoxLayout>

namespace attnscope {

namespace {

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

    auto* controls = new QHBoxLayout;
    controls->setSpacing(8);
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
    auto* colorLabel = new QLabel(tr("&Colours"));
    m_colorMap = new QComboBox;
    m_colorMap->setObjectName(QStringLiteral("colorMapSelector"));
    m_colorMap->addItems(colorMapNames());
    colorLabel->setBuddy(m_colorMap);
    m_autoRange = new QCheckBox(tr("&Stretch colours to this head's range"));
    m_autoRange->setObjectName(QStringLiteral("autoRange"));
    m_autoRange->setToolTip(tr("Off: colours span 0..1. On: they span the head's own min..max."));
    m_busy = new QLabel;
    m_busy->setObjectName(QStringLiteral("busyIndicator"));
    m_busy->setStyleSheet(QStringLiteral("color: #666;"));
    controls->addWidget(layerLabel);
    controls->addWidget(m_layer);
    controls->addSpacing(8);
    controls->addWidget(headLabel);
    controls->addWidget(m_head);
    controls->addSpacing(16);
    controls->addWidget(colorLabel);
    controls->addWidget(m_colorMap);
    controls->addSpacing(8);
    controls->addWidget(m_autoRange);
    controls->addStretch(1);
    controls->addWidget(m_busy);
    layout->addLayout(controls);

    m_tokenStrip = new QLabel;
    m_tokenStrip->setObjectName(QStringLiteral("tokenStrip"));
    m_tokenStrip->setTextFormat(Qt::RichText);
    m_tokenStrip->setWordWrap(true);
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
    layout->addWidget(m_tokenScroll);

    m_errorBanner =
        makeBanner(QStringLiteral("errorBanner"),
                   QStringLiteral("QLabel { background: #c62828; color: white; padding: 6px 10px;"
                                  " border-radius: 3px; font-weight: bold; }"));
    layout->addWidget(m_errorBanner);
    m_truncated =
        makeBanner(QStringLiteral("truncatedNotice"),
                   QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 4px 10px;"
                                  " border: 1px solid #e0c36a; border-radius: 3px; }"));
    layout->addWidget(m_truncated);

    m_heatmap = new HeatmapWidget;
    m_heatmap->setObjectName(QStringLiteral("heatmap"));
    m_heatmap->setPlaceholder(tr("Loading…"));
    layout->addWidget(m_heatmap, 1);
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
    statusBar()->addPermanentWidget(m_modelLabel);
    statusBar()->addPermanentWidget(m_tokensLabel);
    statusBar()->addPermanentWidget(m_timeLabel);

    // Menu.
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open =
        file->addAction(tr("&Open model folder…"), this, &MainWindow::chooseModelFolder);
    open->setShortcut(QKeySequence::Open);
    open->setObjectName(QStringLiteral("openModelAction"));
    // Checkpoints already downloaded by Hugging Face tools, listed when the menu opens (a few
    // directory reads, so the list is always current and start-up pays nothing).
    QMenu* cached = file->addMenu(tr("Models on this &computer"));
    cached->setObjectName(QStringLiteral("cachedModelsMenu"));
    connect(cached, &QMenu::aboutToShow, this, [this, cached] {
        cached->clear();
        cached->addAction(tr("Default model"), this,
                          [this] { openModel(QStringLiteral("default")); });
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
    QAction* exportAction =
        file->addAction(tr("&Export heatmap as PNG/SVG/PDF…"), this, &MainWindow::chooseExportFile);
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAction->setObjectName(QStringLiteral("exportAction"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setObjectName(QStringLiteral("quitAction"));

    connect(m_text, &QPlainTextEdit::textChanged, this, &MainWindow::onTextEdited);
    connect(m_layer, &QSpinBox::valueChanged, this, &MainWindow::refreshHeatmap);
    connect(m_head, &QSpinBox::valueChanged, this, &MainWindow::refreshHeatmap);
    connect(m_colorMap, &QComboBox::currentIndexChanged, this, &MainWindow::refreshOptions);
    connect(m_autoRange, &QCheckBox::toggled, this, &MainWindow::refreshOptions);
    connect(m_controller, &AnalysisController::analysisReady, this, &MainWindow::onAnalysisReady);
    connect(m_controller, &AnalysisController::modelChanged, this, &MainWindow::onModelChanged);
    connect(m_controller, &AnalysisController::modelLoadingStarted, this,
            &MainWindow::onModelLoading);
    connect(m_controller, &AnalysisController::errorOccurred, this, &MainWindow::onError);
    connect(m_controller, &AnalysisController::busyChanged, this, &MainWindow::onBusyChanged);
    connect(m_heatmap, &HeatmapWidget::hoverTextChanged, m_hoverLabel, &QLabel::setText);
    connect(m_heatmap, &HeatmapWidget::cellHovered, this,
            [this](int r, int c, float) { onHover(r, c); });

    resize(1100, 800);
    setText(sampleText());
    m_text->setFocus();
}

MainWindow::~MainWindow() = default;

void MainWindow::openModel(const QString& path) {
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
    const QString text = m_text->toPlainText();
    m_codePointPositions.clear(); // offsets of the last analysis no longer match the field
    if (text.trimmed().isEmpty()) {
        m_controller->cancel();
        m_analysis.reset();
        m_heatmap->clear(tr("Type some text above to see how its tokens attend to each other."));
        m_tokenStrip->clear();
        m_tokenScroll->hide();
        m_tokensLabel->clear();
        m_timeLabel->clear();
        m_truncated->hide();
        return;
    }
    m_controller->requestAnalysis(text);
}

void MainWindow::onModelLoading(const QString& path) {
    m_modelPath = path;
    m_modelLabel->setText(tr("loading %1…").arg(path));
    if (!m_analysis) m_heatmap->setPlaceholder(tr("Loading model %1…").arg(path));
}

void MainWindow::onModelChanged(std::shared_ptr<const LoadedModel> model) {
    if (!model) return;
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
    hideError();
}

void MainWindow::updateSelectorRanges(int layers, int heads) {
    const QSignalBlocker b1(m_layer), b2(m_head);
    m_layer->setRange(0, std::max(0, layers - 1));
    m_head->setRange(0, std::max(0, heads - 1));
    m_layer->setSuffix(tr(" / %1").arg(std::max(0, layers - 1)));
    m_head->setSuffix(tr(" / %1").arg(std::max(0, heads - 1)));
}

void MainWindow::onAnalysisReady(std::shared_ptr<const Analysis> analysis) {
    m_analysis = std::move(analysis);
    m_codePointPositions.clear();
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
    const int layers = int(m_analysis->forward.layers.size());
    const int heads = layers > 0 ? int(m_analysis->forward.layers[0].attention.size()) : 0;
    updateSelectorRanges(layers, heads);
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
            dropped == 1
                ? tr("The text is longer than the model's %1-token window: its last token was "
                     "dropped and is not shown.")
                      .arg(t)
                : tr("The text is longer than the model's %1-token window: its last %2 tokens were "
                     "dropped and are not shown.")
                      .arg(t)
                      .arg(dropped));
        m_truncated->show();
    } else {
        m_truncated->hide();
    }
    refreshHeatmap();
}

void MainWindow::refreshHeatmap() {
    if (!m_analysis) return;
    const int layer = m_layer->value(), head = m_head->value();
    if (m_analysis->tokenCount() == 0) {
        m_heatmap->clear(tr("The text has no tokens."));
        updateTokenStrip(-1, -1);
        return;
    }
    if (layer >= int(m_analysis->forward.layers.size()) ||
        head >= int(m_analysis->forward.layers[layer].attention.size())) {
        m_heatmap->clear(tr("Layer %1, head %2 is not in this analysis.").arg(layer).arg(head));
        return;
    }
    HeatmapRenderer tmp;
    configureRenderer(tmp, *m_analysis, layer, head);
    m_heatmap->setData(tmp.matrix(), tmp.rowLabels(), tmp.columnLabels(), tmp.title());
    const HeatmapCell h = m_heatmap->hoveredCell();
    updateTokenStrip(h.row, h.column);
}

void MainWindow::refreshOptions() {
    HeatmapOptions o = m_heatmap->renderer().options();
    o.colorMap = colorMapFromIndex(m_colorMap->currentIndex());
    o.autoRange = m_autoRange->isChecked();
    m_heatmap->setOptions(o);
}

void MainWindow::onHover(int row, int column) {
    updateTokenStrip(row, column);
    highlightTokenText(row, column);
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
        selections << selection;
    };
    mark(keyToken, QColor(0x64, 0xb5, 0xf6));
    mark(queryToken, QColor(0xff, 0xb7, 0x4d));
    m_text->setExtraSelections(selections);
}

void MainWindow::updateTokenStrip(int queryToken, int keyToken) {
    if (!m_analysis || m_analysis->tokenCount() == 0) {
        m_tokenStrip->clear();
        m_tokenScroll->hide();
        return;
    }
    m_tokenScroll->show();
    const QStringList& labels = m_heatmap->renderer().rowLabels();
    QString html = QStringLiteral("<div style='line-height: 140%;'>");
    const int t = m_analysis->tokenCount();
    for (int i = 0; i < t; ++i) {
        const QString label =
            HeatmapRenderer::escapeLabel(i < labels.size() ? labels[i] : QString::number(i));
        QString style;
        if (i == queryToken && i == keyToken)
            style = QStringLiteral("background:#ffb74d; color:#000; border:1px solid #1565c0;");
        else if (i == queryToken)
            style = QStringLiteral("background:#ffb74d; color:#000;");
        else if (i == keyToken)
            style = QStringLiteral("background:#64b5f6; color:#000;");
        else
            style = (i % 2) ? QStringLiteral("background:#eceff1;")
                            : QStringLiteral("background:#f7f7f7;");
        html += QStringLiteral("<span style='%1'>&nbsp;%2&nbsp;</span> ")
                    .arg(style, label.toHtmlEscaped());
    }
    html += QStringLiteral("</div>");
    m_tokenStrip->setText(html);
    adjustTokenStripHeight();
}

void MainWindow::adjustTokenStripHeight() {
    if (!m_tokenScroll->isVisible() && m_tokenStrip->text().isEmpty()) return;
    const int maxHeight = int(QFontMetrics(m_tokenStrip->font()).lineSpacing() * 1.45 * 3) + 12;
    // The strip spans the same column as the heatmap (the scroll area may not be laid out yet).
    const int width = std::max(100, m_heatmap->width() - 20);
    const int content = m_tokenStrip->heightForWidth(width);
    m_tokenScroll->setFixedHeight(
        std::clamp(content > 0 ? content : m_tokenStrip->sizeHint().height(), 10, maxHeight));
}

void MainWindow::resizeEvent(QResizeEvent* event) {
    QMainWindow::resizeEvent(event);
    adjustTokenStripHeight();
}

void MainWindow::onError(const QString& message) {
    showError(message);
}

void MainWindow::showError(const QString& message) {
    m_errorBanner->setText(QStringLiteral("⚠ ") + message);
    m_errorBanner->show();
    if (!m_controller->model()) {
        m_modelLabel->setText(tr("no model"));
        if (!m_analysis)
            m_heatmap->setPlaceholder(tr("No model loaded. Use File → Open model folder…"));
    } else if (m_controller->model()) {
        onModelChanged(m_controller->model()); // restores the label after a failed load
        m_errorBanner->setText(QStringLiteral("⚠ ") + message);
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
    return exportRenderer(renderer, path, size);
}

void MainWindow::chooseExportFile() {
    if (!m_analysis) {
        showError(tr("There is no heatmap to export yet."));
        return;
    }
    QString selectedFilter;
    const QString pngFilter = tr("PNG image (*.png)"), svgFilter = tr("SVG image (*.svg)"),
                  pdfFilter = tr("PDF document (*.pdf)");
    const QString suggested =
        QStringLiteral("attention-layer%1-head%2.png").arg(currentLayer()).arg(currentHead());
    QString path = QFileDialog::getSaveFileName(this, tr("Export heatmap"), suggested,
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
    const QSize size = m_heatmap->size().expandedTo(QSize(1000, 900));
    const Status status = exportCurrentHeatmap(path, size);
    if (!status.ok())
        showError(status.message());
    else
        statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()), 5000);
}

} // namespace attnscope
