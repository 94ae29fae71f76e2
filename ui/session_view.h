#pragma once
// Sessions (core/session_file.h) turned into what the views draw: the model or attention file
// with its analyses, the view state and the figure of the current view. The window (File → Open
// Session…) and `attnscope export --session` both go through here, so a session draws the
// same figure on screen and headless.
#include "figure_export.h"
#include "image/image_figure.h"
#include "result.h"
#include "session_file.h"
#include "view_state.h"

#include <QImage>
#include <QSize>
#include <memory>
#include <optional>

namespace attnscope {

// Everything a session needs, loaded and analysed.
struct SessionContent {
    std::shared_ptr<const LoadedModel> model; // null for an attention file
    std::shared_ptr<const Analysis> analysis; // the text or picture analysed, or the file's
    std::shared_ptr<const Analysis> against;  // a difference of two texts: the other text
    QImage picture;                           // image models: the picture as decoded (RGB888)
    ImageProcessorConfig processor;           // image models: the model's resize and crop
};

// Opens the session's model and analyses its text (and pair), picture or other text, or opens
// its attention file, then checks that the selection fits what came out (layers, heads,
// tokens, patches). Paths must be resolved already (SessionFile::resolvedAgainst). Blocking:
// the window runs it off the GUI thread. `keep` says what the analyses keep.
Result<SessionContent> loadSessionContent(const SessionFile& session, const KeepOptions& keep);

// The view state a session shows over an analysis with this many layers and heads.
ViewState sessionViewState(const SessionFile& session, int layers, int heads);

// The session's current view as `export` draws it (heatmap, links, grid, compare, diff).
Result<FigureRequest> sessionFigureRequest(const SessionFile& session,
                                           const SessionContent& content);
// The image view (session.view == "image") as `export --view image` draws it.
ImageFigureRequest sessionImageRequest(const SessionFile& session, const SessionContent& content);

// `attnscope export --session`: what may be set on the command line over the session.
struct SessionExportOptions {
    QSize size;               // invalid: a size that suits the view
    int scale = 1;            // PNG pixels per layout pixel
    std::optional<bool> dark; // the theme; unset: the session's own
};

// Reads a session file and writes the view it shows (.png, .svg, .pdf), headless.
Status exportSession(const QString& sessionPath, const SessionExportOptions& options,
                     const QString& outPath);

} // namespace attnscope
