"""Importing the lender's overdue book (accounts) and payment records from CSV/XLSX files.

    import_accounts(session=..., path=..., actor=..., as_of=None, progress=None) -> ImportReport
    import_payments(session=..., path=..., actor=..., progress=None) -> ImportReport

A file is taken whole or not at all: any bad row raises InputRejected listing every
problem (row, column, value, reason) before anything is written. docs/import-format.md
describes the columns and rules.
"""

from weiwai.portfolio.importing.accounts import import_accounts
from weiwai.portfolio.importing.payments import import_payments
from weiwai.portfolio.importing.report import ImportReport, ProgressCallback

__all__ = ["ImportReport", "ProgressCallback", "import_accounts", "import_payments"]
