# frozen_string_literal: true

# The recorder's overhead over the DRb calls themselves: a pure-Ruby `$evm` served over
# stdlib DRb from a child process (as ManageIQ serves MiqAeService to a method, and as the
# adapter specs do); N method-like calls (root reads and writes, a service model's
# get_option and attribute, a state var, a log line) made directly on the DRb proxy and
# through MiqAutomate::Recorder, in the same process, in alternating blocks.
# Prints both times and the ratio (target: at most 1.05), and the trace's save time.
#
#   ruby -I ruby/lib ruby/bench/recorder.rb [calls] [rounds]

require "benchmark"
require "tmpdir"
require "drb/drb"
require "miq_automate/recorder" # pure Ruby: no native extension, as on an appliance
require_relative "../spec/support/drb_fork"

CALLS = Integer(ARGV[0] || 32_000)
ROUNDS = Integer(ARGV[1] || 40)

module Bench
  class Obj
    include DRbUndumped

    def initialize(attributes) = @attributes = attributes
    def [](key) = @attributes[key.to_s.downcase]
    def []=(key, value)
      @attributes[key.to_s.downcase] = value
    end
  end

  class Model
    include DRbUndumped

    def get_option(key) = { vm_target_name: "web01", number_of_vms: 1 }[key]
    def message = "Provisioning"
  end

  class Service
    include DRbUndumped

    def initialize
      @root = Obj.new("ae_result" => "ok", "miq_provision" => Model.new, "ae_state" => "CheckProvisioned")
      @state = {}
      @logs = 0
    end

    def root = @root
    def set_state_var(key, value) = @state[key.to_s] = value
    def get_state_var(key) = @state[key.to_s]
    def log(_level, _message) = (@logs += 1)
  end
end

# One "unit" = 8 $evm calls, the mix of a typical status method.
def work(evm, units)
  root = evm.root
  prov = root["miq_provision"]
  units.times do |i|
    root["ae_result"]
    root["ae_state"]
    root["ae_reason"] = "step #{i}"
    prov.get_option(:vm_target_name)
    prov.message
    evm.set_state_var(:count, i)
    evm.get_state_var(:count)
    evm.log(:info, "checked #{i}")
  end
end

# Blocks of direct and recorded calls alternate (the order flips every round), so a busy
# machine slows both alike; the figure is the median of the per-round ratios.
DrbFork.serve(-> { Bench::Service.new }) do |remote|
  units = [CALLS / 8 / ROUNDS, 1].max
  work(remote, 50) # warm up the connection
  direct = []
  recorded = []
  saves = []
  Dir.mktmpdir do |dir|
    ROUNDS.times do |round|
      recorder = MiqAutomate::Recorder.new(remote, File.join(dir, "trace-#{round}.json"))
      work(recorder.evm, 1) # the handles for root and the service model, as a method's first calls make them
      run_direct = -> { direct << Benchmark.realtime { work(remote, units) } }
      run_recorded = -> { recorded << Benchmark.realtime { work(recorder.evm, units) } }
      round.even? ? (run_direct.call; run_recorded.call) : (run_recorded.call; run_direct.call)
      saves << Benchmark.realtime { recorder.close }
    end
  end
  ratios = recorded.zip(direct).map { |r, d| r / d }.sort
  median = ratios[ratios.size / 2]
  calls = units * 8
  total = calls * ROUNDS
  puts format("%d calls over DRb in %d rounds of %d direct + %d recorded", total, ROUNDS, calls, calls)
  puts format("direct:     %.3f s in all (%.1f µs/call; best round %.1f µs/call)", direct.sum, direct.sum / total * 1e6, direct.min / calls * 1e6)
  puts format("recorded:   %.3f s in all (%.1f µs/call; best round %.1f µs/call)", recorded.sum, recorded.sum / total * 1e6, recorded.min / calls * 1e6)
  puts format("ratio:      %.3f median of rounds (quartiles %.3f-%.3f), %.3f of totals (target <= 1.05)",
              median, ratios[ratios.size / 4], ratios[ratios.size * 3 / 4], recorded.sum / direct.sum)
  # The recorder's own cost, without the network: the same work on a local (in-process)
  # $evm, direct vs recorded, as a share of the best direct DRb call: robust on a busy machine.
  local = Bench::Service.new
  own = Array.new(5) do
    recorder = MiqAutomate::Recorder.new(local, File.join(Dir.tmpdir, "miq-bench-local.json"))
    work(recorder.evm, 1)
    Benchmark.realtime { work(recorder.evm, units * 4) } - Benchmark.realtime { work(local, units * 4) }
  end.min / (calls * 4)
  puts format("own cost:   %.2f µs/call recorded on a local $evm = %.1f%% of the best direct DRb call", own * 1e6, own / (direct.min / calls) * 100)
  puts format("trace save: %.1f ms per round of %d calls, at exit (outside the method's calls)", saves.sum / saves.size * 1000, calls + 8)
end
