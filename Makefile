# edgelstm: the two commands of the README.
#   make demo   set up .venv, then data -> train -> quantize -> export-c -> verify on the radar data
#   make demo-raw  the same from raw radar ADC frames through the C front end (docs/raw_radar.md)
#   make test   set up .venv, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
EDGELSTM := $(VENV)/bin/edgelstm
OUT    ?= demo_out
STAMP  := $(VENV)/.installed

.PHONY: venv sysdeps demo demo-raw test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[all]'
	touch $(STAMP)

venv: $(STAMP)

demo: sysdeps $(STAMP)
	$(VENV)/bin/python tools/demo.py --out $(OUT)

# raw radar ADC frames -> fixed-point front end -> train -> quantize -> export-c -> verify (host, QEMU Cortex-M4)
demo-raw: sysdeps $(STAMP)
	$(VENV)/bin/python tools/demo_raw.py --out $(OUT)_raw

sysdeps:
	tools/install_system_deps.sh

test: sysdeps $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) tools/bench/run_all.py

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
