"""The French tax receipt ("reçu fiscal", CERFA 11580 data) as a PDF, with fpdf2."""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF

from .models import DonationSettings, TaxReceipt


def _amount(cents: int, currency: str) -> str:
    value = f"{Decimal(cents) / 100:,.2f}".replace(",", " ").replace(".", ",")
    return f"{value} {currency}"


def _latin(text: str) -> str:
    # The PDF core fonts are Latin-1: keep accents, spell out what they lack.
    return (
        (text or "")
        .replace("€", "EUR")
        .replace("’", "'")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def tax_receipt_pdf(receipt: TaxReceipt, settings: DonationSettings, nation_name: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(
        0,
        9,
        _latin("Reçu au titre des dons à certains organismes d'intérêt général"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        _latin("Articles 200, 238 bis et 978 du code général des impôts"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, _latin(f"Reçu n° {receipt.number}"), new_x="LMARGIN", new_y="NEXT")

    def block(title: str, lines: list[str]) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for line in lines:
            if line:
                pdf.multi_cell(0, 5.5, _latin(line), new_x="LMARGIN", new_y="NEXT")

    block(
        "Bénéficiaire des versements",
        [
            settings.organisation_name or nation_name,
            settings.organisation_address,
            f"Numéro d'identification : {settings.organisation_id}"
            if settings.organisation_id
            else "",
        ],
    )
    block("Donateur", [receipt.donor_name, receipt.donor_address])
    block(
        "Versements",
        [
            f"Le bénéficiaire reconnaît avoir reçu au titre des dons et versements ouvrant droit "
            f"à réduction d'impôt, pour l'année {receipt.year}, la somme de "
            f"{_amount(receipt.amount, receipt.currency)}.",
            "Forme du don : déclaration de don manuel. Nature du don : numéraire. "
            "Mode de versement : carte bancaire.",
        ],
    )
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(60, 7, "Date", border="B")
    pdf.cell(60, 7, "Montant", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for gift in receipt.gifts:
        pdf.cell(60, 6, gift["date"])
        pdf.cell(
            60, 6, _latin(_amount(gift["amount"], receipt.currency)), new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(6)
    pdf.cell(0, 6, _latin(f"Émis le {receipt.issued_at:%d/%m/%Y}"), new_x="LMARGIN", new_y="NEXT")
    if settings.receipt_signatory:
        pdf.cell(
            0,
            6,
            _latin(f"Signataire : {settings.receipt_signatory}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())
