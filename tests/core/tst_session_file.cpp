// Session files (core/session_file.h): every field survives a write and a read; damaged,
// truncated, wrong-typed and newer-version files are one clear error naming what is wrong;
// relative paths resolve against the session's folder.
#include "session_file.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace attnscope;

Q_DECLARE_METATYPE(attnscope::SessionFile)

namespace {

// A session with every field away from its default.
SessionFile everyField() {
    SessionFile s;
    s.model = QStringLiteral("models/bert-tiny");
    s.text = QStringLiteral("The cat “sat” on the mat 🐈.");
    s.pair = QStringLiteral("Was it tired?");
    s.against = QStringLiteral("The dog sat on the mat.");
    s.image = QStringLiteral("pictures/shirt.png");
    s.layer = 3;
    s.head = 5;
    s.show = QStringLiteral("max");
    s.allHeadsChecked = false;
    s.checkedHeads = {{0, 1}, {3, 4}, {3, 5}};
    s.queryTokens = {2, 4, 7};
    s.combine = QStringLiteral("mean");
    s.patch = 12;
    s.view = QStringLiteral("compare");
    s.specialTokens = QStringLiteral("grey");
    s.linkThreshold = 0.125;
    s.theme = QStringLiteral("dark");
    s.colorMap = QStringLiteral("blues");
    s.stretchColours = true;
    s.gridTile = 72.5;
    s.gridStatistic = QStringLiteral("focus");
    s.comparePanes = {{1, 2, false}, {2, SessionPane::kMean, true}, {3, SessionPane::kMax, false}};
    s.diffMode = QStringLiteral("texts");
    s.diffA = {2, SessionPane::kMax, false};
    s.diffB = {1, 3, false};
    s.imageOpacity = 0.35;
    s.imageSmooth = true;
    s.imageTopMass = 0.6;
    s.imageGrid = false;
    s.imageOverlay = QStringLiteral("rollout");
    return s;
}

QByteArray withValue(const QString& path, const QJsonValue& value) {
    QJsonObject root = QJsonDocument::fromJson(sessionJson(everyField())).object();
    const QStringList keys = path.split(QLatin1Char('.'));
    // Nested set: rebuild each object on the way back up.
    std::function<QJsonObject(QJsonObject, int)> set = [&](QJsonObject o, int i) {
        if (i == keys.size() - 1)
            if (value.isUndefined())
                o.remove(keys[i]);
            else
                o.insert(keys[i], value);
        else
            o.insert(keys[i], set(o.value(keys[i]).toObject(), i + 1));
        return o;
    };
    return QJsonDocument(set(root, 0)).toJson();
}

} // namespace

class TestSessionFile : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data() {
        QTest::addColumn<SessionFile>("session");
        QTest::newRow("every field") << everyField();
        QTest::newRow("defaults") << [] {
            SessionFile s;
            s.model = QStringLiteral("default");
            return s;
        }();
        QTest::newRow("attention file") << [] {
            SessionFile s = everyField();
            s.model.clear();
            s.attentionFile = QStringLiteral("/data/llama70b/attn.safetensors");
            s.tokensFile = QStringLiteral("tokens.json");
            s.diffMode = QStringLiteral("heads");
            return s;
        }();
        QTest::newRow("no heads checked") << [] {
            SessionFile s = everyField();
            s.checkedHeads.clear();
            return s;
        }();
        QTest::newRow("no compare panes, image view") << [] {
            SessionFile s = everyField();
            s.comparePanes.clear();
            s.view = QStringLiteral("image");
            s.model = QStringLiteral("default-vision");
            return s;
        }();
    }
    void roundTrip() {
        QFETCH(SessionFile, session);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("s.attnscope"));
        QVERIFY(writeSessionFile(path, session).ok());
        auto read = readSessionFile(path);
        QVERIFY2(read.ok(), qPrintable(read.message()));
        QCOMPARE(read->model, session.model);
        QCOMPARE(read->text, session.text);
        QCOMPARE(read->checkedHeads, session.checkedHeads);
        QCOMPARE(read->comparePanes, session.comparePanes);
        QCOMPARE(read->linkThreshold, session.linkThreshold);
        QVERIFY(*read == session); // and every other field
        // The file says what it is.
        const QJsonObject root = QJsonDocument::fromJson(sessionJson(session)).object();
        QCOMPARE(root[QStringLiteral("format")].toString(), QStringLiteral("attnscope-session"));
        QCOMPARE(root[QStringLiteral("version")].toInt(), kSessionFileVersion);
    }

    void badFiles_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected"); // part of the one-line message
        const QByteArray good = sessionJson(everyField());
        QTest::newRow("empty") << QByteArray() << "is empty";
        QTest::newRow("whitespace") << QByteArray("  \n") << "is empty";
        QTest::newRow("not json") << QByteArray("model=default\n") << "not a complete session";
        for (double fraction : {0.1, 0.5, 0.9, 0.99})
            QTest::newRow(qPrintable(QStringLiteral("truncated at %1 %").arg(fraction * 100)))
                << good.left(qsizetype(good.size() * fraction)) << "truncated or damaged";
        QTest::newRow("a list") << QByteArray("[1, 2]") << "JSON list, not an object";
        QTest::newRow("no format") << withValue(QStringLiteral("format"), QJsonValue::Undefined)
                                   << "\"format\" must be \"attnscope-session\", found nothing";
        QTest::newRow("other format")
            << withValue(QStringLiteral("format"), QStringLiteral("bertviz"))
            << "found the string \"bertviz\"";
        QTest::newRow("newer version") << withValue(QStringLiteral("version"), 7)
                                       << "version 7 session, written by a newer attnscope; this "
                                          "build reads versions up to 1";
        QTest::newRow("version a string")
            << withValue(QStringLiteral("version"), QStringLiteral("1"))
            << "\"version\" must be a whole number from 1 to 1073741824, found the string \"1\"";
        QTest::newRow("version fractional")
            << withValue(QStringLiteral("version"), 1.5) << "found the number 1.5";
        QTest::newRow("no source") << withValue(QStringLiteral("source"), QJsonValue::Undefined)
                                   << "\"source\" must be an object";
        QTest::newRow("both sources")
            << withValue(QStringLiteral("source.attention"), QStringLiteral("a.npy"))
            << "exactly one of \"model\"";
        QTest::newRow("model a number") << withValue(QStringLiteral("source.model"), 3)
                                        << "\"source.model\" must be a string, found the number 3";
        QTest::newRow("text a list") << withValue(QStringLiteral("input.text"), QJsonArray{1})
                                     << "\"input.text\" must be a string, found a list";
        QTest::newRow("layer negative") << withValue(QStringLiteral("selection.layer"), -1)
                                        << "\"selection.layer\" must be a whole number";
        QTest::newRow("head a string")
            << withValue(QStringLiteral("selection.head"), QStringLiteral("2"))
            << "\"selection.head\" must be a whole number from 0 to 1048576, found the string";
        QTest::newRow("show unknown")
            << withValue(QStringLiteral("selection.show"), QStringLiteral("median"))
            << "\"selection.show\" must be one of head, mean, max";
        QTest::newRow("checked heads a number")
            << withValue(QStringLiteral("selection.checked_heads"), 3)
            << "\"selection.checked_heads\" must be \"all\" or a list of [layer, head] pairs, "
               "found the number 3";
        QTest::newRow("checked head not a pair")
            << withValue(QStringLiteral("selection.checked_heads"), QJsonArray{QJsonArray{1}})
            << "\"selection.checked_heads[0]\" must be a [layer, head] pair";
        QTest::newRow("query token a bool")
            << withValue(QStringLiteral("selection.query_tokens"), QJsonArray{1, true})
            << "\"selection.query_tokens[1]\" must be a whole number";
        QTest::newRow("view unknown")
            << withValue(QStringLiteral("view.current"), QStringLiteral("3d"))
            << "\"view.current\" must be one of heatmap, links, grid, compare, diff, image";
        QTest::newRow("threshold 1") << withValue(QStringLiteral("view.link_threshold"), 1)
                                     << "\"view.link_threshold\" must be a number from 0 to 1 "
                                        "(excluded), found the number 1";
        QTest::newRow("stretch a string")
            << withValue(QStringLiteral("view.stretch_colours"), QStringLiteral("yes"))
            << "\"view.stretch_colours\" must be true or false";
        QTest::newRow("grid an array") << withValue(QStringLiteral("view.grid"), QJsonArray{})
                                       << "\"view.grid\" must be an object, found a list";
        QTest::newRow("one compare pane")
            << withValue(QStringLiteral("view.compare"),
                         QJsonArray{QJsonObject{{"layer", 0}, {"head", 0}}})
            << "\"view.compare\" must hold 2 to 4 panes, found 1";
        QTest::newRow("compare head median")
            << withValue(QStringLiteral("view.compare"),
                         QJsonArray{QJsonObject{{"layer", 0}, {"head", 0}},
                                    QJsonObject{{"layer", 0}, {"head", "median"}}})
            << "\"view.compare[1].head\" must be a head number, \"mean\" or \"max\"";
        QTest::newRow("diff pane without head")
            << withValue(QStringLiteral("view.diff.b"), QJsonObject{{"layer", 1}})
            << "\"view.diff.b\" needs both \"layer\" and \"head\"";
        QTest::newRow("opacity 2") << withValue(QStringLiteral("view.image.opacity"), 2)
                                   << "\"view.image.opacity\" must be a number from 0 to 1";
        QTest::newRow("texts diff of a file") << [] {
            SessionFile s = everyField();
            s.model.clear();
            s.attentionFile = QStringLiteral("a.npy");
            s.view = QStringLiteral("diff");
            return sessionJson(s);
        }() << "a difference of two texts needs a model";
    }
    void badFiles() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("bad.attnscope"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        f.close();
        auto read = readSessionFile(path);
        QVERIFY(!read.ok());
        QVERIFY2(read.message().contains(expected), qPrintable(read.message()));
        QVERIFY2(read.message().startsWith(QStringLiteral("bad.attnscope")),
                 qPrintable(read.message()));
        QVERIFY(!read.message().contains(QLatin1Char('\n')));
    }

    void missingAndHostileFiles() {
        QTemporaryDir dir;
        auto missing = readSessionFile(dir.filePath(QStringLiteral("nothing.attnscope")));
        QVERIFY(!missing.ok());
        QVERIFY2(missing.message().contains(QStringLiteral("nothing.attnscope")),
                 qPrintable(missing.message()));
        auto folder = readSessionFile(dir.path());
        QVERIFY(!folder.ok());
        auto stream = readSessionFile(QStringLiteral("/dev/zero")); // never read to the end
        QVERIFY(!stream.ok());
    }

    void writeIsAtomic() {
        // A session that cannot be written (its folder is missing) leaves nothing behind, and
        // a good write replaces the old file as a whole.
        QTemporaryDir dir;
        QVERIFY(!writeSessionFile(dir.filePath(QStringLiteral("no/such/s.attnscope")), everyField())
                     .ok());
        const QString path = dir.filePath(QStringLiteral("s.attnscope"));
        QVERIFY(writeSessionFile(path, everyField()).ok());
        SessionFile other;
        other.model = QStringLiteral("default");
        QVERIFY(writeSessionFile(path, other).ok());
        QCOMPARE(*readSessionFile(path), other);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files),
                 QStringList{QStringLiteral("s.attnscope")});
    }

    void relativePaths_data() {
        QTest::addColumn<QString>("stored");
        QTest::addColumn<QString>("resolved"); // relative to the session's folder /s/proj
        QTest::newRow("relative") << "models/bert"
                                  << "/s/proj/models/bert";
        QTest::newRow("parent") << "../data/a.npy"
                                << "/s/data/a.npy";
        QTest::newRow("absolute") << "/opt/m"
                                  << "/opt/m";
        QTest::newRow("default") << "default"
                                 << "default";
        QTest::newRow("default-vision") << "default-vision"
                                        << "default-vision";
    }
    void relativePaths() {
        QFETCH(QString, stored);
        QFETCH(QString, resolved);
        SessionFile s;
        s.model = stored;
        s.image = stored == QLatin1String("default") ? QString() : stored;
        const SessionFile r = s.resolvedAgainst(QStringLiteral("/s/proj/view.attnscope"));
        QCOMPARE(r.model, resolved);
        if (!s.image.isEmpty() && stored != QLatin1String("default-vision"))
            QCOMPARE(r.image, resolved);
        QCOMPARE(s.model, stored); // stored as given
    }
};

QTEST_GUILESS_MAIN(TestSessionFile)
#include "tst_session_file.moc"
