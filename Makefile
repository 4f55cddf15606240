# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.PHONY: install system-deps lint test demo clean

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing iotad with all extras (first time: a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# System packages the project needs: tcpdump and libpcap (packet capture, bench/capture_throughput.py).
# Installed with apt-get when missing (as root; otherwise through sudo).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
system-deps:
	@command -v tcpdump >/dev/null 2>&1 && dpkg -s libpcap0.8 >/dev/null 2>&1 || { \
	  echo "==> installing tcpdump and libpcap0.8 (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq tcpdump libpcap0.8; }

install: system-deps $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p iotad
	$(BIN)/python -m iotad.schemas.export --check

# The test suite starts (and stops) its own Kafka broker through iotad's code; see tests/conftest.py.
test: lint
	IOTAD_REQUIRE_KAFKA=1 $(BIN)/python -m pytest

# The whole product on this machine for about a minute and a half (docs/demo.md); pass options
# with DEMO_ARGS, e.g. `make demo DEMO_ARGS="--duration 120 --data ../shared/data/ciciot2023"`.
demo: install
	$(BIN)/python -m iotad demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) build var .pytest_cache .ruff_cache .mypy_cache
