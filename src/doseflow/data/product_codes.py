"""Standard codes (CVX, GTIN) of doseflow's product codes, from a bundled table.

Why a table rather than fields of each product file: the same product codes (``AZ-SII``,
``PFIZER``...) are used by the allocation examples, the network files and the UNICEF import,
which has no product file at all; one table gives every one of them its CVX code where one
exists. Where the codes come from is written at the top of the table
(``data/files/product_codes.csv``). A site may use its own table of the same columns
(``product,cvx,cvx_display,gtin``; lines starting with ``#`` are comments).

The same table is the list of canonical product codes: :func:`canonical_product` reads a
product named by any known alias (``data/files/product_aliases.csv``: ``PFIZER-BNT``,
``COMIRNATY``...) or in any case as its code, so every command gives the same result
whichever name a user types.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path

from doseflow.data.files import bundled_name, open_bundled
from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import ProductCodes, gtin_valid

BUNDLED = "product_codes.csv"
ALIASES = "product_aliases.csv"
COLUMNS = ("product", "cvx", "cvx_display", "gtin")


def _bad(source: str, line: int, field: str, message: str, expected: str, value: str) -> None:
    raise DoseflowError(
        "PRODUCT_CODES_INVALID",
        message,
        source=source,
        line=line,
        field=field,
        expected=expected,
        value=value,
    )


def parse_product_codes(text: str, source: str) -> dict[str, ProductCodes]:
    """Product code -> its standard codes; every problem names the line and the column."""
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        _bad(source, 1, "product", "the table is empty", "a header " + ",".join(COLUMNS), "")
    reader = csv.reader(io.StringIO("\n".join(line for _n, line in numbered)))
    rows = list(reader)
    header = [c.strip() for c in rows[0]]
    if tuple(header) != COLUMNS:
        _bad(
            source,
            numbered[0][0],
            "header",
            "the table does not have the expected columns",
            ",".join(COLUMNS),
            ",".join(header),
        )
    found: dict[str, ProductCodes] = {}
    for (line, _text), cells in zip(numbered[1:], rows[1:], strict=True):
        if len(cells) != len(COLUMNS):
            _bad(source, line, "row", "wrong number of cells", f"{len(COLUMNS)} cells", _text)
        product, cvx, display, gtin = (c.strip() for c in cells)
        if not product:
            _bad(source, line, "product", "no product code", "a product code", product)
        if product in found:
            _bad(source, line, "product", f"product {product} is listed twice", "once", product)
        if cvx and not (cvx.isdigit() and len(cvx) <= 3):
            _bad(source, line, "cvx", "not a CVX code", "a CVX code of 1 to 3 digits", cvx)
        if display and not cvx:
            _bad(source, line, "cvx_display", "a display without a CVX code", "blank", display)
        if gtin and not gtin_valid(gtin):
            _bad(
                source,
                line,
                "gtin",
                "not a GTIN (wrong length or check digit)",
                "a GTIN-8, -12, -13 or -14 with its GS1 check digit",
                gtin,
            )
        found[product] = ProductCodes(product, cvx or None, display or None, gtin or None)
    return found


@cache
def bundled_product_codes() -> dict[str, ProductCodes]:
    """The bundled table (read once)."""
    with open_bundled(BUNDLED) as f:
        return parse_product_codes(f.read(), bundled_name(BUNDLED))


def load_product_codes(path: Path | None = None) -> dict[str, ProductCodes]:
    """A site's table at ``path``, or the bundled one."""
    if path is None:
        return dict(bundled_product_codes())
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DoseflowError(
            "PRODUCT_CODES_INVALID",
            f"cannot read {path}: {exc}",
            source=str(path),
            expected="a readable UTF-8 CSV file",
            value=str(path),
        ) from None
    return parse_product_codes(text, str(path))


@cache
def bundled_product_aliases() -> dict[str, str]:
    """Alias (upper case) -> canonical product code, from the bundled alias table."""
    with open_bundled(ALIASES) as f:
        lines = [line for line in f.read().splitlines() if not line.lstrip().startswith("#")]
    rows = list(csv.reader(lines))
    return {alias.strip().upper(): product.strip() for alias, product in rows[1:]}


@cache
def _by_upper_code() -> dict[str, str]:
    return {code.upper(): code for code in bundled_product_codes()}


def canonical_product(text: str) -> str:
    """The canonical code of a product named by its code or a known alias, in any case
    (``pfizer-bnt`` -> ``PFIZER``); a code doseflow does not know (a scenario's own product)
    is returned as given, without surrounding spaces."""
    given = text.strip()
    key = given.upper()
    return _by_upper_code().get(key) or bundled_product_aliases().get(key) or given
