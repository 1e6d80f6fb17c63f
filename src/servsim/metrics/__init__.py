"""Every KPI: declared once (:mod:`~servsim.metrics.registry`), computed once from per-cell sums
(:mod:`~servsim.metrics.cells`), from the per-contact tables of :mod:`~servsim.metrics.records`."""

from servsim.metrics.cells import CellSums, kpis, littles_law
from servsim.metrics.records import CONTACT_OUTCOMES, VISIT_OUTCOMES, contact_table, visit_table
from servsim.metrics.registry import REGISTRY, Metric, columns, experiment_metrics, resolve

#: The KPIs of a set of contacts (:func:`kpis`), in column order: those of every interval row that
#: come from the contacts alone (not from time, like ``mean_queue``).
KPI_COLUMNS = [c for c in columns("intervals") if REGISTRY[c].source in ("cells", "waits")]

__all__ = [
    "CONTACT_OUTCOMES", "KPI_COLUMNS", "REGISTRY", "VISIT_OUTCOMES", "CellSums", "Metric", "columns",
    "contact_table", "experiment_metrics", "kpis", "littles_law", "resolve", "visit_table",
]
