"""BoP bulletins: load and validate them, pick the one in force, say what changed between two.

Knows nothing of logs, verdicts or the store; the judge reads what this package loads.
"""
from .bulletins import (
           RULE_NAMES,
           Bulletin,
           ModelBop,
           RuleSpec,
           diff_bulletins,
           in_force,
           load_bulletin,
           load_bulletins,
)

__all__ = ["RULE_NAMES", "Bulletin", "ModelBop", "RuleSpec", "load_bulletin", "load_bulletins", "in_force",
           "diff_bulletins"]
