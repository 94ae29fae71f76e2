#include "rollout_panel.h"

#include "analyses/norms.h"

#include "analyses/flow.h"
#include "background_job.h"
#include "figures.h"
#include "heatmap_widget.h"
#include "links/links_widget.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

namespace attnscope {

namespace {

struct JobOutput {
    Result<Mat> matrix; // [T, T]
    double ms = 0;
};

} // namespace

RolloutPanel::RolloutPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("rolloutPanel"));
    auto* layout = new QVBoxLayout(this);
    auto* about = new QLabel(
        tr("<b>Attention rollout</b> multiplies the layers' attention, each with the residual "
           "added: Â = rownorm(fuse<sub>heads</sub>(A) + I), R = Â<sub>L</sub> ⋯ Â<sub>1</sub>. "
           "<b>Attention flow</b> is the maximum flow from each output token to each input token "
           "through the layers with capacities Â (Abnar &amp; Zuidema 2020). <b>Norms</b>: how "
           "large what token j sends to token i is, ‖α<sub>ij</sub> f(x<sub>j</sub>)‖ with "
           "f(x) = (x W<sub>V</sub> + b<sub>V</sub>) W<sub>O</sub>, for one layer or head "
           "(Kobayashi et al. 2020). Rows: output tokens; columns: input tokens."));
    about->setWordWrap(true);
    about->setTextFormat(Qt::RichText);
    layout->addWidget(about);

    auto* bar = new QHBoxLayout;
    m_kind = new QComboBox;
    m_kind->setObjectName(QStringLiteral("rolloutKind"));
    m_kind->addItems({tr("Rollout"), tr("Flow"), tr("Norms")});
    m_kind->setItemData(2,
                        tr("Norm-based attention (Kobayashi et al. 2020): how large what token j "
                           "sends to token i is, ||α_ij f(x_j)||, not only its weight"),
                        Qt::ToolTipRole);
    m_normsLayer = new QSpinBox;
    m_normsLayer->setObjectName(QStringLiteral("normsLayer"));
    m_normsLayer->setPrefix(tr("layer "));
    m_normsLayer->setRange(0, 0);
    m_normsHead = new QComboBox;
    m_normsHead->setObjectName(QStringLiteral("normsHead"));
    m_normsHead->addItem(tr("whole layer"));
    m_fusion = new QComboBox;
    m_fusion->setObjectName(QStringLiteral("rolloutFusion"));
    m_fusion->addItems({tr("mean"), tr("max"), tr("min")});
    m_fusion->setToolTip(tr("How the heads of a layer are combined before adding I"));
    m_discard = new QDoubleSpinBox;
    m_discard->setObjectName(QStringLiteral("rolloutDiscard"));
    m_discard->setRange(0.0, 0.99);
    m_discard->setSingleStep(0.05);
    m_discard->setDecimals(2);
    m_discard->setToolTip(tr("Share of each layer's lowest fused weights set to 0 before adding "
                             "I, the first token's column kept (as vit-explain)"));
    m_compute = new QPushButton(tr("Compute flow"));
    m_compute->setObjectName(QStringLiteral("computeFlow"));
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setObjectName(QStringLiteral("cancelFlow"));
    m_cancel->setEnabled(false);
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("flowProgress"));
    m_progress->setTextVisible(true);
    m_progress->setFormat(tr("attention flow: %p%"));
    m_progress->setVisible(false);
    m_display = new QComboBox;
    m_display->setObjectName(QStringLiteral("rolloutDisplay"));
    m_display->addItems({tr("Heatmap"), tr("Token links")});
    bar->addWidget(m_kind);
    bar->addWidget(m_display);
    bar->addWidget(m_normsLayer);
    bar->addWidget(m_normsHead);
    bar->addWidget(new QLabel(tr("Heads:")));
    bar->addWidget(m_fusion);
    bar->addWidget(new QLabel(tr("Discard:")));
    bar->addWidget(m_discard);
    bar->addWidget(m_compute);
    bar->addWidget(m_cancel);
    bar->addStretch(1);
    layout->addLayout(bar);
    layout->addWidget(m_progress);
    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("rolloutStatus"));
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    m_heatmap = new HeatmapWidget;
    m_heatmap->setObjectName(QStringLiteral("rolloutHeatmap"));
    // The same options as `attnscope export --view rollout|flow|norms` (figures.h).
    HeatmapOptions options = derivedHeatmapOptions(ViewState{});
    m_heatmap->setOptions(options);
    layout->addWidget(m_heatmap, 3);
    m_links = new LinksWidget;
    m_links->setObjectName(QStringLiteral("rolloutLinks"));
    auto* linksScroll = new QScrollArea;
    linksScroll->setWidget(m_links);
    linksScroll->setWidgetResizable(true);
    linksScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_linksPage = linksScroll;
    m_linksPage->setVisible(false);
    layout->addWidget(m_linksPage, 3);
    m_grid = new HeatmapWidget;
    m_grid->setObjectName(QStringLiteral("rolloutPatchGrid"));
    options.mask = MaskMode::None;
    options.rowCaption = tr("patch row");
    options.columnCaption = tr("patch column");
    m_grid->setOptions(options);
    m_grid->setVisible(false);
    layout->addWidget(m_grid, 2);

    m_job = new BackgroundJob(this);
    connect(m_job, &BackgroundJob::progressChanged, this, [this](int done, int total) {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
    });
    connect(m_job, &BackgroundJob::runningChanged, this, [this](bool running) {
        m_cancel->setEnabled(running && kind() == Kind::Flow);
        m_progress->setVisible(running && kind() == Kind::Flow);
    });
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_display, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_heatmap->setVisible(i == 0);
        m_linksPage->setVisible(i == 1);
    });
    connect(m_fusion, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_normsLayer, &QSpinBox::valueChanged, this, [this] { recompute(); });
    connect(m_normsHead, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_discard, &QDoubleSpinBox::valueChanged, this, [this] { recompute(); });
    connect(m_compute, &QPushButton::clicked, this, &RolloutPanel::computeFlow);
    connect(m_cancel, &QPushButton::clicked, this, &RolloutPanel::cancel);
    recompute();
}

void RolloutPanel::setAnalysis(std::shared_ptr<const Analysis> analysis) {
    m_analysis = std::move(analysis);
    recompute();
}

void RolloutPanel::setDarkTheme(bool dark) {
    m_dark = dark;
    for (HeatmapWidget* view : {m_heatmap, m_grid}) {
        HeatmapOptions o = view->renderer().options();
        o.chrome = ChromePalette::forTheme(dark);
        view->setOptions(o);
    }
    if (m_result.size() > 0) {
        LinksRenderer links = m_links->renderer();
        links.setChrome(ChromePalette::forTheme(dark));
        std::vector<int> tokens(size_t(links.tokenCount()));
        for (size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = int(i);
        m_links->setContent(links, tokens);
    }
}

void RolloutPanel::setShowLinks(bool links) {
    m_display->setCurrentIndex(links ? 1 : 0);
}

void RolloutPanel::setImageModel(bool image) {
    m_imageModel = image;
}

void RolloutPanel::setModel(std::shared_ptr<const LoadedModel> model) {
    m_model = std::move(model);
    const QSignalBlocker b1(m_normsLayer), b2(m_normsHead);
    const int layers = m_model ? m_model->config().layers : 1;
    const int heads = m_model ? m_model->config().heads : 0;
    m_normsLayer->setRange(0, std::max(0, layers - 1));
    while (m_normsHead->count() > 1)
        m_normsHead->removeItem(1);
    for (int h = 0; h < heads; ++h)
        m_normsHead->addItem(tr("head %1").arg(h));
}

void RolloutPanel::setNormsLayerHead(int layer, int head) {
    {
        const QSignalBlocker b1(m_normsLayer), b2(m_normsHead);
        m_normsLayer->setValue(layer);
        m_normsHead->setCurrentIndex(std::clamp(head + 1, 0, m_normsHead->count() - 1));
    }
    recompute();
}

void RolloutPanel::setKind(Kind kind) {
    m_kind->setCurrentIndex(int(kind));
}

RolloutPanel::Kind RolloutPanel::kind() const {
    return Kind(m_kind->currentIndex());
}

void RolloutPanel::setOptions(const RolloutOptions& options) {
    const QSignalBlocker blockFusion(m_fusion), blockDiscard(m_discard);
    m_fusion->setCurrentIndex(int(options.fusion));
    m_discard->setValue(options.discard);
    recompute();
}

RolloutOptions RolloutPanel::options() const {
    return {HeadFusion(m_fusion->currentIndex()), m_discard->value()};
}

bool RolloutPanel::isBusy() const {
    return m_job->isRunning();
}

QString RolloutPanel::statusText() const {
    return m_status->text();
}

void RolloutPanel::setStatus(const QString& text) {
    m_status->setText(text);
}

void RolloutPanel::cancel() {
    const bool wasRunning = m_job->isRunning();
    m_job->cancel();
    if (wasRunning) setStatus(tr("Cancelled."));
}

void RolloutPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (m_dirty) recompute();
}

void RolloutPanel::recompute() {
    m_job->cancel();
    m_result = Mat();
    m_dirty = !isVisible(); // hidden: nothing computed until shown
    if (m_dirty) return;
    m_links->clear(QString());
    const bool flow = kind() == Kind::Flow;
    const bool norms = kind() == Kind::Norms;
    m_compute->setVisible(flow);
    m_cancel->setVisible(flow);
    m_normsLayer->setVisible(norms);
    m_normsHead->setVisible(norms);
    m_fusion->setEnabled(!norms); // the norms fuse no heads and discard nothing
    m_discard->setEnabled(!norms);
    m_grid->setVisible(false);
    const bool ready = m_analysis && m_analysis->tokenCount() > 0 && m_analysis->layerCount() > 0;
    m_compute->setEnabled(ready);
    if (!ready) {
        m_heatmap->clear(tr("Type a text (or open an image) to see rollout and flow."));
        setStatus(QString());
        return;
    }
    if (flow) {
        const int T = m_analysis->tokenCount();
        m_heatmap->clear(tr("Attention flow solves %1 maximum-flow problems on %2 layers: "
                            "press Compute flow.")
                             .arg(qint64(T) * T)
                             .arg(m_analysis->layerCount()));
        setStatus(QString());
        return;
    }
    if (norms) return computeNorms();
    auto analysis = m_analysis;
    const RolloutOptions options = this->options();
    setStatus(tr("Computing rollout…"));
    m_job->start<JobOutput>(
        [analysis, options](const ProgressCallback&) {
            QElapsedTimer timer;
            timer.start();
            auto r = attentionRollout(*analysis, options);
            return JobOutput{std::move(r), double(timer.nsecsElapsed()) / 1e6};
        },
        [this](JobOutput out) {
            if (!out.matrix) {
                m_heatmap->clear(out.matrix.message());
                setStatus(out.matrix.message());
                return;
            }
            showMatrix(*out.matrix,
                       tr("Attention rollout (%1 of heads, discard %2)")
                           .arg(headFusionName(this->options().fusion))
                           .arg(this->options().discard),
                       out.ms);
        });
}

void RolloutPanel::computeNorms() {
    // The analysis must come from this model (its values and W_O slices go together).
    if (!m_model || m_analysis->producedBy != m_model->instanceId()) {
        m_heatmap->clear(
            !m_model && m_analysis->producedBy == 0
                ? tr("Norm-based attention needs the model: this is attention computed elsewhere "
                     "(an attention file, opened without its model).")
                : tr("Norm-based attention needs the model that made this analysis."));
        setStatus(QString());
        return;
    }
    auto analysis = m_analysis;
    auto model = m_model;
    const int layer = std::min(m_normsLayer->value(), analysis->layerCount() - 1);
    const int head = m_normsHead->currentIndex() - 1; // -1: the whole layer
    setStatus(tr("Computing norm-based attention…"));
    m_job->start<JobOutput>(
        [analysis, model, layer, head](const ProgressCallback&) {
            QElapsedTimer timer;
            timer.start();
            auto norms = normBasedAttention(*analysis, *model);
            if (!norms) return JobOutput{Error{norms.message()}, 0};
            const Eigen::Index T = analysis->tokenCount();
            const Tensor& t = head < 0 ? norms->perLayer : norms->perHead;
            const int64_t index = head < 0 ? layer : int64_t(layer) * analysis->headCount() + head;
            Mat m = ConstMatMap(t.data.data() + index * T * T, T, T); // [T, T]
            return JobOutput{std::move(m), double(timer.nsecsElapsed()) / 1e6};
        },
        [this, layer, head](JobOutput out) {
            if (!out.matrix) {
                m_heatmap->clear(out.matrix.message());
                setStatus(out.matrix.message());
                return;
            }
            showMatrix(*out.matrix,
                       head < 0
                           ? tr("Norm-based attention, layer %1: ‖Σ_h α_ij f_h(x_j)‖").arg(layer)
                           : tr("Norm-based attention, layer %1 head %2: ‖α_ij f(x_j)‖")
                                 .arg(layer)
                                 .arg(head),
                       out.ms);
        });
}

void RolloutPanel::computeFlow() {
    if (!m_analysis || m_analysis->tokenCount() == 0) return;
    if (kind() != Kind::Flow) setKind(Kind::Flow);
    auto analysis = m_analysis;
    const RolloutOptions options = this->options();
    m_progress->setRange(0, analysis->tokenCount() * analysis->tokenCount());
    m_progress->setValue(0);
    setStatus(tr("Computing attention flow…"));
    m_job->start<JobOutput>(
        [analysis, options](const ProgressCallback& progress) {
            QElapsedTimer timer;
            timer.start();
            auto r = attentionFlow(*analysis, options, progress);
            return JobOutput{std::move(r), double(timer.nsecsElapsed()) / 1e6};
        },
        [this](JobOutput out) {
            if (!out.matrix) {
                setStatus(out.matrix.message());
                return;
            }
            showMatrix(*out.matrix,
                       tr("Attention flow (%1 of heads, discard %2)")
                           .arg(headFusionName(this->options().fusion))
                           .arg(this->options().discard),
                       out.ms);
        });
}

void RolloutPanel::showMatrix(const Mat& matrix, const QString& title, double ms) {
    m_result = matrix;
    const QStringList& labels = m_analysis->displayTokens;
    m_heatmap->setData(matrix, labels, labels, title);
    LinksRenderer links; // output tokens left, input tokens right, one line per weight
    links.setTokens(labels);
    links.setThreshold(0.05);
    links.setHeads({LinkHead{LinkWeights::above(matrix, linksKeptFloor(links.threshold())),
                             QColor(0, 114, 178), title}}); // Okabe–Ito blue
    links.setTitle(title);
    links.setChrome(ChromePalette::forTheme(m_dark));
    std::vector<int> tokens(size_t(matrix.rows()));
    for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = int(i);
    m_links->setContent(links, tokens);
    setStatus(tr("%1 tokens, %2 layers: %3 ms. Row = output token, column = input token; hover "
                 "a cell for its value.")
                  .arg(matrix.rows())
                  .arg(m_analysis->layerCount())
                  .arg(ms, 0, 'f', ms < 10 ? 2 : 0));
    // Image models: [CLS] then a square grid of patches.
    if (m_imageModel) {
        if (auto grid = clsPatchGrid(matrix)) {
            QStringList rows;
            for (Eigen::Index r = 0; r < grid->rows(); ++r)
                rows << QString::number(r);
            // As vit-explain shows it: divided by its maximum, so the cells read 0 … 1.
            const float peak = grid->maxCoeff();
            const Mat relative = peak > 0 ? Mat(*grid / peak) : *grid; // [side, side]
            m_grid->setData(
                relative, rows, rows,
                tr("[CLS] row on the patch grid, ÷ its maximum %1").arg(double(peak), 0, 'g', 3));
            m_grid->setVisible(true);
        }
    }
    emit resultShown();
}

} // namespace attnscope
