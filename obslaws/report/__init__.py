"""The refresh report: figures (plots), the page that shows them (build), and what plugins add
to it (:class:`ReportSection`, through the ``report_sections`` hook)."""

from obslaws.report.section import Figure, ReportSection, latest_fit_id

__all__ = ["Figure", "ReportSection", "latest_fit_id"]
