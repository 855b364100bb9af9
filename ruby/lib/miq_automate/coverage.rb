# frozen_string_literal: true

# `require "miq_automate/coverage"` at the top of a spec helper (before the specs run, as
# SimpleCov) starts automate coverage for this process: every engine run and rspec-kit
# `run_method`, in both isolations, written at exit to coverage/miq_automate.<pid>.json
# ($MIQ_AUTOMATE_COVERAGE_DIR instead of ./coverage). MIQ_AUTOMATE_COVERAGE=0 turns it off.
# See MiqAutomate::Coverage and docs/reference/coverage.md.
require_relative "coverage/collector"

MiqAutomate::Coverage.start unless ENV["MIQ_AUTOMATE_COVERAGE"] == "0"
