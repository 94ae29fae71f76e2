#pragma once
// Writing an analysis to disk for other tools: safetensors, JSON, or NumPy .npy.
#include "result.h"
#include "session.h"

#include <QJsonArray>
#include <QJsonObject>

#include <memory>
#include <optional>

namespace attnscope {

class OutputFile;
using NamedTensor = std::pair<QString, Tensor>;

class OverlappedDump;

// Format chosen by the extension of `path` (.safetensors, .json, .npy).
// Writes atomically: an existing file is only replaced once the new one is complete.
// `analyses` (results of dump --analysis) are written beside the attentions under their names
// (JSON: nested arrays, the shape under NAME_shape); an .npy file holds the first of them
// instead of the attentions. With `overlapped` (installed in the pass's KeepOptions), what it
// wrote during the pass is committed when it is exactly this file; otherwise it is discarded
// and the file written here as without it.
Status writeDump(const Analysis& analysis, const LoadedModel& model, const QString& path,
                 const std::vector<NamedTensor>& analyses = {},
                 OverlappedDump* overlapped = nullptr);

// A .npy dump of the attention written while the pass runs: each kept layer's heads go to the
// file as soon as that layer's attention is complete (KeepOptions::attentionDone, on the pass's
// thread, while the next layer is still to run), and the kernel starts putting them on disk
// then, so that when the pass ends the file is written and its sync has little left. The bytes
// are writeDump's: header [L', H', T, T], then the heads in that order, from the pass's own
// matrices (no copy). Only for attention .npy files that are regular (or new) files: a device
// or FIFO is written after the pass as before. When the pass does not go as expected (heads
// computed on demand, nothing kept, another order), the partial file is discarded and writeDump
// writes as usual, so the output never depends on it.
class OverlappedDump {
public:
    // `layers`, `heads`: the model's; `keep`: the request's (onlyLayers / onlyHeads).
    OverlappedDump(QString path, int layers, int heads, const KeepOptions& keep);
    ~OverlappedDump();
    OverlappedDump(const OverlappedDump&) = delete;
    OverlappedDump& operator=(const OverlappedDump&) = delete;

    // Whether this output is written during the pass at all (an .npy to a regular or new file).
    bool enabled() const { return m_enabled; }
    // Sets keep.attentionDone to this object's callback (when enabled); `this` must outlive the
    // pass.
    void install(KeepOptions& keep);
    // After the pass: when every kept head of `forward` was written, from the very matrices it
    // holds, commits the file and returns its status; else discards it and returns nothing.
    std::optional<Status> finish(const ForwardResult& forward);
    // Drops what was written (the temporary file is removed); writeDump then writes as usual.
    void discard();
    // Layers written so far (tests).
    int layersWritten() const { return int(m_written.size()); }

private:
    void onAttentionDone(int layer, const LayerTrace& trace);

    QString m_path;
    bool m_enabled = false;
    std::vector<int> m_layers, m_heads; // kept, ascending (ForwardResult::keptAttention's order)
    std::unique_ptr<OutputFile> m_out;  // open from the first kept layer on
    int64_t m_tokens = 0;
    // Per written layer, each kept head's matrix data as written (checked against the result).
    std::vector<std::vector<const float*>> m_written;
};

// Row-major values of this shape as nested JSON arrays (a matrix: [rows][columns]).
QJsonArray tensorJson(const float* data, const std::vector<int64_t>& shape);
QJsonArray matrixJson(const Mat& m);
QJsonArray vectorJson(const Vec& v);
// Memory writeDump needs per attention value on top of the analysis, by the format of `path`
// (AnalysisRequest::outputBytesPerValue): .npy one float32 copy, .safetensors none (streamed
// head by head), .json a JSON value (16 bytes) plus its text (up to about 24 bytes) and growth.
double dumpBytesPerValue(const QString& path);

// One float32 tensor as a NumPy .npy file (format 1.0, little-endian, C order), atomically.
Status writeNpy(const QString& path, const Tensor& tensor);

// The JSON object `attnscope info` prints.
QJsonObject modelInfoJson(const LoadedModel& model);
// The JSON object `attnscope tokenize` prints.
QJsonObject encodingJson(const Encoding& encoding);

} // namespace attnscope
