#pragma once
// A saved workbench session (`.attnscope`): everything needed to draw a view again: where the
// attention comes from (a model, or an attention file computed elsewhere), the input, the
// selection and the view with its options. JSON (QtCore only):
//
//   {"format": "attnscope-session", "version": 1,
//    "source": {"model": "default"}   or   {"attention": "a.safetensors", "tokens": "t.json"},
//    "input": {"text": …, "pair": …, "against": …, "image": …},
//    "selection": {"layer": 1, "head": 2, "show": "head|mean|max",
//                  "checked_heads": "all" | [[1, 2], …],
//                  "query_tokens": [3, 4], "combine": "sum|mean", "patch": -1},
//    "view": {"current": "heatmap|links|grid|compare|diff|image", "special_tokens": …,
//             "link_threshold": 0.05, "theme": "light|dark", "color_map": "viridis|blues",
//             "stretch_colours": false, "grid": {"tile": 0, "statistic": "none"},
//             "compare": [{"layer": 0, "head": 1 | "mean" | "max", "view": "heatmap|links"}, …],
//             "diff": {"mode": "heads|texts", "a": {"layer", "head"}, "b": {…}},
//             "image": {"opacity": 0.6, "upsample": "nearest|smooth", "top_mass": 1,
//                       "grid": true, "overlay": "attention|rollout"}}}
//
// Reading is all or nothing: a damaged, truncated or newer-version file, or a value of the wrong
// type or out of range, is an error naming the key and what was found. Paths are stored as the
// user gave them; relative ones are resolved against the session file's folder when used.
#include "result.h"

#include <QByteArray>
#include <QString>
#include <utility>
#include <vector>

namespace attnscope {

constexpr int kSessionFileVersion = 1; // the newest version this build reads and writes
inline const QString kSessionFormat = QStringLiteral("attnscope-session");

// A side-by-side or difference pane: a head, or the mean / max of the layer's checked heads.
struct SessionPane {
    static constexpr int kMean = -1; // same values as ui's kMeanOfLayer / kMaxOfLayer
    static constexpr int kMax = -2;
    int layer = 0;
    int head = 0;
    bool links = false; // compare panes: token links instead of a heatmap
    friend bool operator==(const SessionPane&, const SessionPane&) = default;
};

struct SessionFile {
    // Where the attention comes from: a model, or else an attention file (with its tokens).
    QString model; // checkpoint folder as given, or "default" / "default-vision"
    QString attentionFile;
    QString tokensFile; // optional side tokens.json of the attention file

    // Input.
    QString text;
    QString pair;    // second sentence of a pair; empty = none
    QString against; // the difference view's other text; empty = none
    QString image;   // image models: the picture file

    // Selection.
    int layer = 0;
    int head = 0;
    QString show = QStringLiteral("head"); // head | mean | max (of the checked heads)
    // "checked_heads": "all" (or absent) checks every head of the model; else the listed ones.
    bool allHeadsChecked = true;
    std::vector<std::pair<int, int>> checkedHeads; // (layer, head), layer-major
    std::vector<int> queryTokens;                  // queries selected together, sorted
    QString combine = QStringLiteral("sum");       // how those rows combine: sum | mean
    int patch = -1;                                // image mode: the kept patch; -1 = [CLS]

    // View and its options.
    QString view = QStringLiteral("heatmap");       // heatmap links grid compare diff image
    QString specialTokens = QStringLiteral("show"); // show | hide | grey
    double linkThreshold = 0.05;
    QString theme = QStringLiteral("light"); // light | dark
    QString colorMap = QStringLiteral("viridis");
    bool stretchColours = false;
    double gridTile = 0; // tile side in pixels; 0 = fit to the width
    QString gridStatistic = QStringLiteral("none");
    std::vector<SessionPane> comparePanes;      // 2–4 panes, or empty (the window's own)
    QString diffMode = QStringLiteral("heads"); // heads | texts
    SessionPane diffA, diffB{0, 1, false};
    double imageOpacity = 0.6;
    bool imageSmooth = false;
    double imageTopMass = 1.0;
    bool imageGrid = true;
    QString imageOverlay = QStringLiteral("attention"); // attention | rollout

    bool usesAttentionFile() const { return model.isEmpty(); }
    // A copy whose model, attention, tokens and image paths are absolute: relative ones taken
    // from the folder of sessionPath; "default" / "default-vision" left as they are.
    SessionFile resolvedAgainst(const QString& sessionPath) const;

    friend bool operator==(const SessionFile&, const SessionFile&) = default;
};

// Allowed words of the enumerated fields, in the order the window lists them.
const QStringList& sessionViewNames();          // heatmap links grid compare diff image
const QStringList& sessionColorMapNames();      // viridis blues
const QStringList& sessionGridStatisticNames(); // none previous_token … distance

// Parses a session's JSON; `name` is how messages call the file.
Result<SessionFile> parseSessionJson(const QByteArray& json, const QString& name);
// Reads (bounded: 16 MiB) and parses a session file; paths are kept as stored.
Result<SessionFile> readSessionFile(const QString& path);
// The JSON of a session (indented, keys as above).
QByteArray sessionJson(const SessionFile& session);
// Writes it atomically (OutputFile): an existing file is replaced only by a complete one.
Status writeSessionFile(const QString& path, const SessionFile& session);

} // namespace attnscope
