"""BoP bulletins, rules, verdicts, the evidence store, reports and the command line."""
