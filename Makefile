# bopwatch: `make demo` (install, ingest sample_logs/, start the dashboard) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast browser lint bench fuzz audit clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (the project never downloads a browser of its own), and poppler-utils
# (pdftoppm, pdftotext) for the test that opens the steward PDF as PNG pages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install -y chromium' (browser tests will be skipped)"; fi; }
	@command -v pdftoppm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; \
	  else echo "pdftoppm missing: run 'sudo apt-get install -y poppler-utils' (the PDF page test will be skipped)"; fi; }

demo: install
	$(VENV)/bin/bopwatch demo

test: install browser
	$(PY) -m ruff check telemetry compliance dashboard dbc tests benchmarks
	$(PY) -m pytest -n 2 -q

test-fast: install
	$(PY) -m pytest -n 2 -q -m "not slow and not browser"

lint: install
	$(PY) -m ruff check telemetry compliance dashboard dbc tests benchmarks

bench: install
	$(PY) -m benchmarks

fuzz: install
	$(PY) -m tests.fuzz --inputs 10000

# known security advisories of every installed distribution (PyPI JSON API; needs the registry)
audit: install
	$(PY) .ci/audit_deps.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
