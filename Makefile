# miq-automate: `make demo` runs the main job, `make test` runs every test, `make` builds all.
# Each target installs what is missing first (scripts/install-deps.sh).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all deps build ruby-ext demo demo-html demo-diagram demo-core demo-engine demo-world test lint doc rust-test rspec python-compat gem gem-test bench clean

# Ruby loads miq_automate.so by calling Init_miq_automate: the cdylib is copied to that name,
# by a rename, so a Ruby that has the old one loaded keeps it (a copy over it crashes it).
RUBY_EXT := ruby/lib/miq_automate/miq_automate.so

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --workspace
	cp target/release/libmiq_automate_ruby.so $(RUBY_EXT).new && mv -f $(RUBY_EXT).new $(RUBY_EXT)

ruby-ext: deps
	$(CARGO) build --release -p miq-automate-ruby
	cp target/release/libmiq_automate_ruby.so $(RUBY_EXT).new && mv -f $(RUBY_EXT).new $(RUBY_EXT)

# The main job: retire the provisioned siblings of a failed bundle, against the mock ManageIQ.
# It needs cargo only (no Ruby, no browser, no linters) and a debug build, so a fresh
# machine runs it in a few minutes; `make test` installs the rest.
demo:
	@scripts/install-deps.sh --demo
	$(CARGO) run -q -p miq-automate-cli -- retire-bundle --mock mocks/failed_bundle.json --request 3000 --with-vms --wait

# The same job's report as an HTML page: target/demo-report.html.
demo-html: deps
	mkdir -p target
	$(CARGO) run --release -q -p miq-automate-cli -- retire-bundle --mock mocks/failed_bundle.json --request 3000 --with-vms --wait --output html --quiet > target/demo-report.html
	@echo "wrote target/demo-report.html"

# The pictures of a run, each with a 1600x1200 screenshot, in target/demo-diagram/: the
# example domain's state machine with its rollback matrix, a run of it failing in
# RegisterDNS (diagram, timeline, table, run report page) and, with manageiq-content at
# MIQ_CONTENT_REPO, ManageIQ's VMProvision_VM passed and failing in PostProvision.
demo-diagram: build
	scripts/demo-diagram.sh

# The example domain's VMProvision_VM delivered from its export with its real Ruby methods
# (`miq-automate run`: one Ruby process), ManageIQ's CustomizeRequest stubbed and a failure
# injected in RegisterDNS: its on_error's rollback runs UnregisterDNS, UnregisterDHCP and
# ReleaseIPAddress from the export. ManageIQ's later states are never reached, so they need
# no stub. The run exits 2 (the provision failed), as it should.
DEMO_SM := /Infrastructure/VM/Provisioning/StateMachines
demo-engine: build
	mkdir -p target
	target/release/miq-automate run $(DEMO_SM)/VMProvision_VM/template \
	  --datastore examples/domains/RollbackDemo --model examples/run/vmware_provision.json \
	  --stub $(DEMO_SM)/Methods/CustomizeRequest=ok \
	  --stub /Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error \
	  --log target/demo-engine.log; test $$? -eq 2
	@echo; echo "The rollback, from target/demo-engine.log (ManageIQ's automation.log format):"
	@grep -E ">>> Instantiating|Rollback after|> Removed|nothing to undo" target/demo-engine.log | sed 's/.*-- automation: /  /'

# ManageIQ's own VMProvision_VM/template from manageiq-content, run from a described world
# (examples/worlds/vm_provision.json: placement, a clone that completes in 2 virtual minutes)
# with no stub. Needs a manageiq-content git checkout at MIQ_CONTENT_REPO.
MIQ_CONTENT_REPO ?= /work/.mirror/ManageIQ+manageiq-content/repo
demo-world: build
	@if ! git -C "$(MIQ_CONTENT_REPO)" rev-parse >/dev/null 2>&1; then \
	  echo "demo-world: manageiq-content not found at $(MIQ_CONTENT_REPO): set MIQ_CONTENT_REPO to a checkout"; exit 0; fi; \
	d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	git -C "$(MIQ_CONTENT_REPO)" archive HEAD content/automate/ManageIQ | tar -x -C "$$d" && \
	target/release/miq-automate run \
	  '/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template?MiqProvision::miq_provision=800&MiqServer::miq_server=1&vmdb_object_type=miq_provision' \
	  --datastore "$$d/content/automate/ManageIQ" --world examples/worlds/vm_provision.json

# A tour of the core workspace ($evm) in Rust.
demo-core: deps
	$(CARGO) run --release -q -p miq-automate-core --features automation-log --example demo

# Also: no unused dependency (cargo-machete), licenses and duplicate versions (cargo-deny;
# its advisory database cannot be fetched here). Both are installed by scripts/install-deps.sh.
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p miq-automate-core --all-targets --features automation-log -- -D warnings
	cargo-machete
	$(CARGO) deny --log-level error check licenses bans

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --features miq-automate-core/automation-log

# The CLI's `run` tests run Ruby methods through the extension: build it first.
rust-test: ruby-ext
	$(CARGO) test --workspace
	$(CARGO) test -p miq-automate-core --features automation-log

# The rspec suites start the mock ManageIQ with the release CLI. The example domain's specs
# run with automate coverage (docs/reference/coverage.md), gated at EXAMPLE_COVERAGE_MIN %.
EXAMPLE_COVERAGE_MIN ?= 80
rspec: ruby-ext
	$(CARGO) build --release -p miq-automate-cli
	cd ruby && rspec spec
	rm -rf target/coverage
	cd ruby && MIQ_AUTOMATE_COVERAGE_DIR=$(CURDIR)/target/coverage rspec -r miq_automate/coverage ../examples/spec
	target/release/miq-automate coverage report target/coverage/*.json --datastore examples/domains/RollbackDemo \
	  --only RollbackDemo --min $(EXAMPLE_COVERAGE_MIN)

# The gems: the source gem (gem install builds the extension with cargo through
# ext/miq_automate/extconf.rb) and a platform gem for this machine, both in pkg/.
gem: ruby-ext
	rm -rf pkg && mkdir -p pkg
	version=$$(ruby -r ./ruby/lib/miq_automate/version -e 'print MiqAutomate::VERSION'); \
	platform=$$(ruby -e 'print Gem::Platform.local'); \
	gem build miq_automate.gemspec --output pkg/miq_automate-$$version.gem && \
	MIQ_AUTOMATE_PLATFORM_GEM=1 gem build miq_automate.gemspec --output pkg/miq_automate-$$version-$$platform.gem
	ls -l pkg

# Both gems installed into empty GEM_HOMEs, a smoke spec run from outside the tree.
gem-test: gem
	scripts/gem-smoke.sh

# The mock against the real Python client (manageiq-client from PyPI, in a venv).
python-compat: deps
	$(CARGO) build --release -p miq-automate-cli
	scripts/python-compat.sh

test: lint doc rust-test rspec python-compat gem-test

bench: deps
	$(CARGO) bench -p miq-automate-core
	$(CARGO) bench -p miq-automate-mock --bench loopback
	$(CARGO) bench -p miq-automate-api --bench retire_bundle
	$(MAKE) ruby-ext
	ruby -I ruby/lib ruby/bench/root_access.rb
	ruby -I ruby/lib ruby/bench/method_environment.rb
	ruby -I ruby/lib ruby/bench/recorder.rb
	ruby -I ruby/lib ruby/bench/engine_methods.rb
	ruby -I ruby/lib ruby/bench/process_isolation.rb
	ruby -I ruby/lib ruby/bench/world.rb
	ruby -I ruby/lib ruby/bench/state_machine.rb
	ruby -I ruby/lib ruby/bench/coverage.rb
	$(CARGO) bench -p miq-automate-engine

clean:
	$(CARGO) clean
