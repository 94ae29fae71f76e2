#include "image_view.h"

#include "analyses/rollout.h"
#include "image/image_figure.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include <cmath>

namespace attnscope {

// ---- ImagePictureWidget ----

ImagePictureWidget::ImagePictureWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setMinimumSize(240, 240);
    setFocusPolicy(Qt::ClickFocus);
}

void ImagePictureWidget::setMessage(const QString& message) {
    m_message = message;
    update();
}

void ImagePictureWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    if (!m_message.isEmpty()) {
        p.fillRect(rect(), palette().window());
        p.setPen(palette().text().color());
        p.drawText(rect().adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap,
                   m_message);
        return;
    }
    m_renderer.setFont(font());
    m_renderer.paint(p, QRectF(rect()));
}

void ImagePictureWidget::mouseMoveEvent(QMouseEvent* event) {
    const int patch = m_renderer.patchAt(pictureRect(), event->position());
    if (patch == m_hovered) return;
    m_hovered = patch;
    emit patchHovered(patch);
}

void ImagePictureWidget::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return;
    emit patchClicked(m_renderer.patchAt(pictureRect(), event->position()));
}

void ImagePictureWidget::leaveEvent(QEvent*) {
    if (m_hovered == -1) return;
    m_hovered = -1;
    emit patchHovered(-1);
}

// ---- HeadThumbnails ----

HeadThumbnails::HeadThumbnails(QWidget* parent) : QWidget(parent) {
    setMinimumWidth(160);
    setCursor(Qt::PointingHandCursor);
}

void HeadThumbnails::setThumbnails(std::vector<ImageAttentionRenderer> thumbnails,
                                   QStringList captions, int selected) {
    m_thumbnails = std::move(thumbnails);
    m_captions = std::move(captions);
    m_selected = selected;
    update();
}

QRectF HeadThumbnails::thumbnailRect(int i) const {
    const int n = count();
    if (i < 0 || i >= n) return QRectF();
    const int columns = std::max(1, int(std::ceil(std::sqrt(double(n)))));
    const int rows = (n + columns - 1) / columns;
    const double caption = fontMetrics().height() + 4;
    const double cell = std::min((width() - 8.0) / columns, (height() - 8.0) / rows);
    const double side = std::max(8.0, cell - caption - 6);
    const double x = 4 + (i % columns) * cell + (cell - side) / 2;
    const double y = 4 + (i / columns) * cell;
    return QRectF(x, y, side, side);
}

int HeadThumbnails::thumbnailAt(QPointF pos) const {
    for (int i = 0; i < count(); ++i)
        if (thumbnailRect(i).adjusted(-3, -3, 3, fontMetrics().height() + 4).contains(pos))
            return i;
    return -1;
}

void HeadThumbnails::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    for (int i = 0; i < count(); ++i) {
        const QRectF r = thumbnailRect(i);
        m_thumbnails[size_t(i)].paintPicture(p, r);
        if (i == m_selected) {
            p.setPen(QPen(palette().highlight().color(), 3));
            p.drawRect(r.adjusted(-2, -2, 2, 2));
        }
        p.setPen(palette().text().color());
        p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), fontMetrics().height() + 2),
                   Qt::AlignHCenter | Qt::AlignTop, m_captions.value(i));
    }
}

void HeadThumbnails::mousePressEvent(QMouseEvent* event) {
    const int i = thumbnailAt(event->position());
    if (i >= 0) emit clicked(i);
}

// ---- ImageView ----

ImageView::ImageView(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    auto* bar = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open &image…"));
    open->setObjectName(QStringLiteral("openImageButton"));
    open->setToolTip(tr("Or drop a picture on the window, or paste one (Ctrl+V)"));
    connect(open, &QPushButton::clicked, this, &ImageView::openImageRequested);
    m_samples = new QComboBox;
    m_samples->setObjectName(QStringLiteral("imageSamples"));
    m_samples->addItem(tr("Sample pictures…"));
    const QDir samples(QStringLiteral(":/attnscope/samples/fashion"));
    for (const QString& file : samples.entryList({QStringLiteral("*.png")}, QDir::Files))
        m_samples->addItem(QString(file)
                               .chopped(4)
                               .section(QLatin1Char('-'), 2)
                               .replace(QLatin1Char('-'), QLatin1Char(' ')),
                           samples.filePath(file));
    connect(m_samples, &QComboBox::activated, this, [this](int i) {
        if (i > 0) emit sampleRequested(m_samples->itemData(i).toString());
    });
    m_query = new QLabel;
    m_query->setObjectName(QStringLiteral("imageQuery"));
    m_query->setTextFormat(Qt::PlainText);
    m_backToCls = new QPushButton(tr("Back to [CLS]"));
    m_backToCls->setObjectName(QStringLiteral("backToCls"));
    m_backToCls->setEnabled(false);
    connect(m_backToCls, &QPushButton::clicked, this, [this] { setKeptPatch(-1); });
    bar->addWidget(open);
    bar->addWidget(m_samples);
    bar->addSpacing(12);
    bar->addWidget(m_query, 1);
    bar->addWidget(m_backToCls);
    layout->addLayout(bar);

    auto* options = new QHBoxLayout;
    auto* overlayLabel = new QLabel(tr("O&verlay"));
    m_overlay = new QComboBox;
    m_overlay->setObjectName(QStringLiteral("overlayKind"));
    m_overlay->addItems({tr("Attention of the head"), tr("Rollout (all layers)")});
    m_overlay->setToolTip(tr("Rollout (Abnar & Zuidema 2020): the layers' attention, mean over "
                             "heads, plus the residual, multiplied through the network"));
    overlayLabel->setBuddy(m_overlay);
    options->addWidget(overlayLabel);
    options->addWidget(m_overlay);
    options->addSpacing(12);
    auto* opacityLabel = new QLabel(tr("&Opacity"));
    m_opacity = new QSlider(Qt::Horizontal);
    m_opacity->setObjectName(QStringLiteral("overlayOpacity"));
    m_opacity->setRange(0, 100);
    m_opacity->setValue(60);
    m_opacity->setMinimumWidth(90); // a usable slider even when the options row is crowded
    m_opacity->setMaximumWidth(140);
    opacityLabel->setBuddy(m_opacity);
    auto* upsamplingLabel = new QLabel(tr("&Upsampling"));
    m_upsampling = new QComboBox;
    m_upsampling->setObjectName(QStringLiteral("overlayUpsampling"));
    m_upsampling->addItems({tr("Nearest (patches)"), tr("Smooth (bilinear)")});
    upsamplingLabel->setBuddy(m_upsampling);
    auto* massLabel = new QLabel(tr("&Keep top"));
    m_topMass = new QDoubleSpinBox;
    m_topMass->setObjectName(QStringLiteral("overlayTopMass"));
    m_topMass->setRange(5, 100);
    m_topMass->setSingleStep(5);
    m_topMass->setDecimals(0);
    m_topMass->setValue(100);
    m_topMass->setSuffix(tr(" % of mass"));
    m_topMass->setToolTip(tr("Colour only the patches holding this share of the row's attention "
                             "(DINO's threshold); the rest is dimmed"));
    massLabel->setBuddy(m_topMass);
    m_grid = new QCheckBox(tr("&Grid"));
    m_grid->setObjectName(QStringLiteral("overlayGrid"));
    m_grid->setChecked(true);
    options->addWidget(opacityLabel);
    options->addWidget(m_opacity);
    options->addSpacing(12);
    options->addWidget(upsamplingLabel);
    options->addWidget(m_upsampling);
    options->addSpacing(12);
    options->addWidget(massLabel);
    options->addWidget(m_topMass);
    options->addSpacing(12);
    options->addWidget(m_grid);
    options->addStretch(1);
    layout->addLayout(options);

    m_picture = new ImagePictureWidget;
    m_picture->setObjectName(QStringLiteral("imagePicture"));
    auto* side = new QWidget;
    side->setMinimumWidth(220);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(4, 0, 0, 0);
    m_thumbnailsTitle = new QLabel;
    m_thumbnailsTitle->setWordWrap(true);
    m_thumbnails = new HeadThumbnails;
    m_thumbnails->setObjectName(QStringLiteral("clsHeads"));
    sideLayout->addWidget(m_thumbnailsTitle);
    sideLayout->addWidget(m_thumbnails, 1);
    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(m_picture);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({600, 300});
    layout->addWidget(splitter, 1);

    connect(m_picture, &ImagePictureWidget::patchHovered, this, &ImageView::onPatchHovered);
    connect(m_picture, &ImagePictureWidget::patchClicked, this, [this](int patch) {
        setKeptPatch(patch == m_keptPatch ? -1 : patch); // clicking the kept patch releases it
    });
    connect(m_thumbnails, &HeadThumbnails::clicked, this,
            [this](int head) { emit headClicked(m_state.layer, head); });
    connect(m_opacity, &QSlider::valueChanged, this, &ImageView::refresh);
    connect(m_upsampling, &QComboBox::currentIndexChanged, this, &ImageView::refresh);
    connect(m_topMass, &QDoubleSpinBox::valueChanged, this, &ImageView::refresh);
    connect(m_grid, &QCheckBox::toggled, this, &ImageView::refresh);
    connect(m_overlay, &QComboBox::currentIndexChanged, this, &ImageView::refresh);
    clear(tr("Open an image model, then a picture."));
}

void ImageView::setPicture(const QImage& rgb888, const QString& name,
                           const ImageProcessorConfig& processor) {
    m_source = rgb888;
    m_pictureName = name;
    m_processor = processor;
    m_shownRegion = processor.inputRegion(rgb888.width(), rgb888.height());
    m_shown = displayPicture(rgb888, processor.channels, m_shownRegion);
    m_thumbnailRegion = m_shownRegion;
    m_thumbnail = displayPicture(m_shown, 3, m_thumbnailRegion, 320); // m_shown is converted
    m_keptPatch = m_hoveredPatch = -1;
    m_analysis.reset(); // the previous picture's attention does not belong to this one
    m_picture->setMessage(tr("Analysing %1…").arg(name));
}

void ImageView::setAnalysis(std::shared_ptr<const Analysis> analysis, const ModelConfig& model) {
    m_analysis = std::move(analysis);
    m_model = model;
    m_layout = m_analysis ? patchLayoutFor(model, m_analysis->tokenCount()) : PatchLayout{};
    if (m_keptPatch >= m_layout.patches()) m_keptPatch = -1;
    refresh();
}

void ImageView::setState(const ViewState& state) {
    m_state = state;
    refresh();
}

void ImageView::clear(const QString& message) {
    m_analysis.reset();
    m_picture->setMessage(message);
    m_thumbnails->setThumbnails({}, {}, -1);
    m_thumbnailsTitle->clear();
    m_query->clear();
}

void ImageView::setOverlay(Overlay overlay) {
    m_overlay->setCurrentIndex(int(overlay));
}

ImageView::Overlay ImageView::overlay() const {
    return Overlay(m_overlay->currentIndex());
}

void ImageView::showPatchMap(std::vector<float> weights, const QString& title) {
    m_patchMap = std::move(weights);
    m_patchMapTitle = title;
    refresh();
}

void ImageView::clearPatchMap() {
    m_patchMap.clear();
    refresh();
}

int ImageView::queryToken() const {
    const int patch = m_keptPatch >= 0 ? m_keptPatch : m_hoveredPatch;
    return patch >= 0 ? m_layout.prefixTokens + patch : 0;
}

void ImageView::setKeptPatch(int patch) {
    m_keptPatch = patch >= 0 && patch < m_layout.patches() ? patch : -1;
    refresh();
}

ImageOverlayOptions ImageView::overlayOptions() const {
    ImageOverlayOptions o;
    o.opacity = m_opacity->value() / 100.0;
    o.smooth = m_upsampling->currentIndex() == 1;
    o.topMass = m_topMass->value() / 100.0;
    o.showGrid = m_grid->isChecked();
    o.colorMap = m_state.colorMap;
    o.dark = m_state.dark;
    return o;
}

void ImageView::setOverlayOptions(const ImageOverlayOptions& o) {
    m_opacity->setValue(int(std::lround(o.opacity * 100)));
    m_upsampling->setCurrentIndex(o.smooth ? 1 : 0);
    m_topMass->setValue(o.topMass * 100);
    m_grid->setChecked(o.showGrid);
}

void ImageView::keyPressEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_Escape && m_keptPatch >= 0) {
        setKeptPatch(-1);
        return;
    }
    QWidget::keyPressEvent(event);
}

void ImageView::onPatchHovered(int patch) {
    m_hoveredPatch = patch;
    refresh();
    if (!m_analysis || patch < 0) {
        emit hoverTextChanged(QString());
        return;
    }
    const int query = queryToken();
    const std::vector<float>& row = m_picture->renderer().weights();
    if (size_t(patch) < row.size())
        emit hoverTextChanged(tr("%1 → %2: %3")
                                  .arg(imageTokenName(m_layout, query),
                                       imageTokenName(m_layout, m_layout.prefixTokens + patch))
                                  .arg(double(row[size_t(patch)]), 0, 'f', 4));
}

void ImageView::refresh() {
    if (!m_analysis || m_source.isNull() || !m_layout.isValid()) return;
    m_picture->setMessage(QString());
    const QImage& shown = m_shown;
    const QRectF& region = m_shownRegion;
    const ImageOverlayOptions options = overlayOptions();
    const int query = queryToken();
    ImageAttentionRenderer& r = m_picture->renderer();
    r.setPicture(shown, region);
    r.setLayout(m_layout);
    r.setOptions(options);
    const bool externalMap = int(m_patchMap.size()) == m_layout.patches(); // showPatchMap()
    bool patchMap = externalMap;
    QString mapTitle = m_patchMapTitle;
    std::vector<float> map = m_patchMap;
    if (!patchMap && overlay() == Overlay::Rollout) {
        if (m_rolloutFor != m_analysis) { // once per analysis: L products of [T, T]
            auto rollout = attentionRollout(*m_analysis);
            m_rollout = rollout ? *rollout : Mat();
            m_rolloutFor = m_analysis;
        }
        map = patchColumnsOfRow(m_rollout, m_layout, query);
        patchMap = !map.empty();
        mapTitle = tr("Attention rollout (all layers, mean of heads) · from %1")
                       .arg(imageTokenName(m_layout, query));
    }
    r.setWeights(patchMap ? map : patchAttentionRow(*m_analysis, m_state, m_layout, query));
    r.setQueryPatch(externalMap ? -1 : query - m_layout.prefixTokens);
    r.setHoveredPatch(m_hoveredPatch);
    const QString head = m_state.aggregate == Aggregate::SingleHead
                             ? headTitle(m_state.layer, m_state.head)
                             : aggregateTitle(m_state.checked, m_state.aggregate);
    if (patchMap)
        r.setTitle(mapTitle);
    else
        r.setTitle(r.weights().empty()
                       ? tr("%1 · no heads checked").arg(head)
                       : tr("%1 · attention of %2").arg(head, imageTokenName(m_layout, query)));
    m_query->setText(m_keptPatch >= 0
                         ? tr("Query: %1 (kept; click it again or Esc for [CLS])")
                               .arg(imageTokenName(m_layout, query))
                         : tr("Query: %1 · hover a patch to see its row, click to keep it")
                               .arg(imageTokenName(m_layout, query)));
    m_backToCls->setEnabled(m_keptPatch >= 0);
    m_picture->update();

    // The DINO figure: [CLS] of every head of the layer.
    std::vector<ImageAttentionRenderer> thumbs;
    QStringList captions;
    const int heads = m_analysis->headCount();
    for (int h = 0; h < heads; ++h) {
        ImageAttentionRenderer t;
        t.setPicture(m_thumbnail, m_thumbnailRegion);
        t.setLayout(m_layout);
        ImageOverlayOptions o = options;
        o.showGrid = false;
        t.setOptions(o);
        t.setWeights(patchAttentionRowOfHead(*m_analysis, m_state.layer, h, m_layout, 0));
        thumbs.push_back(std::move(t));
        captions << tr("Head %1").arg(h);
    }
    m_thumbnailsTitle->setText(
        tr("[CLS] attention per head, layer %1 (click to select)").arg(m_state.layer));
    m_thumbnails->setThumbnails(std::move(thumbs), captions,
                                m_state.aggregate == Aggregate::SingleHead ? m_state.head : -1);
}

} // namespace attnscope
