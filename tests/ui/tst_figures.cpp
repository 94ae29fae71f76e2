// Figures (issue 13) in-process: cell colours of exported PNGs at known weights (Hugging Face's
// reference attention, coloured here through the colour map), at 1x and 4x and in every theme,
// with and without title / caption / colour bar; the colour bar's ends against the colour
// map's ends, also the shared bar of the all-heads grid and of side by side; the window's
// File → Export Figure… dialog writing the same file as `attnscope export`, its preview, its
// error line; Edit → Copy Figure's clipboard image; File → Export Numbers… against the CLI.
#include <cmath>
#include "colormap.h"
#include "figure_dialog/figure_dialog.h"
#include "figure_export.h"
#include "figure_frame.h"
#include "figures.h"
#include "heatmap_widget.h"
#include "main_window.h"
#include "safetensors.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QImage>
#include <QLineEdit>
#include <QMimeData>
#include <QProcess>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace attnscope;

namespace {

QString gpt2Path() {
    return QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model");
}
const QString kText = QStringLiteral("The cat sat on the mat because it was tired.");
constexpr int kTimeout = 20000;

int channelDistance(QRgb a, QRgb b) {
    return std::max({std::abs(qRed(a) - qRed(b)), std::abs(qGreen(a) - qGreen(b)),
                     std::abs(qBlue(a) - qBlue(b))});
}

QRgb pixelAt(const QImage& image, QPointF layoutPoint, int scale) {
    return image.pixel(int(layoutPoint.x() * scale), int(layoutPoint.y() * scale));
}

int runCli(const QStringList& args, QByteArray* err = nullptr) {
    QProcess p;
    p.start(QStringLiteral(ATTNSCOPE_BINARY), args);
    if (!p.waitForFinished(60000)) return -1;
    if (err) *err = p.readAllStandardError();
    return p.exitCode();
}

} // namespace

class TestFigures : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void autoCaptionShortens_data();
    void autoCaptionShortens();
    void cellColours_data();
    void cellColours();
    void sharedColorBar_data();
    void sharedColorBar();
    void dialogWritesSameFileAsCli_data();
    void dialogWritesSameFileAsCli();
    void dialogShowsErrors();
    void copyFigure();
    void numbersFromWindow();

private:
    std::unique_ptr<MainWindow> readyWindow();
    std::shared_ptr<const LoadedModel> m_gpt2;
    std::shared_ptr<const Analysis> m_analysis;
    Tensor m_reference; // Hugging Face's attentions [L, H, T, T] for kText
    QTemporaryDir m_dir;
};

void TestFigures::initTestCase() {
    QVERIFY(m_dir.isValid());
    auto model = LoadedModel::open(gpt2Path());
    QVERIFY2(model.ok(), qPrintable(model.message()));
    m_gpt2 = *model;
    AnalysisRequest request;
    request.text = kText;
    auto analysis = m_gpt2->analyze(request);
    QVERIFY2(analysis.ok(), qPrintable(analysis.message()));
    m_analysis = std::make_shared<const Analysis>(std::move(*analysis));
    auto file =
        SafeTensorsFile::open(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/case0.safetensors"));
    QVERIFY2(file.ok(), qPrintable(file.message()));
    auto tensor = (*file)->floatTensor(QStringLiteral("attentions"));
    QVERIFY2(tensor.ok(), qPrintable(tensor.message()));
    m_reference.shape = tensor->shape;
    m_reference.data.assign(tensor->data, tensor->data + tensor->numel());
    QCOMPARE(m_reference.shape, (std::vector<int64_t>{2, 4, 11, 11}));
}

void TestFigures::autoCaptionShortens_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    const QString word = QStringLiteral("attention ");
    QTest::newRow("short") << QStringLiteral("The cat sat.")
                           << QStringLiteral("gpt2 · Layer 1 · Head 2 · “The cat sat.”");
    QTest::newRow("line breaks flattened")
        << QStringLiteral("The cat\n\n  sat.\t")
        << QStringLiteral("gpt2 · Layer 1 · Head 2 · “The cat sat.”");
    // 13 words, 129 characters: cut at the last space at or before 120 (after the 12th word).
    QTest::newRow("long, cut at a word")
        << word.repeated(13).trimmed()
        << QStringLiteral("gpt2 · Layer 1 · Head 2 · “%1 …”").arg(word.repeated(12).trimmed());
    QTest::newRow("one long word")
        << QString(130, QLatin1Char('x'))
        << QStringLiteral("gpt2 · Layer 1 · Head 2 · “%1 …”").arg(QString(120, QLatin1Char('x')));
    QTest::newRow("no text") << QString() << QStringLiteral("gpt2 · Layer 1 · Head 2");
}

void TestFigures::autoCaptionShortens() {
    QFETCH(QString, text);
    QFETCH(QString, expected);
    QCOMPARE(autoCaption(QStringLiteral("gpt2"), QStringLiteral("Layer 1 · Head 2"), text),
             expected);
}

std::unique_ptr<MainWindow> TestFigures::readyWindow() {
    auto w = std::make_unique<MainWindow>();
    w->resize(1200, 900);
    w->openModel(gpt2Path());
    w->show();
    (void)QTest::qWaitFor(
        [&] { return w->heatmap()->tokenCount() > 0 && !w->controller()->isBusy(); }, kTimeout);
    w->setText(kText);
    (void)QTest::qWaitFor(
        [&] { return w->analysis() && w->analysis()->text == kText && !w->controller()->isBusy(); },
        kTimeout);
    return w;
}

void TestFigures::cellColours_data() {
    QTest::addColumn<QString>("theme");
    QTest::addColumn<int>("scale");
    QTest::addColumn<bool>("framed"); // title, caption and a labelled colour bar
    for (const QString theme : {"light", "dark", "print"})
        for (int scale : {1, 4})
            for (bool framed : {false, true})
                QTest::addRow("%s-%dx-%s", qPrintable(theme), scale, framed ? "framed" : "bare")
                    << theme << scale << framed;
}

void TestFigures::cellColours() {
    QFETCH(QString, theme);
    QFETCH(int, scale);
    QFETCH(bool, framed);
    FigureRequest request;
    request.view = FigureView::Heatmap;
    request.state.layer = 1;
    request.state.head = 2;
    QVERIFY(applyThemeName(request.state, theme).ok());
    request.scale = scale;
    request.size = QSize(700, 600);
    if (framed) {
        request.options.title = QStringLiteral("Previous-token head");
        request.options.caption = CaptionMode::Text;
        request.options.captionText = QStringLiteral("GPT-2 fixture, layer 1 head 2");
        request.options.colorBar = ColorBarMode::On;
    }
    const QString path =
        m_dir.filePath(QStringLiteral("cells-%1.png").arg(QTest::currentDataTag()));
    const Status status = exportFigure(m_analysis, request, path);
    QVERIFY2(status.ok(), qPrintable(status.message()));
    const QImage image(path);
    QCOMPARE(image.size(), QSize(700, 600) * scale);
    const ChromePalette chrome = request.state.chrome();
    QCOMPARE(QColor(image.pixel(1, 1)), chrome.background);
    if (theme == QLatin1String("print")) QCOMPARE(chrome.background, QColor(Qt::white));

    // Where the heatmap went: the frame's content area, then the renderer's own layout.
    QRectF content(QPointF(0, 0), QSizeF(request.size));
    if (framed) {
        FigureFrame frame;
        frame.title = request.options.title;
        frame.caption = request.options.captionText;
        content = figureFrameLayout(frame, content.size()).content;
    }
    HeatmapRenderer renderer;
    configureHeatmap(renderer, viewMatrix(*m_analysis, request.state), request.state);
    HeatmapOptions o = renderer.options();
    if (framed) o.colorBarLabel = QStringLiteral("attention weight");
    renderer.setOptions(o);
    const HeatmapLayout L = renderer.layout(content.size());
    QVERIFY(L.hasGrid);
    const int T = 11;
    int checked = 0;
    for (int r = 0; r < T; ++r)
        for (int c = 0; c <= r; ++c) { // the upper triangle is the causal mask
            const double weight = m_reference.data[size_t(((1 * 4 + 2) * T + r) * T + c)];
            // Off the cell's centre, where its value is written.
            const QRectF cell = L.cellRect(r, c);
            const QPointF at = content.topLeft() + cell.topLeft() +
                               QPointF(cell.width() * 0.2, cell.height() * 0.2);
            const QRgb got = pixelAt(image, at, scale);
            const QRgb want = rgbAt(ColorMap::Viridis, weight);
            QVERIFY2(channelDistance(got, want) <= 2,
                     qPrintable(QStringLiteral("cell %1,%2 weight %3: %4 vs %5")
                                    .arg(r)
                                    .arg(c)
                                    .arg(weight)
                                    .arg(QColor(got).name(), QColor(want).name())));
            ++checked;
        }
    QCOMPARE(checked, T * (T + 1) / 2);
    // The colour bar runs from the map's low end (bottom) to its high end (top).
    const QPointF top = content.topLeft() + QPointF(L.colorBar.center().x(), L.colorBar.top() + 1);
    const QPointF bottom =
        content.topLeft() + QPointF(L.colorBar.center().x(), L.colorBar.bottom() - 1);
    QVERIFY(channelDistance(pixelAt(image, top, scale), rgbAt(ColorMap::Viridis, 1.0)) <= 8);
    QVERIFY(channelDistance(pixelAt(image, bottom, scale), rgbAt(ColorMap::Viridis, 0.0)) <= 8);
}

void TestFigures::sharedColorBar_data() {
    QTest::addColumn<int>("view");
    QTest::addColumn<int>("scale");
    QTest::newRow("grid-1x") << int(FigureView::Grid) << 1;
    QTest::newRow("grid-4x") << int(FigureView::Grid) << 4;
    QTest::newRow("chosen-heads-1x") << int(FigureView::Compare) << 1;
    QTest::newRow("chosen-heads-4x") << int(FigureView::Compare) << 4;
}

void TestFigures::sharedColorBar() {
    // One bar beside all heads: the grid's tiles and side-by-side panes share the scale 0..1.
    QFETCH(int, view);
    QFETCH(int, scale);
    FigureRequest request;
    request.view = FigureView(view);
    request.state.checked.reset(2, 4, true);
    request.panes = {{0, 0}, {0, 3}, {1, 1}, {1, 2}, {1, kMeanOfLayer}};
    request.options.colorBar = ColorBarMode::On;
    request.size = QSize(900, 600);
    request.scale = scale;
    const QString path = m_dir.filePath(QStringLiteral("bar-%1.png").arg(QTest::currentDataTag()));
    const Status status = exportFigure(m_analysis, request, path);
    QVERIFY2(status.ok(), qPrintable(status.message()));
    const QImage image(path);
    QCOMPARE(image.size(), QSize(900, 600) * scale);
    FigureFrame frame;
    frame.colorBar = ColorScale{ColorMap::Viridis, 0.0, 1.0, QStringLiteral("label"), QColor()};
    const FigureFrameLayout L = figureFrameLayout(frame, QSizeF(request.size));
    QVERIFY(!L.colorBar.isEmpty());
    QVERIFY(L.colorBar.left() > L.content.right()); // beside the heads, not over them
    const QPointF top(L.colorBar.center().x(), L.colorBar.top() + 1);
    const QPointF bottom(L.colorBar.center().x(), L.colorBar.bottom() - 1);
    QVERIFY(channelDistance(pixelAt(image, top, scale), rgbAt(ColorMap::Viridis, 1.0)) <= 8);
    QVERIFY(channelDistance(pixelAt(image, bottom, scale), rgbAt(ColorMap::Viridis, 0.0)) <= 8);
}

void TestFigures::dialogWritesSameFileAsCli_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<int>("token"); // selected query (-1: none)
    QTest::newRow("png") << "png" << -1;
    QTest::newRow("png-selected-token") << "png" << 5;
    QTest::newRow("svg-selected-token") << "svg" << 5;
}

void TestFigures::dialogWritesSameFileAsCli() {
    QFETCH(QString, format);
    QFETCH(int, token);
    auto w = readyWindow();
    w->setView(MainWindow::View::Heatmap);
    w->setLayerHead(1, 2);
    if (token >= 0) w->selectToken(token, Qt::NoModifier);
    FigureDialog* dialog = w->openFigureDialog();
    QVERIFY(dialog && dialog->isVisible());
    dialog->findChild<QLineEdit*>(QStringLiteral("figureTitle"))
        ->setText(QStringLiteral("Head 1.2"));
    dialog->findChild<QComboBox*>(QStringLiteral("figureCaption"))->setCurrentIndex(1);  // auto
    dialog->findChild<QComboBox*>(QStringLiteral("figureColorBar"))->setCurrentIndex(1); // on
    dialog->findChild<QComboBox*>(QStringLiteral("figureTheme"))->setCurrentIndex(3);    // print
    dialog->findChild<QSpinBox*>(QStringLiteral("figureWidth"))->setValue(1000);
    dialog->findChild<QSpinBox*>(QStringLiteral("figureHeight"))->setValue(900);
    const QString gui = m_dir.filePath(QStringLiteral("gui-%1.%2").arg(token).arg(format));
    dialog->findChild<QLineEdit*>(QStringLiteral("figurePath"))->setText(gui);
    dialog->findChild<QPushButton*>(QStringLiteral("figureExport"))->click();
    QVERIFY2(dialog->errorText().isEmpty(), qPrintable(dialog->errorText()));
    QVERIFY(QFile::exists(gui));

    const QString cli = m_dir.filePath(QStringLiteral("cli-%1.%2").arg(token).arg(format));
    QStringList args{"export",   "--model",   gpt2Path(), "--text",     kText, "--view",
                     "heatmap",  "--layer",   "1",        "--head",     "2",   "--title",
                     "Head 1.2", "--caption", "auto",     "--colorbar", "on",  "--theme",
                     "print",    "--size",    "1000x900", "-o",         cli};
    if (token >= 0) args << "--token" << QString::number(token);
    QByteArray err;
    QCOMPARE(runCli(args, &err), 0);
    if (format == QLatin1String("png")) {
        const QImage a(gui), b(cli);
        QCOMPARE(a.size(), QSize(1000, 900));
        QCOMPARE(a, b); // pixel for pixel
        // The preview is that figure (at 1x), before it is fitted into the dialog.
        QCOMPARE(dialog->previewImage().convertToFormat(QImage::Format_RGB32),
                 a.convertToFormat(QImage::Format_RGB32));
    } else {
        QFile a(gui), b(cli);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(a.readAll(), b.readAll()); // byte for byte
    }
}

void TestFigures::dialogShowsErrors() {
    auto w = readyWindow();
    FigureDialog* dialog = w->openFigureDialog();
    // A folder that does not exist: the red line says so, the dialog stays, nothing is written.
    QVERIFY(!dialog->exportTo(QStringLiteral("/nonexistent-attnscope-dir/figure.png")).ok());
    QVERIFY(!dialog->errorText().isEmpty());
    QVERIFY(dialog->isVisible());
    // Transparent PDF is refused with its reason; an existing file is left as it was.
    const QString pdf = m_dir.filePath(QStringLiteral("keep.pdf"));
    {
        QFile f(pdf);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("user's own file");
    }
    dialog->findChild<QCheckBox*>(QStringLiteral("figureTransparent"))->setChecked(true);
    QVERIFY(!dialog->exportTo(pdf).ok());
    QVERIFY2(dialog->errorText().contains(QStringLiteral("transparent")),
             qPrintable(dialog->errorText()));
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("user's own file"));
    // A good export clears the line.
    QVERIFY(dialog->exportTo(m_dir.filePath(QStringLiteral("fine.png"))).ok());
    QVERIFY(dialog->errorText().isEmpty());
}

void TestFigures::copyFigure() {
    auto w = readyWindow();
    w->setView(MainWindow::View::Heatmap);
    QVERIFY(w->copyCurrentFigure().ok());
    const QMimeData* mime = QApplication::clipboard()->mimeData();
    QVERIFY(mime && mime->hasImage());
    QCOMPARE(qvariant_cast<QImage>(mime->imageData()).size(), QSize(1000, 900));
    const QByteArray svg = mime->data(QStringLiteral("image/svg+xml"));
    QVERIFY(svg.startsWith("<?xml"));
    QVERIFY(svg.contains(w->heatmap()->renderer().title().toUtf8())); // the view on screen

    // With the dialog's options: scale 2 doubles the pixels, the title is in the SVG.
    FigureDialog* dialog = w->openFigureDialog();
    dialog->findChild<QSpinBox*>(QStringLiteral("figureScale"))->setValue(2);
    dialog->findChild<QLineEdit*>(QStringLiteral("figureTitle"))->setText(QStringLiteral("Copied"));
    QVERIFY(w->copyCurrentFigure().ok());
    mime = QApplication::clipboard()->mimeData();
    QCOMPARE(qvariant_cast<QImage>(mime->imageData()).size(), QSize(2000, 1800));
    QVERIFY(mime->data(QStringLiteral("image/svg+xml")).contains(">Copied</text>"));
}

void TestFigures::numbersFromWindow() {
    auto w = readyWindow();
    w->setView(MainWindow::View::Heatmap);
    w->setLayerHead(0, 3);
    const QString gui = m_dir.filePath(QStringLiteral("gui-numbers.csv"));
    QVERIFY(w->exportCurrentNumbers(gui).ok());
    const QString cli = m_dir.filePath(QStringLiteral("cli-numbers.csv"));
    QCOMPARE(runCli({"export", "--model", gpt2Path(), "--text", kText, "--view", "heatmap",
                     "--layer", "0", "--head", "3", "-o", cli}),
             0);
    QFile a(gui), b(cli);
    QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
    const QByteArray bytes = a.readAll();
    // Same labels and layout; values within 1e-6 (the window's pass keeps more than the CLI's,
    // and an -O1 sanitiser build rounds their last digits differently).
    const QList<QByteArray> guiLines = bytes.split('\n'), cliLines = b.readAll().split('\n');
    QCOMPARE(guiLines.size(), cliLines.size());
    QCOMPARE(guiLines.first(), cliLines.first());
    for (qsizetype i = 1; i < guiLines.size(); ++i) {
        const QList<QByteArray> g = guiLines[i].split(','), c = cliLines[i].split(',');
        QCOMPARE(g.size(), c.size());
        if (g.isEmpty()) continue;
        QCOMPARE(g.first(), c.first()); // the query's label
        for (qsizetype j = 1; j < g.size(); ++j)
            QVERIFY2(std::abs(g[j].trimmed().toDouble() - c[j].trimmed().toDouble()) <= 1e-6,
                     qPrintable(QStringLiteral("row %1, column %2").arg(i).arg(j)));
    }
    QVERIFY(bytes.startsWith("query\\key,The,\" cat\","));
    // The grid shows many matrices: the window says so instead of writing one.
    w->setView(MainWindow::View::Grid);
    const Status grid = w->exportCurrentNumbers(m_dir.filePath(QStringLiteral("grid.csv")));
    QVERIFY(!grid.ok());
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("grid.csv"))));
}

QTEST_MAIN(TestFigures)
#include "tst_figures.moc"
