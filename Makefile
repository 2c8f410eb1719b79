# The two quick-start commands are `make run` and `make test`; each sets itself up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements
EDITABLE := $(VENV)/.installed-kit
export TF_CPP_MIN_LOG_LEVEL ?= 2

PRESET ?= quick
# The assignment `make run`, `make check` and `make grade` work on (python -m kit assignments lists them).
ASSIGNMENT ?= fashion_mnist

.PHONY: run test test-fast lint test-jax setup data assignment-data fetch-data check grade gradescope-check release assign benchmark clean

## run: the assignment's runner end to end (the homework: report in runs/homework/; PRESET=smoke|quick|full, default
##   quick = 15 minutes of wall time on any machine; MINUTES=M: M minutes instead; STEPS=7 or STEPS=5,7: only those steps)
run: assignment-data
	$(PY) -m kit homework --assignment $(ASSIGNMENT) --preset $(PRESET) $(if $(MINUTES),--minutes $(MINUTES)) $(if $(STEPS),--steps $(STEPS))

## test: lint and format check (a finding fails), the whole test suite (two workers, a test file each), then the backend-agnostic tests again under JAX
test: lint data
	$(PY) -m pytest -n 2 --dist loadfile --durations=25
	$(MAKE) --no-print-directory test-jax

## test-fast: lint, then the unit tests (no full training, no grading of whole submissions; <= 2 min)
test-fast: lint data
	$(PY) -m pytest -m "not slow and not grading" -q

## lint: ruff (configured in pyproject.toml): lint findings and unformatted files fail
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-jax: setup
	KERAS_BACKEND=jax $(PY) -m pytest -m backend_agnostic -q

## setup: .venv with requirements.txt and the kit itself (editable, so that `.venv/bin/python -m kit` works
##   from any folder, an assignment's too), redone only when requirements.txt or pyproject.toml changes;
##   PY=/path/to/python: that interpreter as it is, when it has every pinned requirement (else they are installed)
ifeq ($(origin PY),command line)
setup:
	@$(PY) scripts/requirements_met.py requirements.txt || $(PY) -m pip install --quiet -r requirements.txt
else
setup: $(STAMP) $(EDITABLE)
endif

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	cp requirements.txt $(STAMP)

# (PYTHONWARNINGS: setuptools warns that a folder named kit in the current folder comes first; it is this one)
$(EDITABLE): $(STAMP) pyproject.toml
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(EDITABLE)

## data: make sure verified Fashion-MNIST files are found, and say in one line where (fast, ~0.5 s, when they are)
data: setup
	@$(PY) -m kit data --check --summary 2>/dev/null || $(MAKE) --no-print-directory fetch-data

## fetch-data: install Debian's dataset-fashion-mnist (apt-get as root), else download into datasets/fashion-mnist/
fetch-data: setup
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing the Debian package dataset-fashion-mnist"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } || \
		echo "apt-get could not install dataset-fashion-mnist; downloading the files instead"; \
	fi
	@$(PY) -m kit data --check 2>/dev/null || $(PY) -m kit data --download --check
	@$(PY) -m kit data --check && echo "Fashion-MNIST files found and verified (details: $(PY) -m kit data)"

## assignment-data: the data sets ASSIGNMENT's manifest names, found and verified (none named: nothing is fetched;
##   an unknown name: Fashion-MNIST, and the command after it names the valid assignments)
assignment-data: setup
	@sets="$$($(PY) -m kit assignments --datasets $(ASSIGNMENT) 2>/dev/null)" || sets=fashion_mnist; \
	for set in $$sets; do case $$set in fashion_mnist) $(MAKE) --no-print-directory data ;; esac; done

## check: the autograder's visible checks on your work (ASSIGNMENT=name; SUBMISSION=folder, default the assignment's; OUT=results.json)
check: assignment-data
	$(PY) -m kit check $(SUBMISSION) --assignment $(ASSIGNMENT) $(if $(OUT),--out "$(OUT)")

# >>> instructor only: `make release` leaves the targets from here to the closing marker out
## grade: grade one submission folder, e.g. make grade SUBMISSION=path/to/folder [OUT=results.json] [HIDDEN=1]
grade: assignment-data
	@test -n "$(SUBMISSION)" || { echo "usage: make grade SUBMISSION=path/to/folder [OUT=results.json] [HIDDEN=1]" >&2; exit 2; }
	$(PY) -m kit grade "$(SUBMISSION)" --assignment $(ASSIGNMENT) --out "$(or $(OUT),results.json)" $(if $(HIDDEN),--hidden)

## gradescope-check: the Gradescope package end to end in a fresh Debian 12 or Ubuntu 22.04 root (as root; slow, ~5-10 min; not in make test)
##   e.g. make gradescope-check GRADESCOPE_CHECK_ARGS="--suite jammy --memory-max 1536M --cpus 1"  (jammy: Gradescope's Ubuntu 22.04)
gradescope-check: data
	$(PY) scripts/gradescope_check.py $(GRADESCOPE_CHECK_ARGS)

## assign: regenerate every assignments/NAME from solutions/NAME (never edit assignments/ by hand)
assign: setup
	$(PY) -m kit assign

## release: the student repository in dist/student-release (or OUT=folder; replaced if it exists)
release: setup
	rm -rf $(or $(OUT),dist/student-release)
	$(PY) -m kit release $(or $(OUT),dist/student-release)
# <<< instructor only

benchmark: data
	$(PY) benchmarks/throughput.py

clean:
	rm -rf runs .pytest_cache
