#include "head_table_panel.h"
#include "file_limits.h"

#include "background_job.h"
#include "head_requests.h"

#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStringDecoder>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

namespace attnscope {

namespace {

struct FileOutput {
    Result<std::vector<HeadStatistics>> statistics;
    int inputs = 0;
};

} // namespace

HeadTablePanel::HeadTablePanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("headTablePanel"));
    auto* layout = new QVBoxLayout(this);
    m_caption = new QLabel;
    m_caption->setObjectName(QStringLiteral("headTableCaption"));
    m_caption->setWordWrap(true);
    layout->addWidget(m_caption);

    auto* bar = new QHBoxLayout;
    m_like = new QPushButton(tr("Heads like this"));
    m_like->setObjectName(QStringLiteral("headsLike"));
    m_like->setToolTip(tr("Sort every head by its Jensen–Shannon divergence to the selected head "
                          "on this text (Clark et al. 2019)"));
    m_fromFile = new QPushButton(tr("Over a file…"));
    m_fromFile->setObjectName(QStringLiteral("statisticsFromFile"));
    m_fromFile->setToolTip(tr("Average the statistics over the lines of a text file, one input "
                              "per line"));
    m_currentText = new QPushButton(tr("This text"));
    m_currentText->setObjectName(QStringLiteral("statisticsCurrentText"));
    m_currentText->setEnabled(false);
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setEnabled(false);
    bar->addWidget(m_like);
    bar->addWidget(m_fromFile);
    bar->addWidget(m_currentText);
    bar->addWidget(m_cancel);
    bar->addStretch(1);
    layout->addLayout(bar);
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("statisticsProgress"));
    m_progress->setFormat(tr("%v / %m inputs"));
    m_progress->setVisible(false);
    layout->addWidget(m_progress);

    m_model = new HeadTableModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(HeadTableModel::SortRole);
    m_view = new QTableView;
    m_view->setObjectName(QStringLiteral("headTable"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(HeadTableModel::LayerColumn, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->setVisible(true); // "L1 H2": the head, whatever is scrolled
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->horizontalHeader()->setMinimumSectionSize(24);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->setWordWrap(false);
    m_view->setAlternatingRowColors(true);
    layout->addWidget(m_view, 1);

    m_job = new BackgroundJob(this);
    m_statisticsRequests = new HeadRequests(this);
    m_likeRequests = new HeadRequests(this);
    m_statisticsRequests->setObjectName(QStringLiteral("statisticsRequests"));
    m_likeRequests->setObjectName(QStringLiteral("likeRequests"));
    for (HeadRequests* r : {m_statisticsRequests, m_likeRequests})
        connect(r, &HeadRequests::delivered, this, &HeadTablePanel::headsComputed);
    connect(m_job, &BackgroundJob::progressChanged, this, [this](int done, int total) {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
    });
    connect(m_job, &BackgroundJob::runningChanged, this, [this](bool running) {
        m_progress->setVisible(running);
        m_cancel->setEnabled(running);
        m_fromFile->setEnabled(!running);
    });
    connect(m_like, &QPushButton::clicked, this, [this] {
        const QModelIndexList rows = m_view->selectionModel()->selectedRows();
        if (rows.isEmpty()) {
            const auto [layer, head] = m_currentHead ? m_currentHead() : std::pair{0, 0};
            showHeadsLike(layer, head);
            return;
        }
        showHeadsLike(rows.first().data(HeadTableModel::LayerRole).toInt(),
                      rows.first().data(HeadTableModel::HeadRole).toInt());
    });
    connect(m_fromFile, &QPushButton::clicked, this, &HeadTablePanel::chooseFile);
    connect(m_currentText, &QPushButton::clicked, this, &HeadTablePanel::showCurrentText);
    connect(m_cancel, &QPushButton::clicked, this, &HeadTablePanel::cancel);
    const auto activate = [this](const QModelIndex& index) {
        if (index.isValid())
            emit headActivated(index.data(HeadTableModel::LayerRole).toInt(),
                               index.data(HeadTableModel::HeadRole).toInt());
    };
    connect(m_view, &QTableView::activated, this, activate);
    connect(m_view, &QTableView::clicked, this, activate);
    refresh();
}

void HeadTablePanel::setModel(std::shared_ptr<const LoadedModel> model) {
    m_loaded = std::move(model);
    m_file.clear();
    m_job->cancel();
    m_shown.reset();
    refresh();
}

void HeadTablePanel::setAnalysis(std::shared_ptr<const Analysis> analysis) {
    m_analysis = std::move(analysis);
    refresh();
}

bool HeadTablePanel::isBusy() const {
    return m_job->isRunning();
}

bool HeadTablePanel::isComputingHeads() const {
    return m_statisticsRequests->isComputing() || m_likeRequests->isComputing();
}

QString HeadTablePanel::caption() const {
    return m_caption->text();
}

QString HeadTablePanel::distanceUnit() const {
    return m_loaded && m_loaded->config().modality == Modality::Image ? QStringLiteral("px")
                                                                      : QStringLiteral("tokens");
}

void HeadTablePanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh();
}

void HeadTablePanel::refresh() {
    m_like->setEnabled(!showsFile() && m_analysis && m_analysis->tokenCount() >= 2 &&
                       !m_statisticsRequests->isComputing());
    m_currentText->setEnabled(showsFile());
    m_fromFile->setEnabled(m_loaded && m_loaded->config().modality == Modality::Text &&
                           !m_job->isRunning());
    if (showsFile() || !isVisible() || m_shown == m_analysis) return;
    m_shown = m_analysis;
    if (!m_analysis || m_analysis->tokenCount() < 2) {
        m_statisticsRequests->cancel();
        m_model->setStatistics({}, distanceUnit());
        m_caption->setText(tr("Head statistics need a text of at least 2 tokens."));
        return;
    }
    const TokenClasses classes =
        tokenClasses(*m_analysis, m_loaded ? m_loaded->tokenizer() : nullptr,
                     m_loaded ? &m_loaded->config() : nullptr);
    int special = 0, punctuation = 0;
    for (size_t i = 0; i < classes.special.size(); ++i) {
        special += classes.special[i];
        punctuation += classes.punctuation[i];
    }
    m_textCaption = tr("This text: %1 tokens (%2 special, %3 punctuation). Entropy of a "
                       "uniform row: log T = %4 nats. Click a column to sort; click a head "
                       "to show it.")
                        .arg(m_analysis->tokenCount())
                        .arg(special)
                        .arg(punctuation)
                        .arg(std::log(double(m_analysis->tokenCount())), 0, 'f', 2);
    // Every head is read: with lazy heads (core/lazy_heads.h) that is computed off the GUI
    // thread, the caption saying so meanwhile; eager analyses fill the table at once.
    const HeadList heads = allHeads(*m_analysis);
    const bool now = m_statisticsRequests->request<std::vector<HeadStatistics>>(
        m_analysis, heads,
        [classes](const Analysis& analysis) {
            return headStatistics(analysis, classes, &HeadRequests::isCurrentWorkStale);
        },
        [this, unit = distanceUnit()](std::vector<HeadStatistics> statistics) {
            m_model->setStatistics(std::move(statistics), unit);
            m_caption->setText(m_textCaption);
            m_like->setEnabled(true);
        });
    if (!now) {
        m_like->setEnabled(false); // similar heads fill a column of the table still to come
        m_model->setStatistics({}, distanceUnit());
        m_caption->setText(tr("Computing the statistics of %1 heads of %2 tokens…")
                               .arg(heads.size())
                               .arg(m_analysis->tokenCount()));
    }
}

void HeadTablePanel::showCurrentText() {
    m_job->cancel();
    m_file.clear();
    m_shown.reset();
    refresh();
}

void HeadTablePanel::cancel() {
    if (!m_job->isRunning()) return;
    m_job->cancel();
    m_caption->setText(tr("Statistics over the file cancelled."));
    m_file.clear();
    m_shown.reset();
    emit fileStatisticsDone();
    m_currentText->setEnabled(false);
    refresh();
}

void HeadTablePanel::chooseFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Inputs, one per line"), QString(),
                                                      tr("Text files (*.txt);;All files (*)"));
    if (!path.isEmpty()) startFileStatistics(path);
}

void HeadTablePanel::startFileStatistics(const QString& path) {
    if (!m_loaded) return;
    auto bytes = readBoundedFile(path, kMaxTextInputBytes, tr("input list"), true);
    if (!bytes) {
        m_caption->setText(tr("Cannot read %1: %2").arg(path, bytes.message()));
        emit fileStatisticsDone();
        return;
    }
    QStringDecoder decoder(QStringDecoder::Utf8);
    std::vector<AnalysisRequest> requests;
    for (QString line : QString(decoder.decode(*bytes)).split(QLatin1Char('\n'))) {
        if (line.endsWith(QLatin1Char('\r'))) line.chop(1);
        if (line.trimmed().isEmpty()) continue;
        AnalysisRequest r;
        r.text = line;
        requests.push_back(std::move(r));
    }
    if (requests.empty()) {
        m_caption->setText(tr("%1 has no inputs (one per line).").arg(path));
        emit fileStatisticsDone();
        return;
    }
    m_file = path;
    m_statisticsRequests->cancel(); // this text's statistics would replace the file's
    m_likeRequests->cancel();
    m_model->setStatistics({}, distanceUnit());
    m_caption->setText(tr("Computing statistics over %1 inputs of %2…")
                           .arg(requests.size())
                           .arg(QFileInfo(path).fileName()));
    m_progress->setRange(0, int(requests.size()));
    m_progress->setValue(0);
    refresh();
    auto model = m_loaded;
    m_job->start<FileOutput>(
        [model, requests = std::move(requests)](const ProgressCallback& progress) {
            FileOutput out{Error{}, 0};
            out.statistics = headStatisticsOverInputs(*model, requests, progress, &out.inputs);
            return out;
        },
        [this, path](FileOutput out) {
            if (!out.statistics) {
                m_caption->setText(
                    tr("%1: %2").arg(QFileInfo(path).fileName(), out.statistics.message()));
                m_file.clear();
                m_shown.reset();
            } else {
                m_model->setStatistics(std::move(*out.statistics), distanceUnit());
                m_caption->setText(tr("Mean over %1 inputs (lines) of %2; each input counts "
                                      "once. 'This text' goes back.")
                                       .arg(out.inputs)
                                       .arg(QFileInfo(path).fileName()));
            }
            refresh();
            emit fileStatisticsDone();
        });
}

void HeadTablePanel::showHeadsLike(int layer, int head) {
    if (showsFile() || !m_analysis || m_analysis->tokenCount() < 2) return;
    if (layer < 0 || head < 0 || layer >= m_analysis->layerCount() ||
        head >= m_analysis->headCount())
        return;
    if (m_statisticsRequests->isComputing()) return; // no table yet to add the column to
    // Every head against this one: computed off the GUI thread when heads are lazy.
    const bool now = m_likeRequests->request<std::vector<SimilarHead>>(
        m_analysis, allHeads(*m_analysis),
        [layer, head](const Analysis& analysis) { return headsLike(analysis, layer, head); },
        [this, analysis = m_analysis, layer, head](std::vector<SimilarHead> similar) {
            if (analysis != m_analysis || showsFile()) return;
            if (!m_textCaption.isEmpty()) m_caption->setText(m_textCaption);
            std::vector<double> divergences(size_t(analysis->layerCount() * analysis->headCount()));
            for (const SimilarHead& s : similar)
                divergences[size_t(s.layer * analysis->headCount() + s.head)] = s.distance;
            m_model->setSimilarity(layer, head, std::move(divergences));
            m_view->sortByColumn(HeadTableModel::LikeColumn, Qt::AscendingOrder);
            const int row = m_model->rowOf(layer, head);
            if (row >= 0) m_view->selectRow(m_proxy->mapFromSource(m_model->index(row, 0)).row());
            m_view->scrollToTop();
            m_view->scrollTo(m_proxy->index(0, HeadTableModel::LikeColumn)); // the column sorted by
        });
    if (!now)
        m_caption->setText(tr("Comparing every head with layer %1, head %2 (%3 tokens)…")
                               .arg(layer)
                               .arg(head)
                               .arg(m_analysis->tokenCount()));
}

} // namespace attnscope
