# Nations — `make run` and `make test` work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-dev.lock | cksum | cut -d' ' -f1)

.PHONY: install run test bench lint format messages translations clean

$(STAMP): requirements.lock requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@$(PY) -m config.i18n

run: install
	$(PY) -m config.devstack run

test: install
	$(PY) -m config.devstack test $(ARGS)

bench: install
	$(PY) -m config.devstack bench $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Refresh locale/*/LC_MESSAGES/django.po from the code (needs GNU gettext; developers only).
messages: install
	$(PY) -m config.devstack manage makemessages -l fr -l en --ignore=.venv --ignore=.dev

clean:
	rm -rf $(VENV) .dev .bench staticfiles
