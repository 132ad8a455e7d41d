# Every target creates .venv and installs Heeded into it when needed, so on a fresh
# machine `make demo` and `make test` are the only two commands anyone needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HEEDED_PORT ?= 8000
export HEEDED_PORT

.PHONY: demo test check-deploy test-sqlite test-postgres lint format serve worker bench audit chromium poppler gettext messages clean help

help:
	@echo "make demo    install, migrate, load demo data, serve web + worker on http://127.0.0.1:$(HEEDED_PORT)"
	@echo "make test    install and run the whole suite (SQLite; PostgreSQL beside it if TEST_POSTGRES_URL is set)"
	@echo "make lint    ruff check, ruff format --check, the layer contract (lint-imports) and mypy"
	@echo "make serve   serve the web app and its worker without loading demo data"
	@echo "make worker  run only the background worker"
	@echo "make bench   run the benchmarks"
	@echo "make messages  collect new strings into locale/it/LC_MESSAGES/django.po (keeps translations), fold locale/pending/*.po in, compile the .mo"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Heeded needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The browser tests drive Debian's Chromium; it is installed here, never downloaded by a tool.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The report tests read PDFs with pdftotext and rasterise them with pdftoppm (Debian's
# poppler-utils); HarfBuzz's subsetter makes WeasyPrint embed fonts several times faster.
poppler:
	@{ command -v pdftoppm >/dev/null 2>&1 && ldconfig -p | grep -q libharfbuzz-subset; } || { \
		echo "installing Debian's poppler-utils and libharfbuzz-subset0 for the report tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils libharfbuzz-subset0 >/dev/null; }

# Translations: msgfmt/msgmerge come from Debian's gettext. The compiled .mo is committed,
# so `make demo` works without them; `make messages` and the catalog tests need them.
gettext:
	@command -v msgfmt >/dev/null 2>&1 && command -v msgmerge >/dev/null 2>&1 || { \
		echo "installing Debian's gettext for the translation catalog"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gettext >/dev/null; }

# Collect every translatable string of the project into the Italian catalog (existing
# translations are kept; a new or changed string arrives empty), fill empty entries from
# the fragments other branches left in locale/pending/, then compile the .mo.
PO := locale/it/LC_MESSAGES/django.po
messages: $(STAMP) gettext
	$(BIN)/heeded makemessages --locale it --no-obsolete --add-location file \
	  --ignore '.venv/*' --ignore 'var/*' --ignore 'docs/*'
	@# An empty entry of the catalog is taken out of the merge's base (msgattrib), so the
	@# fragment fills it: msgmerge keeps an empty plural entry over a compendium's.
	@for f in locale/pending/*.po; do [ -e "$$f" ] || continue; \
		echo "folding $$f into $(PO)"; c=$$f; \
		if ! grep -q '^msgid ""' $$f; then c=$$(mktemp); \
			{ printf 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'; cat $$f; } > $$c; fi; \
		d=$$(mktemp); msgattrib --force-po --translated --output-file=$$d $(PO) || exit 1; \
		msgmerge --quiet --no-fuzzy-matching --compendium=$$c --output-file=$(PO) $$d $(PO) || exit 1; \
	done
	msgfmt --check --statistics -o locale/it/LC_MESSAGES/django.mo $(PO)

demo: $(STAMP)
	$(BIN)/heeded migrate --noinput
	$(BIN)/heeded demo --port $(HEEDED_PORT)

serve: $(STAMP)
	$(BIN)/heeded migrate --noinput
	$(BIN)/heeded serve --port $(HEEDED_PORT)

worker: $(STAMP)
	$(BIN)/heeded worker

test: $(STAMP) chromium poppler gettext
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/heeded makemigrations --check --dry-run
	$(MAKE) --no-print-directory check-deploy
	@# With PostgreSQL the two engines run side by side (each is one process, mostly on one
	@# core); the PostgreSQL run's output is kept in a log and printed when both are done.
	@# HEEDED_TEST_SERIAL=1 runs them one after the other.
	@if [ -z "$$TEST_POSTGRES_URL" ]; then \
		echo "TEST_POSTGRES_URL is not set: skipping the PostgreSQL run"; \
		$(MAKE) --no-print-directory test-sqlite; \
	elif [ -n "$$HEEDED_TEST_SERIAL" ]; then \
		$(MAKE) --no-print-directory test-sqlite && $(MAKE) --no-print-directory test-postgres; \
	else \
		mkdir -p var; log=$(CURDIR)/var/test-postgres.log; \
		echo "== PostgreSQL run started beside SQLite (output: $$log, printed at the end)"; \
		$(MAKE) --no-print-directory test-postgres >$$log 2>&1 & pg=$$!; \
		$(MAKE) --no-print-directory test-sqlite; sq=$$?; \
		wait $$pg; pgrc=$$?; cat $$log; \
		echo "== SQLite run: exit $$sq; PostgreSQL run: exit $$pgrc"; \
		[ $$sq = 0 ] && [ $$pgrc = 0 ]; \
	fi

# Production settings must pass Django's deployment checks (throw-away secret and data dir).
check-deploy: $(STAMP)
	@tmp=$$(mktemp -d) && HEEDED_DATA_DIR=$$tmp HEEDED_SECRET_KEY=check-deploy-$$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n') \
	  HEEDED_SECURE_COOKIES=true HEEDED_SSL_REDIRECT=true HEEDED_HSTS_SECONDS=31536000 HEEDED_HSTS_PRELOAD=true \
	  HEEDED_ALLOWED_HOSTS=heeded.example.com $(BIN)/heeded check --deploy --fail-level WARNING; rc=$$?; rm -rf $$tmp; exit $$rc

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite"
	@# Its own data directory (files, the test database), so it can run beside PostgreSQL's.
	rm -rf var/test-sqlite && mkdir -p var/test-sqlite
	env -u DATABASE_URL HEEDED_DATA_DIR=$(CURDIR)/var/test-sqlite HEEDED_REQUIRE_PDF_TOOLS=1 \
	  $(BIN)/python -m pytest -q --durations=15 $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== test suite on PostgreSQL"
	@# Its own data directory, so it can run beside the SQLite run.
	rm -rf var/test-postgres && mkdir -p var/test-postgres
	DATABASE_URL="$$TEST_POSTGRES_URL" HEEDED_DATA_DIR=$(CURDIR)/var/test-postgres HEEDED_REQUIRE_PDF_TOOLS=1 \
	  $(BIN)/python -m pytest -q --durations=15 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every scenario on SQLite and, when TEST_POSTGRES_URL is set, again on PostgreSQL (in a
# throw-away database created on that server and dropped after); the rows also go to
# var/bench-<engine>.json. BENCH_ARGS passes sizes, e.g. BENCH_ARGS="--only dashboard".
bench: $(STAMP)
	@mkdir -p var
	$(BIN)/heeded bench --json var/bench-sqlite.json $(BENCH_ARGS)
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		$(BIN)/heeded bench --throwaway-postgres "$$TEST_POSTGRES_URL" --json var/bench-postgresql.json $(BENCH_ARGS); \
	else echo "TEST_POSTGRES_URL is not set: benchmarks ran on SQLite only"; fi

# Known-vulnerable dependencies (needs the network; says NOT RUN, exit 0, without it).
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

clean:
	rm -rf $(VENV) .mypy_cache var/test*.sqlite3* var/test-sqlite var/test-postgres var/test-postgres.log
