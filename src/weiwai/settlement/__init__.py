"""Commission ledger and statements. Importing the package arms the guard that keeps
issued statements immutable (weiwai.settlement.guard)."""

from weiwai.settlement import guard  # noqa: F401
