# pmhub: `make run` runs it, `make test` tests it. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-embeddings.txt clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: pmhub on http://127.0.0.1:8000 with worker and beat (SQLite and a file broker unless DATABASE_URL/REDIS_URL are set)
run: $(VENV)/.runtime
	$(BIN)/python manage.py runstack

## test: the whole suite against PostgreSQL and Redis (defaults: localhost; started when down)
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pmhub
test: export REDIS_URL ?= redis://127.0.0.1:6379/15
test: $(VENV)/.dev
	@bash .ci/start-services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmarks under bench/ (they print figures)
bench: $(VENV)/.dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
