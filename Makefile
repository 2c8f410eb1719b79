# The two quick-start commands are `make run` and `make test`; each sets itself up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test test-jax setup data fetch-data grade release assign benchmark clean

## run: the Fashion-MNIST homework end to end (quick preset), report in runs/homework/
run: data
	$(PY) -m kit homework --preset quick --out runs/homework

## test: the whole test suite, then the backend-agnostic tests again under JAX
test: data
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-jax

test-jax: setup
	KERAS_BACKEND=jax $(PY) -m pytest -m backend_agnostic -q

## setup: .venv with requirements.txt, reinstalled only when requirements.txt changes
setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	cp requirements.txt $(STAMP)

## data: make sure verified Fashion-MNIST files are found (Debian package, else download)
data: setup
	@$(PY) -m kit data --check >/dev/null 2>&1 || $(MAKE) --no-print-directory fetch-data

fetch-data: setup
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian package dataset-fashion-mnist"; \
		apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } || true; \
	fi
	@$(PY) -m kit data --check 2>/dev/null || $(PY) -m kit data --download

## grade: grade one submission folder, e.g. make grade SUBMISSION=path/to/folder
grade: data
	$(PY) -m kit grade $(SUBMISSION) --out $(or $(OUT),results.json)

assign: setup
	$(PY) -m kit assign solutions/fashion_mnist assignments/fashion_mnist

release: setup
	$(PY) -m kit release $(or $(OUT),dist/student-release)

benchmark: data
	$(PY) benchmarks/throughput.py

clean:
	rm -rf runs .pytest_cache
