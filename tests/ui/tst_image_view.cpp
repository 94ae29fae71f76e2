// Image mode: the overlay's brightest patch is the patch with the highest attention weight of
// the row (Hugging Face's attentions for the ViT fixture's picture), drawn where that patch
// lies on the picture; DINO's top-mass threshold; the window opening pictures, switching modes,
// and clicking patches.
#include "analysis_controller.h"
#include "image/image_decode.h"
#include "image/image_figure.h"
#include "image/image_view.h"
#include "main_window.h"
#include "safetensors.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QMimeData>
#include <QPainter>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace attnscope;

namespace {

const QString kVit = QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/vit/");
constexpr int kTimeout = 20000;

// Hugging Face's attentions for image.png through ViTImageProcessor, [L, H, T, T].
FloatTensor referenceAttention() {
    auto file = SafeTensorsFile::open(kVit + QStringLiteral("case_image.safetensors"));
    if (!file) return {};
    auto t = (*file)->floatTensor(QStringLiteral("attentions"));
    return t ? *t : FloatTensor{};
}

// The reference row of `query` over the 16 patches (tokens 1..16).
std::vector<float> referenceRow(const FloatTensor& a, int layer, int head, int query) {
    const int H = int(a.shape[1]), T = int(a.shape[2]);
    std::vector<float> row;
    for (int k = 1; k < T; ++k)
        row.push_back(a.data[((size_t(layer) * H + head) * T + query) * T + k]);
    return row;
}

// Colour-map position of a pixel: the t whose colour is nearest.
double mapPosition(QColor c, ColorMap map) {
    double best = 0, bestDistance = 1e9;
    for (int i = 0; i <= 1000; ++i) {
        const QColor m = colorAt(map, i / 1000.0);
        const double d = std::pow(m.red() - c.red(), 2) + std::pow(m.green() - c.green(), 2) +
                         std::pow(m.blue() - c.blue(), 2);
        if (d < bestDistance) bestDistance = d, best = i / 1000.0;
    }
    return best;
}

// The patch whose centre pixel sits highest on the colour map, found from pixels alone.
int brightestPatch(const QImage& shot, const ImageAttentionRenderer& r, const QRectF& picture) {
    int best = -1;
    double bestT = -1;
    for (int i = 0; i < r.layout().patches(); ++i) {
        const QPoint centre = r.patchRect(picture, i).center().toPoint();
        const double t = mapPosition(shot.pixelColor(centre), r.options().colorMap);
        if (t > bestT) bestT = t, best = i;
    }
    return best;
}

int argmax(const std::vector<float>& v) {
    return int(std::max_element(v.begin(), v.end()) - v.begin());
}

std::shared_ptr<const LoadedModel> vitModel() {
    auto model = LoadedModel::open(kVit + QStringLiteral("model"));
    return model ? *model : nullptr;
}

} // namespace

class TestImageView : public QObject {
    Q_OBJECT

private slots:
    // Our pixel values for image.png (50 x 37, single-pixel detail) equal PIL's as HF ran it.
    void fixturePixelsMatchHuggingFace() {
        auto model = vitModel();
        QVERIFY(model);
        auto image = decodeImageFile(kVit + QStringLiteral("image.png"));
        QVERIFY(image);
        auto processor = imageProcessorFor(*model);
        QVERIFY(processor);
        auto pixels = pixelValuesFor(*image, *processor);
        QVERIFY(pixels);
        auto file = SafeTensorsFile::open(kVit + QStringLiteral("case_image.safetensors"));
        QVERIFY(file);
        auto want = (*file)->floatTensor(QStringLiteral("pixel_values"));
        QVERIFY(want);
        QCOMPARE(qsizetype(pixels->data.size()), qsizetype(want->numel()));
        for (size_t i = 0; i < pixels->data.size(); ++i)
            QVERIFY2(std::abs(pixels->data[i] - want->data[i]) <= 1e-6f,
                     qPrintable(QString::number(i)));
    }

    void brightestPatchIsHighestWeight_data() {
        QTest::addColumn<int>("layer");
        QTest::addColumn<int>("head");
        QTest::addColumn<int>("query"); // token: 0 = [CLS], 1 + i = patch i
        QTest::addColumn<bool>("smooth");
        for (int layer : {0, 1})
            for (int head = 0; head < 4; ++head)
                for (int query : {0, 1, 4, 7, 11, 16})
                    QTest::addRow("L%d H%d query %d", layer, head, query)
                        << layer << head << query << (query == 7);
    }

    void brightestPatchIsHighestWeight() {
        QFETCH(int, layer);
        QFETCH(int, head);
        QFETCH(int, query);
        QFETCH(bool, smooth);
        auto model = vitModel();
        QVERIFY(model);
        auto image = decodeImageFile(kVit + QStringLiteral("image.png"));
        auto processor = imageProcessorFor(*model);
        QVERIFY(image && processor);
        AnalysisRequest request;
        request.pixelValues = *pixelValuesFor(*image, *processor);
        auto analysis = model->analyze(request);
        QVERIFY(analysis);
        const FloatTensor reference = referenceAttention();
        QVERIFY(reference.data);
        const std::vector<float> want = referenceRow(reference, layer, head, query);

        const PatchLayout layout = patchLayoutFor(model->config(), analysis->tokenCount());
        QCOMPARE(layout.columns, 4);
        QCOMPARE(layout.prefixTokens, 1);
        ViewState state;
        state.layer = layer;
        state.head = head;
        const std::vector<float> row = patchAttentionRow(*analysis, state, layout, query);
        QCOMPARE(row.size(), want.size());
        for (size_t i = 0; i < row.size(); ++i)
            QVERIFY(std::abs(row[i] - want[i]) < 1e-5f);

        ImageAttentionRenderer r;
        r.setPicture(*image, processor->inputRegion(image->width(), image->height()));
        r.setLayout(layout);
        ImageOverlayOptions o;
        o.opacity = 1.0; // pure map colours, to read the value back from the pixels
        o.showGrid = false;
        o.smooth = smooth;
        r.setOptions(o);
        r.setWeights(row);
        QImage shot(420, 400, QImage::Format_RGB32);
        {
            QPainter p(&shot);
            r.paint(p, QRectF(shot.rect()));
        }
        const QRectF picture = r.pictureRect(QRectF(shot.rect()));
        // The picture is square (the model's 32 x 32 input) and each patch is a quarter of it.
        QVERIFY(std::abs(picture.width() - picture.height()) < 1e-6);
        const int expected = argmax(want);
        const QRectF cell = r.patchRect(picture, expected);
        QCOMPARE(cell.left(), picture.left() + (expected % 4) * picture.width() / 4);
        QCOMPARE(cell.top(), picture.top() + (expected / 4) * picture.height() / 4);
        const int brightest = brightestPatch(shot, r, picture);
        const float top = want[size_t(expected)];
        // Ties within the colour map's resolution may go either way.
        QVERIFY2(brightest == expected || want[size_t(brightest)] >= top * 0.995f,
                 qPrintable(QStringLiteral("brightest %1 (%2), highest %3 (%4)")
                                .arg(brightest)
                                .arg(want[size_t(brightest)])
                                .arg(expected)
                                .arg(top)));
        // The whole patch shows the top colour (nearest upsampling) and the patch under the
        // picture's pixel of that colour is that patch.
        if (!smooth) {
            const QColor topColour = colorAt(o.colorMap, 1.0);
            QCOMPARE(shot.pixelColor(cell.topLeft().toPoint() + QPoint(2, 2)), topColour);
            QCOMPARE(shot.pixelColor(cell.bottomRight().toPoint() - QPoint(2, 2)), topColour);
            QCOMPARE(r.patchAt(picture, cell.center()), expected);
        }
    }

    void topMass_data() {
        QTest::addColumn<QList<float>>("weights");
        QTest::addColumn<double>("mass");
        QTest::addColumn<QList<bool>>("kept");
        QTest::newRow("all") << QList<float>{0.5f, 0.3f, 0.15f, 0.05f} << 1.0
                             << QList<bool>{true, true, true, true};
        // smallest set holding at least 60 %: 0.5 + 0.3
        QTest::newRow("60 %") << QList<float>{0.15f, 0.5f, 0.05f, 0.3f} << 0.6
                              << QList<bool>{false, true, false, true};
        QTest::newRow("40 %") << QList<float>{0.15f, 0.5f, 0.05f, 0.3f} << 0.4
                              << QList<bool>{false, true, false, false};
        // unnormalised rows (a query's row over the patches without [CLS]) are normalised first
        QTest::newRow("unnormalised 85 %")
            << QList<float>{1.0f, 2.0f, 3.0f, 4.0f} << 0.85 << QList<bool>{false, true, true, true};
    }

    void topMass() {
        QFETCH(QList<float>, weights);
        QFETCH(double, mass);
        QFETCH(QList<bool>, kept);
        const std::vector<bool> got =
            topMassMask(std::vector<float>(weights.begin(), weights.end()), mass);
        QCOMPARE(QList<bool>(got.begin(), got.end()), kept);
    }

    // The CLI's renderer through the window: open the ViT, open the picture, click a patch.
    void windowClickShowsPatchRow() {
        MainWindow w;
        QSignalSpy ready(w.controller(), &AnalysisController::analysisReady);
        QSignalSpy model(w.controller(), &AnalysisController::modelChanged);
        w.resize(1100, 800);
        w.show();
        w.openModel(kVit + QStringLiteral("model"));
        QVERIFY(model.wait(kTimeout));
        QVERIFY(w.isImageMode());
        QCOMPARE(w.currentView(), MainWindow::View::Image);
        QVERIFY(!w.findChild<QPlainTextEdit*>(QStringLiteral("textInput"))->isVisible());
        // The window opens on a bundled sample; then our picture replaces it.
        QVERIFY(ready.wait(kTimeout));
        ready.clear();
        w.openImage(kVit + QStringLiteral("image.png"));
        QVERIFY(ready.wait(kTimeout));
        QCOMPARE(w.imageView()->pictureName(), QStringLiteral("image.png"));
        w.setLayerHead(1, 2);
        QTRY_COMPARE(w.viewState().layer, 1);
        QTRY_COMPARE(w.viewState().head, 2);

        ImagePictureWidget* picture = w.imageView()->pictureWidget();
        const ImageAttentionRenderer& r = picture->renderer();
        const QRectF rect = picture->pictureRect();
        QVERIFY(rect.width() > 100);
        const int clicked = 9; // row 2, column 1
        QTest::mouseClick(picture, Qt::LeftButton, {},
                          r.patchRect(rect, clicked).center().toPoint());
        QCOMPARE(w.imageView()->keptPatch(), clicked);
        QCOMPARE(w.imageView()->queryToken(), 1 + clicked);
        QTest::mouseMove(picture, r.patchRect(rect, 0).center().toPoint()); // hover elsewhere
        QCOMPARE(w.imageView()->queryToken(), 1 + clicked);                 // the kept row stays

        const std::vector<float> want = referenceRow(referenceAttention(), 1, 2, 1 + clicked);
        const int expected = argmax(want);
        const QImage shot = picture->grab().toImage();
        const double dpr = shot.devicePixelRatio();
        QImage scaled = shot.scaled((QSizeF(shot.size()) / dpr).toSize());
        const int brightest = brightestPatch(scaled, r, rect);
        QVERIFY2(
            brightest == expected || want[size_t(brightest)] >= want[size_t(expected)] * 0.97f,
            qPrintable(QStringLiteral("brightest %1, highest %2").arg(brightest).arg(expected)));
        // The thumbnails are [CLS] per head of layer 1.
        QCOMPARE(w.imageView()->headThumbnails()->count(), 4);
        const std::vector<float> clsHead3 = referenceRow(referenceAttention(), 1, 3, 0);
        const std::vector<float>& shown = w.imageView()->headThumbnails()->thumbnail(3).weights();
        for (size_t i = 0; i < shown.size(); ++i)
            QVERIFY(std::abs(shown[i] - clsHead3[i]) < 1e-5f);
        // File → Export writes the image view with the kept patch's row.
        {
            QTemporaryDir dir;
            const QString out = dir.filePath(QStringLiteral("image.png"));
            const Status exported = w.exportCurrentView(out);
            QVERIFY2(exported.ok(), qPrintable(exported.message()));
            QImage png(out);
            QCOMPARE(png.size(), QSize(760, 660));
        }
        // Clicking a thumbnail selects its head; Esc returns to [CLS].
        HeadThumbnails* thumbs = w.imageView()->headThumbnails();
        QTest::mouseClick(thumbs, Qt::LeftButton, {}, thumbs->thumbnailRect(3).center().toPoint());
        QTRY_COMPARE(w.viewState().head, 3);
        QTest::keyClick(w.imageView(), Qt::Key_Escape);
        QCOMPARE(w.imageView()->keptPatch(), -1);
        QTest::mouseMove(picture, QPoint(1, 1)); // outside the picture
        QCOMPARE(w.imageView()->queryToken(), 0);
    }

    // Any patch map (rollout, later) lies over the picture like an attention row.
    void patchMapOverlay() {
        auto model = vitModel();
        QVERIFY(model);
        auto image = decodeImageFile(kVit + QStringLiteral("image.png"));
        auto processor = imageProcessorFor(*model);
        QVERIFY(image && processor);
        AnalysisRequest request;
        request.pixelValues = *pixelValuesFor(*image, *processor);
        auto analysis = model->analyze(request);
        QVERIFY(analysis);
        ImageView view;
        view.resize(900, 600);
        view.setPicture(*image, QStringLiteral("image.png"), *processor);
        view.setAnalysis(std::make_shared<const Analysis>(std::move(*analysis)), model->config());
        std::vector<float> map(16, 0.01f);
        map[13] = 0.4f;
        map[2] = 0.2f;
        view.findChild<QSlider*>(QStringLiteral("overlayOpacity"))->setValue(100);
        view.showPatchMap(map, QStringLiteral("Rollout"));
        QVERIFY(view.showsPatchMap());
        ImagePictureWidget* picture = view.pictureWidget();
        QCOMPARE(picture->renderer().weights(), map);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QImage shot = picture->grab().toImage();
        QCOMPARE(brightestPatch(shot, picture->renderer(), picture->pictureRect()), 13);
        view.clearPatchMap();
        QVERIFY(picture->renderer().weights() != map);
    }

    // Rollout as the overlay: the query's row of R = Â_1 · Â_0, Â_l = rownorm(mean_h A_l + I),
    // recomputed here from Hugging Face's attentions.
    void rolloutOverlay_data() {
        QTest::addColumn<int>("keptPatch");
        QTest::newRow("[CLS]") << -1;
        QTest::newRow("patch 6") << 6;
    }

    void rolloutOverlay() {
        QFETCH(int, keptPatch);
        auto model = vitModel();
        QVERIFY(model);
        auto image = decodeImageFile(kVit + QStringLiteral("image.png"));
        auto processor = imageProcessorFor(*model);
        QVERIFY(image && processor);
        AnalysisRequest request;
        request.pixelValues = *pixelValuesFor(*image, *processor);
        auto analysis = model->analyze(request);
        QVERIFY(analysis);
        ImageView view;
        view.setPicture(*image, QStringLiteral("image.png"), *processor);
        view.setAnalysis(std::make_shared<const Analysis>(std::move(*analysis)), model->config());
        view.setKeptPatch(keptPatch);
        view.setOverlay(ImageView::Overlay::Rollout);
        const std::vector<float> shown = view.pictureWidget()->renderer().weights();

        const FloatTensor a = referenceAttention(); // [2, 4, 17, 17]
        const int T = 17;
        Eigen::MatrixXd rollout = Eigen::MatrixXd::Identity(T, T);
        for (int l = 0; l < 2; ++l) {
            Eigen::MatrixXd fused = Eigen::MatrixXd::Identity(T, T); // + I
            for (int h = 0; h < 4; ++h)
                for (int i = 0; i < T; ++i)
                    for (int j = 0; j < T; ++j)
                        fused(i, j) += a.data[((size_t(l) * 4 + h) * T + i) * T + j] / 4.0;
            for (int i = 0; i < T; ++i)
                fused.row(i) /= fused.row(i).sum();
            rollout = fused * rollout;
        }
        const int query = keptPatch < 0 ? 0 : 1 + keptPatch;
        QCOMPARE(int(shown.size()), 16);
        for (int k = 0; k < 16; ++k)
            QVERIFY2(std::abs(shown[size_t(k)] - rollout(query, 1 + k)) < 1e-5,
                     qPrintable(QStringLiteral("%1: %2 vs %3")
                                    .arg(k)
                                    .arg(shown[size_t(k)])
                                    .arg(rollout(query, 1 + k))));
        view.setOverlay(ImageView::Overlay::Attention);
        QVERIFY(view.pictureWidget()->renderer().weights() != shown);
    }

    void defaultVisionOpensOnSample() {
        MainWindow w;
        QSignalSpy ready(w.controller(), &AnalysisController::analysisReady);
        w.openModel(QStringLiteral("default-vision"));
        QVERIFY(ready.wait(kTimeout));
        QVERIFY(w.isImageMode());
        QVERIFY(w.imageView()->pictureName().contains(QLatin1String("fashion")));
        QCOMPARE(w.analysis()->tokenCount(), 7 * 7 + 1);
        QCOMPARE(w.imageView()->patchLayout().columns, 7);
        // Back to a text model: the text field returns, the image tab goes.
        QSignalSpy model(w.controller(), &AnalysisController::modelChanged);
        w.openModel(QStringLiteral(ATTNSCOPE_TEST_DATA "/oracle/gpt2/model"));
        QVERIFY(model.wait(kTimeout));
        QVERIFY(!w.isImageMode());
        QVERIFY(w.currentView() != MainWindow::View::Image);
        QVERIFY(ready.wait(kTimeout));
        QVERIFY(w.analysis()->tokenCount() > 3); // the sample sentence
    }

    void pasteAndBadPictures() {
        MainWindow w;
        w.show();
        QSignalSpy ready(w.controller(), &AnalysisController::analysisReady);
        w.openModel(kVit + QStringLiteral("model"));
        QVERIFY(ready.wait(kTimeout));
        // A picture with alpha, as the clipboard would give it.
        QImage argb(64, 48, QImage::Format_ARGB32);
        argb.fill(qRgba(10, 200, 90, 40));
        QApplication::clipboard()->setImage(argb);
        QAction* paste = w.findChild<QAction*>(QStringLiteral("pasteImageAction"));
        QVERIFY(paste && paste->isEnabled());
        paste->trigger();
        QVERIFY(ready.wait(kTimeout));
        QCOMPARE(w.imageView()->pictureName(), QStringLiteral("pasted picture"));
        QCOMPARE(w.imageView()->sourcePicture().pixel(0, 0), qRgb(10, 200, 90));
        // A file dropped on the window.
        {
            QMimeData mime;
            mime.setUrls({QUrl::fromLocalFile(
                QStringLiteral(ATTNSCOPE_TEST_DATA "/images/tall-23x301.png"))});
            QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, {});
            QApplication::sendEvent(&w, &enter);
            QVERIFY(enter.isAccepted());
            QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, {});
            QApplication::sendEvent(&w, &drop);
            QVERIFY(ready.wait(kTimeout));
            QCOMPARE(w.imageView()->pictureName(), QStringLiteral("tall-23x301.png"));
            QCOMPARE(w.imageView()->sourcePicture().size(), QSize(23, 301));
        }
        // A corrupt file: a red banner, the window keeps its picture.
        w.openImage(QStringLiteral(ATTNSCOPE_TEST_DATA "/images/cases.json"));
        QTRY_VERIFY(!w.errorText().isEmpty());
        QVERIFY(w.errorText().contains(QLatin1String("cases.json")));
        QCOMPARE(w.imageView()->pictureName(), QStringLiteral("tall-23x301.png"));
    }
};

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    TestImageView test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_image_view.moc"
