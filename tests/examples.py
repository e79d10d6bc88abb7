"""How many examples a property test tries.

Under mutation testing (``make mutate``: mutmut runs the covering tests once per mutant, and sets
``MUTANT_UNDER_TEST``) a tenth of them, at least 10: a surviving mutant of the parser otherwise
costs a minute of property tests, and the first examples (the explicit ones and hypothesis's
simplest) are the ones that kill. ``make test`` always runs them all.
"""

from __future__ import annotations

import os


def examples(count: int) -> int:
    return max(10, count // 10) if os.environ.get("MUTANT_UNDER_TEST") else count
