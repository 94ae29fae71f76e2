#pragma once
// The predictions strip under the text: the model's most probable next tokens (or, for
// encoders, the tokens behind the first [MASK] / <mask>) as bars of their probability, and the
// "Generate" action (tokens, temperature, seed) that lets a causal model write. Predictions and
// generation run on worker threads; a newer analysis drops the results of older ones.
#include "generate.h"
#include "predict.h"
#include "session.h"

#include <QThreadPool>
#include <QWidget>
#include <atomic>
#include <memory>

class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace attnscope {

// Bars of the top-k tokens, left to right in descending probability; click one to choose it.
class PredictionBars : public QWidget {
    Q_OBJECT
public:
    explicit PredictionBars(QWidget* parent = nullptr);
    void setPrediction(const Prediction& prediction);
    void clear(const QString& message = {});
    const Prediction& prediction() const { return m_prediction; }
    QString message() const { return m_message; }
    // Where bar i is drawn (for tests and tooltips); empty when out of range.
    QRect barRect(int index) const;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void tokenClicked(int index);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    bool event(QEvent* event) override;

private:
    int indexAt(QPoint p) const;
    Prediction m_prediction;
    QString m_message;
    int m_hovered = -1;
};

class PredictionsPanel : public QWidget {
    Q_OBJECT
public:
    explicit PredictionsPanel(QWidget* parent = nullptr);
    ~PredictionsPanel() override; // stops its workers

    // Predictions for this analysis (of `model`), computed on a worker; the bars follow.
    void setAnalysis(std::shared_ptr<const LoadedModel> model,
                     std::shared_ptr<const Analysis> analysis);
    void clear(const QString& message = {});
    // No model at hand (an attention file): no bars and no Generate, with the reason shown.
    void setUnavailable(const QString& reason);
    int topK() const { return m_topK; }
    PredictionBars* bars() const { return m_bars; }

    // Lets the model write `tokens` tokens after `text` (greedy when temperature is 0).
    // `previous` is an earlier analysis of the same model whose keys/values may be reused.
    void startGeneration(std::shared_ptr<const LoadedModel> model, const QString& text,
                         std::shared_ptr<const Analysis> previous = {});
    void stopGeneration();
    bool isGenerating() const { return m_generating; }
    void setGenerationOptions(int tokens, double temperature, int seed);
    SamplingOptions samplingOptions() const;
    int tokensToGenerate() const;
    // Pause between written tokens so the eye can follow (0 = none; tests use 0).
    void setStepDelay(int ms) { m_stepDelayMs = ms; }

signals:
    // A prediction was clicked: `text` is the token's readable form (" the").
    void tokenChosen(const attnscope::TokenScore& token, attnscope::PredictionKind kind,
                     int position);
    void predictionsReady();
    void generateRequested(); // the Generate button; the window starts startGeneration()
    // Each written token (and the prompt first): an ordinary analysis, generatedTokens marked.
    // computeMs: the step's forward pass and choice of token (without the pause between steps).
    void generationStep(std::shared_ptr<const attnscope::Analysis> analysis, double computeMs);
    void generationFinished(const QString& error); // empty when all tokens were written
    void generatingChanged(bool generating);

private:
    void onPrediction(quint64 id, std::shared_ptr<Result<Prediction>> result);
    void setGenerating(bool on);

    PredictionBars* m_bars = nullptr;
    QLabel* m_caption = nullptr;
    QPushButton* m_generate = nullptr;
    QSpinBox* m_tokens = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QSpinBox* m_seed = nullptr;
    QWidget* m_generateControls = nullptr;
    QThreadPool m_pool;
    quint64 m_latestId = 0;
    std::shared_ptr<std::atomic<bool>> m_stop = std::make_shared<std::atomic<bool>>(false);
    bool m_generating = false;
    int m_topK = 8;
    int m_stepDelayMs = 60;
};

} // namespace attnscope

Q_DECLARE_METATYPE(attnscope::TokenScore)
Q_DECLARE_METATYPE(attnscope::PredictionKind)
