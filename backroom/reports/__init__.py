"""Reports: periods (periods.py), the metric catalog every function registers into (catalog.py),
the report builder and drilldowns (service.py), and the CSV / XLSX / PDF renderers (export.py)."""
