#include "explain_panel.h"
#include "head_requests.h"

#include "analysis_controller.h"
#include "heatmap_export.h"
#include "heatmap_renderer.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMainWindow>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

namespace attnscope {

// ------------------------------------------------------------------------------ ExplainWidget

ExplainWidget::ExplainWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void ExplainWidget::setFigure(ExplainFigure figure) {
    m_renderer.setFigure(std::move(figure));
    m_placeholder.clear();
    updateHeight();
    update();
}

void ExplainWidget::setChrome(const ChromePalette& chrome) {
    m_renderer.setChrome(chrome);
    update();
}

void ExplainWidget::setPlaceholder(const QString& text) {
    m_renderer.setFigure({});
    m_placeholder = text;
    updateHeight();
    update();
}

int ExplainWidget::heightForWidth(int width) const {
    return m_renderer.isEmpty() ? 120 : int(std::ceil(m_renderer.preferredHeight(width)));
}

void ExplainWidget::updateHeight() {
    setMinimumHeight(heightForWidth(width()));
    updateGeometry();
}

void ExplainWidget::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    updateHeight();
}

void ExplainWidget::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    m_renderer.paint(painter, QRectF(rect()));
    if (m_renderer.isEmpty()) {
        ChromePalette chrome;
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap,
                         m_placeholder);
    }
}

void ExplainWidget::mouseMoveEvent(QMouseEvent* event) {
    const QString text = m_renderer.hoverText(event->position(), width());
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
    emit hoverTextChanged(text);
    QWidget::mouseMoveEvent(event);
}

void ExplainWidget::mousePressEvent(QMouseEvent* event) {
    const int row = m_renderer.keyRowAt(event->position(), width());
    if (event->button() == Qt::LeftButton && row >= 0) emit keyRowClicked(row);
    QWidget::mousePressEvent(event);
}

void ExplainWidget::keyPressEvent(QKeyEvent* event) {
    if (event->modifiers() == Qt::NoModifier &&
        (event->key() == Qt::Key_Up || event->key() == Qt::Key_Down)) {
        emit stepToken(event->key() == Qt::Key_Up ? -1 : 1);
        return;
    }
    QWidget::keyPressEvent(event);
}

void ExplainWidget::leaveEvent(QEvent* event) {
    QToolTip::hideText();
    emit hoverTextChanged({});
    QWidget::leaveEvent(event);
}

// ------------------------------------------------------------------------------- ExplainPanel

ExplainPanel::ExplainPanel(QWidget* parent) : QWidget(parent) {
    m_pool.setMaxThreadCount(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto* bar = new QHBoxLayout;
    auto* label = new QLabel(tr("&Query token"));
    m_tokens = new QComboBox;
    m_tokens->setObjectName(QStringLiteral("explainToken"));
    m_tokens->setToolTip(tr("The token whose attention is explained (or click a heatmap row)"));
    m_tokens->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_tokens->setMaximumWidth(260);
    label->setBuddy(m_tokens);
    auto* previous = new QPushButton(QStringLiteral("◀"));
    auto* next = new QPushButton(QStringLiteral("▶"));
    for (QPushButton* b : {previous, next}) {
        b->setFixedWidth(32);
        b->setAutoDefault(false);
    }
    previous->setToolTip(tr("Previous token (Up)"));
    next->setToolTip(tr("Next token (Down)"));
    auto* exportButton = new QPushButton(tr("Export…"));
    exportButton->setObjectName(QStringLiteral("explainExport"));
    exportButton->setToolTip(tr("Save this explanation as PNG, SVG or PDF"));
    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("explainStatus"));
    m_status->setStyleSheet(QStringLiteral("color: #666;"));
    bar->addWidget(label);
    bar->addWidget(m_tokens);
    bar->addWidget(previous);
    bar->addWidget(next);
    bar->addStretch(1);
    bar->addWidget(m_status);
    bar->addWidget(exportButton);
    layout->addLayout(bar);

    m_widget = new ExplainWidget;
    m_widget->setObjectName(QStringLiteral("explainFigure"));
    m_widget->setPlaceholder(tr("No analysis yet."));
    m_scroll = new QScrollArea;
    m_scroll->setWidget(m_widget);
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layout->addWidget(m_scroll, 1);

    connect(m_tokens, &QComboBox::activated, this, [this](int index) { setToken(index); });
    connect(previous, &QPushButton::clicked, this, [this] { setToken(std::max(0, m_token - 1)); });
    connect(next, &QPushButton::clicked, this, [this] { setToken(m_token + 1); });
    connect(m_widget, &ExplainWidget::stepToken, this,
            [this](int delta) { setToken(std::max(0, m_token + delta)); });
    connect(m_widget, &ExplainWidget::keyRowClicked, this, &ExplainPanel::setToken);
    connect(m_widget, &ExplainWidget::hoverTextChanged, this, &ExplainPanel::hoverTextChanged);
    connect(exportButton, &QPushButton::clicked, this, &ExplainPanel::chooseExportFile);
}

ExplainPanel::~ExplainPanel() {
    m_latest->store(~quint64(0));
    m_pool.waitForDone();
}

void ExplainPanel::setModel(std::shared_ptr<const LoadedModel> model) {
    m_model = std::move(model);
    schedule();
}

void ExplainPanel::setView(std::shared_ptr<const Analysis> analysis, int layer, int head,
                           bool dark) {
    const bool newTokens = analysis != m_analysis;
    m_analysis = std::move(analysis);
    m_layer = layer;
    m_head = head;
    if (dark != m_dark) {
        m_dark = dark;
        m_widget->setChrome(ChromePalette::forTheme(dark));
    }
    if (newTokens) updateTokenList();
    schedule();
}

void ExplainPanel::setToken(int token) {
    const int T = m_analysis ? m_analysis->tokenCount() : 0;
    m_token = T > 0 ? std::clamp(token, 0, T - 1) : token;
    if (m_token >= 0 && m_token < m_tokens->count()) m_tokens->setCurrentIndex(m_token);
    schedule();
}

void ExplainPanel::updateTokenList() {
    const QSignalBlocker blocker(m_tokens);
    m_tokens->clear();
    if (!m_analysis) return;
    const int T = m_analysis->tokenCount();
    for (int i = 0; i < T; ++i)
        m_tokens->addItem(QStringLiteral("%1  %2").arg(i).arg(HeatmapRenderer::escapeLabel(
            m_analysis->displayTokens.value(i, QString::number(i)))));
    // The last token sees the whole text in a causal model: the default query.
    m_token = T > 0 ? (m_token < 0 ? T - 1 : std::min(m_token, T - 1)) : -1;
    if (m_token >= 0) m_tokens->setCurrentIndex(m_token);
}

void ExplainPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    schedule();
}

void ExplainPanel::schedule() {
    if (!isVisible()) return; // shown later: showEvent() comes back here
    const auto placeholder = [this](const QString& text) {
        m_shownKey.clear();
        m_widget->setPlaceholder(text);
        m_status->clear();
    };
    if (m_analysis && !m_model && m_analysis->producedBy == 0)
        return placeholder(tr("Explain needs the model: this is attention computed elsewhere (an "
                              "attention file, opened without its model)."));
    if (!m_model || !m_analysis) return placeholder(tr("No analysis yet."));
    const Analysis& a = *m_analysis;
    if (a.producedBy != m_model->instanceId()) return; // the new model's analysis is coming
    if (a.tokenCount() == 0) return placeholder(tr("The text has no tokens."));
    if (m_layer < 0 || m_layer >= a.layerCount() || m_head < 0 || m_head >= a.headCount()) return;
    if (a.forward.layers[size_t(m_layer)].input.rows() == 0) {
        // The window's controller analyses the text again, keeping what this panel needs.
        m_status->setText(tr("computing…"));
        return;
    }
    m_token = std::clamp(m_token < 0 ? a.tokenCount() - 1 : m_token, 0, a.tokenCount() - 1);
    const QString key = QStringLiteral("%1/%2/%3/%4/%5")
                            .arg(m_model->instanceId())
                            .arg(quintptr(m_analysis.get()))
                            .arg(m_layer)
                            .arg(m_head)
                            .arg(m_token);
    if (key == m_shownKey) return;
    m_shownKey = key;

    const quint64 id = ++*m_latest;
    std::shared_ptr<const std::vector<HeadWeights>> cached;
    if (m_cache.model == m_model->instanceId() && m_cache.layer == m_layer)
        cached = m_cache.weights;
    m_running = true;
    m_status->setText(tr("computing…"));
    // The explanation reads every head of the layer (each head's contribution): with lazy heads
    // (core/lazy_heads.h) that takes a while, all of it on the pool below; meanwhile the panel
    // says what it computes rather than showing another head's figure.
    HeadList layerHeads;
    for (int h = 0; h < a.headCount(); ++h)
        layerHeads.emplace_back(m_layer, h);
    if (!HeadRequests::isReady(a, layerHeads)) {
        // The figure area says it in full; the status label beside the buttons stays short.
        m_widget->setPlaceholder(HeadRequests::computingText(a, {{m_layer, m_head}}));
    }
    auto model = m_model;
    auto analysis = m_analysis;
    const int layer = m_layer, head = m_head, token = m_token;
    auto latest = m_latest;
    m_pool.start([this, id, latest, model, analysis, cached, layer, head, token] {
        if (latest->load() != id) return; // superseded before it started
        auto weights = cached;
        QString error;
        if (!weights) {
            auto loaded = model->attentionWeights(layer);
            if (loaded)
                weights = std::make_shared<const std::vector<HeadWeights>>(std::move(*loaded));
            else
                error = loaded.message();
        }
        std::shared_ptr<const Explanation> explanation;
        if (weights) {
            auto result =
                explainHead(*analysis, *weights, model->config().causal, layer, head, token);
            if (result)
                explanation = std::make_shared<const Explanation>(std::move(*result));
            else
                error = result.message();
        }
        QMetaObject::invokeMethod(
            this,
            [this, id, model, analysis, layer, weights, explanation, error] {
                if (id != m_latest->load()) return; // a newer request is running or queued
                m_running = false;
                m_status->clear();
                if (weights) m_cache = {model->instanceId(), layer, weights};
                if (!explanation) {
                    m_shownKey.clear();
                    m_widget->setPlaceholder(error);
                    return;
                }
                m_widget->setFigure(
                    explainFigure(*analysis, model->config(), explanation, model->displayName()));
                emit figureChanged();
            },
            Qt::QueuedConnection);
    });
}

Status ExplainPanel::exportFigure(const QString& path, int width) const {
    const ExplainRenderer& r = m_widget->renderer();
    if (r.isEmpty()) return makeError(tr("There is no explanation to export yet."));
    const QSize size(width, int(std::ceil(r.preferredHeight(width))));
    return exportPainting([&](QPainter& p, const QRectF& area,
                              bool vectorOutput) { r.paint(p, area, vectorOutput); },
                          r.title(), path, size);
}

void ExplainPanel::chooseExportFile() {
    const ExplainRenderer& r = m_widget->renderer();
    if (r.isEmpty()) return;
    const Explanation& e = *r.figure().explanation;
    QString selected;
    const QString png = tr("PNG image (*.png)"), svg = tr("SVG image (*.svg)"),
                  pdf = tr("PDF document (*.pdf)");
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export explanation"),
        QStringLiteral("explain-layer%1-head%2-token%3.png").arg(e.layer).arg(e.head).arg(e.token),
        png + QStringLiteral(";;") + svg + QStringLiteral(";;") + pdf, &selected);
    if (path.isEmpty()) return;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        path += selected == svg   ? QStringLiteral(".svg")
                : selected == pdf ? QStringLiteral(".pdf")
                                  : QStringLiteral(".png");
    const Status status = exportFigure(path, std::max(700, m_widget->width()));
    m_status->setText(status ? tr("Exported %1").arg(QFileInfo(path).fileName())
                             : status.message());
}

// ------------------------------------------------------------------------------------ the dock

ExplainPanel* installExplainDock(QMainWindow* window, AnalysisController* controller,
                                 QMenu* viewMenu) {
    auto* panel = new ExplainPanel;
    auto* dock = new QDockWidget(QObject::tr("Explain"), window);
    dock->setObjectName(QStringLiteral("explainDock"));
    dock->setWidget(panel);
    window->addDockWidget(Qt::RightDockWidgetArea, dock);
    dock->hide();
    if (viewMenu) {
        QAction* toggle = dock->toggleViewAction();
        toggle->setText(QObject::tr("&Explain the head step by step"));
        toggle->setObjectName(QStringLiteral("explainAction"));
        toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_8));
        viewMenu->addAction(toggle);
    }
    // Only while the panel can be seen do the analyses keep its inputs (memory).
    QObject::connect(dock, &QDockWidget::visibilityChanged, controller,
                     [controller](bool visible) { controller->setKeepAttentionInputs(visible); });
    // Docked narrow, the table of keys and values would be cramped: open it at a readable width.
    QObject::connect(dock, &QDockWidget::visibilityChanged, window, [window, dock](bool visible) {
        if (visible && !dock->isFloating() && dock->width() < 560)
            QTimer::singleShot(0, dock, [window, dock] { // once the dock is laid out
                window->resizeDocks({dock}, {std::max(560, window->width() * 9 / 20)},
                                    Qt::Horizontal);
            });
    });
    QObject::connect(controller, &AnalysisController::modelChanged, panel,
                     &ExplainPanel::setModel);
    if (controller->model()) panel->setModel(controller->model());
    return panel;
}

} // namespace attnscope
