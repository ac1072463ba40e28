"""Reading an uploaded file of people, whatever it turns out to be.

`sniff()` looks at the start of the file once (format, encoding, separator, header) and turns
anything it cannot read into a `FileProblem` with a message a staff member can act on.
`records()` then streams the data rows, one at a time, with the line each one starts on: memory
stays flat whatever the size of the file, and a resumed import skips the rows already applied.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_COLUMNS = 1000  # a NationBuilder export has ~400; more is a malformed file
MAX_FIELD_READ = 16 * 1024 * 1024  # a cell larger than this stops the reader
SAMPLE_BYTES = 256 * 1024
SEPARATORS = (",", ";", "\t", "|")

# Magic numbers of files people upload by mistake.
KNOWN_BINARIES = (
    (b"%PDF", gettext_lazy("a PDF document")),
    (b"\x89PNG", gettext_lazy("a PNG image")),
    (b"\xff\xd8\xff", gettext_lazy("a JPEG image")),
    (b"GIF8", gettext_lazy("a GIF image")),
    (b"\x1f\x8b", gettext_lazy("a gzip archive")),
    (b"Rar!", gettext_lazy("a RAR archive")),
)
OLD_EXCEL = b"\xd0\xcf\x11\xe0"


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Sniffed:
    kind: str  # csv | xlsx
    encoding: str = ""
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    samples: list[list[str]] = field(default_factory=list)


def sniff(path: str) -> Sniffed:
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        at_end = not handle.read(1)
    if not head.strip(b" \t\r\n\xef\xbb\xbf\xff\xfe\x00"):
        raise FileProblem(_("The file is empty: there is nothing to import."))
    if head.startswith(b"PK\x03\x04"):
        return _sniff_xlsx(path)
    if head.startswith(OLD_EXCEL):
        raise FileProblem(
            _(
                "This is an old Excel file (.xls), which cannot be read. In Excel, save it as"
                " “Excel workbook (.xlsx)” or “CSV UTF-8” and upload it again."
            )
        )
    for magic, what in KNOWN_BINARIES:
        if head.startswith(magic):
            raise FileProblem(
                _("This file is %(what)s, not a spreadsheet. Upload a CSV or Excel (.xlsx) file.")
                % {"what": what}
            )
    encoding = detect_encoding(head, complete=at_end)
    text = _decode_sample(head, encoding, complete=at_end)
    if _looks_binary(text):
        raise FileProblem(
            _(
                "This file does not contain text: it is not a CSV file. Upload a CSV or Excel"
                " (.xlsx) file."
            )
        )
    delimiter = detect_delimiter(text, complete=at_end)
    sniffed = Sniffed(kind="csv", encoding=encoding, delimiter=delimiter)
    rows = _first_records(path, sniffed, 11)
    _set_headers(sniffed, rows)
    return sniffed


def detect_encoding(head: bytes, *, complete: bool) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4000]
    if sample and sample.count(b"\x00") >= len(sample) // 3:
        # UTF-16 without a byte order mark: every other byte of ASCII text is zero.
        odd_zeros = sample[1::2].count(0)
        even_zeros = sample[0::2].count(0)
        return "utf-16-le" if odd_zeros > even_zeros else "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"  # Windows' "ANSI": latin-1 plus € and curly quotes
    except UnicodeDecodeError:
        return "latin-1"


def _decode_sample(head: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=complete)


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text[:20000] if c < " " and c not in "\t\r\n")
    return "\x00" in text[:20000] or controls > max(3, len(text[:20000]) // 100)


def detect_delimiter(text: str, *, complete: bool) -> str:
    if not complete and "\n" in text:
        text = text[: text.rfind("\n")]  # the last line may be cut in the middle
    best, best_score = ",", -1
    for candidate in SEPARATORS:
        try:
            rows = list(_limited(csv.reader(io.StringIO(text), delimiter=candidate), 30))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width)
        score = consistent * 1000 + width
        if score > best_score:
            best, best_score = candidate, score
    return best


def _limited(iterator, count: int):
    for i, item in enumerate(iterator):
        if i >= count:
            return
        yield item


def _first_records(path: str, sniffed: Sniffed, count: int) -> list[list[str]]:
    rows = []
    try:
        for _line, cells in _raw_records(path, sniffed):
            rows.append(cells)
            if len(rows) >= count:
                break
    except csv.Error as exc:
        raise FileProblem(
            _("The file could not be read as CSV: %(error)s") % {"error": exc}
        ) from exc
    return rows


def _set_headers(sniffed: Sniffed, rows: list[list[str]]) -> None:
    if not rows or not any(c.strip() for c in rows[0]):
        raise FileProblem(
            _("The first line of the file is empty: it should name the columns (the header).")
        )
    header = rows[0]
    while header and not header[-1].strip():
        header = header[:-1]
    if len(header) > MAX_COLUMNS:
        raise FileProblem(
            _(
                "This file has %(count)s columns; at most %(max)s can be imported. Remove the"
                " columns you do not need and upload it again."
            )
            % {"count": f"{len(header):,}", "max": f"{MAX_COLUMNS:,}"}
        )
    sniffed.headers = [
        " ".join(h.split())[:200] or _("Column %(number)s") % {"number": i + 1}
        for i, h in enumerate(header)
    ]
    sniffed.samples = [r[: len(header) + 1] for r in rows[1:]]
    if not sniffed.samples:
        raise FileProblem(_("The file has a header line but no rows of people under it."))


def _sniff_xlsx(path: str) -> Sniffed:
    sniffed = Sniffed(kind="xlsx")
    rows = _first_records(path, sniffed, 11)
    _set_headers(sniffed, rows)
    return sniffed


def records(path: str, sniffed: Sniffed, *, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every data row after the header, the first `skip` rows left out.

    A CSV error on one record (a cell over 16 MB) is yielded as (line, None) so the caller can
    report that line and go on."""
    iterator = _raw_records(path, sniffed)
    try:
        next(iterator)  # the header
    except StopIteration:
        return
    seen = 0
    for line, cells in iterator:
        if seen < skip:
            seen += 1
            continue
        yield line, cells


def count_records(path: str, sniffed: Sniffed) -> int:
    if sniffed.kind == "xlsx":
        return sum(1 for _record in records(path, sniffed))
    count = 0
    for _record in _raw_records(path, sniffed):
        count += 1
    return max(0, count - 1)


def _raw_records(path: str, sniffed: Sniffed) -> Iterator[tuple[int, list[str] | None]]:
    if sniffed.kind == "xlsx":
        yield from _xlsx_records(path)
        return
    csv.field_size_limit(MAX_FIELD_READ)
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=sniffed.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=sniffed.delimiter or ",")
        previous = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield previous + 1, None
                previous = reader.line_num
                continue
            line, previous = previous + 1, reader.line_num
            yield line, cells


def _xlsx_records(path: str) -> Iterator[tuple[int, list[str] | None]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(
            _(
                "This looks like an Excel file but it could not be opened (%(error)s). Save it"
                " again as .xlsx or CSV."
            )
            % {"error": exc}
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, cells
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
