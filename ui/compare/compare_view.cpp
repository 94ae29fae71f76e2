#include "compare_view.h"

#include "figures.h"
#include "head_requests.h"
#include "heads/head_spin_box.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>
#include <optional>

namespace attnscope {

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
    m_requests = new HeadRequests(this);
    connect(m_requests, &HeadRequests::delivered, this, &CompareView::panesShown);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    auto* top = new QHBoxLayout;
    auto* countLabel = new QLabel(tr("&Panes"));
    m_count = new QComboBox;
    m_count->setObjectName(QStringLiteral("comparePaneCount"));
    m_count->addItems({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4")});
    countLabel->setBuddy(m_count);
    top->addWidget(countLabel);
    top->addWidget(m_count);
    auto* note = new QLabel(tr("One colour scale for all panes; hovering a cell outlines it in "
                               "every pane."));
    top->addSpacing(12);
    top->addWidget(note, 1);
    layout->addLayout(top);
    m_grid = new QGridLayout;
    m_grid->setSpacing(6);
    layout->addLayout(m_grid, 1);
    connect(m_count, &QComboBox::currentIndexChanged, this, [this](int i) { setPaneCount(i + 2); });
    setPaneCount(2);
}

void CompareView::setPaneCount(int count) {
    count = std::clamp(count, 2, 4);
    if (count == paneCount()) return;
    {
        const QSignalBlocker block(m_count);
        m_count->setCurrentIndex(count - 2);
    }
    while (paneCount() > count) {
        delete m_panes.back().box;
        m_panes.pop_back();
    }
    while (paneCount() < count) {
        const int index = paneCount();
        Pane p;
        p.box = new QWidget;
        auto* v = new QVBoxLayout(p.box);
        v->setContentsMargins(0, 0, 0, 0);
        auto* h = new QHBoxLayout;
        auto* layerLabel = new QLabel(tr("Pane %1  Layer").arg(index + 1));
        p.layer = new QSpinBox;
        p.layer->setObjectName(QStringLiteral("paneLayer%1").arg(index));
        layerLabel->setBuddy(p.layer);
        auto* headLabel = new QLabel(tr("Head"));
        p.head = new HeadSpinBox;
        p.head->setObjectName(QStringLiteral("paneHead%1").arg(index));
        headLabel->setBuddy(p.head);
        h->addWidget(layerLabel);
        h->addWidget(p.layer);
        h->addWidget(headLabel);
        h->addWidget(p.head);
        p.view = new QComboBox;
        p.view->setObjectName(QStringLiteral("paneView%1").arg(index));
        p.view->addItems({tr("Heatmap"), tr("Token links")});
        h->addWidget(p.view);
        h->addStretch(1);
        v->addLayout(h);
        p.stack = new QStackedWidget;
        p.heatmap = new HeatmapWidget;
        p.heatmap->setObjectName(QStringLiteral("comparePane%1").arg(index));
        p.heatmap->setShowTooltip(true);
        p.stack->addWidget(p.heatmap);
        p.links = new LinksWidget;
        p.links->setObjectName(QStringLiteral("compareLinks%1").arg(index));
        auto* scroll = new QScrollArea;
        scroll->setWidget(p.links);
        scroll->setWidgetResizable(true);
        scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        p.stack->addWidget(scroll);
        v->addWidget(p.stack, 1);
        const int layers = m_analysis ? m_analysis->layerCount() : 1;
        const int heads = m_analysis ? m_analysis->headCount() : 1;
        p.layer->setRange(0, std::max(0, layers - 1));
        p.head->setHeadCount(heads);
        p.layer->setValue(std::min(m_state.layer, std::max(0, layers - 1)));
        p.head->setValue(heads > 0 ? index % heads : 0);
        connect(p.layer, &QSpinBox::valueChanged, this, &CompareView::refresh);
        connect(p.head, &QSpinBox::valueChanged, this, &CompareView::refresh);
        connect(p.heatmap, &HeatmapWidget::cellHovered, this,
                [this, index](int r, int c, float) { onPaneHover(index, r, c); });
        connect(p.links, &LinksWidget::tokenHovered, this,
                [this, index](int token) { onPaneTokenHover(index, token); });
        connect(p.view, &QComboBox::currentIndexChanged, this, [this, index](int i) {
            m_panes[size_t(index)].stack->setCurrentIndex(i);
            refresh();
        });
        m_panes.push_back(p);
    }
    rebuild();
    refresh();
}

void CompareView::rebuild() {
    const bool square = paneCount() == 4;
    for (int i = 0; i < paneCount(); ++i) {
        m_grid->removeWidget(m_panes[size_t(i)].box);
        m_grid->addWidget(m_panes[size_t(i)].box, square ? i / 2 : 0, square ? i % 2 : i);
    }
}

void CompareView::setPaneHead(int pane, int layer, int head) {
    if (pane < 0 || pane >= paneCount()) return;
    if (!m_analysis) m_pendingHeads[pane] = {layer, head};
    Pane& p = m_panes[size_t(pane)];
    const QSignalBlocker b1(p.layer), b2(p.head);
    p.layer->setValue(layer);
    p.head->setValue(head);
    refresh();
}

void CompareView::setPaneView(int pane, PaneView view) {
    if (pane >= 0 && pane < paneCount()) m_panes[size_t(pane)].view->setCurrentIndex(int(view));
}

CompareView::PaneView CompareView::paneView(int pane) const {
    return PaneView(m_panes[size_t(pane)].view->currentIndex());
}

std::pair<int, int> CompareView::paneHead(int pane) const {
    const Pane& p = m_panes[size_t(pane)];
    return {p.layer->value(), p.head->value()};
}

void CompareView::setContent(std::shared_ptr<const Analysis> analysis, const ViewState& state) {
    const bool reshaped = !m_analysis || !analysis ||
                          m_analysis->layerCount() != analysis->layerCount() ||
                          m_analysis->headCount() != analysis->headCount();
    m_analysis = std::move(analysis);
    m_state = state;
    if (m_analysis && reshaped) {
        for (int i = 0; i < paneCount(); ++i) {
            Pane& p = m_panes[size_t(i)];
            const QSignalBlocker b1(p.layer), b2(p.head);
            p.layer->setRange(0, std::max(0, m_analysis->layerCount() - 1));
            p.head->setHeadCount(m_analysis->headCount());
            // A new model shape: pane i starts on head i of the selected layer, or on the
            // head restored from the last session where this model has it.
            const auto pending = m_pendingHeads.find(i);
            if (pending != m_pendingHeads.end() &&
                pending->second.first < m_analysis->layerCount() &&
                pending->second.second < m_analysis->headCount()) {
                p.layer->setValue(pending->second.first);
                p.head->setValue(pending->second.second);
                continue;
            }
            p.layer->setValue(std::min(state.layer, p.layer->maximum()));
            p.head->setValue(i % std::max(1, m_analysis->headCount()));
        }
        m_pendingHeads.clear();
    }
    refresh();
}

namespace {
// What the panes show, built off the GUI thread when a head is lazy (HeadRequests).
struct ComparePanesContent {
    std::vector<HeatmapRenderer> heatmaps;
    std::vector<std::vector<int>> tokens;            // per pane: visible index -> token index
    std::vector<std::optional<LinksRenderer>> links; // for panes showing token links
};
} // namespace

void CompareView::refresh() {
    if (!m_analysis || m_analysis->tokenCount() == 0) {
        m_requests->cancel();
        for (Pane& p : m_panes)
            p.heatmap->clear(tr("No attention to show yet."));
        return;
    }
    std::vector<std::pair<int, int>> heads;
    std::vector<bool> linkPanes;
    HeadList read;
    for (int i = 0; i < paneCount(); ++i) {
        heads.push_back(paneHead(i));
        linkPanes.push_back(paneView(i) == PaneView::Links);
        for (const auto& h :
             paneHeads(*m_analysis, m_state, heads.back().first, heads.back().second))
            read.push_back(h);
    }
    const bool now = m_requests->request<ComparePanesContent>(
        m_analysis, read,
        [state = m_state, heads, linkPanes](const Analysis& analysis) {
            ComparePanesContent c;
            c.heatmaps = comparePanes(analysis, state, heads);
            for (size_t i = 0; i < heads.size(); ++i) {
                c.tokens.push_back(
                    paneMatrix(analysis, state, heads[i].first, heads[i].second).tokens);
                c.links.emplace_back();
                if (linkPanes[i])
                    c.links.back() = paneLinksFigure(analysis, state, heads[i].first,
                                                     heads[i].second, &c.tokens.back());
            }
            return c;
        },
        [this, heads, threshold = m_state.linkThreshold](ComparePanesContent c) {
            for (int i = 0; i < paneCount() && size_t(i) < heads.size(); ++i) {
                Pane& p = m_panes[size_t(i)];
                p.tokens = c.tokens[size_t(i)];
                const HeatmapRenderer& r = c.heatmaps[size_t(i)];
                p.heatmap->setOptions(r.options());
                p.heatmap->setData(r.matrix(), r.rowLabels(), r.columnLabels(), r.title());
                // Links panes draw at the window's threshold (the widget keeps its own).
                p.links->setThreshold(threshold);
                if (c.links[size_t(i)]) p.links->setContent(*c.links[size_t(i)], p.tokens);
            }
        });
    if (now) return;
    for (int i = 0; i < paneCount(); ++i) {
        Pane& p = m_panes[size_t(i)];
        const QString text = HeadRequests::computingText(
            *m_analysis,
            paneHeads(*m_analysis, m_state, heads[size_t(i)].first, heads[size_t(i)].second));
        p.tokens.clear();
        p.heatmap->clear(text);
        if (linkPanes[size_t(i)]) p.links->clear(text, m_state.chrome());
    }
}

bool CompareView::isComputing() const {
    return m_requests->isComputing();
}

void CompareView::onPaneHover(int pane, int row, int column) {
    if (m_syncing) return;
    const std::vector<int>& tokens = m_panes[size_t(pane)].tokens;
    auto token = [&](int index) {
        return index >= 0 && size_t(index) < tokens.size() ? tokens[size_t(index)] : -1;
    };
    m_syncing = true;
    for (int i = 0; i < paneCount(); ++i)
        if (i != pane) {
            m_panes[size_t(i)].heatmap->setHoveredCell({row, column});
            m_panes[size_t(i)].links->setMarkedToken(token(row));
        }
    m_syncing = false;
    emit tokensHovered(token(row), token(column));
}

void CompareView::onPaneTokenHover(int pane, int token) {
    if (m_syncing) return;
    m_syncing = true;
    for (int i = 0; i < paneCount(); ++i) {
        if (i == pane) continue;
        Pane& p = m_panes[size_t(i)];
        const auto it = std::find(p.tokens.begin(), p.tokens.end(), token);
        const int index = it == p.tokens.end() ? -1 : int(it - p.tokens.begin());
        // A token marks its row and column: the cell where it meets itself.
        p.heatmap->setHoveredCell(index >= 0 ? HeatmapCell{index, index} : HeatmapCell{});
        p.links->setMarkedToken(token);
    }
    m_syncing = false;
    emit tokensHovered(token, -1);
}

void CompareView::markTokens(int queryToken, int keyToken) {
    m_syncing = true;
    for (Pane& p : m_panes) {
        auto index = [&](int token) {
            const auto it = std::find(p.tokens.begin(), p.tokens.end(), token);
            return it == p.tokens.end() ? -1 : int(it - p.tokens.begin());
        };
        const int r = index(queryToken), c = index(keyToken);
        p.heatmap->setHoveredCell(r >= 0 && c >= 0 ? HeatmapCell{r, c} : HeatmapCell{});
        p.links->setMarkedToken(queryToken);
    }
    m_syncing = false;
}

} // namespace attnscope
