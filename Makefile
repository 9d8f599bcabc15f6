PYTHON ?= python3
REST ?=
WEBHOOKS ?=

.PHONY: install test generate update-spec check-generated lint typecheck bench demo

install:  ## install the package with its dev tools (editable)
	$(PYTHON) -m pip install -q -e '.[dev]'

test: install  ## the test suite (includes the typed sample program under pyright and mypy)
	$(PYTHON) -m pytest -q

generate:  ## regenerate src/githubapp/{models,rest,webhooks} from spec/
	$(PYTHON) -m codegen

update-spec:  ## re-pin spec/ (make update-spec REST=23.0.2 WEBHOOKS=12.1.0), then regenerate
	$(PYTHON) -m codegen.update_spec $(if $(REST),--rest $(REST)) $(if $(WEBHOOKS),--webhooks $(WEBHOOKS))
	$(PYTHON) -m codegen

check-generated:  ## fail if the committed generated code differs from a fresh generation
	$(PYTHON) -m codegen --check

lint:
	$(PYTHON) -m ruff check src codegen tests bench examples

typecheck:
	$(PYTHON) -m mypy
	$(PYTHON) -m pyright

bench: install
	$(PYTHON) bench/run_all.py

demo: install  ## offline demo: a local Prism mock of the GitHub API + examples/quickstart.py
	PYTHON=$(PYTHON) bash scripts/demo.sh
