"""The /summary chart draws suppliers' names as they are: never as maths, one bar each."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ims_bot.chart import NAME_WIDTH, bar_label, summary_chart, summary_figure

# Indic and rare scripts have no glyph in matplotlib's font: drawn as boxes, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
PNG = b"\x89PNG\r\n\x1a\n"
MATHS_LIKE = ["Cost $\\frac{$ Traders", "$$", "$x^{$", "\\", "a\\$b$c$", "Rs $5 $ Co", "$\\$"]


def test_names_that_look_like_maths_are_drawn_as_written() -> None:
    suppliers = [(name, Decimal(100 - i)) for i, name in enumerate(MATHS_LIKE[:6])]
    assert summary_chart({"pending": Decimal(1)}, suppliers).startswith(PNG)
    figure = summary_figure({"pending": Decimal(1)}, suppliers)
    figure.canvas.draw()
    shown = [label.get_text() for label in figure.axes[1].get_yticklabels()]
    assert [text.replace("\\$", "$") for text in shown] == MATHS_LIKE[:6]


def test_suppliers_whose_names_share_a_long_prefix_get_a_bar_each() -> None:
    suppliers = [
        ("Maharashtra Steel Distributors Pune", Decimal(300)),
        ("Maharashtra Steel Distributors Nashik", Decimal(200)),
        ("Maharashtra Steel Distributors Pune", Decimal(100)),  # two GSTINs, one name
    ]
    figure = summary_figure({"pending": Decimal(600)}, suppliers)
    by_supplier = figure.axes[1]
    assert [bar.get_width() for bar in by_supplier.patches] == [300.0, 200.0, 100.0]
    labels = [label.get_text() for label in by_supplier.get_yticklabels()]
    assert labels[0] != labels[1] and labels[0] == labels[2]
    assert labels[0].endswith("rs Pune") and labels[1].endswith("s Nashik")
    assert all(len(label) <= NAME_WIDTH for label in labels)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(alphabet=st.characters(codec="utf-8",
                                                     exclude_categories=("Cs", "Cc")),
                              min_size=1, max_size=60), min_size=1, max_size=6))
def test_any_supplier_names_render(names: list[str]) -> None:
    suppliers = [(name, Decimal(10 * (i + 1))) for i, name in enumerate(names)]
    assert summary_chart({"accepted": Decimal(5)}, suppliers, title="27AAPFU0939F1ZV").startswith(
        PNG)
    assert all(len(bar_label(name).replace("\\$", "$")) <= NAME_WIDTH for name in names)
