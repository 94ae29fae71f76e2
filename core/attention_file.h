#pragma once
// Attention computed elsewhere (e.g. by Hugging Face on a cluster, for a model far too big for
// this machine), opened without any model. Every view that needs only attention works on the
// Analysis this returns; what needs weights (explain, norms, predictions) is not available.
//
// Accepted files:
//   .safetensors  `attentions` [L, H, T, T] (attnscope's own dump), or per-layer tensors
//                 `attentions.0` … `attentions.{L-1}` [H, T, T] or [1, H, T, T] (the tuple Hugging
//                 Face returns, batch of one); F32, F16 or BF16. Token strings from the metadata
//                 ("tokens", "display_tokens", "special") when present.
//   .npy          [L, H, T, T] (or [H, T, T], [T, T], or a leading batch of one), '<f4' / '<f2'.
//   .npz          np.savez (stored, not compressed) of either layout above.
// Tokens: a side JSON file (`["The", "Ġcat", …]` or `{"tokens": [...]}`) overrides the file's
// own; without any, tokens are labelled by position.
#include "result.h"
#include "session.h"

#include <QJsonObject>
#include <QString>

namespace attnscope {

struct AttentionFileInfo {
    QString path;
    QString format; // "safetensors", "npy", "npz"
    QString layout; // "attentions [L,H,T,T]", "attentions.N [H,T,T]", ...
    QString dtype;  // as stored: F32, F16, BF16
    bool tokensFromFile = false;
};

// Reads the whole attention into float32 (refused up front when it would not fit the memory
// budget, as for a model). Values must be finite; shapes must agree across layers. A file whose
// float32 attention exceeds eagerAttentionBudgetBytes() stays memory-mapped instead: each head
// is converted when Analysis::attention() asks for it (lazy_heads.h), so a dump of many GB opens
// without reading it; its non-finite values are then shown as 0 instead of refused.
Result<Analysis> openAttentionFile(const QString& path, const QString& tokensPath = {},
                                   AttentionFileInfo* info = nullptr);

// The JSON `attnscope info --attention` prints: layers, heads, tokens, format, dtype, ...
QJsonObject attentionFileInfoJson(const Analysis& analysis, const AttentionFileInfo& info);

// Readable labels for raw vocabulary strings when no tokenizer is at hand, by the tokenizer's
// own rules (Tokenizer::displayToken): byte-level pieces ("Ġcat") are decoded when the list uses
// byte-level markers, else "▁" becomes a space and "<0x0A>" its byte.
QStringList displayTokensWithoutTokenizer(const QStringList& tokens);

} // namespace attnscope
