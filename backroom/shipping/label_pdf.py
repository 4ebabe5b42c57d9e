"""Render a 4x6 inch thermal-printer shipping label to PDF with fpdf2.

The label is a fixed layout (boxed rows, a Code 128 barcode), so it is drawn directly: no HTML
parsing, style cascade or line layout, which made a WeasyPrint label cost ~50-100 ms of CPU; this
costs a few. Text is set in the PDF standard fonts (Helvetica, Courier: nothing embedded) when it
fits their Windows-1252 encoding, which Western addresses do; a label with any other character
embeds DejaVu Sans (a subset), so any name prints as written; on a machine without DejaVu
such characters print as their base letters (`core_text`) rather than leave the parcel unlabelled.

Rendering still holds the GIL, so a worker may render in a process pool (LabelRenderer,
LABEL_PROCESSES) or in a thread of its own (0).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache, partial
from pathlib import Path

from backroom.shipping import code128
from backroom.shipping.carrier import Address, Shipment

log = logging.getLogger(__name__)

# Geometry in points (72 per inch), as the label was designed in CSS: a 4x6 in page, a 0.12 in
# margin, a 1.5 pt box split into rows padded 6 pt by 8 pt.
PAGE_W, PAGE_H = 288.0, 432.0
MARGIN = 8.64
RULE = 1.5
PAD_Y, PAD_X = 6.0, 8.0
BOX_W, BOX_H = PAGE_W - 2 * MARGIN, PAGE_H - 2 * MARGIN
INNER_W = BOX_W - 2 * PAD_X
TO_ROW_H = 144.0  # 2 in: the ship-to block keeps its size however short the address
BARCODE_W, BARCODE_H = 244.8, 68.4  # 3.4 x 0.95 in
CORE_ENCODING = "windows-1252"  # what the standard fonts print (WinAnsiEncoding)
# Where fonts live on Linux (the image installs fonts-dejavu-core): for labels outside Windows-1252.
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_UNICODE_FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "M": "DejaVuSansMono.ttf"}


def render_label_pdf(
    *,
    shipment: Shipment,
    tracking_number: str,
    service: str,
    estimated_days: int | None,
    provider: str,
    reference: str | None = None,
) -> bytes:
    """Return the PDF of one 4x6 inch label: from, service and days, ship-to, weight, parcels,
    reference, the Code 128 barcode of the tracking number and the number, the provider.
    Pure and CPU-bound (a few ms): run it through a LabelRenderer, not on an event loop."""
    from fpdf import FPDF  # imported late: the API process never renders labels

    days = f"{estimated_days} day{'s' if estimated_days != 1 else ''}" if estimated_days else ""
    sender = _address_lines(shipment.from_address)
    recipient = _address_lines(shipment.to_address, with_name=False)
    words = [*sender, *recipient, shipment.to_address.name, service, days, tracking_number, provider]
    words.append(reference or "")

    pdf = FPDF(unit="pt", format=(PAGE_W, PAGE_H))
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN)
    pdf.c_margin = 0
    pdf.set_title(f"Label {tracking_number}")
    pdf.set_creator("Backroom")
    pdf.core_fonts_encoding = CORE_ENCODING
    sans, mono = _fonts(pdf, "\n".join(words))
    pdf.add_page()
    pdf.set_line_width(RULE)
    left, x = MARGIN, MARGIN + PAD_X

    def rule(y: float) -> None:
        pdf.line(left, y, left + BOX_W, y)

    def text(y: float, value: str, size: float, *, style: str = "", height: float | None = None) -> float:
        pdf.set_font(sans, style, size)
        pdf.set_xy(x, y)
        pdf.multi_cell(INNER_W, height or size * 1.25, value, align="L")
        return pdf.get_y()

    def caption(y: float, value: str) -> float:
        pdf.set_char_spacing(0.5)
        y = text(y, value.upper(), 6.5, style="B", height=8.5)
        pdf.set_char_spacing(0)
        return y

    # From
    y = caption(MARGIN + PAD_Y, "From")
    for line in sender:
        y = text(y, line, 8, height=10)
    y += PAD_Y
    rule(y)
    # Service and its days
    pdf.set_font(sans, "B", 22)
    pdf.set_xy(x, y + PAD_Y)
    pdf.cell(INNER_W, 28, service.upper(), align="L")
    pdf.set_font(sans, "B", 10)
    pdf.set_xy(x, y + PAD_Y)
    pdf.cell(INNER_W, 28, days, align="R")
    y += 28 + 2 * PAD_Y
    rule(y)
    # Ship to
    top = y
    y = caption(y + PAD_Y, "Ship to")
    y = text(y, shipment.to_address.name, 13, style="B", height=16.9)
    for line in recipient:
        y = text(y, line, 12, height=15.6)
    y = max(top + TO_ROW_H, y + PAD_Y)
    rule(y)
    # Weight, parcels, reference
    third = INNER_W / 3
    facts = [
        ("Weight: ", f"{shipment.weight_grams / 1000:.2f} kg"),
        ("Parcels: ", str(len(shipment.parcels))),
    ]
    facts.append(("Ref: ", reference) if reference else ("", ""))
    for i, (name, value) in enumerate(facts):
        _pair(pdf, sans, x + i * third, y + PAD_Y, third, name, value, "LCR"[i])
    y += 12 + 2 * PAD_Y
    rule(y)
    # Barcode and the number under it
    y += 8
    _barcode(pdf, tracking_number, left + (BOX_W - BARCODE_W) / 2, y)
    y += BARCODE_H + 3
    pdf.set_font(mono, "", 11)
    pdf.set_char_spacing(1)
    pdf.set_xy(left, y)
    pdf.cell(BOX_W, 13, tracking_number, align="C")
    pdf.set_char_spacing(0)
    # Provider, along the bottom of the box
    bottom = MARGIN + BOX_H
    strip = 7 * 1.25 + 6
    rule(bottom - strip)
    pdf.set_font(sans, "", 7)
    pdf.set_xy(left, bottom - strip + 3)
    pdf.cell(BOX_W, 7 * 1.25, provider, align="C")
    pdf.rect(left, MARGIN, BOX_W, BOX_H)
    return bytes(pdf.output())


def _pair(pdf, family: str, x: float, y: float, width: float, name: str, value: str, align: str) -> None:
    """ "name value" with the value in bold, aligned in its column."""
    pdf.set_font(family, "", 9)
    name_w = pdf.get_string_width(name)
    pdf.set_font(family, "B", 9)
    value_w = min(pdf.get_string_width(value), width - name_w)
    start = x + {"L": 0.0, "C": (width - name_w - value_w) / 2, "R": width - name_w - value_w}[align]
    pdf.set_font(family, "", 9)
    pdf.set_xy(start, y)
    pdf.cell(name_w, 12, name)
    pdf.set_font(family, "B", 9)
    pdf.cell(value_w, 12, value)


def _barcode(pdf, value: str, x: float, y: float) -> None:
    """Code 128 bars of `value`, quiet zones included, scaled into BARCODE_W x BARCODE_H."""
    pattern = code128.modules(value)
    module = BARCODE_W / (len(pattern) + 2 * code128.QUIET_MODULES)
    pdf.set_fill_color(0)
    start = None
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            left = x + (code128.QUIET_MODULES + start) * module
            pdf.rect(left, y, (i - start) * module, BARCODE_H, style="F")
            start = None


def _fonts(pdf, text: str) -> tuple[str, str]:
    """(sans family, mono family) for this text: the standard fonts if they can print it, else DejaVu."""
    try:
        text.encode(CORE_ENCODING)
        return "helvetica", "courier"
    except UnicodeEncodeError:
        pass
    files = _unicode_font_files()
    if files is None:
        # No DejaVu on this machine: a label with the letters the standard fonts have (base
        # letters, else "?") ships the parcel; no label at all would hold it forever.
        log.warning("no DejaVu fonts installed: label text outside Windows-1252 printed as base letters")
        plain = pdf.normalize_text
        pdf.normalize_text = lambda text: plain(core_text(text))
        return "helvetica", "courier"
    for style, path in files.items():
        if style == "M":
            pdf.add_font("labelmono", "", path)
        else:
            pdf.add_font("labelsans", style, path)
    return "labelsans", "labelmono"


def core_text(text: str) -> str:
    """`text` as the standard fonts can print it: what Windows-1252 has as is, other letters by
    their base letter ("Ł" has none: "?"). Pure."""
    out = []
    for ch in text:
        try:
            ch.encode(CORE_ENCODING)
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode(CORE_ENCODING, "ignore").decode(CORE_ENCODING)
            out.append(base or "?")
    return "".join(out)


@cache
def _unicode_font_files() -> dict[str, str] | None:
    """The DejaVu files, found once per process (None if one is missing)."""
    found: dict[str, str] = {}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for style, name in _UNICODE_FONTS.items():
            if style not in found:
                match = next(root.rglob(name), None)
                if match is not None:
                    found[style] = str(match)
    return found if len(found) == len(_UNICODE_FONTS) else None


def _warm() -> None:
    """Process-pool initializer: import fpdf2 before the first label."""
    import fpdf  # noqa: F401


class LabelRenderer:
    """Renders labels off the event loop: in `processes` worker processes (spawned, so they
    share nothing with the Temporal worker's threads), or with 0 in a thread of this process
    (tests, and machines where a second process costs more than the GIL does). A pool that
    broke (a process killed) is replaced and the render fails retryably: labels are pure, so
    the activity's retry renders the same label."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
            )
        return self._pool

    async def render(self, **label) -> bytes:
        """The label's PDF (keyword arguments of render_label_pdf). Pure, so idempotent."""
        job = partial(render_label_pdf, **label)
        if self.processes <= 0:
            return await asyncio.to_thread(job)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor(), job)
        except BrokenProcessPool:
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _address_lines(address: Address, *, with_name: bool = True) -> list[str]:
    lines = [address.name] if with_name else []
    lines += [address.company, address.street1, address.street2]
    city = " ".join(x for x in (address.postal_code, address.city, address.state) if x)
    lines += [city, address.country]
    return [line for line in lines if line]
