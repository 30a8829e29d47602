"""BoP bulletins: load and validate them (SPEC §3 and §5), pick the one in force, say what changed between two.

Knows nothing of logs, verdicts or the store; the judge reads what this package loads. ``kinds`` is the registry of
rule kinds, ``spec`` the value objects, ``rule_tables`` the validation of one rule table.
"""
from .bulletins import Bulletin, in_force, load_bulletin, load_bulletins, select_bulletin
from .diff import diff_bulletins
from .kinds import KINDS, RULE_NAMES, rule_order
from .spec import Condition, DeclaredPower, ModelBop, RuleSpec

__all__ = ["RULE_NAMES", "KINDS", "Bulletin", "ModelBop", "RuleSpec", "Condition", "DeclaredPower", "load_bulletin",
           "load_bulletins", "in_force", "select_bulletin", "diff_bulletins", "rule_order"]
