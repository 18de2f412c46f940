"""Render an invoice as a PDF a person would accept, with fpdf2 and a Unicode font.

The text is real text (DejaVu Sans, embedded and subset), so it can be searched, copied and
read back. Values are printed as given: the billing service owns amounts and their format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

# fontTools logs every subsetting step at INFO: one line per table per invoice.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
# Subscriber fields printed as "Label: value" below the address, in this order when present.
_CONTACT_FIELDS = ("email", "phone", "gstin", "tax_id", "vat_number", "customer_id")
_NAME_FIELDS = ("name", "company_name", "full_name", "business_name")
_ADDRESS_ORDER = ("line1", "line2", "street", "city", "state", "postal_code", "zip", "country")
_ACRONYMS = {"gst", "gstin", "cgst", "sgst", "igst", "vat", "id", "tds", "hsn", "sac", "po"}
_TOTAL_KEYS = {"total", "grand_total", "amount_due", "total_due"}


def text(value: Any) -> str:
    """A value as printed: strings as given, numbers in their JSON form, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def label(key: str) -> str:
    """`grand_total` -> `Grand total`, `gst_18%` -> `GST 18%`."""
    words = str(key).replace("_", " ").replace("-", " ").split()
    words = [w.upper() if w.lower() in _ACRONYMS else w for w in words]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]


def subscriber_name(subscriber: Mapping[str, Any]) -> str:
    """The subscriber's name, from the first name field present."""
    return next((text(subscriber[k]) for k in _NAME_FIELDS if subscriber.get(k)), "")


def address_lines(subscriber: Mapping[str, Any]) -> list[str]:
    """The address as lines: a list, a multi-line string, or a mapping of parts."""
    address = subscriber.get("address", subscriber.get("address_lines"))
    if address is None:
        parts = {k: subscriber[k] for k in _ADDRESS_ORDER if subscriber.get(k)}
        return [text(v) for v in parts.values()]
    if isinstance(address, str):
        return [line.strip() for line in address.splitlines() if line.strip()]
    if isinstance(address, list):
        return [text(line) for line in address if text(line)]
    if isinstance(address, Mapping):
        ordered = [k for k in _ADDRESS_ORDER if k in address]
        ordered += [k for k in address if k not in ordered]
        return [text(address[k]) for k in ordered if text(address[k])]
    return [text(address)]


def invoice_date(data: Mapping[str, Any], today: datetime) -> str:
    """The date the billing service gave, else the day the PDF was made (service clock)."""
    for key in ("invoice_date", "date", "issue_date", "issued_at"):
        if data.get(key):
            return text(data[key])
    subscriber = data.get("subscriber") or {}
    return text(subscriber.get("invoice_date")) or today.strftime("%Y-%m-%d")


class InvoicePDF(FPDF):
    """A4 portrait, DejaVu Sans, page numbers in the footer."""

    def __init__(self, invoice_number: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice_number = invoice_number
        self.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.cell(0, 5, f"Invoice {self.invoice_number} - page {self.page_no()}/{{nb}}", align="C")


def render_invoice(
    invoice_number: str, data: Mapping[str, Any], *, generated_at: datetime
) -> bytes:
    """The invoice as PDF bytes: number, date, subscriber, every line item, the totals."""
    pdf = InvoicePDF(invoice_number)
    pdf.set_title(f"Invoice {invoice_number}")
    pdf.set_creator("mediastore")
    pdf.set_creation_date(generated_at)
    pdf.add_page()
    _heading(pdf, invoice_number, data, generated_at)
    _subscriber(pdf, data.get("subscriber") or {})
    _line_items(pdf, data.get("line_items") or [])
    _totals(pdf, data.get("totals") or {})
    if data.get("notes"):
        pdf.ln(6)
        pdf.set_font(FAMILY, "", 9)
        pdf.multi_cell(0, 5, text(data["notes"]))
    return bytes(pdf.output())


def _heading(pdf: FPDF, number: str, data: Mapping[str, Any], generated_at: datetime) -> None:
    pdf.set_font(FAMILY, "B", 20)
    pdf.cell(0, 10, "INVOICE", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    rows = [("Invoice number", number), ("Invoice date", invoice_date(data, generated_at))]
    for key in ("due_date", "period", "billing_period", "currency"):
        if data.get(key):
            rows.append((label(key), text(data[key])))
    for name, value in rows:
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(40, 6, f"{name}:")
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _subscriber(pdf: FPDF, subscriber: Mapping[str, Any]) -> None:
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 6, "Bill to", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    name = subscriber_name(subscriber)
    if name:
        pdf.multi_cell(0, 5, name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for line in address_lines(subscriber):
        pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for key in _CONTACT_FIELDS:
        if subscriber.get(key):
            pdf.multi_cell(
                0, 5, f"{label(key)}: {text(subscriber[key])}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
    pdf.ln(5)


def _line_items(pdf: FPDF, items: list[Mapping[str, Any]]) -> None:
    pdf.set_font(FAMILY, "", 9)
    heading = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    with pdf.table(
        col_widths=(90, 20, 32, 32),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        cell_fill_mode=TableCellFillMode.NONE,
        line_height=5.5,
    ) as table:
        table.row(["Description", "Quantity", "Unit price", "Amount"])
        for item in items:
            table.row(
                [
                    text(item.get("description", item.get("name"))),
                    text(item.get("quantity", item.get("qty"))),
                    text(item.get("unit_price", item.get("rate"))),
                    text(item.get("amount", item.get("total"))),
                ]
            )
    pdf.ln(4)


def _totals(pdf: FPDF, totals: Mapping[str, Any]) -> None:
    for key, value in totals.items():
        bold = key in _TOTAL_KEYS
        pdf.set_font(FAMILY, "B" if bold else "", 11 if bold else 10)
        pdf.cell(132, 6, f"{label(key)}:", align="R")
        pdf.cell(0, 6, text(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
