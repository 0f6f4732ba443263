# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ENV := WEIWAI_DEMO_MODE=true

.PHONY: run test install browser lock clean-demo

# The browser tests drive Debian's chromium (with CJK fonts for the Chinese pages) through
# Playwright; `playwright install` is never used. Installed once, as root or through sudo.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

$(CHROMIUM) $(CJK_FONT):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk

browser: $(CHROMIUM) $(CJK_FONT)

## Migrate, seed a demo portfolio into var/weiwai.db if it is empty, and serve it.
run: $(STAMP)
	$(DEMO_ENV) $(BIN)/weiwai db upgrade
	$(DEMO_ENV) $(BIN)/weiwai demo --if-empty
	$(DEMO_ENV) exec $(BIN)/weiwai serve

## The whole test suite, on SQLite and PostgreSQL.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

## Re-pin requirements.lock from the current environment.
lock:
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -vE '^(weiwai|pip)==' > requirements.lock

clean-demo:
	rm -f var/weiwai.db var/weiwai.db-wal var/weiwai.db-shm var/demo-keys.json
