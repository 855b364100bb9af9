# frozen_string_literal: true

# What automate coverage (MiqAutomate::Coverage) costs. Two figures:
#
# 1. The example domain's specs (examples/spec: RollbackDemo's methods through the rspec
#    kit and the engine), `rspec` run as a child process without and with
#    `-r miq_automate/coverage`: the issue's bound is 1.5x. Best of 3 each.
# 2. The worst case, in this process: deliveries of tests/domains/Coverage's Order machine
#    (five inline methods, nothing else to do) with collection stopped and started.
#
#   ruby -I ruby/lib ruby/bench/coverage.rb [deliveries]

require "benchmark"
require "rbconfig"
require "tmpdir"
require "miq_automate/coverage/collector"
require "miq_automate"


runs = Integer(ARGV[0] || 300)
root = File.expand_path("../..", __dir__)
lib = File.join(root, "ruby/lib")

def best_of(times)
  Array.new(times) { yield }.min
end

Dir.mktmpdir("miq-coverage-bench-") do |dir|
  rspec = ->(*extra) { system(RbConfig.ruby, "-I", lib, *extra, "-S", "rspec", "examples/spec", out: File::NULL, err: File::NULL, chdir: root) || raise("the example specs failed") }
  env_dir = "MIQ_AUTOMATE_COVERAGE_DIR"
  ENV[env_dir] = dir
  plain = best_of(3) { Benchmark.realtime { rspec.call } }
  covered = best_of(3) { Benchmark.realtime { rspec.call("-r", "miq_automate/coverage") } }
  files = Dir.glob(File.join(dir, "miq_automate.*.json"))
  raise "the covered run wrote no coverage file" if files.empty?

  puts format("example specs (rspec examples/spec): %6.2f s plain, %6.2f s with coverage: %.2fx (bound 1.5x)",
              plain, covered, covered / plain)
end

engine = MiqAutomate::Engine.new(datastore: File.join(root, "tests/domains/Coverage"))
deliver = -> { runs.times { engine.deliver("/Shop/Order/default", root: { "items" => 3 }) } }
deliver.call # warm up
plain = best_of(3) { Benchmark.realtime(&deliver) } / runs
MiqAutomate::Coverage.start(file: File.join(Dir.tmpdir, "miq-coverage-bench.#{Process.pid}.json"), at_exit: false)
covered = best_of(3) { Benchmark.realtime(&deliver) } / runs

puts format("deliveries of /Shop/Order/default (5 inline methods each): %7.1f us plain, %7.1f us covered: %.2fx",
            plain * 1e6, covered * 1e6, covered / plain)
