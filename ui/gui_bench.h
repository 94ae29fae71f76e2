#pragma once
// `attnscope bench --gui-grid`: the whole window, offscreen, with the all-heads grid showing,
// timed from an edit of the text's last word to the grid repainted with the new attention
// (analysis on the worker thread with prefix reuse, thumbnails recoloured, tiles painted), plus
// the grid's repaint time alone. Needs a QApplication.
#include "result.h"
#include "session.h"

#include <QSize>
#include <algorithm>
#include <memory>
#include <vector>

namespace attnscope {

struct GuiGridBench {
    int tokens = 0;
    int layers = 0, heads = 0;
    QSize window;
    double tile = 0;
    std::vector<double> editToRepaintMs; // one per timed edit
    std::vector<double> analysisMs;      // the worker's compute time for each
    std::vector<double> guiMs;           // edit to repaint minus the analysis: the window's part
    std::vector<double> repaintMs;       // full grid repaints with nothing changed
    std::vector<double> colouringMs;     // colouring every head's thumbnail for a new analysis
    // A synthetic 32 × 32-head analysis of the same length in a 1400 × 1000 grid view fitted to
    // its width: the first paint (colours the visible heads) and repaints.
    double wideTile = 0;
    double wideFirstPaintMs = 0;
    std::vector<double> wideRepaintMs;
};

Result<GuiGridBench> benchmarkGuiGrid(std::shared_ptr<const LoadedModel> model, int tokens,
                                      int edits);

// `attnscope bench --gui-long`: the window (offscreen, heatmap of layer 0, head 0 showing) on
// a long input of `tokens` random ids, timed from the edit to the first heatmap painted (from a
// snapshot of the running pass: layers appear as they are computed), to each layer's snapshot
// and to the final analysis. With a screenshot path, the window is saved as PNG mid-pass.
struct GuiLongBench {
    int tokens = 0, layers = 0, heads = 0;
    bool lazyHeads = false; // the final analysis computes heads on demand
    QSize window;
    double firstHeatmapMs = -1; // edit -> the current head painted (from a snapshot)
    bool firstHeatmapFromSnapshot = false;
    std::vector<double> layerReadyMs; // edit -> snapshot with l + 1 layers reached the window
    double finalMs = -1;              // edit -> final analysis in the window
    double finalHeatmapMs = -1;       // edit -> heatmap painted after the final analysis
    double analysisMs = 0;            // the worker's compute time of the whole pass
    double peakRssMb = 0;             // the process's peak resident memory (VmHWM)
    double passPeakRssMb = 0;         // the same when the final heatmap was painted
    int screenshotLayersReady = -1;   // the snapshot the screenshot shows
    // The machine's floor for the pass: its FLOPs (forwardFlops) at the SGEMM peak, measured
    // before the window opens and again after the pass; the higher (the stricter floor) counts.
    double passFlops = 0;
    double peakBeforeGflops = 0, peakAfterGflops = 0;
    double sgemmPeakGflops() const { return std::max(peakBeforeGflops, peakAfterGflops); }
    double floorMs() const { return passFlops / (sgemmPeakGflops() * 1e6); }
    // BF16 checkpoints' weight products run on the tile unit where the CPU has one: a second,
    // stricter (shorter) floor counts them at the split product's peak (measured after the
    // pass; 0 = none) and the attention products at the SGEMM peak.
    double attentionFlops = 0;
    double splitPeakGflops = 0;
    double mixedFloorMs() const {
        return (passFlops - attentionFlops) / (splitPeakGflops * 1e6) +
               attentionFlops / (sgemmPeakGflops() * 1e6);
    }
    // The GUI thread's share: its CPU time from the edit to the final heatmap (the pass's
    // snapshots and result taken, coloured, laid out and painted), and, once the pass is done,
    // single interactions timed on it (median of several).
    double guiThreadCpuMs = 0;
    double heatmapRepaintMs = 0; // the heatmap repainted with nothing changed
    double hoverMs = 0;          // a cell hovered: token strip and text marks updated, repainted
    double linksFirstMs = 0;     // Token links view: the edit's content set and painted
    double linksRepaintMs = 0;   // Token links view repainted with nothing changed
    int linksHeads = 0;          // heads the token links view shows
    size_t linksKept = 0;        // links it keeps (over its floor) instead of the dense heads
    double linksKeptMb = 0, linksDenseMb = 0; // their size, and the heads' [T, T] floats
    // With a screenshot path SHOT.png: the window after the pass with a cell hovered
    // (SHOT-hover.png) and on the Token links view (SHOT-links.png).
    QString hoverShot, linksShot;
};

Result<GuiLongBench> benchmarkGuiLong(std::shared_ptr<const LoadedModel> model, int tokens,
                                      const QString& screenshotPath = {});

double percentile(std::vector<double> values, double p); // p in [0, 100], nearest rank

} // namespace attnscope
