"""Imports every table so that Base.metadata is complete (Alembic, tests)."""

from weiwai.agencies import models as agencies  # noqa: F401
from weiwai.portfolio import models as portfolio  # noqa: F401
from weiwai.security import models as security  # noqa: F401
from weiwai.db import Base

metadata = Base.metadata
