# cloudbr — see README.md. Every target installs what it needs (pip into .venv, apt as root).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

INVENTORY ?= examples/lab.yaml
OUT       ?= out
DISTRO    ?= debian12
BACKEND   ?= linuxbridge
# partitioned: the operator's DIB path (vm element, bootloader; needs device-mapper).
# flat: one ext4 filesystem booted with QEMU direct kernel boot (this machine, CI, e2e).
IMAGE_LAYOUT ?= partitioned

.PHONY: all demo test lint typecheck unit e2e e2e-install bench image schema platforms wheel clean deps

all: test

$(BIN)/cloudbr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# The pinned diskimage-builder venvs too (tests/test_elements.py runs their dib-lint and
# element expansion): installed here, once, not inside the timed unit run.
deps: $(BIN)/cloudbr
	scripts/install-system-deps.sh scripts/apt-test.txt
	scripts/build-image.sh --venv-only > /dev/null
	scripts/build-image.sh --venv-only centos7 > /dev/null

## demo: render the bundled example inventory into out/ and list what was written
demo: $(BIN)/cloudbr
	$(BIN)/cloudbr check $(INVENTORY)
	$(BIN)/cloudbr render $(INVENTORY) -o $(OUT)
	@find $(OUT) -type f | sort

## test: lint, format check, strict typing and the unit suite with real consumers
test: deps lint typecheck unit

lint: $(BIN)/cloudbr
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/cloudbr
	$(BIN)/mypy src

# Two workers (pytest-xdist): this machine's two cores; each worker has its own session fixtures.
# Bytecode caches even where PYTHONDONTWRITEBYTECODE is set: else each worker, and each
# `cloudbr` a test starts, compiles src/ again and pytest rewrites every test module again.
UNIT_JOBS ?= 2
# Test scratch space on tmpfs when /dev/shm has room (1 GiB): the suite writes and removes
# thousands of small trees, and on this VM's ext4 that was 5 s of its 60 (sys time).
UNIT_TMP ?= $(shell df -k --output=avail /dev/shm 2>/dev/null | awk 'NR == 2 && $$1 > 1048576 { print "/dev/shm/cloudbr-unit" }')
unit: deps
	$(BIN)/python -m tests.support.debian_installer
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n $(UNIT_JOBS) $(if $(UNIT_TMP),--basetemp=$(UNIT_TMP))

## e2e: boot QEMU guests and check the networks they come up with
e2e: deps
	scripts/install-system-deps.sh scripts/apt-e2e.txt
	$(BIN)/python -m tests.e2e

## e2e-install: debian-installer installs one host from its preseed under QEMU, then boots it
e2e-install: deps
	scripts/install-system-deps.sh scripts/apt-e2e.txt scripts/apt-e2e-install.txt
	$(BIN)/python -m tests.e2e.install

## bench: check and render of 1,000 and 10,000 generated hosts, with targets
bench: deps
	$(BIN)/python -m bench

## image: bake a KVM host image with diskimage-builder
image:
	IMAGE_LAYOUT=$(IMAGE_LAYOUT) scripts/build-image.sh --install-deps $(DISTRO) $(BACKEND)

schema: $(BIN)/cloudbr
	$(BIN)/cloudbr schema > schema/inventory.schema.json

## platforms: regenerate the image build's files from the platform registry (pkg-map, ...)
platforms: $(BIN)/cloudbr
	$(BIN)/python -m cloudbr.platform_files

wheel: $(BIN)/cloudbr
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(OUT) dist build .mypy_cache .ruff_cache .pytest_cache
