#pragma once
// The attnscope main window: text at the top, layer/head selectors, the heatmap in the centre,
// model/token/timing/hover information in the status bar. Analysis runs through
// AnalysisController on a worker thread; errors appear in a red, non-modal banner.
#include "analysis_controller.h"
#include "heatmap_renderer.h"

#include <QMainWindow>
#include <memory>

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QScrollArea;
class QSpinBox;

namespace attnscope {

class HeatmapWidget;

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

    AnalysisController* controller() const { return m_controller; }
    HeatmapWidget* heatmap() const { return m_heatmap; }
    std::shared_ptr<const Analysis> analysis() const { return m_analysis; }
    int currentLayer() const;
    int currentHead() const;
    void setLayerHead(int layer, int head);
    QString errorText() const;

    // Writes the current heatmap (.png, .svg or .pdf) at the given size.
    Status exportCurrentHeatmap(const QString& path, QSize size) const;

private slots:
    void chooseModelFolder();
    void chooseExportFile();
    void onTextEdited();
    void onAnalysisReady(std::shared_ptr<const attnscope::Analysis> analysis);
    void onModelChanged(std::shared_ptr<const attnscope::LoadedModel> model);
    void onModelLoading(const QString& path);
    void onError(const QString& message);
    void onBusyChanged(bool busy);
    void onHover(int row, int column);
    void refreshHeatmap();
    void refreshOptions();

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void adjustTokenStripHeight();
    void showError(const QString& message);
    void hideError();
    void updateTokenStrip(int queryToken, int keyToken);
    void highlightTokenText(int queryToken, int keyToken);
    void updateSelectorRanges(int layers, int heads);

    AnalysisController* m_controller = nullptr;
    std::shared_ptr<const Analysis> m_analysis;
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
    QLabel* m_tokenStrip = nullptr;
    QScrollArea* m_tokenScroll = nullptr;
    HeatmapWidget* m_heatmap = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_tokensLabel = nullptr;
    QLabel* m_timeLabel = nullptr;
    QLabel* m_hoverLabel = nullptr;
    QString m_modelPath;
};

} // namespace attnscope
