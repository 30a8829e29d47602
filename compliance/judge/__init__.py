"""The judge: one car's session against the bulletin in force, to a verdict.

Rules, data quality, laps and the join rules of several files: pure functions of what they are handed (a
``telemetry`` session, a profile, a bulletin). Never imports the store, the reports or the command line.
"""
from .check import CheckResult, check_logs, check_session
from .verdict import COMPLIANT, INCOMPLETE, INFRINGEMENT, Exceedance, QualityFinding, RuleResult, Verdict

__all__ = ["CheckResult", "check_logs", "check_session", "Verdict", "RuleResult", "Exceedance", "QualityFinding",
           "COMPLIANT", "INCOMPLETE", "INFRINGEMENT"]
