"""The /summary chart: ITC by status and the top suppliers awaiting a decision, as a PNG.

`chart_data` reads the numbers (one read-only transaction); `summary_chart` is pure (data
in, PNG bytes out) and slow-ish: call both from a worker thread. It uses the Agg canvas
through matplotlib's object API, so it never touches a display or pyplot's global state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ims_bot.db import Database

STATUS_LABELS = {
    "no_action": "No action",
    "pending": "Pending",
    "accepted": "Accepted",
    "rejected": "Rejected",
}
STATUS_COLOURS = {
    "no_action": "#9e9e9e",
    "pending": "#f0a202",
    "accepted": "#2e7d32",
    "rejected": "#c62828",
}


#: Longest supplier name under a bar; longer ones keep their start and their end.
NAME_WIDTH = 28


def bar_label(name: str) -> str:
    """A supplier's name as a bar's label: at most NAME_WIDTH characters with its end kept
    (branches of one firm differ there), and every `$` literal (never matplotlib's maths)."""
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 9] + "…" + name[-8:]
    return name.replace("$", r"\$")


def summary_chart(
    itc_by_status: Mapping[str, Decimal],
    top_suppliers: Sequence[tuple[str, Decimal]],
    *,
    title: str = "",
) -> bytes:
    """A PNG with two bar charts: ITC (₹) per status, and ITC of the top suppliers."""
    figure = summary_figure(itc_by_status, top_suppliers, title=title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def summary_figure(
    itc_by_status: Mapping[str, Decimal],
    top_suppliers: Sequence[tuple[str, Decimal]],
    *,
    title: str = "",
) -> Figure:
    """The chart as a matplotlib Figure on the Agg canvas (drawn by `summary_chart`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6), dpi=100)
    FigureCanvasAgg(figure)
    by_status, by_supplier = figure.subplots(2, 1)
    statuses = [s for s in STATUS_LABELS if s in itc_by_status]
    by_status.barh(
        [STATUS_LABELS[s] for s in statuses],
        [float(itc_by_status[s]) for s in statuses],
        color=[STATUS_COLOURS[s] for s in statuses],
    )
    by_status.set_title("ITC by status (₹)")
    by_status.invert_yaxis()
    # Names are the suppliers' data: a literal "$" must not start matplotlib's mathtext.
    names = [bar_label(name) for name, _ in top_suppliers] or ["(none)"]
    values = [float(v) for _, v in top_suppliers] or [0.0]
    # Positions, not the names, as the y values: two suppliers of one name stay two bars.
    by_supplier.barh(range(len(names)), values, color="#1565c0")
    by_supplier.set_yticks(range(len(names)), labels=names)
    by_supplier.set_title("ITC awaiting a decision, top suppliers (₹)")
    by_supplier.invert_yaxis()
    if title:
        figure.suptitle(title.replace("$", r"\$"))
    figure.tight_layout()
    return figure


def chart_data(
    db: Database, taxpayer_id: int, *, top: int = 6
) -> tuple[dict[str, Decimal], list[tuple[str, Decimal]]]:
    """The chart's numbers: total tax per status, and the suppliers with the most tax among
    records needing a decision (one read-only transaction)."""
    from sqlalchemy import func, select

    from ims_bot.models import Record
    from ims_bot.records import OPEN_STATUSES
    from ims_bot.suppliers import display_name, names_for

    tax = Record.igst + Record.cgst + Record.sgst + Record.cess
    with db.begin() as session:
        by_status = {
            status: Decimal(total or 0)
            for status, total in session.execute(
                select(Record.status, func.sum(tax))
                .where(Record.taxpayer_id == taxpayer_id)
                .group_by(Record.status)
            )
        }
        totals = session.execute(
            select(Record.supplier_gstin, func.sum(tax))
            .where(Record.taxpayer_id == taxpayer_id, Record.status.in_(OPEN_STATUSES))
            .group_by(Record.supplier_gstin)
            .order_by(func.sum(tax).desc(), Record.supplier_gstin)
            .limit(top)
        ).all()
        names = names_for(session, taxpayer_id, (gstin for gstin, _ in totals))
        suppliers = [
            (display_name(names.get(gstin), gstin), Decimal(total or 0))
            for gstin, total in totals
        ]
    return by_status, suppliers
