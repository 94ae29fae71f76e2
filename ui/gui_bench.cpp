#include "gui_bench.h"

#include "bench.h"

#include "grid/grid_widget.h"
#include "heatmap_widget.h"
#include "links/links_widget.h"
#include "main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QPixmap>
#include <QRegularExpression>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace attnscope {

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const size_t rank = size_t(std::ceil(p / 100.0 * double(values.size())));
    return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

namespace {

// Waits the way the window's own event loop does: blocked in poll until an event (the
// worker's result, a repaint) arrives. A loop that spun processEvents() would take a core
// from the worker thread and inflate the very latency being measured.
bool waitFor(const std::function<bool()>& done, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    QTimer wake; // lets the loop notice the timeout even when nothing else happens
    wake.start(20);
    while (!done()) {
        if (t.elapsed() > timeoutMs) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents);
    }
    return true;
}

void idle(int ms) {
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

Result<GuiGridBench> benchmarkGuiGrid(std::shared_ptr<const LoadedModel> model, int tokens,
                                      int edits) {
    if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        return Error{QStringLiteral("the GUI benchmark needs a QApplication")};
    if (!model->tokenizer())
        return Error{QStringLiteral("--gui-grid types text, so the model folder needs tokenizer "
                                    "files (for tools/bench/make_gpt2_small.py's checkpoint, copy "
                                    "tests/data/oracle/gpt2/model/{tokenizer.json,vocab.json,"
                                    "merges.txt} into it)")};
    // A text of exactly `tokens` tokens whose last word can change without changing the count.
    static const QStringList words{"the",  "cat", "sat",   "on",   "a",    "mat",  "and",
                                   "then", "it",  "slept", "very", "well", "while"};
    QString text;
    for (int i = 0;; ++i) {
        const QString next =
            text.isEmpty() ? QStringLiteral("The") : text + " " + words[i % words.size()];
        auto e = model->tokenize(next + QStringLiteral(" dog"));
        if (!e) return Error{e.message()};
        if (e->size() > tokens) break;
        text = next;
        if (e->size() == tokens) break;
    }
    const QStringList endings{" dog", " cow", " fox", " owl"};
    for (const QString& ending : endings) {
        auto e = model->tokenize(text + ending);
        if (!e || e->size() != tokens)
            return Error{QStringLiteral("could not build a %1-token text").arg(tokens)};
    }

    MainWindow window;
    window.resize(1400, 1000);
    window.controller()->setModel(model);
    window.show();
    window.setView(MainWindow::View::Grid);
    GridCanvas* canvas = window.grid()->canvas();
    auto analysed = [&](const QString& t) {
        return window.analysis() && window.analysis()->text == t && !window.controller()->isBusy();
    };
    window.setText(text + endings[0]);
    if (!waitFor([&] { return analysed(text + endings[0]); }, 120000))
        return Error{QStringLiteral("the first analysis did not finish")};
    idle(300);

    GuiGridBench bench;
    bench.tokens = window.analysis()->tokenCount();
    bench.layers = window.analysis()->layerCount();
    bench.heads = window.analysis()->headCount();
    bench.window = window.size();
    bench.tile = canvas->renderer().tileSize();
    const int warmup = 3;
    // The paint count when the window has taken the new analysis (the window's own slot runs
    // first: it was connected first); the edit is done when the canvas paints after that.
    int paintsAtResult = -1;
    QObject::connect(window.controller(), &AnalysisController::analysisReady, &window,
                     [&] { paintsAtResult = canvas->paintCount(); });
    for (int i = 0; i < warmup + edits; ++i) {
        const QString next = text + endings[(i + 1) % endings.size()];
        paintsAtResult = -1;
        QElapsedTimer timer;
        timer.start();
        window.setText(next); // as a keystroke would: the controller starts at once
        if (!waitFor(
                [&] {
                    return analysed(next) && paintsAtResult >= 0 &&
                           canvas->paintCount() > paintsAtResult;
                },
                60000))
            return Error{QStringLiteral("an edit was not repainted within a minute")};
        const double ms = double(timer.nsecsElapsed()) / 1e6;
        if (i >= warmup) {
            bench.editToRepaintMs.push_back(ms);
            bench.analysisMs.push_back(window.controller()->lastElapsedMs());
            bench.guiMs.push_back(ms - window.controller()->lastElapsedMs());
        }
        idle(120); // a pause longer than the debounce, as between deliberate edits
    }
    for (int i = 0; i < 30; ++i) {
        canvas->repaint();
        bench.repaintMs.push_back(canvas->lastPaintMs());
    }
    for (int i = 0; i < 10; ++i) {
        GridRenderer fresh;
        QElapsedTimer timer;
        timer.start();
        fresh.setAnalysis(window.analysis(), window.viewState());
        for (int l = 0; l < fresh.layers(); ++l)
            for (int h = 0; h < fresh.heads(); ++h)
                fresh.thumbnail(l, h);
        bench.colouringMs.push_back(double(timer.nsecsElapsed()) / 1e6);
    }
    // 32 layers × 32 heads of random causal attention, the grid fitted into the window.
    auto wide = std::make_shared<Analysis>();
    const int t = bench.tokens;
    wide->encoding.ids.assign(size_t(t), 0);
    for (int i = 0; i < t; ++i)
        wide->encoding.tokens << QStringLiteral("t%1").arg(i);
    wide->forward.layers.resize(32);
    for (LayerTrace& layer : wide->forward.layers)
        for (int h = 0; h < 32; ++h) {
            Mat m = Mat::Random(t, t).cwiseAbs();
            for (int r = 0; r < t; ++r) {
                m.row(r).tail(t - r - 1).setZero();
                m.row(r) /= m.row(r).sum();
            }
            layer.attention.push_back(std::move(m));
        }
    GridView view;
    view.resize(1400, 1000);
    view.show();
    view.setContent(wide, ViewState());
    idle(100);
    QElapsedTimer timer;
    timer.start();
    view.canvas()->renderer().setAnalysis(nullptr, ViewState()); // drop the thumbnails
    view.setContent(wide, ViewState());
    view.canvas()->repaint();
    bench.wideFirstPaintMs = double(timer.nsecsElapsed()) / 1e6;
    bench.wideTile = view.canvas()->renderer().tileSize();
    for (int i = 0; i < 30; ++i) {
        view.canvas()->repaint();
        bench.wideRepaintMs.push_back(view.canvas()->lastPaintMs());
    }
    return bench;
}

namespace {
double threadCpuMs() { // the calling thread's CPU time
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

double msSince(const QElapsedTimer& t) {
    return double(t.nsecsElapsed()) / 1e6;
}

double peakRssMb() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) return 0;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toDouble() / 1024;
    return 0;
}
} // namespace

Result<GuiLongBench> benchmarkGuiLong(std::shared_ptr<const LoadedModel> model, int tokens,
                                      const QString& screenshotPath) {
    if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        return Error{QStringLiteral("the GUI benchmark needs a QApplication")};
    const ModelConfig& c = model->config();
    if (c.modality != Modality::Text) return Error{QStringLiteral("--gui-long needs a text model")};
    if (tokens > c.maxPositions)
        return Error{QStringLiteral("--tokens %1 is more than the model's %2 positions")
                         .arg(tokens)
                         .arg(c.maxPositions)};
    // Random ids (fixed seed; no tokenizer needed), as `bench` times the forward pass.
    std::vector<int64_t> ids(static_cast<size_t>(tokens));
    quint64 state = 12345;
    for (int64_t& id : ids) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        id = int64_t((state >> 33) % quint64(c.vocab));
    }

    GuiLongBench bench;
    bench.passFlops = forwardFlops(c, tokens);
    bench.attentionFlops = attentionFlops(c, tokens);
    bench.peakBeforeGflops = measureGemmPeakGflops();
    MainWindow window;
    window.resize(1400, 1000);
    window.setText(QString()); // the ids are the input: no sample text analysed before them
    window.controller()->setModel(model);
    window.show();
    window.setView(MainWindow::View::Heatmap);
    window.setLayerHead(0, 0);
    idle(200);

    bench.window = window.size();
    HeatmapWidget* heatmap = window.heatmap();
    QElapsedTimer timer;
    int paintsAtShown = -1, paintsAtFinal = -1;
    bool final = false, shotTaken = screenshotPath.isEmpty();
    QString shotError;
    // Connected after the window's own slots, so these run once the window took each result.
    QObject::connect(&window, &MainWindow::heatmapShown, &window, [&](bool fromPartial) {
        if (paintsAtShown < 0) {
            paintsAtShown = heatmap->paintCount();
            bench.firstHeatmapFromSnapshot = fromPartial;
        }
    });
    QObject::connect(window.controller(), &AnalysisController::partialAnalysisReady, &window,
                     [&](std::shared_ptr<const Analysis> partial) {
                         bench.layerReadyMs.push_back(double(timer.nsecsElapsed()) / 1e6);
                         const int ready = partial->layersReady();
                         if (!shotTaken && bench.firstHeatmapMs >= 0 &&
                             ready >= (partial->layerCount() + 1) / 2) {
                             shotTaken = true;
                             bench.screenshotLayersReady = ready;
                             if (!window.grab().save(screenshotPath))
                                 shotError =
                                     QStringLiteral("could not write %1").arg(screenshotPath);
                         }
                     });
    QObject::connect(window.controller(), &AnalysisController::analysisReady, &window, [&] {
        final = true;
        bench.finalMs = double(timer.nsecsElapsed()) / 1e6;
        paintsAtFinal = heatmap->paintCount();
    });
    timer.start();
    const double cpuAtEdit = threadCpuMs();       // this is the GUI thread
    window.controller()->requestIdsAnalysis(ids); // the edit
    const int limitMs = 3600 * 1000;
    if (!waitFor(
            [&] {
                if (bench.firstHeatmapMs < 0 && paintsAtShown >= 0 &&
                    heatmap->paintCount() > paintsAtShown)
                    bench.firstHeatmapMs = double(timer.nsecsElapsed()) / 1e6;
                if (final && bench.finalHeatmapMs < 0 && heatmap->paintCount() > paintsAtFinal)
                    bench.finalHeatmapMs = double(timer.nsecsElapsed()) / 1e6;
                return final && bench.finalHeatmapMs >= 0 && bench.firstHeatmapMs >= 0;
            },
            limitMs))
        return Error{window.errorText().isEmpty()
                         ? QStringLiteral("the long analysis did not finish within an hour")
                         : window.errorText()};
    bench.guiThreadCpuMs = threadCpuMs() - cpuAtEdit;
    bench.passPeakRssMb = peakRssMb(); // before the interactions below (links read 32 heads)
    if (!shotError.isEmpty()) return Error{shotError};
    const auto analysis = window.analysis();
    const int t = analysis->tokenCount();
    idle(100);
    std::vector<double> repaints, hovers;
    for (int i = 0; i < 7; ++i) {
        QElapsedTimer paint;
        paint.start();
        heatmap->repaint();
        repaints.push_back(msSince(paint));
    }
    for (int i = 0; i < 7; ++i) { // as the mouse moving over the grid, one cell per step
        QElapsedTimer hover;
        hover.start();
        heatmap->setHoveredCell({t - 1 - i, (t - 1 - i) / 2});
        window.repaint();
        hovers.push_back(msSince(hover));
    }
    // SHOT.png -> SHOT-suffix.png, the window saved there (empty: no screenshots asked for).
    const auto saveShot = [&](const QString& suffix) -> Result<QString> {
        if (screenshotPath.isEmpty()) return QString();
        const QString path =
            QString(screenshotPath)
                .replace(QRegularExpression(QStringLiteral("\\.png$"),
                                            QRegularExpression::CaseInsensitiveOption),
                         QStringLiteral("-%1.png").arg(suffix));
        if (!window.grab().save(path)) return Error{QStringLiteral("could not write %1").arg(path)};
        return path;
    };
    auto hoverShot = saveShot(QStringLiteral("hover")); // the last hovered cell, strip marked too
    if (!hoverShot) return hoverShot.error();
    bench.hoverShot = *hoverShot;
    heatmap->setHoveredCell({});
    bench.heatmapRepaintMs = percentile(repaints, 50);
    bench.hoverMs = percentile(hovers, 50);
    LinksWidget* links = window.links();
    QElapsedTimer linksTimer;
    linksTimer.start();
    window.setView(MainWindow::View::Links);
    if (!waitFor([&] { return links->renderer().tokenCount() == t; }, 600000))
        return Error{QStringLiteral("the token links view was not filled within 10 minutes")};
    links->repaint();
    bench.linksFirstMs = msSince(linksTimer);
    std::vector<double> linkPaints;
    for (int i = 0; i < 7; ++i) {
        QElapsedTimer paint;
        paint.start();
        links->repaint();
        linkPaints.push_back(msSince(paint));
    }
    bench.linksRepaintMs = percentile(linkPaints, 50);
    bench.linksHeads = int(links->renderer().heads().size());
    bench.linksKept = links->renderer().keptLinkCount();
    bench.linksKeptMb = double(links->renderer().keptBytes()) / 1e6;
    bench.linksDenseMb = double(bench.linksHeads) * double(t) * double(t) * sizeof(float) / 1e6;
    auto linksShot = saveShot(QStringLiteral("links"));
    if (!linksShot) return linksShot.error();
    bench.linksShot = *linksShot;
    bench.tokens = t;
    bench.layers = analysis->layerCount();
    bench.heads = analysis->headCount();
    bench.lazyHeads = analysis->hasLazyAttention();
    bench.analysisMs = window.controller()->lastElapsedMs();
    bench.peakRssMb = peakRssMb();
    bench.peakAfterGflops = measureGemmPeakGflops();
    bench.splitPeakGflops = measureSplitProductPeakGflops();
    return bench;
}

} // namespace attnscope
