"""Every KPI: declared once (:mod:`~servsim.metrics.registry`), computed once from per-cell sums
(:mod:`~servsim.metrics.cells`), from the per-contact tables of :mod:`~servsim.metrics.records`."""

from servsim.metrics.cells import CellSums, kpis, littles_law
from servsim.metrics.records import CONTACT_OUTCOMES, VISIT_OUTCOMES, contact_table, visit_table
from servsim.metrics.registry import REGISTRY, Metric, columns, experiment_metrics, resolve

#: The contact KPIs of every summary and interval row, in column order.
KPI_COLUMNS = columns("intervals")

__all__ = [
    "CONTACT_OUTCOMES", "KPI_COLUMNS", "REGISTRY", "VISIT_OUTCOMES", "CellSums", "Metric", "columns",
    "contact_table", "experiment_metrics", "kpis", "littles_law", "resolve", "visit_table",
]
