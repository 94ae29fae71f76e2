#pragma once
// The head statistics table (HeadTableModel behind a QSortFilterProxyModel: click a column to
// sort), for the current text or averaged over the lines of a text file (in the background,
// with a progress bar and Cancel); "Heads like this" fills a column with each head's
// Jensen–Shannon divergence to the selected head and sorts by it. Activating a row selects
// that head in the window.
#include "head_table_model.h"
#include "session.h"

#include <QWidget>
#include <functional>
#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace attnscope {

class BackgroundJob;
class HeadRequests;

class HeadTablePanel : public QWidget {
    Q_OBJECT
public:
    explicit HeadTablePanel(QWidget* parent = nullptr);

    void setModel(std::shared_ptr<const LoadedModel> model); // back to the current text
    void setAnalysis(std::shared_ptr<const Analysis> analysis);
    // Where "Heads like this" finds the head to compare with when no row is selected (the
    // window's current head).
    void setCurrentHeadSource(std::function<std::pair<int, int>()> source) {
        m_currentHead = std::move(source);
    }

    // Statistics averaged over the non-blank lines of a UTF-8 text file, in the background.
    void startFileStatistics(const QString& path);
    void showCurrentText(); // leaves file mode
    void cancel();
    // Fills the similarity column for (layer, head) on the current analysis, sorted by it.
    void showHeadsLike(int layer, int head);

    HeadTableModel* tableModel() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    bool isBusy() const;
    // Whether this text's statistics or similar heads are being computed (lazy heads).
    bool isComputingHeads() const;
    bool showsFile() const { return !m_file.isEmpty(); }
    QString caption() const;

signals:
    void headActivated(int layer, int head);
    void fileStatisticsDone(); // file statistics shown, failed or cancelled
    void headsComputed();      // statistics or similar heads computed off the GUI thread shown

protected:
    void showEvent(QShowEvent* event) override;

private:
    void refresh(); // statistics of the current analysis, if visible and not in file mode
    void chooseFile();
    QString distanceUnit() const;

    std::shared_ptr<const LoadedModel> m_loaded;
    std::shared_ptr<const Analysis> m_analysis;
    std::shared_ptr<const Analysis> m_shown; // the analysis the table shows (text mode)
    QString m_file;                          // file mode: the file the table averages over
    std::function<std::pair<int, int>()> m_currentHead;
    HeadTableModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_view = nullptr;
    QLabel* m_caption = nullptr;
    QPushButton* m_like = nullptr;
    QPushButton* m_fromFile = nullptr;
    QPushButton* m_currentText = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    BackgroundJob* m_job = nullptr;
    // This text's statistics and "Heads like this": lazy heads are read off the GUI thread.
    HeadRequests* m_statisticsRequests = nullptr;
    HeadRequests* m_likeRequests = nullptr;
    QString m_textCaption; // the caption of this text's statistics
};

} // namespace attnscope
