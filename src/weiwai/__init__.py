"""weiwai (委外): outsourced debt collection run by the lender, end to end."""

__version__ = "0.1.0"
