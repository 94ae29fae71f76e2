#include "diff_view.h"

#include "figures.h"
#include "head_requests.h"
#include "heads/head_spin_box.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>
#include <optional>

namespace attnscope {

namespace {
QSpinBox* spin(const QString& name) {
    auto* s = new QSpinBox;
    s->setObjectName(name);
    return s;
}
} // namespace

DiffView::DiffView(QWidget* parent) : QWidget(parent) {
    m_requests = new HeadRequests(this);
    connect(m_requests, &HeadRequests::delivered, this, &DiffView::figureShown);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    auto* top = new QHBoxLayout;
    m_mode = new QComboBox;
    m_mode->setObjectName(QStringLiteral("diffMode"));
    m_mode->addItems({tr("Head A − head B"), tr("This text − another text (same head)")});
    auto* modeLabel = new QLabel(tr("&Difference"));
    modeLabel->setBuddy(m_mode);
    top->addWidget(modeLabel);
    top->addWidget(m_mode);

    m_layerA = spin(QStringLiteral("diffLayerA"));
    m_headA = new HeadSpinBox;
    m_headA->setObjectName(QStringLiteral("diffHeadA"));
    m_layerB = spin(QStringLiteral("diffLayerB"));
    m_headB = new HeadSpinBox;
    m_headB->setObjectName(QStringLiteral("diffHeadB"));
    top->addWidget(new QLabel(tr("A: layer")));
    top->addWidget(m_layerA);
    top->addWidget(new QLabel(tr("head")));
    top->addWidget(m_headA);
    m_headsBox = new QWidget;
    auto* hb = new QHBoxLayout(m_headsBox);
    hb->setContentsMargins(0, 0, 0, 0);
    hb->addWidget(new QLabel(tr("B: layer")));
    hb->addWidget(m_layerB);
    hb->addWidget(new QLabel(tr("head")));
    hb->addWidget(m_headB);
    top->addWidget(m_headsBox);
    m_inputsBox = new QWidget;
    auto* ib = new QHBoxLayout(m_inputsBox);
    ib->setContentsMargins(0, 0, 0, 0);
    auto* againstLabel = new QLabel(tr("&Other text"));
    m_againstEdit = new QLineEdit;
    m_againstEdit->setObjectName(QStringLiteral("diffAgainst"));
    m_againstEdit->setPlaceholderText(tr("e.g. the same sentence with one word changed"));
    againstLabel->setBuddy(m_againstEdit);
    ib->addWidget(againstLabel);
    ib->addWidget(m_againstEdit, 1);
    top->addWidget(m_inputsBox, 1);
    m_inputsBox->hide();
    top->addStretch(0);
    layout->addLayout(top);

    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("diffMessage"));
    m_message->setWordWrap(true);
    m_message->setStyleSheet(
        QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 4px 10px;"
                       " border: 1px solid #e0c36a; border-radius: 3px; }"));
    m_message->hide();
    layout->addWidget(m_message);
    m_heatmap = new HeatmapWidget;
    m_heatmap->setObjectName(QStringLiteral("diffHeatmap"));
    layout->addWidget(m_heatmap, 1);

    for (QSpinBox* s : std::initializer_list<QSpinBox*>{m_layerA, m_headA, m_layerB, m_headB})
        connect(s, &QSpinBox::valueChanged, this, &DiffView::refresh);
    connect(m_mode, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_headsBox->setVisible(i == 0);
        m_inputsBox->setVisible(i == 1);
        refresh();
    });
    connect(m_againstEdit, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_against.reset();
        m_againstError.clear();
        refresh();
        emit againstTextChanged(text);
    });
    connect(m_heatmap, &HeatmapWidget::cellHovered, this,
            [this](int r, int c, float) { emit cellHovered(r, c); });
}

void DiffView::setMode(Mode mode) {
    m_mode->setCurrentIndex(mode == Mode::Heads ? 0 : 1);
}

DiffView::Mode DiffView::mode() const {
    return m_mode->currentIndex() == 0 ? Mode::Heads : Mode::Inputs;
}

void DiffView::setHeads(int layerA, int headA, int layerB, int headB) {
    // The spin boxes' ranges come with the first analysis; until then the heads wait.
    if (!m_analysis) m_pendingHeads = std::array<int, 4>{layerA, headA, layerB, headB};
    const QSignalBlocker b1(m_layerA), b2(m_headA), b3(m_layerB), b4(m_headB);
    m_layerA->setValue(layerA);
    m_headA->setValue(headA);
    m_layerB->setValue(layerB);
    m_headB->setValue(headB);
    refresh();
}

void DiffView::setAgainstText(const QString& text) {
    m_againstEdit->setText(text);
}

QString DiffView::againstText() const {
    return m_againstEdit->text();
}

std::pair<int, int> DiffView::headA() const {
    if (m_pendingHeads) return {(*m_pendingHeads)[0], (*m_pendingHeads)[1]};
    return {m_layerA->value(), m_headA->value()};
}

std::pair<int, int> DiffView::headB() const {
    if (m_pendingHeads) return {(*m_pendingHeads)[2], (*m_pendingHeads)[3]};
    return {m_layerB->value(), m_headB->value()};
}

QString DiffView::message() const {
    return m_message->isVisible() ? m_message->text() : QString();
}

void DiffView::setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    const bool first = !m_analysis;
    m_analysis = std::move(analysis);
    m_state = state;
    if (m_analysis) {
        const int layers = std::max(0, m_analysis->layerCount() - 1);
        const int heads = std::max(0, m_analysis->headCount() - 1);
        const QSignalBlocker b1(m_layerA), b2(m_headA), b3(m_layerB), b4(m_headB);
        for (QSpinBox* s : {m_layerA, m_layerB})
            s->setRange(0, layers);
        for (HeadSpinBox* s : {m_headA, m_headB})
            s->setHeadCount(heads + 1);
        if (first && m_pendingHeads) {
            const auto [layerA, headA, layerB, headB] = *m_pendingHeads;
            m_layerA->setValue(layerA);
            m_headA->setValue(headA);
            m_layerB->setValue(layerB);
            m_headB->setValue(headB);
        } else if (first) {
            m_headB->setValue(std::min(1, heads));
        }
        m_pendingHeads.reset();
    }
    refresh();
}

void DiffView::setAgainstAnalysis(std::shared_ptr<const Analysis> against) {
    m_against = std::move(against);
    m_againstError.clear();
    refresh();
}

void DiffView::setInputsUnavailable(const QString& reason) {
    m_inputsUnavailable = reason;
    refresh();
}

void DiffView::setAgainstError(const QString& message) {
    m_against.reset();
    m_againstError = message;
    refresh();
}

namespace {
// The difference figure, or why there is none; built off the GUI thread when a head is lazy.
struct DifferenceContent {
    std::optional<HeatmapRenderer> figure;
    QString title;
    QString error;
};
} // namespace

void DiffView::refresh() {
    auto fail = [this](const QString& why) {
        m_requests->cancel();
        m_message->setText(why);
        m_message->show();
        m_heatmap->clear(QString());
    };
    if (!m_analysis || m_analysis->tokenCount() == 0) return fail(tr("No attention to show yet."));
    const int layerA = m_layerA->value(), headA = m_headA->value();
    const HeadList readA = paneHeads(*m_analysis, m_state, layerA, headA);
    std::function<DifferenceContent()> work;
    QString computing;
    HeldHeads held;
    if (mode() == Mode::Heads) {
        const int layerB = m_layerB->value(), headB = m_headB->value();
        HeadList read = readA;
        for (const auto& h : paneHeads(*m_analysis, m_state, layerB, headB))
            read.push_back(h);
        held.add(*m_analysis, read);
        computing = HeadRequests::computingText(*m_analysis, read);
        work = [analysis = m_analysis, state = m_state, layerA, headA, layerB, headB] {
            const ViewMatrix a = paneMatrix(*analysis, state, layerA, headA);
            const ViewMatrix b = paneMatrix(*analysis, state, layerB, headB);
            DifferenceContent c;
            auto figure = differenceFigure(a, b, state);
            if (!figure) {
                c.error = figure.message();
                return c;
            }
            c.title = figure->title();
            c.figure = std::move(*figure);
            return c;
        };
    } else {
        if (!m_inputsUnavailable.isEmpty()) return fail(m_inputsUnavailable);
        if (m_againstEdit->text().trimmed().isEmpty())
            return fail(tr("Type the other text above: the figure shows this text's attention "
                           "minus the other's, for the same head."));
        if (!m_against)
            return fail(m_againstError.isEmpty()
                            ? tr("Computing the other text…")
                            : tr("The other text could not be analysed: %1").arg(m_againstError));
        const HeadList readOther = paneHeads(*m_against, m_state, layerA, headA);
        held.add(*m_analysis, readA).add(*m_against, readOther);
        computing = HeadRequests::computingText(*m_analysis, readA);
        work = [analysis = m_analysis, against = m_against, state = m_state, layerA, headA] {
            ViewMatrix b = paneMatrix(*against, state, layerA, headA);
            b.title = QStringLiteral("“%1”").arg(against->text.left(40));
            const ViewMatrix a = paneMatrix(*analysis, state, layerA, headA);
            ViewMatrix named = a;
            named.title = QStringLiteral("“%1”").arg(analysis->text.left(40));
            DifferenceContent c;
            auto figure = differenceFigure(named, b, state);
            if (!figure) {
                c.error = figure.message();
                return c;
            }
            c.title = a.title + QStringLiteral(": ") + figure->title();
            c.figure = std::move(*figure);
            return c;
        };
    }
    const bool now = m_requests->run<DifferenceContent>(std::move(held), work, [this](DifferenceContent c) {
        if (!c.figure) {
            m_message->setText(c.error);
            m_message->show();
            m_heatmap->clear(QString());
            return;
        }
        m_message->hide();
        m_heatmap->setOptions(c.figure->options());
        m_heatmap->setData(c.figure->matrix(), c.figure->rowLabels(), c.figure->columnLabels(),
                           c.title);
    });
    if (!now) {
        m_message->hide();
        m_heatmap->clear(computing);
    }
}

bool DiffView::isComputing() const {
    return m_requests->isComputing();
}

} // namespace attnscope
