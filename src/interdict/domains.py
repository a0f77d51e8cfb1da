"""The domain packages this build includes, loaded once by every entry point.

Loading a domain registers its reference-file kinds, navigation entries, demo steps and alert
outcome handlers with the platform; ``api/app.py``, ``cli/main.py`` and the tests import this
module so that every entry point sees the same set.
"""

from __future__ import annotations

import interdict.exchange.demo  # noqa: F401
import interdict.network.demo  # noqa: F401
import interdict.precursors.demo  # noqa: F401
import interdict.precursors.specs  # noqa: F401
import interdict.seizures.demo  # noqa: F401
import interdict.spectra.demo  # noqa: F401
import interdict.substances.demo  # noqa: F401
import interdict.substances.specs  # noqa: F401
import interdict.targeting.demo  # noqa: F401
import interdict.targeting.specs  # noqa: F401
