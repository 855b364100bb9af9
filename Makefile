# miq-automate: `make demo` runs the main job, `make test` runs every test, `make` builds all.
# Each target installs what is missing first (scripts/install-deps.sh).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all deps build demo test lint doc rust-test bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --workspace

demo: deps
	$(CARGO) run --release -q -p miq-automate-core --example demo

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

rust-test: deps
	$(CARGO) test --workspace

test: lint doc rust-test

bench: deps
	$(CARGO) bench -p miq-automate-core

clean:
	$(CARGO) clean
