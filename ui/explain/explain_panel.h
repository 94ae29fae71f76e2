#pragma once
// The "Explain" panel: the selected head's attention for one query token, step by step
// (ExplainRenderer), computed off the GUI thread from the analysis the window shows. The query
// token is picked in the panel (list, arrows, Up/Down, a click on a key row) or by clicking a
// heatmap row; layer and head follow the window. installExplainDock() adds it to the window as
// a dock with a View menu toggle; while the dock is open the analyses keep what it needs.
#include "explain_renderer.h"

#include <QThreadPool>
#include <QWidget>
#include <atomic>
#include <memory>

class QComboBox;
class QDockWidget;
class QLabel;
class QMainWindow;
class QMenu;
class QScrollArea;

namespace attnscope {

class AnalysisController;

// Paints an ExplainRenderer at its own width, as tall as the figure needs (put it in a
// QScrollArea); exact values in tooltips and through hoverTextChanged.
class ExplainWidget : public QWidget {
    Q_OBJECT
public:
    explicit ExplainWidget(QWidget* parent = nullptr);
    void setFigure(ExplainFigure figure);
    void setChrome(const ChromePalette& chrome);
    void setPlaceholder(const QString& text); // shown instead of a figure
    const ExplainRenderer& renderer() const { return m_renderer; }
    QString placeholder() const { return m_placeholder; }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override { return {760, 900}; }

signals:
    void hoverTextChanged(const QString& text);
    void keyRowClicked(int token);
    void stepToken(int delta); // Up / Down

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void updateHeight();
    ExplainRenderer m_renderer;
    QString m_placeholder;
};

class ExplainPanel : public QWidget {
    Q_OBJECT
public:
    explicit ExplainPanel(QWidget* parent = nullptr);
    ~ExplainPanel() override; // waits for a running computation

    void setModel(std::shared_ptr<const LoadedModel> model);
    // What the window shows; recomputed (off the GUI thread) when anything changed.
    void setView(std::shared_ptr<const Analysis> analysis, int layer, int head, bool dark);
    void setToken(int token); // query token; clamped to the analysis
    int token() const { return m_token; }
    ExplainWidget* figureWidget() const { return m_widget; }
    // Writes the figure on screen (.png, .svg or .pdf) at its full height.
    Status exportFigure(const QString& path, int width = 900) const;
    bool isComputing() const { return m_running; }

signals:
    void figureChanged(); // a new explanation is shown
    void hoverTextChanged(const QString& text);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void schedule();
    void chooseExportFile();
    void updateTokenList();

    std::shared_ptr<const LoadedModel> m_model;
    std::shared_ptr<const Analysis> m_analysis;
    int m_layer = 0, m_head = 0, m_token = -1;
    bool m_dark = false;
    QComboBox* m_tokens = nullptr;
    QLabel* m_status = nullptr;
    QScrollArea* m_scroll = nullptr;
    ExplainWidget* m_widget = nullptr;

    // The latest request wins: older results are dropped. A layer's weights are kept for the
    // next request on the same layer (stepping through tokens and heads copies them once).
    QThreadPool m_pool;
    std::shared_ptr<std::atomic<quint64>> m_latest = std::make_shared<std::atomic<quint64>>(0);
    bool m_running = false;
    struct WeightsCache {
        quint64 model = 0;
        int layer = -1;
        std::shared_ptr<const std::vector<HeadWeights>> weights;
    } m_cache;
    QString m_shownKey; // what the figure on screen explains (model, analysis, layer, head, token)
};

// Adds the panel as a dock ("Explain", hidden at first, View menu entry with Ctrl+8) fed with
// the controller's model; the window calls ExplainPanel::setView() with what it shows. While
// the dock is visible the controller keeps the attention inputs.
ExplainPanel* installExplainDock(QMainWindow* window, AnalysisController* controller,
                                 QMenu* viewMenu);

} // namespace attnscope
