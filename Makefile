# The commands of the README:
#   make lab        set everything up and open the series in JupyterLab
#   make test       the fast tier: unit tests, then every notebook once under nbval (its sliders moved)
#   make test-all   everything: adds the install paths (wheel, Colab, Binder), the browser and the exports
# and for readers and lectures: make site, make slides (PRESENTER=1 for a lecture hall, NO_CODE=1 for text
# and figures only), make slide-sizes (how each deck fits a 1280x720 screen)
# and for a course: make student (the notebooks without solutions), make grade SUBMISSIONS=folder
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST := DIFFUSION_QUICK=1 DIFFUSION_OFFLINE=1 $(BIN)/python -m pytest

.PHONY: lab test test-all setup test-setup chromium strip site slides slide-sizes offline-assets student grade

# a new .venv gets torch first: the CPU-only build where there is no NVIDIA GPU (tools/install_torch.py
# says in one line which build it chose, and why)
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python tools/install_torch.py

# the notebooks' optional extra too (diffusers, for the side-by-side of notebooks 4 and 5)
setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -e ".[diffusers]"

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

test-setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -e ".[test]"

test: test-setup
	$(PYTEST) -m "not full"

# the browser test drives Debian's chromium (Playwright's own browser downloads are not needed)
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || \
		  echo "note: chromium could not be installed (apt-get needs root); the browser test will be skipped"; }

test-all: test-setup chromium offline-assets
	$(PYTEST)

# reveal.js, MathJax and the widget renderer from npm into build/vendor, so slides and site open from disk
# with no network (without npm: one line says so, and the pages load them from their CDNs)
offline-assets: $(BIN)/python
	$(BIN)/python tools/offline_assets.py install

# the series without a kernel (recorded full runs, else quick mode): build/site/index.html (with the
# instructor guide, docs/instructor_guide.md), and slides in build/slides/ (PRESENTER=1:
# build/slides-presenter/; NO_CODE=1: build/slides-no-code/, or build/slides-presenter-no-code/), each
# folder with its assets/: copy the whole folder to a lecture hall
site: setup offline-assets
	$(BIN)/python tools/export.py site
slides: setup offline-assets
	$(BIN)/python tools/export.py slides $(if $(PRESENTER),--presenter,) $(if $(NO_CODE),--no-code,)
# slides before and after splitting, how many fit 1280x720 and the largest, measured in chromium
slide-sizes: test-setup chromium
	$(BIN)/python tools/slide_sizes.py $(wildcard build/slides*/*.slides.html)

# the notebooks without their solution folds, for students: build/student/ (tools/student.py; `python
# tools/student.py reset NOTEBOOK.ipynb --exercise N` puts one exercise back as shipped)
student: setup
	$(BIN)/python tools/student.py build

# run every submitted notebook (SUBMISSIONS/<student>/<notebook>.ipynb) in quick mode and write one CSV row
# per student, notebook and exercise (tools/grade.py; GRADES=file for another name than grades.csv, TIMEOUT=seconds
# a notebook may run, default 300)
GRADES ?= grades.csv
grade: test-setup
	@test -n "$(SUBMISSIONS)" || { echo "make grade SUBMISSIONS=folder: the folder holding <student>/<notebook>.ipynb"; exit 2; }
	$(BIN)/python tools/grade.py "$(SUBMISSIONS)" --out "$(GRADES)" $(if $(TIMEOUT),--timeout $(TIMEOUT),)

# strip outputs from the notebooks before a commit (the test command refuses notebooks with outputs)
strip: $(BIN)/python
	$(BIN)/python -m pip install --quiet nbstripout
	$(BIN)/nbstripout notebooks/*.ipynb
