"""The evaluation report: an HTML page with PNG plots in ``PROJECT/reports/<timestamp>/``."""

from .page import latest_cv, latest_report, write_report

__all__ = ["latest_cv", "latest_report", "write_report"]
