# frozen_string_literal: true

# What an inline method costs when the engine runs it in this Ruby VM (MiqAutomate::Engine)
# against the floor of ManageIQ's way, one Ruby process per method: `ruby -e ''` started N
# times from this script (and, closer to ManageIQ's preamble, a start that loads
# ActiveSupport). The in-process figure is a whole Engine#instantiate of an instance with
# one inline method (RollbackDemo's AcquireIPAddress, its real method file), so it includes
# the engine's instantiation and log lines too.
#
#   ruby -I ruby/lib ruby/bench/engine_methods.rb [runs] [starts]

require "benchmark"
require "rbconfig"
require "miq_automate"

runs = Integer(ARGV[0] || 2000)
starts = Integer(ARGV[1] || 20)
root = File.expand_path("../..", __dir__)

def best_of(times)
  Array.new(times) { yield }.min
end

prov = MiqAutomate::ServiceModel.new(:miq_provision, id: 1, options: { vm_target_name: "web01" })
engine = MiqAutomate::Engine.new(datastore: File.join(root, "examples/domains/RollbackDemo"), models: [prov])
uri = "/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress"
ws = engine.instantiate(uri, root: { "miq_provision" => prov }) # warm up
raise "the method did not run: #{ws.logs.inspect}" unless ws.root["ae_result"] == "ok"

in_process = best_of(3) do
  Benchmark.realtime { runs.times { engine.instantiate(uri, root: { "miq_provision" => prov }) } } / runs
end

# The same with the timeout option (a watchdog thread per method).
engine.timeout = 60
with_timeout = best_of(3) do
  Benchmark.realtime { runs.times { engine.instantiate(uri, root: { "miq_provision" => prov }) } } / runs
end

ruby = RbConfig.ruby
bare = best_of(3) do
  Benchmark.realtime { starts.times { system(ruby, "-e", "", exception: true) } } / starts
end
preamble = best_of(3) do
  Benchmark.realtime do
    starts.times { system(ruby, "-e", 'require "active_support/all"; Time.zone = "UTC"', exception: true) }
  end / starts
end

puts format("in-process inline method (Engine#instantiate, one method): %8.1f us per run (best of 3 x %d)", in_process * 1e6, runs)
puts format("  with the timeout option (watchdog thread):                %8.1f us per run", with_timeout * 1e6)
puts format("process start, ruby -e '':                                  %8.1f us per start (best of 3 x %d)", bare * 1e6, starts)
puts format("process start with ActiveSupport loaded (the preamble's):   %8.1f us per start", preamble * 1e6)
puts format("ratio: a bare process start costs %.0fx an in-process run; with ActiveSupport %.0fx", bare / in_process, preamble / in_process)
