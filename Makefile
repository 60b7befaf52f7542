# Two commands do all the set-up: `make demo` runs the portal with demo data, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

DEMO_DOSSIERS ?= 300
# The portal opens once this many demo dossiers are in; the rest are walked while it runs.
DEMO_FIRST ?= 40

.PHONY: install install-dev demo test test-deps lint serve clean system-deps messages audit bench

# Debian packages the portal needs at run time: pango for WeasyPrint (the printed slips and
# results), DejaVu fonts, gettext to compile the translation catalogs. Installed when missing
# and running as root; otherwise the command says what is missing.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext
# For the tests as well: Chromium for the browser tests, poppler to render PDFs to pictures.
TEST_PACKAGES := chromium poppler-utils softhsm2

define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "Missing Debian packages (install them as root):$$missing"; fi; \
	fi
endef

system-deps:
	$(call apt_ensure,$(SYSTEM_PACKAGES))

# Packages go in with uv (seconds, where pip takes minutes), itself installed from the package
# index into the venv; when uv cannot be had or fails, pip does the same install. Both leave the
# packages byte-compiled, as pip does by default: a process that imports a library late (the PDF
# and signing ones) does not compile it again where Python may not write its cache.
define py_install
	if $(BIN)/python -m pip install --quiet uv && $(BIN)/python -m uv pip install --quiet \
	  --compile-bytecode --python $(BIN)/python $(1); then :; else \
	  echo "uv unavailable: installing with pip"; \
	  $(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet $(1); fi
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }

# The portal's run-time packages (what `make demo` needs); the test and lint tools come on top.
$(BIN)/.installed: pyproject.toml | $(BIN)/python
	@$(call py_install,-e .)
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed pyproject.toml
	@$(call py_install,-e ".[dev]")
	touch $@

# The translation catalogs (Vietnamese is the source language; English is compiled here),
# compiled again only when a catalog changed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)
$(MO_FILES) &: $(PO_FILES) | $(BIN)/.installed system-deps
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages -v0 --ignore=.venv
	touch $(MO_FILES)
messages: $(MO_FILES)

install: $(BIN)/.installed system-deps messages
install-dev: install $(BIN)/.installed-dev

# The demo talks to the portal and payment simulator (`manage.py run_simulator`) on a free
# loopback port: it starts before the seeding, so every synced change is real HTTP traffic,
# and stops with the server. Watch it at http://127.0.0.1:<port>/_control/state.
# seed_demo migrates while the simulator starts, waits for it, runs the system checks and signals
# when the first DEMO_FIRST dossiers are in; the server then starts (checks already done, no
# reloader process) while the seeding goes on.
DEMO_ENV = DJANGO_DEBUG=1 DEMO_SIGNING=1 NATIONAL_PORTAL_USERNAME=motcua NATIONAL_PORTAL_PASSWORD=motcua \
  PROVINCIAL_PORTAL_USERNAME=motcua PROVINCIAL_PORTAL_PASSWORD=motcua \
  PAYMENT_MERCHANT_ID=MOTCUA PAYMENT_SECRET=motcua-payment-secret \
  PAYMENT_BENEFICIARY_ACCOUNT=0123456789 PAYMENT_BENEFICIARY_BANK=VCB \
  PAYMENT_BENEFICIARY_NAME="SO CONG THUONG" INBOUND_HMAC_SECRET=motcua-demo-inbound \
  PAYMENT_NOTIFY_URL=http://$(HOST):$(PORT)/api/v1/inbound/payments/callback/ \
  PORTAL_BASE_URL=http://$(HOST):$(PORT) \
  OIDC_RP_CLIENT_ID=motcua OIDC_RP_CLIENT_SECRET=motcua-oidc-secret

demo: install
	@set -e; \
	sim_port=$${SIM_PORT:-$$($(BIN)/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}; \
	sim=http://127.0.0.1:$$sim_port; \
	export $(DEMO_ENV) NATIONAL_PORTAL_URL=$$sim/national PROVINCIAL_PORTAL_URL=$$sim/provincial \
	  PAYMENT_PLATFORM_URL=$$sim/payment OIDC_OP_ISSUER=$$sim/idp \
	  OIDC_OP_AUTHORIZATION_ENDPOINT=$$sim/idp/authorize OIDC_OP_TOKEN_ENDPOINT=$$sim/idp/token \
	  OIDC_OP_USER_ENDPOINT=$$sim/idp/userinfo OIDC_OP_JWKS_ENDPOINT=$$sim/idp/jwks; \
	$(BIN)/python manage.py run_simulator --port $$sim_port & sim_pid=$$!; \
	ready=$$(mktemp -u); seed_pid=; \
	trap 'kill $$seed_pid $$sim_pid 2>/dev/null || true; wait $$seed_pid $$sim_pid 2>/dev/null || true; \
	  rm -f $$ready' EXIT INT TERM; \
	$(BIN)/python manage.py seed_demo --migrate --wait-for $$sim/_control/state \
	  --dossiers $(DEMO_DOSSIERS) --first-batch $(DEMO_FIRST) --ready-file $$ready & seed_pid=$$!; \
	while [ ! -e $$ready ]; do \
	  kill -0 $$seed_pid 2>/dev/null || { wait $$seed_pid; [ -e $$ready ] || exit 1; }; sleep 0.2; \
	done; \
	echo "Portal and payment simulator: $$sim (state: $$sim/_control/state)"; \
	$(BIN)/python manage.py runserver --skip-checks --noreload $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# The browser tests drive Debian's Chromium (never a downloaded browser); the PKCS#11 signing
# tests run against a real SoftHSM2 token. Without them those tests are skipped, saying why.
test-deps:
	$(call apt_ensure,$(TEST_PACKAGES))

test: lint test-deps
	$(BIN)/pytest -p no:cacheprovider --create-db

# Security gates. bandit over the apps: a finding above low fails unless the line explains it
# (`# nosec BXXX  # reason`). The dependency audit fails on a known vulnerability and, when its
# database cannot be reached, prints that it was SKIPPED and why (.ci/dependency_audit.py).
audit: install-dev
	$(BIN)/bandit -q -r portal dossiers signatures integrations web -x '*/migrations/*' \
	  --severity-level medium
	$(BIN)/python .ci/dependency_audit.py

# The benchmark at scale (not part of `make test`): starts its own PostgreSQL and Redis, seeds
# a million dossiers, drives gunicorn on loopback. BENCH_ARGS="--dossiers 50000" for a smaller
# run, "--sqlite" for the embedded default. Writes bench/results/latest.json and bench/RESULTS.md.
BENCH_PACKAGES := postgresql redis-server
bench: install-dev
	$(call apt_ensure,$(BENCH_PACKAGES))
	$(BIN)/python bench/scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm media
