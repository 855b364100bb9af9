# frozen_string_literal: true

# What `isolation: :process` costs a method: a child forked from this Ruby (ActiveSupport
# already loaded), `$evm` served over DRb, its output read at the descriptor. Against, in
# the same run: the same method in this VM (`isolation: :vm`), and ManageIQ's floor, a Ruby
# start that loads ActiveSupport (its method preamble's requires), timed from this script.
#
# The method is RollbackDemo's AcquireIPAddress (its real file: a few `$evm` calls and log
# lines), a whole Engine#instantiate each run, so the figures include the engine's own work.
#
#   ruby -I ruby/lib ruby/bench/process_isolation.rb [runs] [starts]

require "benchmark"
require "rbconfig"
require "miq_automate"

runs = Integer(ARGV[0] || 200)
starts = Integer(ARGV[1] || 10)
root = File.expand_path("../..", __dir__)

def best_of(times)
  Array.new(times) { yield }.min
end

prov = MiqAutomate::ServiceModel.new(:miq_provision, id: 1, options: { vm_target_name: "web01" })
uri = "/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress"
per_run = {}
%i[vm process].each do |isolation|
  engine = MiqAutomate::Engine.new(datastore: File.join(root, "examples/domains/RollbackDemo"), models: [prov],
                                   isolation: isolation)
  ws = engine.instantiate(uri, root: { "miq_provision" => prov }) # warm up
  raise "the method did not run (#{isolation}): #{ws.logs.map(&:last).last(5)}" unless ws.root["ae_result"] == "ok"

  per_run[isolation] = best_of(3) do
    Benchmark.realtime { runs.times { engine.instantiate(uri, root: { "miq_provision" => prov }) } } / runs
  end
end

preamble = best_of(3) do
  Benchmark.realtime do
    starts.times { system(RbConfig.ruby, "-e", 'require "active_support/all"; Time.zone = "UTC"', exception: true) }
  end / starts
end

vm = per_run[:vm]
process = per_run[:process]
puts format("isolation: :vm      (this VM):             %8.2f ms per method (best of 3 x %d)", vm * 1e3, runs)
puts format("isolation: :process (fork + DRb):          %8.2f ms per method (best of 3 x %d)", process * 1e3, runs)
puts format("ManageIQ's floor (ruby + ActiveSupport):   %8.2f ms per start  (best of 3 x %d)", preamble * 1e3, starts)
puts format("ratio: a process-isolated method costs %.1fx one in this VM, and %.3fx (1/%.0f) of a Ruby start with ActiveSupport",
            process / vm, process / preamble, preamble / process)
