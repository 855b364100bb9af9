# frozen_string_literal: true

# The miq_automate gem. `gem build miq_automate.gemspec` makes the source gem: it carries the
# Rust crates, and `gem install` builds the native extension with cargo (ext/miq_automate/
# extconf.rb writes a Makefile that calls cargo; no other gem is needed). With
# MIQ_AUTOMATE_PLATFORM_GEM=1 (what `make gem` also does) it makes a platform gem for this
# machine instead: the prebuilt extension, labelled with this platform and Ruby version.

require_relative "ruby/lib/miq_automate/version"

Gem::Specification.new do |spec|
  spec.name = "miq_automate"
  spec.version = MiqAutomate::VERSION
  spec.summary = "A ManageIQ-compatible automate runtime: an offline $evm, rspec kit, REST client and rollback"
  spec.description = "Native (Rust) automate workspace with the engine's semantics, for ManageIQ methods and offline tests."
  spec.authors = ["miq-automate"]
  spec.license = "Apache-2.0"
  spec.require_paths = ["ruby/lib"]
  ruby_files = Dir["ruby/lib/**/*.rb"]

  if ENV["MIQ_AUTOMATE_PLATFORM_GEM"] == "1"
    so = "ruby/lib/miq_automate/miq_automate.so"
    raise "#{so} is missing: run `make ruby-ext` first" unless File.exist?(so)

    spec.platform = Gem::Platform.local
    # The extension is built against this Ruby's ABI.
    spec.required_ruby_version = "~> #{RUBY_VERSION[/\A\d+\.\d+/]}.0"
    spec.files = ruby_files + [so]
  else
    spec.required_ruby_version = ">= 3.1"
    spec.extensions = ["ext/miq_automate/extconf.rb"]
    # Every file a crate's manifest names (benches, examples, tests, data) must be there for
    # cargo to read the workspace, even though only the extension is built.
    rust = Dir["Cargo.toml", "Cargo.lock", "rustfmt.toml",
               "crates/*/Cargo.toml", "crates/*/build.rs", "crates/*/{src,benches,examples,tests,data}/**/*"]
    spec.files = ruby_files + ["ext/miq_automate/extconf.rb", "README.md"] + rust.reject { |f| File.directory?(f) }
  end
end
