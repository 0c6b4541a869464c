# The two commands: `make run` (set up and run everything) and `make test` (set up and pass the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# `make run` serves here; honcho's Procfile reads it.
export PAYSYS_PORT ?= 8000

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/paysys
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test install install-dev lint format check-services chromium bench bench-api bench-webhooks bench-settlement bench-dashboard compose-config clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt requirements-run.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-run.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-run.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# With no DATABASE_URL: an embedded PostgreSQL (data in var/postgres/, kept between runs) is
# started first; then migrate, seed_demo, and web, Celery worker and beat under honcho
# (Procfile). One Ctrl-C stops all three and then the embedded server (paysys/ops/run.py). With
# no REDIS_URL or CELERY_BROKER_URL the broker is Celery's filesystem one under var/: no service
# is needed at all.
run: install
	$(BIN)/python -m paysys.ops.run

check-services: install-dev
	@DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(BIN)/python tests/check_services.py || { \
		echo "make test runs against a real PostgreSQL and Redis: start them (see above) or set DATABASE_URL / REDIS_URL." >&2; \
		exit 1; }

# The browser tests drive Debian's Chromium (no browser download): installed with apt when
# missing and this is root, else a message saying how.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }; } || { \
		echo "make test runs browser tests in Debian's Chromium: apt-get install chromium" >&2; exit 1; }

# pytest exits 5 when it collected no test: that is a failure here, with a message.
test: check-services chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@status=0; DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	PAYSYS_ENV=test \
	$(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test" >&2; exit 1; fi; \
	exit $$status

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev
	$(BIN)/python bench/ledger.py

# wrk drives bench/api.py; installed from Debian's packages when missing (needs root).
bench-api: install-dev
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "bench-api needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/api.py

bench-webhooks: install-dev
	$(BIN)/python bench/webhooks.py

# 100,000 and 1,000,000 payments over 1,000 merchants: several minutes.
bench-settlement: install-dev
	$(BIN)/python bench/settlement.py

bench-dashboard: install-dev
	$(BIN)/python bench/dashboard.py

# Validates docker-compose.yml where a compose client exists (no engine needed).
compose-config:
	docker compose -f docker-compose.yml config --quiet

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis staticfiles
