"""A stock line shown in vials or packs: the doses left over are shown, never dropped, and
only the line's own product's presentation is accepted."""

from __future__ import annotations

from datetime import date

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.domain.units import Unit
from doseflow.ledger.views import StockLine

PFIZER = Product("PFE", "Comirnaty", "Pfizer-BioNTech", 2, TemperatureBand.ULTRA_COLD, 180, 6, 1170)
ASTRA = Product("AZ", "Vaxzevria", "SII", 2, TemperatureBand.CHILLED, 180, 10, 2400)
LINE = StockLine("PRK-NS", "PFE", "FA7484", date(2021, 12, 31), 1, 12_285)


def test_a_stock_line_in_vials_keeps_the_remainder() -> None:
    q = LINE.express(PFIZER, Unit.VIAL)
    assert (q.amount, q.unit, q.rest_doses) == (2_047, Unit.VIAL, 3)
    assert str(q) == "2,047 vials + 3 doses"
    assert str(LINE.express(PFIZER, Unit.PACK)) == "10 packs + 585 doses"
    assert str(LINE.express(PFIZER, Unit.DOSE)) == "12,285 doses"


def test_another_products_presentation_is_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        LINE.express(ASTRA, Unit.VIAL)
    assert exc.value.code == "LEDGER_WRONG_PRODUCT"
    detail = exc.value.detail
    assert detail.location.field == "product"
    assert (detail.expected, detail.value) == ("PFE", "AZ")
    assert "lot FA7484 at PRK-NS is of product PFE, not AZ" in detail.message
