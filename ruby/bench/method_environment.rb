# frozen_string_literal: true

# What ManageIQ's method environment (ActiveSupport's core extensions, Time.zone UTC) costs
# run_method: once per process to load, and per run afterwards, as ratios against a baseline
# measured in the same command.
#
#   ruby -I ruby/lib ruby/bench/method_environment.rb

require "benchmark"
require "rbconfig"

ruby = RbConfig.ruby
runs = 5
bare = Benchmark.realtime { runs.times { system(ruby, "-e", "", exception: true) } } / runs
loaded = Benchmark.realtime do
  runs.times { system(ruby, "-e", 'require "active_support"; require "active_support/all"; Time.zone = "UTC"', exception: true) }
end / runs
puts format("process start: %.0f ms bare, %.0f ms with the environment loaded (%.1fx; paid once per process)",
            bare * 1000, loaded * 1000, loaded / bare)

require "miq_automate/rspec"
include MiqAutomate::RSpec::Helpers # rubocop:disable Style/MixinUsage

method_file = File.expand_path("../spec/fixtures/methods/vm_name_with_active_support.rb", __dir__)
prov = service_model(:miq_provision, id: 1, options: { vm_name: "web01", owner: "me" })
n = 2000
ws = build_workspace(root: { "miq_provision" => prov })
run_method(method_file, ws) # loads the environment
per_run = Benchmark.realtime { n.times { run_method(method_file, ws) } } / n
check = Benchmark.realtime { n.times { MiqAutomate.method_environment! } } / n
puts format("per run: %.1f us for run_method, of which %.3f us is the environment check (%.4f%%)",
            per_run * 1e6, check * 1e6, 100 * check / per_run)
