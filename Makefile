# The two commands of the README:
#   make lab    set everything up and open the series in JupyterLab
#   make test   set everything up and run every test (unit tests + every notebook via nbval)
# and for readers and lectures: make site, make slides (PRESENTER=1 for a lecture hall)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: lab test setup strip site slides

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -e ".[test]"
	@# the browser test drives Debian's chromium (Playwright's own browser downloads are not needed)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || \
		  echo "note: chromium could not be installed (apt-get needs root); the browser test will be skipped"; }
	DIFFUSION_QUICK=1 DIFFUSION_OFFLINE=1 $(BIN)/python -m pytest

# the series without a kernel (notebooks run in quick mode): build/site/index.html, build/slides/
site: setup
	$(BIN)/python tools/export.py site
slides: setup
	$(BIN)/python tools/export.py slides $(if $(PRESENTER),--presenter,)

# strip outputs from the notebooks before a commit (the test command refuses notebooks with outputs)
strip: $(BIN)/python
	$(BIN)/python -m pip install --quiet nbstripout
	$(BIN)/nbstripout notebooks/*.ipynb
