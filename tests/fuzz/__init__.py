"""The fuzzer: mutated logs of every format, bulletins, profiles and DBCs through bopwatch's parsers.

``python -m tests.fuzz --inputs 10000 [--seed S] [--format F]`` (see ``__main__``). Every input must either
decode or raise the package's own error (``TelemetryError`` / ``ComplianceError``) within the time limit; any
other exception, a hang, a memory blow-up or a dead interpreter is a crasher, saved for ``tests/fuzz_regressions/``.
"""
