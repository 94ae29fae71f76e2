// MainWindow's side of the predictions strip: clicking a predicted token puts it in the text,
// Generate lets the model write with every view following, token by token.
#include "main_window.h"
#include "predictions/predictions_panel.h"

#include <QPlainTextEdit>
#include <QSignalBlocker>
#include <QTextCursor>

namespace attnscope {

void MainWindow::connectPredictions() {
    connect(m_predictions, &PredictionsPanel::tokenChosen, this,
            [this](const TokenScore& token, PredictionKind kind, int position) {
                QString text = m_text->toPlainText();
                if (kind == PredictionKind::NextToken) {
                    text += token.text;
                } else { // the token in place of the mask it was predicted for
                    const QString mask = m_analysis && position < m_analysis->tokenCount()
                                             ? m_analysis->encoding.tokens[position]
                                             : QString();
                    const qsizetype at = mask.isEmpty() ? -1 : text.indexOf(mask);
                    if (at < 0) return;
                    QString word = token.text;
                    if (word.startsWith(QLatin1String("##"))) word = word.mid(2);
                    text.replace(at, mask.size(), word.trimmed());
                }
                setText(text);
            });
    connect(m_predictions, &PredictionsPanel::generateRequested, this, [this] {
        if (m_text->toPlainText().trimmed().isEmpty()) {
            showError(tr("Type the beginning of a text first; the model continues it."));
            return;
        }
        hideError();
        m_predictions->startGeneration(m_controller->model(), m_text->toPlainText(), m_analysis);
    });
    connect(m_predictions, &PredictionsPanel::generatingChanged, this, [this](bool on) {
        m_text->setReadOnly(on); // typing would pull the text from under the model
    });
    connect(m_predictions, &PredictionsPanel::generationStep, this, &MainWindow::showGeneratedStep);
    // Another model: what the old one is writing no longer belongs in this window.
    connect(m_controller, &AnalysisController::modelChanged, m_predictions,
            &PredictionsPanel::stopGeneration);
    connect(m_predictions, &PredictionsPanel::generationFinished, this,
            [this](const QString& error) {
                if (!error.isEmpty()) showError(error);
            });
}

// The text field shows the prompt and what the model wrote so far; the analysis of it becomes
// the window's current one (no recomputation: the generator already ran the forward pass).
void MainWindow::showGeneratedStep(std::shared_ptr<const Analysis> analysis, double computeMs) {
    const auto model = m_controller->model();
    if (!analysis || !model || analysis->producedBy != model->instanceId()) return;
    {
        const QSignalBlocker blocker(m_text); // not an edit: nothing to analyse
        if (m_text->toPlainText() != analysis->text) {
            m_text->setPlainText(analysis->text);
            m_text->moveCursor(QTextCursor::End);
        }
    }
    m_controller->adopt(std::move(analysis), computeMs); // -> onAnalysisReady
}

} // namespace attnscope
