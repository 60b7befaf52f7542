# Two commands do all the set-up: `make demo` runs the portal with demo data, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test test-deps lint serve clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

# The PKCS#11 signing tests run against a real SoftHSM2 token (Debian package softhsm2).
test-deps:
	@command -v softhsm2-util >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q softhsm2) \
	  || echo "softhsm2 not installed: the PKCS#11 signing tests will be skipped"; }

test: lint test-deps
	$(BIN)/pytest -p no:cacheprovider --create-db

clean:
	rm -rf $(VENV) db.sqlite3 media
