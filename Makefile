# Every target does all set-up on a fresh machine and is safe to run again.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPEC ?= spaces/adam_cnn.yaml

.PHONY: run test test-fast lint install clean

run: $(STAMP)
	$(BIN)/searcher run $(SPEC)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# Everything not marked integration (no real Ray, searcher subprocess search, MLflow server,
# browser or multi-epoch training): a few minutes, for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not integration"

install: $(STAMP)

# torch goes in first, pinned, so that nothing later pulls a different (multi-GB) build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
