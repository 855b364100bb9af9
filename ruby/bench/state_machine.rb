# frozen_string_literal: true

# A whole state machine delivered in this Ruby VM (MiqAutomate::Engine#deliver) against the
# floor of ManageIQ's way, one Ruby process per method: `ruby -e ''` started from this
# script, times the methods a delivery runs.
#
# The machine is the engine crate's benchmark machine (tests/domains/state_machines,
# SM/Bench/Ten: 10 states, each with an on_entry hook, a main relationship to an instance
# with a method, and an on_exit hook: 30 method calls, 10 child instances a delivery), with
# its two placeholder method files replaced by real inline Ruby (copied to a temporary
# directory): `hook` writes its status input to the root, `work` sets ae_result and, in the
# second case, retries S5 three times on the virtual clock (four deliveries; each retry runs
# S5's on_entry, main and on_exit again: 39 methods).
#
#   ruby -I ruby/lib ruby/bench/state_machine.rb [deliveries] [starts]

require "benchmark"
require "fileutils"
require "rbconfig"
require "tmpdir"
require "miq_automate"

runs = Integer(ARGV[0] || 300)
starts = Integer(ARGV[1] || 30)
root = File.expand_path("../..", __dir__)

HOOK = <<~RUBY
  # The status of the state, as update_provision_status keeps it.
  status = $evm.inputs["status"]
  $evm.root["status"] = status
  $evm.log(:info, "status: \#{status}")
RUBY

WORK = <<~RUBY
  # A state's work: S5 retries until it has retried `retries` times.
  root = $evm.root
  if root["ae_state"] == "S5" && root["ae_state_retries"].to_i < root["retries"].to_i
    root["ae_result"] = "retry"
    root["ae_retry_interval"] = "1.minute"
  else
    root["ae_result"] = "ok"
  end
RUBY

def best_of(times)
  Array.new(times) { yield }.min
end

Dir.mktmpdir("miq-bench") do |dir|
  FileUtils.cp_r(File.join(root, "tests/domains/state_machines/SM"), dir)
  File.write(File.join(dir, "SM/Bench/Ten.class/__methods__/hook.rb"), HOOK)
  File.write(File.join(dir, "SM/Bench/Work.class/__methods__/work.rb"), WORK)
  engine = MiqAutomate::Engine.new(datastore: File.join(dir, "SM"))
  uri = "/SM/Bench/Ten/run"

  results = [["10 states x 3 hooks", 0, 1, 30], ["10 states x 3 hooks, S5 retried 3 times", 3, 4, 39]].map do |name, retries, deliveries, methods|
    rootattrs = { "vm_name" => "web01", "retries" => retries.to_s }
    d = engine.deliver(uri, root: rootattrs) # warm up, and check it ran
    raise "unexpected delivery: #{d.inspect} #{d.logs.last(5).inspect}" unless d.ae_result == "ok" && d.deliveries.size == deliveries && d.root["status"] == "left S10"

    calls = d.logs.count { |_, m| m.start_with?("Invoking [inline] method") }
    raise "#{calls} methods ran, expected #{methods}" unless calls == methods

    per = best_of(3) { Benchmark.realtime { runs.times { engine.deliver(uri, root: rootattrs) } } / runs }
    [name, per, calls, deliveries]
  end

  ruby = RbConfig.ruby
  bare = best_of(3) do
    Benchmark.realtime { starts.times { system(ruby, "-e", "", exception: true) } } / starts
  end

  puts format("process start, ruby -e '': %.1f ms (best of 3 x %d)", bare * 1e3, starts)
  results.each do |name, per, calls, deliveries|
    floor = bare * calls
    puts format("%-42s %7.2f ms per delivery (%d deliver%s, %d methods, best of 3 x %d); " \
                "ManageIQ's floor %.0f ms (%d process starts): %.0fx faster",
                name, per * 1e3, deliveries, deliveries == 1 ? "y" : "ies", calls, runs, floor * 1e3, calls, floor / per)
  end
end
