"""Imports every package's models so that ``Base.metadata`` is complete for Alembic.

An assembly module like ``api/app.py``: it may name every package, platform and domain; each
domain adds its ``models`` import here when it lands.
"""

from __future__ import annotations

import interdict.alerts.models  # noqa: F401
import interdict.audit.models  # noqa: F401
import interdict.auth.models  # noqa: F401
import interdict.exchange.models  # noqa: F401
import interdict.network.models  # noqa: F401
import interdict.precursors.models  # noqa: F401
import interdict.seizures.models  # noqa: F401
import interdict.spectra.models  # noqa: F401
import interdict.targeting.models  # noqa: F401
from interdict.db.base import Base

metadata = Base.metadata
