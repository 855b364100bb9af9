# frozen_string_literal: true

require_relative "lib/miq_automate/version"

Gem::Specification.new do |spec|
  spec.name = "miq_automate"
  spec.version = MiqAutomate::VERSION
  spec.summary = "A ManageIQ-compatible automate runtime: an offline $evm, rspec kit and rollback"
  spec.description = "Native (Rust) automate workspace with the engine's semantics, for ManageIQ methods and offline tests."
  spec.authors = ["miq-automate"]
  spec.license = "Apache-2.0"
  spec.required_ruby_version = ">= 3.1"
  spec.files = Dir["lib/**/*.rb", "lib/miq_automate/miq_automate.so"]
  spec.require_paths = ["lib"]
end
