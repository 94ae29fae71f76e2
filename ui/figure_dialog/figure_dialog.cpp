#include "figure_dialog.h"
#include "head_requests.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace attnscope {

namespace {

constexpr QSize kPreviewSize(520, 400); // the preview label's room; the figure is fitted in

QSpinBox* sizeSpin(const QString& name) {
    auto* spin = new QSpinBox;
    spin->setObjectName(name);
    spin->setRange(0, 20000);
    spin->setSpecialValueText(QObject::tr("auto")); // 0: the size that suits the view
    spin->setSuffix(QStringLiteral(" px"));
    return spin;
}

} // namespace

FigureDialog::FigureDialog(CurrentFigureSource source, QWidget* parent)
    : QDialog(parent), m_source(std::move(source)) {
    setWindowTitle(tr("Export Figure"));
    setModal(false);
    setObjectName(QStringLiteral("figureDialog"));

    m_path = new QLineEdit;
    m_path->setObjectName(QStringLiteral("figurePath"));
    m_path->setPlaceholderText(tr("figure.png, .svg or .pdf"));
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, &FigureDialog::chooseFile);
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(m_path, 1);
    pathRow->addWidget(browse);

    m_title = new QLineEdit;
    m_title->setObjectName(QStringLiteral("figureTitle"));
    m_caption = new QComboBox;
    m_caption->setObjectName(QStringLiteral("figureCaption"));
    m_caption->addItems({tr("None"), tr("Automatic (model, head, text)"), tr("This text:")});
    m_captionText = new QLineEdit;
    m_captionText->setObjectName(QStringLiteral("figureCaptionText"));
    m_captionText->setEnabled(false);
    m_captionText->setPlaceholderText(tr("caption text"));
    m_colorBar = new QComboBox;
    m_colorBar->setObjectName(QStringLiteral("figureColorBar"));
    m_colorBar->addItems({tr("As the view draws it"), tr("On, labelled"), tr("Off")});
    m_theme = new QComboBox;
    m_theme->setObjectName(QStringLiteral("figureTheme"));
    m_theme->addItems({tr("As the window"), tr("Light"), tr("Dark"), tr("Print (paper)")});
    m_transparent = new QCheckBox(tr("Transparent background (PNG, SVG)"));
    m_transparent->setObjectName(QStringLiteral("figureTransparent"));
    m_scale = new QSpinBox;
    m_scale->setObjectName(QStringLiteral("figureScale"));
    m_scale->setRange(1, 4);
    m_scale->setSuffix(QStringLiteral(" ×"));
    m_width = sizeSpin(QStringLiteral("figureWidth"));
    m_height = sizeSpin(QStringLiteral("figureHeight"));
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(m_width);
    sizeRow->addWidget(new QLabel(QStringLiteral("×")));
    sizeRow->addWidget(m_height);
    sizeRow->addStretch(1);

    auto* form = new QFormLayout;
    form->addRow(tr("File:"), pathRow);
    form->addRow(tr("Title:"), m_title);
    form->addRow(tr("Caption:"), m_caption);
    form->addRow(QString(), m_captionText); // its own row: a caption is a sentence or two
    form->addRow(tr("Colour bar:"), m_colorBar);
    form->addRow(tr("Theme:"), m_theme);
    form->addRow(QString(), m_transparent);
    form->addRow(tr("PNG scale:"), m_scale);
    form->addRow(tr("Size:"), sizeRow);

    m_previewLabel = new QLabel;
    m_previewLabel->setObjectName(QStringLiteral("figurePreview"));
    m_previewLabel->setMinimumSize(kPreviewSize);
    m_previewLabel->setAlignment(Qt::AlignCenter);
    m_previewLabel->setFrameShape(QFrame::StyledPanel);
    // A grey backdrop shows where a transparent figure leaves its background out.
    m_previewLabel->setStyleSheet(QStringLiteral("QLabel { background: #bfbfbf; }"));

    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("figureError"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(
        QStringLiteral("QLabel { background: #b3261e; color: white; padding: 6px; }"));
    m_error->setVisible(false);
    m_busy = new QLabel;
    m_busy->setObjectName(QStringLiteral("figureBusy"));
    m_busy->setWordWrap(true);
    m_busy->setVisible(false);
    m_previewRequests = new HeadRequests(this);
    m_exportRequests = new HeadRequests(this);
    m_previewRequests->setObjectName(QStringLiteral("previewRequests"));
    m_exportRequests->setObjectName(QStringLiteral("exportRequests"));
    connect(m_previewRequests, &HeadRequests::delivered, this, &FigureDialog::previewShown);

    auto* buttons = new QDialogButtonBox;
    QPushButton* exportButton = buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    exportButton->setObjectName(QStringLiteral("figureExport"));
    QPushButton* copyButton = buttons->addButton(tr("Copy"), QDialogButtonBox::ActionRole);
    copyButton->setObjectName(QStringLiteral("figureCopy"));
    buttons->addButton(QDialogButtonBox::Close);
    // Export does not close the dialog: several files of one view in a row are common.
    connect(exportButton, &QPushButton::clicked, this, [this] {
        if (m_path->text().trimmed().isEmpty()) chooseFile();
        if (!m_path->text().trimmed().isEmpty()) (void)exportTo(m_path->text().trimmed());
    });
    connect(copyButton, &QPushButton::clicked, this, &FigureDialog::copyRequested);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_error);
    layout->addWidget(m_busy);
    auto* body = new QHBoxLayout;
    body->addLayout(form);
    body->addWidget(m_previewLabel, 1);
    layout->addLayout(body, 1);
    layout->addWidget(buttons);

    const auto changed = [this] { refresh(); };
    connect(m_title, &QLineEdit::textChanged, this, changed);
    connect(m_captionText, &QLineEdit::textChanged, this, changed);
    connect(m_caption, &QComboBox::currentIndexChanged, this, [this](int index) {
        m_captionText->setEnabled(index == 2);
        refresh();
    });
    for (QComboBox* box : {m_colorBar, m_theme})
        connect(box, &QComboBox::currentIndexChanged, this, changed);
    connect(m_transparent, &QCheckBox::toggled, this, changed);
    for (QSpinBox* spin : {m_width, m_height})
        connect(spin, &QSpinBox::valueChanged, this, changed);
}

void FigureDialog::applyOptions(FigureRequest& request) const {
    FigureOptions& o = request.options;
    o.title = m_title->text();
    o.caption = m_caption->currentIndex() == 1   ? CaptionMode::Auto
                : m_caption->currentIndex() == 2 ? CaptionMode::Text
                                                 : CaptionMode::None;
    o.captionText = m_captionText->text();
    o.colorBar = m_colorBar->currentIndex() == 1   ? ColorBarMode::On
                 : m_colorBar->currentIndex() == 2 ? ColorBarMode::Off
                                                   : ColorBarMode::ViewDefault;
    switch (m_theme->currentIndex()) {
    case 1:
        (void)applyThemeName(request.state, QStringLiteral("light"));
        break;
    case 2:
        (void)applyThemeName(request.state, QStringLiteral("dark"));
        break;
    case 3:
        (void)applyThemeName(request.state, QStringLiteral("print"));
        break;
    default:
        break; // as the window
    }
    request.state.transparent = m_transparent->isChecked();
    request.scale = m_scale->value();
    if (m_width->value() > 0 || m_height->value() > 0) {
        // One side given: the other from the size the view picks for itself.
        QSize size = request.size;
        if (m_width->value() > 0) size.setWidth(m_width->value());
        if (m_height->value() > 0) size.setHeight(m_height->value());
        if (!size.isValid())
            size = QSize(std::max(size.width(), 1000), std::max(size.height(), 900));
        request.size = size;
    }
}

Result<CurrentFigure> FigureDialog::figure() const {
    auto current = m_source ? m_source() : Result<CurrentFigure>(Error{tr("Nothing to export.")});
    if (!current) return current;
    applyOptions(current->request);
    return current;
}

void FigureDialog::refresh() {
    if (!isVisible() && !m_preview.isNull()) return; // hidden: redrawn when shown
    auto current = figure();
    const auto showText = [this](const QString& text) {
        m_preview = QImage();
        m_previewLabel->setPixmap(QPixmap());
        m_previewLabel->setText(text);
    };
    if (!current) {
        m_previewRequests->cancel();
        return showText(current.message());
    }
    // Lazy heads (core/lazy_heads.h) are computed on the pool, the preview saying so; the
    // painting itself stays here (it reads only what prepareFigure gathered).
    const bool now = m_previewRequests->run<Result<PreparedFigure>>(
        holdFigureHeads(*current->analysis, current->request),
        [analysis = current->analysis, request = current->request] {
            return prepareFigure(analysis, request);
        },
        [this, showText](Result<PreparedFigure> prepared) {
            if (!prepared) return showText(prepared.message());
            m_preview = figureImage(*prepared, 1);
            const qreal ratio = devicePixelRatioF();
            QImage fitted = m_preview.scaled(kPreviewSize * ratio, Qt::KeepAspectRatio,
                                             Qt::SmoothTransformation);
            fitted.setDevicePixelRatio(ratio);
            m_previewLabel->setPixmap(QPixmap::fromImage(fitted));
        });
    if (!now)
        showText(HeadRequests::computingText(*current->analysis,
                                             figureHeads(*current->analysis, current->request)));
}

bool FigureDialog::isComputing() const {
    return m_previewRequests->isComputing() || m_exportRequests->isComputing();
}

Status FigureDialog::exportTo(const QString& path) {
    auto current = figure();
    if (!current) {
        showError(current.message());
        return makeError(current.message());
    }
    // With lazy heads not computed yet the file is written on the pool (a busy line shows
    // meanwhile) and exported() or the error line follows; otherwise it is written now.
    const bool now = m_exportRequests->run<Status>(
        holdFigureHeads(*current->analysis, current->request),
        [analysis = current->analysis, request = current->request, path] {
            return exportFigure(analysis, request, path);
        },
        [this, path](Status status) {
            m_busy->setVisible(false);
            if (!status) return showError(status.message());
            m_error->setVisible(false);
            emit exported(path);
        });
    if (!now) {
        m_busy->setText(
            tr("Exporting %1: %2")
                .arg(QFileInfo(path).fileName(),
                     HeadRequests::computingText(
                         *current->analysis, figureHeads(*current->analysis, current->request))));
        m_busy->setVisible(true);
        return okStatus();
    }
    return m_error->isVisible() ? makeError(m_error->text()) : okStatus();
}

QString FigureDialog::errorText() const {
    return m_error->isVisible() ? m_error->text() : QString();
}

void FigureDialog::showError(const QString& message) {
    m_error->setText(message);
    m_error->setVisible(true);
}

void FigureDialog::chooseFile() {
    QString selected;
    const QString png = tr("PNG image (*.png)"), svg = tr("SVG image (*.svg)"),
                  pdf = tr("PDF document (*.pdf)");
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export figure"),
        m_path->text().isEmpty() ? QStringLiteral("figure.png") : m_path->text(),
        png + QStringLiteral(";;") + svg + QStringLiteral(";;") + pdf, &selected);
    if (path.isEmpty()) return;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        path += selected == svg   ? QStringLiteral(".svg")
                : selected == pdf ? QStringLiteral(".pdf")
                                  : QStringLiteral(".png");
    m_path->setText(path);
}

} // namespace attnscope
