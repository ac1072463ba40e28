"""Compile the committed .po catalogues to .mo with Babel, so installing needs no GNU gettext."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def compile_all() -> int:
    count = 0
    for po_path in ROOT.glob("locale/*/LC_MESSAGES/*.po"):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        count += 1
    return count


if __name__ == "__main__":
    print(f"compiled {compile_all()} translation catalogue(s)")
    sys.exit(0)
