# Two commands on a fresh machine: `make demo` and `make test`. Both create or reuse
# the virtual environment; setup re-runs only when the requirement files change.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# torch comes from the local CPU build; letting pip pick any other pulls GBs of CUDA wheels
TORCH := torch==2.13.0
STAMP := $(VENV)/.setup-$(shell cat requirements/lock.txt requirements/constraints.txt pyproject.toml Makefile | sha256sum | cut -c1-12)

.PHONY: setup demo test test-fast bench-accuracy bench-scan bench-index clean

setup: $(STAMP)

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip wheel setuptools
	$(PIP) install $(TORCH)
	$(PIP) install -c requirements/constraints.txt -r requirements/lock.txt
	# imports only cv2, pywt and numpy on the DWT-DCT path; its declared deps (opencv-python, onnx) are not needed
	$(PIP) install --no-deps invisible-watermark==0.2.0
	$(PIP) install --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.setup-* && touch $@

demo: setup
	$(PY) -m provenance.demo --out demo-output

test: setup
	$(PY) -m pytest -q -rs --durations=15

test-fast: setup
	$(PY) -m pytest -q -x -m "not slow and not postgres"

bench-accuracy: setup
	$(VENV)/bin/provenance bench ../shared/media/works --negatives ../shared/media/others --out bench-output

bench-scan: setup
	$(PY) scripts/bench_scan.py

bench-index: setup
	$(PY) scripts/bench_index.py

clean:
	rm -rf demo-output bench-output .pytest_cache
