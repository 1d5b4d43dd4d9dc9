"""The reconciliation chart: records and ITC per group, as a PNG.

Pure (numbers in, PNG bytes out) and slow-ish: call it from a worker thread. It uses the Agg
canvas through matplotlib's object API, never pyplot's global state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

LABELS = {
    "matched": "Matched",
    "near_match": "Near match",
    "amount_mismatch": "Amount mismatch",
    "not_in_books": "Not in books",
    "not_in_ims": "Not in IMS",
}
COLOURS = {
    "matched": "#2e7d32",
    "near_match": "#9ccc65",
    "amount_mismatch": "#f0a202",
    "not_in_books": "#c62828",
    "not_in_ims": "#1565c0",
}


def reconcile_chart(summary: Mapping[str, Mapping[str, object]], *, title: str = "") -> bytes:
    """Two bar charts: documents per group, and their ITC (₹) per group."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = [g for g in LABELS if g in summary]
    counts = [float(str(summary[g]["count"])) for g in groups]
    itc = [sum(float(str(summary[g][h])) for h in ("igst", "cgst", "sgst", "cess"))
           for g in groups]
    figure = Figure(figsize=(8, 6), dpi=100)
    FigureCanvasAgg(figure)
    by_count, by_itc = figure.subplots(2, 1)
    colours = [COLOURS[g] for g in groups]
    names = [LABELS[g] for g in groups]
    by_count.barh(names, counts, color=colours)
    by_count.set_title("Documents per group")
    by_count.invert_yaxis()
    by_itc.barh(names, itc, color=colours)
    by_itc.set_title("ITC per group (₹)")
    by_itc.invert_yaxis()
    if title:
        figure.suptitle(title.replace("$", r"\$"))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
