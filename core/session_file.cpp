#include "session_file.h"

#include "file_limits.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <algorithm>
#include <cmath>

namespace attnscope {

namespace {

constexpr qint64 kMaxSessionBytes = 16 * kMiB;

QString typeName(const QJsonValue& v) {
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double:
        return QStringLiteral("the number %1").arg(v.toDouble());
    case QJsonValue::String: {
        const QString s = v.toString();
        return QStringLiteral("the string \"%1\"").arg(s.size() > 40 ? s.left(40) + "…" : s);
    }
    case QJsonValue::Array:
        return QStringLiteral("a list");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

// Reads one JSON object's keys into a SessionFile; the first problem is kept and stops it.
class Reader {
public:
    explicit Reader(QString name) : m_name(std::move(name)) {}
    bool failed() const { return !m_error.isEmpty(); }
    Error error() const { return Error{m_error}; }

    void fail(const QString& key, const QString& expected, const QJsonValue& found) {
        if (failed()) return;
        m_error = QStringLiteral("%1: \"%2\" must be %3, found %4")
                      .arg(m_name, key, expected, typeName(found));
    }
    void failWith(const QString& message) {
        if (!failed()) m_error = QStringLiteral("%1: %2").arg(m_name, message);
    }

    // Each reader leaves `out` as it was when the key is absent.
    QJsonObject object(const QJsonObject& in, const QString& key, const QString& path) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return {};
        if (!v.isObject()) fail(path, QStringLiteral("an object"), v);
        return v.toObject();
    }
    void string(const QJsonObject& in, const QString& key, const QString& path, QString& out) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return;
        if (!v.isString()) return fail(path, QStringLiteral("a string"), v);
        out = v.toString();
    }
    void word(const QJsonObject& in, const QString& key, const QString& path,
              const QStringList& allowed, QString& out) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return;
        if (!v.isString() || !allowed.contains(v.toString()))
            return fail(path, QStringLiteral("one of %1").arg(allowed.join(QStringLiteral(", "))),
                        v);
        out = v.toString();
    }
    void boolean(const QJsonObject& in, const QString& key, const QString& path, bool& out) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return;
        if (!v.isBool()) return fail(path, QStringLiteral("true or false"), v);
        out = v.toBool();
    }
    // A whole number in [low, high].
    bool integer(const QJsonValue& v, const QString& path, int low, int high, int& out) {
        const double d = v.toDouble(std::nan(""));
        if (!v.isDouble() || !std::isfinite(d) || d != std::floor(d) || d < low || d > high) {
            fail(path, QStringLiteral("a whole number from %1 to %2").arg(low).arg(high), v);
            return false;
        }
        out = int(d);
        return true;
    }
    void integer(const QJsonObject& in, const QString& key, const QString& path, int low, int high,
                 int& out) {
        const QJsonValue v = in.value(key);
        if (!v.isUndefined()) integer(v, path, low, high, out);
    }
    // A number in [low, high] (or [low, high) when highOpen).
    void number(const QJsonObject& in, const QString& key, const QString& path, double low,
                double high, bool highOpen, double& out) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return;
        const double d = v.toDouble(std::nan(""));
        if (!v.isDouble() || !std::isfinite(d) || d < low || d > high || (highOpen && d >= high))
            return fail(path,
                        QStringLiteral("a number from %1 to %2%3")
                            .arg(low)
                            .arg(high)
                            .arg(highOpen ? QStringLiteral(" (excluded)") : QString()),
                        v);
        out = d;
    }
    QJsonArray array(const QJsonObject& in, const QString& key, const QString& path) {
        const QJsonValue v = in.value(key);
        if (v.isUndefined()) return {};
        if (!v.isArray()) fail(path, QStringLiteral("a list"), v);
        return v.toArray();
    }
    // {"layer": L, "head": H | "mean" | "max"[, "view": "heatmap" | "links"]}
    SessionPane pane(const QJsonValue& value, const QString& path, bool withView) {
        SessionPane pane;
        if (!value.isObject()) {
            fail(path, QStringLiteral("an object {\"layer\": L, \"head\": H}"), value);
            return pane;
        }
        const QJsonObject o = value.toObject();
        if (!o.contains(QStringLiteral("layer")) || !o.contains(QStringLiteral("head"))) {
            failWith(QStringLiteral("\"%1\" needs both \"layer\" and \"head\"").arg(path));
            return pane;
        }
        integer(o, QStringLiteral("layer"), path + QStringLiteral(".layer"), 0, 1 << 20,
                pane.layer);
        const QJsonValue head = o.value(QStringLiteral("head"));
        if (head == QJsonValue(QStringLiteral("mean")))
            pane.head = SessionPane::kMean;
        else if (head == QJsonValue(QStringLiteral("max")))
            pane.head = SessionPane::kMax;
        else if (!head.isDouble())
            fail(path + QStringLiteral(".head"),
                 QStringLiteral("a head number, \"mean\" or \"max\""), head);
        else
            integer(head, path + QStringLiteral(".head"), 0, 1 << 20, pane.head);
        if (withView) {
            QString view = QStringLiteral("heatmap");
            word(o, QStringLiteral("view"), path + QStringLiteral(".view"),
                 {QStringLiteral("heatmap"), QStringLiteral("links")}, view);
            pane.links = view == QLatin1String("links");
        }
        return pane;
    }

private:
    QString m_name;
    QString m_error;
};

QJsonValue paneHeadJson(int head) {
    return head == SessionPane::kMean  ? QJsonValue(QStringLiteral("mean"))
           : head == SessionPane::kMax ? QJsonValue(QStringLiteral("max"))
                                       : QJsonValue(head);
}

QJsonObject paneJson(const SessionPane& pane, bool withView) {
    QJsonObject o{{QStringLiteral("layer"), pane.layer},
                  {QStringLiteral("head"), paneHeadJson(pane.head)}};
    if (withView)
        o.insert(QStringLiteral("view"),
                 pane.links ? QStringLiteral("links") : QStringLiteral("heatmap"));
    return o;
}

QString resolve(const QDir& folder, const QString& stored) {
    if (stored.isEmpty() || QDir::isAbsolutePath(stored)) return stored;
    return QDir::cleanPath(folder.absoluteFilePath(stored));
}

} // namespace

const QStringList& sessionViewNames() {
    static const QStringList names{QStringLiteral("heatmap"), QStringLiteral("links"),
                                   QStringLiteral("grid"),    QStringLiteral("compare"),
                                   QStringLiteral("diff"),    QStringLiteral("image")};
    return names;
}

const QStringList& sessionColorMapNames() {
    static const QStringList names{QStringLiteral("viridis"), QStringLiteral("blues")};
    return names;
}

const QStringList& sessionGridStatisticNames() {
    static const QStringList names{QStringLiteral("none"),        QStringLiteral("previous_token"),
                                   QStringLiteral("first_token"), QStringLiteral("confidence"),
                                   QStringLiteral("focus"),       QStringLiteral("same_token"),
                                   QStringLiteral("next_token"),  QStringLiteral("special_tokens"),
                                   QStringLiteral("punctuation"), QStringLiteral("distance")};
    return names;
}

SessionFile SessionFile::resolvedAgainst(const QString& sessionPath) const {
    const QDir folder = QFileInfo(sessionPath).absoluteDir();
    SessionFile out = *this;
    if (model != QLatin1String("default") && model != QLatin1String("default-vision"))
        out.model = resolve(folder, model);
    out.attentionFile = resolve(folder, attentionFile);
    out.tokensFile = resolve(folder, tokensFile);
    out.image = resolve(folder, image);
    return out;
}

Result<SessionFile> parseSessionJson(const QByteArray& json, const QString& name) {
    if (json.trimmed().isEmpty())
        return Error{QStringLiteral("%1 is empty, not a session file").arg(name)};
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error{QStringLiteral("%1 is not a complete session file (JSON: %2 at byte %3 of %4; "
                                    "truncated or damaged?)")
                         .arg(name, parseError.errorString())
                         .arg(parseError.offset)
                         .arg(json.size())};
    if (!document.isObject())
        return Error{
            QStringLiteral("%1 is not a session file: it holds a JSON %2, not an object")
                .arg(name, document.isArray() ? QStringLiteral("list") : QStringLiteral("value"))};
    const QJsonObject root = document.object();
    Reader r(name);
    SessionFile s;

    const QJsonValue format = root.value(QStringLiteral("format"));
    if (format != QJsonValue(kSessionFormat))
        return Error{QStringLiteral("%1 is not an attnscope session: \"format\" must be \"%2\", "
                                    "found %3")
                         .arg(name, kSessionFormat, typeName(format))};
    const QJsonValue versionValue = root.value(QStringLiteral("version"));
    int version = 0;
    if (!r.integer(versionValue, QStringLiteral("version"), 1, 1 << 30, version)) return r.error();
    if (version > kSessionFileVersion)
        return Error{
            QStringLiteral("%1 is a version %2 session, written by a newer attnscope; this "
                           "build reads versions up to %3")
                .arg(name)
                .arg(version)
                .arg(kSessionFileVersion)};

    const QJsonValue sourceValue = root.value(QStringLiteral("source"));
    if (!sourceValue.isObject()) {
        r.fail(QStringLiteral("source"),
               QStringLiteral("an object with \"model\" or \"attention\""), sourceValue);
        return r.error();
    }
    const QJsonObject source = sourceValue.toObject();
    r.string(source, QStringLiteral("model"), QStringLiteral("source.model"), s.model);
    r.string(source, QStringLiteral("attention"), QStringLiteral("source.attention"),
             s.attentionFile);
    r.string(source, QStringLiteral("tokens"), QStringLiteral("source.tokens"), s.tokensFile);
    if (r.failed()) return r.error();
    if (s.model.isEmpty() == s.attentionFile.isEmpty())
        return Error{QStringLiteral("%1: \"source\" needs exactly one of \"model\" (a checkpoint "
                                    "folder or default) and \"attention\" (an attention file)")
                         .arg(name)};
    if (!s.model.isEmpty() && !s.tokensFile.isEmpty())
        return Error{QStringLiteral("%1: \"source.tokens\" goes with \"source.attention\", not "
                                    "with a model (the model has its tokenizer)")
                         .arg(name)};

    const QJsonObject input = r.object(root, QStringLiteral("input"), QStringLiteral("input"));
    r.string(input, QStringLiteral("text"), QStringLiteral("input.text"), s.text);
    r.string(input, QStringLiteral("pair"), QStringLiteral("input.pair"), s.pair);
    r.string(input, QStringLiteral("against"), QStringLiteral("input.against"), s.against);
    r.string(input, QStringLiteral("image"), QStringLiteral("input.image"), s.image);

    constexpr int kMaxIndex = 1 << 20; // far beyond any model's layers, heads or tokens
    const QJsonObject selection =
        r.object(root, QStringLiteral("selection"), QStringLiteral("selection"));
    r.integer(selection, QStringLiteral("layer"), QStringLiteral("selection.layer"), 0, kMaxIndex,
              s.layer);
    r.integer(selection, QStringLiteral("head"), QStringLiteral("selection.head"), 0, kMaxIndex,
              s.head);
    r.word(selection, QStringLiteral("show"), QStringLiteral("selection.show"),
           {QStringLiteral("head"), QStringLiteral("mean"), QStringLiteral("max")}, s.show);
    const QJsonValue checkedValue = selection.value(QStringLiteral("checked_heads"));
    QJsonArray checked;
    if (checkedValue.isArray()) {
        s.allHeadsChecked = false;
        checked = checkedValue.toArray();
    } else if (!checkedValue.isUndefined() && checkedValue != QJsonValue(QStringLiteral("all"))) {
        r.fail(QStringLiteral("selection.checked_heads"),
               QStringLiteral("\"all\" or a list of [layer, head] pairs"), checkedValue);
    }
    for (qsizetype i = 0; i < checked.size() && !r.failed(); ++i) {
        const QString path = QStringLiteral("selection.checked_heads[%1]").arg(i);
        const QJsonArray pair = checked[i].toArray();
        if (!checked[i].isArray() || pair.size() != 2) {
            r.fail(path, QStringLiteral("a [layer, head] pair"), checked[i]);
            break;
        }
        int layer = 0, head = 0;
        if (r.integer(pair[0], path + QStringLiteral("[0]"), 0, kMaxIndex, layer) &&
            r.integer(pair[1], path + QStringLiteral("[1]"), 0, kMaxIndex, head))
            s.checkedHeads.emplace_back(layer, head);
    }
    const QJsonArray queries = r.array(selection, QStringLiteral("query_tokens"),
                                       QStringLiteral("selection.query_tokens"));
    for (qsizetype i = 0; i < queries.size() && !r.failed(); ++i) {
        int token = 0;
        if (r.integer(queries[i], QStringLiteral("selection.query_tokens[%1]").arg(i), 0, kMaxIndex,
                      token))
            s.queryTokens.push_back(token);
    }
    std::sort(s.queryTokens.begin(), s.queryTokens.end());
    s.queryTokens.erase(std::unique(s.queryTokens.begin(), s.queryTokens.end()),
                        s.queryTokens.end());
    r.word(selection, QStringLiteral("combine"), QStringLiteral("selection.combine"),
           {QStringLiteral("sum"), QStringLiteral("mean")}, s.combine);
    r.integer(selection, QStringLiteral("patch"), QStringLiteral("selection.patch"), -1, kMaxIndex,
              s.patch);

    const QJsonObject view = r.object(root, QStringLiteral("view"), QStringLiteral("view"));
    r.word(view, QStringLiteral("current"), QStringLiteral("view.current"), sessionViewNames(),
           s.view);
    r.word(view, QStringLiteral("special_tokens"), QStringLiteral("view.special_tokens"),
           {QStringLiteral("show"), QStringLiteral("hide"), QStringLiteral("grey")},
           s.specialTokens);
    r.number(view, QStringLiteral("link_threshold"), QStringLiteral("view.link_threshold"), 0, 1,
             true, s.linkThreshold);
    r.word(view, QStringLiteral("theme"), QStringLiteral("view.theme"),
           {QStringLiteral("light"), QStringLiteral("dark")}, s.theme);
    r.word(view, QStringLiteral("color_map"), QStringLiteral("view.color_map"),
           sessionColorMapNames(), s.colorMap);
    r.boolean(view, QStringLiteral("stretch_colours"), QStringLiteral("view.stretch_colours"),
              s.stretchColours);
    const QJsonObject grid = r.object(view, QStringLiteral("grid"), QStringLiteral("view.grid"));
    r.number(grid, QStringLiteral("tile"), QStringLiteral("view.grid.tile"), 0, 240, false,
             s.gridTile);
    r.word(grid, QStringLiteral("statistic"), QStringLiteral("view.grid.statistic"),
           sessionGridStatisticNames(), s.gridStatistic);
    const QJsonArray compare =
        r.array(view, QStringLiteral("compare"), QStringLiteral("view.compare"));
    if (!compare.isEmpty() && (compare.size() < 2 || compare.size() > 4))
        r.failWith(QStringLiteral("\"view.compare\" must hold 2 to 4 panes, found %1")
                       .arg(compare.size()));
    for (qsizetype i = 0; i < compare.size() && !r.failed(); ++i)
        s.comparePanes.push_back(
            r.pane(compare[i], QStringLiteral("view.compare[%1]").arg(i), true));
    const QJsonObject diff = r.object(view, QStringLiteral("diff"), QStringLiteral("view.diff"));
    r.word(diff, QStringLiteral("mode"), QStringLiteral("view.diff.mode"),
           {QStringLiteral("heads"), QStringLiteral("texts")}, s.diffMode);
    if (diff.contains(QStringLiteral("a")))
        s.diffA = r.pane(diff.value(QStringLiteral("a")), QStringLiteral("view.diff.a"), false);
    if (diff.contains(QStringLiteral("b")))
        s.diffB = r.pane(diff.value(QStringLiteral("b")), QStringLiteral("view.diff.b"), false);
    const QJsonObject image = r.object(view, QStringLiteral("image"), QStringLiteral("view.image"));
    r.number(image, QStringLiteral("opacity"), QStringLiteral("view.image.opacity"), 0, 1, false,
             s.imageOpacity);
    QString upsample = s.imageSmooth ? QStringLiteral("smooth") : QStringLiteral("nearest");
    r.word(image, QStringLiteral("upsample"), QStringLiteral("view.image.upsample"),
           {QStringLiteral("nearest"), QStringLiteral("smooth")}, upsample);
    s.imageSmooth = upsample == QLatin1String("smooth");
    r.number(image, QStringLiteral("top_mass"), QStringLiteral("view.image.top_mass"), 0, 1, false,
             s.imageTopMass);
    if (!r.failed() && !(s.imageTopMass > 0))
        r.failWith(QStringLiteral("\"view.image.top_mass\" must be above 0"));
    r.boolean(image, QStringLiteral("grid"), QStringLiteral("view.image.grid"), s.imageGrid);
    r.word(image, QStringLiteral("overlay"), QStringLiteral("view.image.overlay"),
           {QStringLiteral("attention"), QStringLiteral("rollout")}, s.imageOverlay);
    if (r.failed()) return r.error();
    if (s.view == QLatin1String("diff") && s.diffMode == QLatin1String("texts") &&
        s.usesAttentionFile())
        return Error{QStringLiteral("%1: a difference of two texts needs a model; this session "
                                    "opens an attention file")
                         .arg(name)};
    return s;
}

Result<SessionFile> readSessionFile(const QString& path) {
    auto bytes = readBoundedFile(path, kMaxSessionBytes, QStringLiteral("session file"));
    if (!bytes) return bytes.error();
    return parseSessionJson(*bytes, QFileInfo(path).fileName());
}

QByteArray sessionJson(const SessionFile& s) {
    QJsonObject source;
    if (!s.model.isEmpty()) source.insert(QStringLiteral("model"), s.model);
    if (!s.attentionFile.isEmpty()) source.insert(QStringLiteral("attention"), s.attentionFile);
    if (!s.tokensFile.isEmpty()) source.insert(QStringLiteral("tokens"), s.tokensFile);
    QJsonObject input{{QStringLiteral("text"), s.text}};
    if (!s.pair.isEmpty()) input.insert(QStringLiteral("pair"), s.pair);
    if (!s.against.isEmpty()) input.insert(QStringLiteral("against"), s.against);
    if (!s.image.isEmpty()) input.insert(QStringLiteral("image"), s.image);
    QJsonArray checked, queries, compare;
    for (const auto& [layer, head] : s.checkedHeads)
        checked.append(QJsonArray{layer, head});
    for (int token : s.queryTokens)
        queries.append(token);
    for (const SessionPane& pane : s.comparePanes)
        compare.append(paneJson(pane, true));
    const QJsonObject selection{
        {QStringLiteral("layer"), s.layer},
        {QStringLiteral("head"), s.head},
        {QStringLiteral("show"), s.show},
        {QStringLiteral("checked_heads"),
         s.allHeadsChecked ? QJsonValue(QStringLiteral("all")) : QJsonValue(checked)},
        {QStringLiteral("query_tokens"), queries},
        {QStringLiteral("combine"), s.combine},
        {QStringLiteral("patch"), s.patch}};
    QJsonObject view{
        {QStringLiteral("current"), s.view},
        {QStringLiteral("special_tokens"), s.specialTokens},
        {QStringLiteral("link_threshold"), s.linkThreshold},
        {QStringLiteral("theme"), s.theme},
        {QStringLiteral("color_map"), s.colorMap},
        {QStringLiteral("stretch_colours"), s.stretchColours},
        {QStringLiteral("grid"), QJsonObject{{QStringLiteral("tile"), s.gridTile},
                                             {QStringLiteral("statistic"), s.gridStatistic}}},
        {QStringLiteral("diff"), QJsonObject{{QStringLiteral("mode"), s.diffMode},
                                             {QStringLiteral("a"), paneJson(s.diffA, false)},
                                             {QStringLiteral("b"), paneJson(s.diffB, false)}}},
        {QStringLiteral("image"),
         QJsonObject{{QStringLiteral("opacity"), s.imageOpacity},
                     {QStringLiteral("upsample"),
                      s.imageSmooth ? QStringLiteral("smooth") : QStringLiteral("nearest")},
                     {QStringLiteral("top_mass"), s.imageTopMass},
                     {QStringLiteral("grid"), s.imageGrid},
                     {QStringLiteral("overlay"), s.imageOverlay}}}};
    if (!compare.isEmpty()) view.insert(QStringLiteral("compare"), compare);
    const QJsonObject root{{QStringLiteral("format"), kSessionFormat},
                           {QStringLiteral("version"), kSessionFileVersion},
                           {QStringLiteral("source"), source},
                           {QStringLiteral("input"), input},
                           {QStringLiteral("selection"), selection},
                           {QStringLiteral("view"), view}};
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

Status writeSessionFile(const QString& path, const SessionFile& session) {
    return writeWholeFile(path, sessionJson(session));
}

} // namespace attnscope
