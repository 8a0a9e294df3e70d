"""Excel workbooks for the people who act on a run: London for MOPAC and finance, and boroughs."""

from commissioning.excel.borough import UnknownAreaError, write_borough_workbook
from commissioning.excel.export import export_workbook
from commissioning.excel.london import write_london_workbook

__all__ = ["UnknownAreaError", "export_workbook", "write_borough_workbook", "write_london_workbook"]
