# Two commands: `make run` (database, migrations, seed data, API on http://127.0.0.1:8000)
# and `make test`. Both install what is missing first.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install-check setup system-packages browser-packages redis-packages lint pytest db-start db-stop bench clean

run: setup
	$(BIN)/directory db start
	$(BIN)/directory db migrate
	$(BIN)/directory seed
	@[ "$${DIRECTORY_ENV:-development}" = production ] || $(BIN)/directory demo accounts
	$(BIN)/directory serve

test: setup browser-packages redis-packages lint pytest

setup: system-packages $(STAMP)

# PostgreSQL server binaries and PostGIS from Debian, when they are not there yet.
system-packages:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	   || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then \
	  echo "installing PostgreSQL 15 + PostGIS from Debian"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-postgis-3; \
	fi

# chromium for the browser tests (driven by Playwright: never `playwright install`); `make run`
# does not need it.
browser-packages:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing chromium from Debian (browser tests)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

# redis-server for the shared-store tests (each starts a private one); `make run` does not need
# it: DIRECTORY_SHARED_STORE is for deployments of several processes or hosts.
redis-packages:
	@if [ ! -x /usr/bin/redis-server ]; then \
	  echo "installing redis-server from Debian (shared-store tests)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The package installed from its wheel (not the checkout) migrates, seeds and serves.
install-check: system-packages
	PYTHON=$(PYTHON) .ci/install-check

lint: setup
	$(BIN)/ruff check directory tests bench
	$(BIN)/ruff format --check directory tests bench
	$(BIN)/mypy

pytest: setup browser-packages redis-packages
	$(BIN)/pytest

db-start: setup
	$(BIN)/directory db start

db-stop: setup
	$(BIN)/directory db stop

bench: setup
	$(BIN)/python bench/listings_api.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/relevance.py
	$(BIN)/python bench/referrals.py
	$(BIN)/python bench/web.py

# Deletes the private database too (also when it lives under /var/lib/directory/clusters/).
clean:
	@[ ! -x $(BIN)/directory ] || $(BIN)/directory db destroy --yes
	rm -rf $(VENV) .directory
