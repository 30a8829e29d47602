"""Reports: the stewards' session report (JSON, CSV, HTML, PDF) read through the store, the ``check --report``
page, and the renderer-neutral charts both draw (and the dashboard plots).
"""
from .check_report import render_check_report, write_check_report
from .render import render, write_report

__all__ = ["render", "write_report", "render_check_report", "write_check_report"]
