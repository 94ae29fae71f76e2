// A second, deliberately plain implementation of one layer's attention inputs, in double, from
// a checkpoint's tensors (read by name, each family's layout spelled out here) and Hugging
// Face's hidden states: what the explainer and norm-based attention are checked against.
#pragma once

#include "safetensors.h"
#include "session.h"

#include <Eigen/Dense>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <cmath>

namespace reference {

using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

// One layer's attention, all heads: rows are tokens.
struct LayerInputs {
    int heads = 0, kvHeads = 0, headDim = 0;
    bool causal = false;
    MatD x;     // [T, D] the layer's input (hidden_states[layer])
    MatD xNorm; // [T, D] after the pre-attention norm (= x for post-norm families)
    MatD qPre;  // [T, H*d] queries before rotary
    MatD q;     // [T, H*d] after rotary
    MatD k;     // [T, KV*d] after rotary
    MatD v;     // [T, KV*d]
    MatD wo;    // [H*d, D] output projection, input-major
    int kvHeadFor(int h) const { return h / (heads / kvHeads); }
};

inline const QString kOracle = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/");

// The families whose attention layouts differ, as oracle folder names.
inline const QStringList kLayoutFamilies{"gpt2",  "bert",  "roberta",  "distilbert",
                                         "llama", "qwen2", "gpt_neox", "vit"};

inline QJsonArray casesOf(const QString& family) {
    QFile f(kOracle + family + QStringLiteral("/cases.json"));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("cases")).toArray();
}

// Data rows (family, caseFile): every case of every family in kLayoutFamilies.
inline void addCaseRows() {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("caseFile");
    for (const QString& family : kLayoutFamilies) {
        const QJsonArray cases = casesOf(family);
        QVERIFY2(!cases.isEmpty(), qPrintable(family));
        for (const QJsonValue& c : cases) {
            const QString file = c.toObject().value(QStringLiteral("file")).toString();
            QTest::newRow(qPrintable(family + QLatin1Char('/') + file)) << family << file;
        }
    }
}

// The model input of an oracle case: its pixels, or its ids and token types.
inline attnscope::AnalysisRequest requestFor(const attnscope::SafeTensorsFile& c) {
    attnscope::AnalysisRequest request;
    if (c.find(QStringLiteral("pixel_values"))) {
        const attnscope::FloatTensor px = c.floatTensor(QStringLiteral("pixel_values")).value();
        request.pixelValues.shape = px.shape;
        request.pixelValues.data.assign(px.data, px.data + px.numel());
    } else {
        request.ids = c.int64Tensor(QStringLiteral("input_ids")).value();
        if (c.find(QStringLiteral("token_type_ids")))
            request.typeIds = c.int64Tensor(QStringLiteral("token_type_ids")).value();
    }
    return request;
}

// [rows, cols] of a reference tensor starting at `offset` floats, in double.
inline MatD slab(const attnscope::FloatTensor& t, int64_t offset, int64_t rows, int64_t cols) {
    MatD m(rows, cols);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            m(r, c) = t.data[offset + r * cols + c];
    return m;
}

inline QJsonObject readConfig(const QString& modelDir) {
    QFile f(modelDir + QStringLiteral("/config.json"));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

class Weights {
public:
    explicit Weights(std::shared_ptr<attnscope::SafeTensorsFile> file) : m_file(std::move(file)) {}
    bool has(const QString& name) const { return m_file->find(name) != nullptr; }
    MatD matrix(const QString& name) const { // [rows, cols] as stored
        const attnscope::FloatTensor t = m_file->floatTensor(name).value();
        MatD m(t.rows(), t.cols());
        for (int64_t r = 0; r < t.rows(); ++r)
            for (int64_t c = 0; c < t.cols(); ++c)
                m(r, c) = t.data[r * t.cols() + c];
        return m;
    }
    VecD vector(const QString& name) const {
        const attnscope::FloatTensor t = m_file->floatTensor(name).value();
        VecD v(t.numel());
        for (int64_t i = 0; i < t.numel(); ++i)
            v[i] = t.data[i];
        return v;
    }

private:
    std::shared_ptr<attnscope::SafeTensorsFile> m_file;
};

inline MatD layerNorm(const MatD& x, const VecD& w, const VecD& b, double eps) {
    MatD y(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        const double mean = x.row(t).mean();
        const double var = (x.row(t).array() - mean).square().mean();
        y.row(t) = ((x.row(t).array() - mean) / std::sqrt(var + eps))
                       .matrix()
                       .cwiseProduct(w.transpose()) +
                   b.transpose();
    }
    return y;
}

inline MatD rmsNorm(const MatD& x, const VecD& w, double eps) {
    MatD y(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t)
        y.row(t) = x.row(t) / std::sqrt(x.row(t).squaredNorm() / double(x.cols()) + eps);
    return y * w.asDiagonal();
}

// x W^T + b for nn.Linear weights [out, in].
inline MatD linear(const MatD& x, const MatD& w, const VecD& b) {
    MatD y = x * w.transpose();
    if (b.size()) y.rowwise() += b.transpose();
    return y;
}

// Rotate-half rotary on the first `rotary` dimensions of each head, positions 0..T-1.
inline MatD rotate(const MatD& x, int heads, int d, int rotary, double theta) {
    MatD y = x;
    const int half = rotary / 2;
    for (Eigen::Index t = 0; t < x.rows(); ++t)
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < half; ++i) {
                const double angle = double(t) * std::pow(theta, -2.0 * i / rotary);
                const double a = x(t, h * d + i), b = x(t, h * d + i + half);
                y(t, h * d + i) = a * std::cos(angle) - b * std::sin(angle);
                y(t, h * d + i + half) = b * std::cos(angle) + a * std::sin(angle);
            }
    return y;
}

// family: the oracle folder's name (gpt2, bert, roberta, distilbert, llama, qwen2, gpt_neox,
// vit); hidden: hidden_states[layer] [T, D].
inline LayerInputs layerInputs(const QString& family, const QString& modelDir, const MatD& hidden,
                               int layer) {
    const QJsonObject cfg = readConfig(modelDir);
    Weights w(
        attnscope::SafeTensorsFile::open(modelDir + QStringLiteral("/model.safetensors")).value());
    const auto num = [&](const char* key) { return cfg.value(QLatin1String(key)).toDouble(); };
    const QString L = QString::number(layer);
    LayerInputs r;
    r.x = hidden;
    const VecD none;
    if (family == QLatin1String("gpt2")) {
        const QString p = QStringLiteral("transformer.h.") + L + QLatin1Char('.');
        const int D = int(num("n_embd"));
        r.heads = r.kvHeads = int(num("n_head"));
        r.headDim = D / r.heads;
        r.causal = true;
        r.xNorm = layerNorm(hidden, w.vector(p + "ln_1.weight"), w.vector(p + "ln_1.bias"),
                            num("layer_norm_epsilon"));
        MatD qkv = r.xNorm * w.matrix(p + "attn.c_attn.weight"); // Conv1D: [in, out]
        qkv.rowwise() += w.vector(p + "attn.c_attn.bias").transpose();
        r.qPre = r.q = qkv.leftCols(D);
        r.k = qkv.middleCols(D, D);
        r.v = qkv.rightCols(D);
        r.wo = w.matrix(p + "attn.c_proj.weight");
    } else if (family == QLatin1String("bert") || family == QLatin1String("roberta") ||
               family == QLatin1String("distilbert")) {
        const bool distil = family == QLatin1String("distilbert");
        const QString p =
            distil ? QStringLiteral("distilbert.transformer.layer.") + L +
                         QStringLiteral(".attention.")
                   : family + QStringLiteral(".encoder.layer.") + L + QStringLiteral(".attention.");
        const QString qn = distil ? "q_lin" : "self.query", kn = distil ? "k_lin" : "self.key",
                      vn = distil ? "v_lin" : "self.value",
                      on = distil ? "out_lin" : "output.dense";
        const int D = int(num(distil ? "dim" : "hidden_size"));
        r.heads = r.kvHeads = int(num(distil ? "n_heads" : "num_attention_heads"));
        r.headDim = D / r.heads;
        r.xNorm = hidden; // post-LayerNorm: attention reads the layer input as is
        const auto lin = [&](const QString& n) {
            return linear(hidden, w.matrix(p + n + ".weight"), w.vector(p + n + ".bias"));
        };
        r.qPre = r.q = lin(qn);
        r.k = lin(kn);
        r.v = lin(vn);
        r.wo = w.matrix(p + on + ".weight").transpose();
    } else if (family == QLatin1String("llama") || family == QLatin1String("qwen2")) {
        const QString p = QStringLiteral("model.layers.") + L + QLatin1Char('.');
        r.heads = int(num("num_attention_heads"));
        r.kvHeads = int(num("num_key_value_heads"));
        r.headDim = int(num("head_dim")) ? int(num("head_dim")) : int(num("hidden_size")) / r.heads;
        r.causal = true;
        const double theta = cfg.value("rope_parameters").toObject().value("rope_theta").toDouble();
        r.xNorm = rmsNorm(hidden, w.vector(p + "input_layernorm.weight"), num("rms_norm_eps"));
        const auto lin = [&](const QString& n) {
            const QString b = p + "self_attn." + n + ".bias";
            return linear(r.xNorm, w.matrix(p + "self_attn." + n + ".weight"),
                          w.has(b) ? w.vector(b) : none);
        };
        r.qPre = lin("q_proj");
        r.q = rotate(r.qPre, r.heads, r.headDim, r.headDim, theta);
        r.k = rotate(lin("k_proj"), r.kvHeads, r.headDim, r.headDim, theta);
        r.v = lin("v_proj");
        r.wo = w.matrix(p + "self_attn.o_proj.weight").transpose();
    } else if (family == QLatin1String("gpt_neox")) {
        const QString p = QStringLiteral("gpt_neox.layers.") + L + QLatin1Char('.');
        const int D = int(num("hidden_size"));
        r.heads = r.kvHeads = int(num("num_attention_heads"));
        const int d = r.headDim = D / r.heads;
        r.causal = true;
        const QJsonObject rope = cfg.value("rope_parameters").toObject();
        const int rotary = int(d * rope.value("partial_rotary_factor").toDouble());
        r.xNorm = layerNorm(hidden, w.vector(p + "input_layernorm.weight"),
                            w.vector(p + "input_layernorm.bias"), num("layer_norm_eps"));
        const MatD fused = linear(r.xNorm, w.matrix(p + "attention.query_key_value.weight"),
                                  w.vector(p + "attention.query_key_value.bias"));
        r.qPre = r.k = r.v = MatD(hidden.rows(), D);
        for (int h = 0; h < r.heads; ++h) { // [H, 3, d] on the output axis
            r.qPre.middleCols(h * d, d) = fused.middleCols(3 * h * d, d);
            r.k.middleCols(h * d, d) = fused.middleCols((3 * h + 1) * d, d);
            r.v.middleCols(h * d, d) = fused.middleCols((3 * h + 2) * d, d);
        }
        const double theta = rope.value("rope_theta").toDouble();
        r.q = rotate(r.qPre, r.heads, d, rotary, theta);
        r.k = rotate(r.k, r.heads, d, rotary, theta);
        r.wo = w.matrix(p + "attention.dense.weight").transpose();
    } else if (family == QLatin1String("vit")) {
        const QString p = QStringLiteral("vit.encoder.layer.") + L + QLatin1Char('.');
        const int D = int(num("hidden_size"));
        r.heads = r.kvHeads = int(num("num_attention_heads"));
        r.headDim = D / r.heads;
        r.xNorm = layerNorm(hidden, w.vector(p + "layernorm_before.weight"),
                            w.vector(p + "layernorm_before.bias"), num("layer_norm_eps"));
        const auto lin = [&](const QString& n) {
            const QString a = p + "attention.attention." + n;
            return linear(r.xNorm, w.matrix(a + ".weight"), w.vector(a + ".bias"));
        };
        r.qPre = r.q = lin("query");
        r.k = lin("key");
        r.v = lin("value");
        r.wo = w.matrix(p + "attention.output.dense.weight").transpose();
    }
    return r;
}

// Relative error: max |a - b| over max |b|.
inline double relativeError(const MatD& got, const MatD& want) {
    if (got.rows() != want.rows() || got.cols() != want.cols()) return 1e30;
    return (got - want).cwiseAbs().maxCoeff() / std::max(want.cwiseAbs().maxCoeff(), 1e-30);
}

} // namespace reference
