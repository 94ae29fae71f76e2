#include "predictions_panel.h"

#include "heatmap_renderer.h"

#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QMetaObject>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QRunnable>
#include <QSpinBox>
#include <QThread>
#include <QToolTip>

namespace attnscope {

namespace {

constexpr int kCellMinWidth = 74;
constexpr int kCellMaxWidth = 150;
constexpr int kCellGap = 6;

// Spaces and line breaks made visible as in every view's labels: " the" and "the" differ.
QString visibleToken(const QString& text) {
    return HeatmapRenderer::escapeLabel(text);
}

QString percent(double p) {
    return p >= 0.095 ? QStringLiteral("%1 %").arg(p * 100, 0, 'f', 0)
                      : QStringLiteral("%1 %").arg(p * 100, 0, 'f', p >= 0.001 ? 1 : 2);
}

} // namespace

// ------------------------------------------------------------------------- PredictionBars

PredictionBars::PredictionBars(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setCursor(Qt::PointingHandCursor);
}

void PredictionBars::setPrediction(const Prediction& prediction) {
    m_prediction = prediction;
    m_message.clear();
    m_hovered = -1;
    update();
}

void PredictionBars::clear(const QString& message) {
    m_prediction = Prediction{};
    m_message = message;
    m_hovered = -1;
    update();
}

QSize PredictionBars::sizeHint() const {
    const QFontMetrics fm(font());
    return {8 * (kCellMinWidth + kCellGap), fm.height() * 2 + 14};
}

QSize PredictionBars::minimumSizeHint() const {
    return {2 * (kCellMinWidth + kCellGap), sizeHint().height()};
}

QRect PredictionBars::barRect(int index) const {
    const int n = int(m_prediction.top.size());
    if (index < 0 || index >= n) return {};
    // As many cells as fit, each as wide as the widget allows within [min, max].
    const int shown = std::max(1, std::min(n, width() / (kCellMinWidth + kCellGap)));
    if (index >= shown) return {};
    const int cell = std::clamp(width() / shown - kCellGap, kCellMinWidth, kCellMaxWidth);
    return {index * (cell + kCellGap), 0, cell, height()};
}

int PredictionBars::indexAt(QPoint p) const {
    for (int i = 0; i < int(m_prediction.top.size()); ++i)
        if (barRect(i).contains(p)) return i;
    return -1;
}

void PredictionBars::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette& pal = palette();
    const QFontMetrics fm(font());
    if (m_prediction.top.empty()) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(4, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, m_message);
        return;
    }
    const bool dark = pal.color(QPalette::Window).lightness() < 128;
    const QColor barColour = dark ? QColor(0x6f, 0xa8, 0xdc) : QColor(0x2f, 0x6f, 0xb0);
    const QColor track = dark ? QColor(0x44, 0x46, 0x4c) : QColor(0xe3, 0xe7, 0xec);
    for (int i = 0; i < int(m_prediction.top.size()); ++i) {
        const QRect cell = barRect(i);
        if (cell.isEmpty()) break;
        const TokenScore& s = m_prediction.top[size_t(i)];
        if (i == m_hovered) {
            painter.setPen(Qt::NoPen);
            painter.setBrush(pal.color(QPalette::Highlight).lighter(dark ? 60 : 185));
            painter.drawRoundedRect(cell, 4, 4);
        }
        // Token on the first line, probability as a bar with its value on the second.
        const QRect textRect(cell.left() + 4, 3, cell.width() - 8, fm.height());
        QFont bold = font();
        bold.setBold(i == 0);
        painter.setFont(bold);
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(
            textRect, Qt::AlignLeft | Qt::AlignVCenter,
            QFontMetrics(bold).elidedText(visibleToken(s.text), Qt::ElideRight, textRect.width()));
        painter.setFont(font());
        const QString value = percent(s.probability);
        const int valueWidth = fm.horizontalAdvance(QStringLiteral("100 %")) + 4;
        const QRect barTrack(cell.left() + 4, textRect.bottom() + 5, cell.width() - 12 - valueWidth,
                             fm.height() - 4);
        painter.setPen(Qt::NoPen);
        painter.setBrush(track);
        painter.drawRect(barTrack);
        painter.setBrush(barColour);
        painter.drawRect(QRectF(barTrack.left(), barTrack.top(),
                                barTrack.width() * std::clamp(s.probability, 0.0, 1.0),
                                barTrack.height()));
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(
            QRect(barTrack.right() + 4, barTrack.top() - 2, valueWidth + 4, barTrack.height() + 4),
            Qt::AlignLeft | Qt::AlignVCenter, value);
    }
}

void PredictionBars::mouseMoveEvent(QMouseEvent* event) {
    const int i = indexAt(event->position().toPoint());
    if (i != m_hovered) {
        m_hovered = i;
        update();
    }
}

void PredictionBars::mousePressEvent(QMouseEvent* event) {
    const int i = indexAt(event->position().toPoint());
    if (event->button() == Qt::LeftButton && i >= 0) emit tokenClicked(i);
}

void PredictionBars::leaveEvent(QEvent*) {
    m_hovered = -1;
    update();
}

bool PredictionBars::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int i = indexAt(help->pos());
        if (i < 0) {
            QToolTip::hideText();
            return true;
        }
        const TokenScore& s = m_prediction.top[size_t(i)];
        QToolTip::showText(help->globalPos(),
                           tr("“%1” (token %2, %3)\nprobability %4, logit %5\nClick to %6")
                               .arg(visibleToken(s.text))
                               .arg(s.id)
                               .arg(s.token)
                               .arg(s.probability, 0, 'f', 4)
                               .arg(double(s.logit), 0, 'f', 3)
                               .arg(m_prediction.kind == PredictionKind::NextToken
                                        ? tr("append it to the text")
                                        : tr("put it in place of the mask")),
                           this);
        return true;
    }
    return QWidget::event(event);
}

// ------------------------------------------------------------------------- PredictionsPanel

PredictionsPanel::PredictionsPanel(QWidget* parent) : QWidget(parent) {
    qRegisterMetaType<attnscope::TokenScore>();
    qRegisterMetaType<attnscope::PredictionKind>();
    m_pool.setMaxThreadCount(2); // one prediction and one generation at a time
    m_pool.setExpiryTimeout(-1);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    m_caption = new QLabel(tr("Next token:"));
    m_caption->setObjectName(QStringLiteral("predictionsCaption"));
    m_bars = new PredictionBars;
    m_bars->setObjectName(QStringLiteral("predictionBars"));
    layout->addWidget(m_caption);
    layout->addWidget(m_bars, 1);

    m_generateControls = new QWidget;
    auto* g = new QHBoxLayout(m_generateControls);
    g->setContentsMargins(0, 0, 0, 0);
    g->setSpacing(4);
    m_generate = new QPushButton(tr("&Generate"));
    m_generate->setObjectName(QStringLiteral("generateButton"));
    m_generate->setToolTip(tr("Let the model write: it appends the given number of tokens, one "
                              "at a time, and the views follow"));
    m_tokens = new QSpinBox;
    m_tokens->setObjectName(QStringLiteral("generateTokens"));
    m_tokens->setRange(1, 200);
    m_tokens->setValue(10);
    m_tokens->setSuffix(tr(" tokens"));
    m_temperature = new QDoubleSpinBox;
    m_temperature->setObjectName(QStringLiteral("generateTemperature"));
    m_temperature->setRange(0.0, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setDecimals(2);
    m_temperature->setValue(0.0);
    m_temperature->setSpecialValueText(tr("greedy"));
    m_temperature->setPrefix(tr("T "));
    m_temperature->setToolTip(tr("Temperature: greedy (0) always takes the most probable token; "
                                 "above 0 the model samples, more freely the higher it is"));
    m_seed = new QSpinBox;
    m_seed->setObjectName(QStringLiteral("generateSeed"));
    m_seed->setRange(0, 999999);
    m_seed->setPrefix(tr("seed "));
    m_seed->setToolTip(tr("The same seed writes the same text again"));
    g->addWidget(m_generate);
    g->addWidget(m_tokens);
    g->addWidget(m_temperature);
    g->addWidget(m_seed);
    layout->addWidget(m_generateControls);
    connect(m_temperature, &QDoubleSpinBox::valueChanged, this,
            [this](double t) { m_seed->setEnabled(t > 0); });
    m_seed->setEnabled(false);

    connect(m_generate, &QPushButton::clicked, this, [this] {
        if (m_generating)
            stopGeneration();
        else
            emit generateRequested();
    });
    connect(m_bars, &PredictionBars::tokenClicked, this, [this](int i) {
        const Prediction& p = m_bars->prediction();
        if (i >= 0 && size_t(i) < p.top.size() && !m_generating)
            emit tokenChosen(p.top[size_t(i)], p.kind, p.position);
    });
    clear();
}

PredictionsPanel::~PredictionsPanel() {
    m_stop->store(true);
    ++m_latestId;
    m_pool.waitForDone();
}

void PredictionsPanel::setUnavailable(const QString& reason) {
    clear(reason);
    m_generateControls->setVisible(false);
}

void PredictionsPanel::clear(const QString& message) {
    ++m_latestId; // a prediction still running is dropped
    m_bars->clear(message);
}

void PredictionsPanel::setAnalysis(std::shared_ptr<const LoadedModel> model,
                                   std::shared_ptr<const Analysis> analysis) {
    const quint64 id = ++m_latestId;
    if (!model || !analysis || analysis->tokenCount() == 0) {
        m_bars->clear();
        return;
    }
    const bool causal = model->config().causal;
    m_generateControls->setVisible(causal);
    m_caption->setText(causal ? tr("Next token:") : tr("Masked token:"));
    if (!model->languageModelHead()) {
        m_bars->clear(tr("No predictions: %1").arg(model->languageModelHeadProblem()));
        return;
    }
    int position = analysis->tokenCount() - 1;
    if (!causal) {
        const std::vector<int> masks = maskPositions(*model, *analysis);
        if (masks.empty()) {
            m_bars->clear(tr("Put a mask token (%1) in the text to see what the model expects "
                             "there.")
                              .arg(model->tokenizer() &&
                                           model->tokenizer()->tokenToId(QStringLiteral("<mask>"))
                                       ? QStringLiteral("<mask>")
                                       : QStringLiteral("[MASK]")));
            return;
        }
        position = masks.front();
        m_caption->setText(tr("Token %1 ([MASK]):").arg(position));
    }
    const int k = m_topK;
    m_pool.start(QRunnable::create([this, model, analysis, id, position, k] {
        auto result =
            std::make_shared<Result<Prediction>>(predictTokens(*model, *analysis, position, k));
        QMetaObject::invokeMethod(
            this, [this, id, result] { onPrediction(id, result); }, Qt::QueuedConnection);
    }));
}

void PredictionsPanel::onPrediction(quint64 id, std::shared_ptr<Result<Prediction>> result) {
    if (id != m_latestId) return; // a newer analysis came in meanwhile
    if (!result->ok())
        m_bars->clear(result->message());
    else
        m_bars->setPrediction(result->value());
    emit predictionsReady();
}

void PredictionsPanel::setGenerationOptions(int tokens, double temperature, int seed) {
    m_tokens->setValue(tokens);
    m_temperature->setValue(temperature);
    m_seed->setValue(seed);
}

int PredictionsPanel::tokensToGenerate() const {
    return m_tokens->value();
}

SamplingOptions PredictionsPanel::samplingOptions() const {
    SamplingOptions o;
    o.greedy = m_temperature->value() <= 0;
    o.temperature = o.greedy ? 1.0 : m_temperature->value();
    o.seed = uint64_t(m_seed->value());
    return o;
}

void PredictionsPanel::setGenerating(bool on) {
    if (m_generating == on) return;
    m_generating = on;
    m_generate->setText(on ? tr("&Stop") : tr("&Generate"));
    m_tokens->setEnabled(!on);
    m_temperature->setEnabled(!on);
    m_seed->setEnabled(!on && m_temperature->value() > 0);
    emit generatingChanged(on);
}

void PredictionsPanel::stopGeneration() {
    m_stop->store(true);
}

void PredictionsPanel::startGeneration(std::shared_ptr<const LoadedModel> model,
                                       const QString& text,
                                       std::shared_ptr<const Analysis> previous) {
    if (m_generating || !model) return;
    m_stop = std::make_shared<std::atomic<bool>>(false);
    setGenerating(true);
    AnalysisRequest prompt;
    prompt.text = text;
    prompt.keep = KeepOptions::attentionOnly(); // as the window's analyses: plus Q/K/V
    prompt.keep.qkv = true;
    if (previous && previous->producedBy == model->instanceId()) prompt.previous = previous;
    // Positions left after the prompt bound the count; the model says so if none are.
    const int tokens = m_tokens->value();
    const SamplingOptions options = samplingOptions();
    const int delayMs = m_stepDelayMs;
    auto stop = m_stop;
    m_pool.start(QRunnable::create([this, model, prompt, tokens, options, delayMs, stop] {
        QElapsedTimer pace;
        pace.start();
        auto result = generate(
            *model, prompt, tokens, options,
            [this, stop, delayMs, &pace](int, int, const std::shared_ptr<const Analysis>& a) {
                if (stop->load()) return false;
                const double ms = double(pace.nsecsElapsed()) / 1e6; // this step's computation
                // Token by token at a pace a person can follow, however fast the model is.
                const qint64 wait = delayMs - pace.elapsed();
                if (wait > 0) QThread::msleep(ulong(wait));
                QMetaObject::invokeMethod(
                    this,
                    [this, a, stop, ms] {
                        if (!stop->load()) emit generationStep(a, ms);
                    },
                    Qt::QueuedConnection);
                pace.restart();
                return !stop->load();
            });
        const QString error = result ? QString() : result.message();
        QMetaObject::invokeMethod(
            this,
            [this, error] {
                setGenerating(false);
                emit generationFinished(error == QLatin1String("cancelled") ? QString() : error);
            },
            Qt::QueuedConnection);
    }));
}

} // namespace attnscope
