# Every target builds what it needs: a fresh clone needs only python3 (3.11+) and make.
# The venv holds the tool (.) and its test rig (./sim: the qlik-cli simulator and the sweeps).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test rehearse bench kill-sweep fault-sweep clean

$(STAMP): pyproject.toml sim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -e ./sim
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo

# QLIK=/path/to/qlik: doctor, plan, run and verify through that qlik-cli against the served simulator
rehearse: $(STAMP)
	$(PY) scripts/rehearse "$(QLIK)"

# The checks first (ruff on the tool and its tests, mypy --strict on the tool: pyproject.toml), then every test.
test: $(STAMP)
	$(PY) -m ruff check qlikcli_py tests
	$(PY) -m mypy
	$(PY) -m pytest -q -n 3 --dist worksteal

bench: $(STAMP)
	$(PY) scripts/bench

kill-sweep: $(STAMP)
	$(PY) scripts/kill-sweep

fault-sweep: $(STAMP)
	$(PY) scripts/fault-sweep

clean:
	rm -rf $(VENV) build *.egg-info sim/*.egg-info sim/build .pytest_cache
