"""Write controlroom.exchange.reports HTML as a paged A4 PDF (Qt), with an optional diagonal watermark."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from controlroom.kernel.palette import TRAINING_BAND

DPI = 150
FOOTER = 40  # px at DPI kept free at the bottom of each page for the page number


def write_pdf(html: str, path: str | Path, *, watermark: str | None = None) -> Path:
    """Render `html` to `path`; `watermark` (e.g. "TRAINING") is drawn across every page.

    Pages are drawn one by one (not QTextDocument.print_) so the watermark can go on each."""
    path = Path(path)
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Millimeter))
    writer.setTitle("Incident report")
    writer.setCreator("controlroom")
    page = writer.pageLayout().paintRectPixels(DPI)
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    font = QFont()
    font.setPointSizeF(9)
    doc.setDefaultFont(font)
    doc.documentLayout().setPaintDevice(writer)  # lay out with the PDF's resolution, not the screen's
    doc.setHtml(html)
    w, h = page.width(), page.height() - FOOTER
    doc.setPageSize(QSizeF(w, h))
    painter = QPainter(writer)
    try:
        for n in range(max(1, doc.pageCount())):
            if n:
                writer.newPage()
            painter.save()
            painter.translate(0, -n * h)
            doc.drawContents(painter, QRectF(0, n * h, w, h))
            painter.restore()
            if watermark:
                _watermark(painter, w, h, watermark)
            _footer(painter, w, h + FOOTER, n + 1, doc.pageCount())
    finally:
        painter.end()
    return path


def _watermark(painter: QPainter, w: float, h: float, text: str) -> None:
    painter.save()
    colour = QColor(TRAINING_BAND)
    colour.setAlpha(60)
    painter.setPen(colour)
    font = QFont()
    font.setPointSize(72)
    font.setBold(True)
    painter.setFont(font)
    painter.translate(w / 2, h / 2)
    painter.rotate(-40)
    painter.drawText(QRectF(-w, -h / 4, 2 * w, h / 2), Qt.AlignCenter, text)
    painter.restore()


def _footer(painter: QPainter, w: float, h: float, n: int, total: int) -> None:
    painter.save()
    font = QFont()
    font.setPointSize(7)
    painter.setFont(font)
    painter.setPen(QColor("#555555"))
    painter.drawText(QRectF(0, h - 25, w, 25), Qt.AlignRight | Qt.AlignBottom, f"Page {n} of {total}")
    painter.restore()
