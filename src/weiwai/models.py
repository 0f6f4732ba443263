"""Imports every table so that Base.metadata is complete (Alembic, tests)."""

from weiwai.agencies import models as agencies  # noqa: F401
from weiwai.collection import models as collection  # noqa: F401
from weiwai.compliance import models as compliance  # noqa: F401
from weiwai.db import Base
from weiwai.handover import models as handover  # noqa: F401
from weiwai.jobs import models as jobs  # noqa: F401
from weiwai.payments import models as payments  # noqa: F401
from weiwai.placements import models as placements  # noqa: F401
from weiwai.portfolio import models as portfolio  # noqa: F401
from weiwai.privacy import canary_models, infosec_models  # noqa: F401
from weiwai.privacy import models as privacy  # noqa: F401
from weiwai.reports import models as reports  # noqa: F401
from weiwai.security import models as security  # noqa: F401
from weiwai.settlement import models as settlement  # noqa: F401

metadata = Base.metadata
