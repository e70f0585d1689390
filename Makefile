# Two entry points for a fresh machine (Python 3.11+ and make): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install predict train backtest app generate-demo validate bench lint clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("error: Python 3.11+ is needed (found " + sys.version.split()[0] + "); run make PYTHON=python3.11 ...") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## Main job: batch step on the bundled demo data, then the app on http://localhost:8501
demo: $(STAMP)
	$(PY) models/inference/predict.py
	$(PY) -m streamlit run app/main.py --server.headless true --server.port 8501

## Whole test suite
test: $(STAMP)
	$(PY) -m pytest

predict: $(STAMP)
	$(PY) models/inference/predict.py

train: $(STAMP)
	$(PY) models/training/train.py

backtest: $(STAMP)
	$(PY) models/evaluation/backtest.py

app: $(STAMP)
	$(PY) -m streamlit run app/main.py --server.headless true --server.port 8501

## Regenerate the bundled demo data (seeded, byte-identical)
generate-demo: $(STAMP)
	$(PY) -m models.generate --deals 15000 --seed 7 --history --out-dir dataset

## Validate an export and print its data-quality report (make validate DATA=path/to/export)
DATA ?= dataset
validate: $(STAMP)
	$(PY) -m models.validate --data-dir $(DATA)

bench: $(STAMP)
	$(PY) benchmarks/bench_generator.py

lint: $(STAMP)
	$(PY) -m ruff check core models app tests benchmarks notebooks

clean:
	rm -rf $(VENV) data/predictions/*.csv data/predictions/*.json data/predictions/*.parquet
