# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PROJECT ?= demo_project

.PHONY: demo test lint venv xvfb clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian's Xvfb (and the xcb libraries Qt5 needs) for napari without a display.
xvfb:
	@if ! command -v Xvfb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      xvfb xauth libgl1 libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
	      libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
	      libxcb-xfixes0 libxcb-cursor0 libfontconfig1 libdbus-1-3 >/dev/null; \
	  else \
	    echo "Xvfb is missing: run 'sudo apt-get install xvfb xauth libgl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0' and retry" >&2; \
	    exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) xvfb lint
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q --xvfb-backend xvfb

# Generates the sample project when absent, gives it the model the package ships for it (no training),
# scores it and opens it in napari with the NoisyFix widget.
# Without a display, it runs under Xvfb and saves a screenshot instead (demo_screenshot.png).
demo: $(STAMP)
	@if [ -n "$$DISPLAY" ]; then \
	  $(BIN)/noisyfix demo --project $(DEMO_PROJECT); \
	else \
	  $(MAKE) --no-print-directory xvfb && \
	  xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/noisyfix demo --project $(DEMO_PROJECT) \
	    --screenshot demo_screenshot.png && echo "no display: window rendered to demo_screenshot.png"; \
	fi

clean:
	rm -rf $(VENV) $(DEMO_PROJECT) demo_screenshot.png .pytest_cache .ruff_cache
