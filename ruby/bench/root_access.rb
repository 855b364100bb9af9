# frozen_string_literal: true

# `$evm.root['x']` get and set through the native extension versus a pure-Ruby,
# Hash-backed mock service that downcases keys (like manageiq-automation_engine's
# MiqAeMockObject / MiqAeMockService), in one process. Reports each as a ratio to the mock.
#
#   ruby -I lib bench/root_access.rb [iterations]

require "benchmark"
require "miq_automate"

# The baseline: what offline specs use today.
class MockObject
  def initialize(hash = {})
    @attributes = hash.transform_keys { |k| k.to_s.downcase }
  end

  def [](key)
    @attributes[key.to_s.downcase]
  end

  def []=(key, value)
    @attributes[key.to_s.downcase] = value
  end
end

class MockService
  attr_reader :root

  def initialize(root)
    @root = root
  end
end

iterations = Integer(ARGV.first || 1_000_000)
root = { "vm_target_name" => "web01", "ae_result" => "ok", "ae_state" => "Provision" }
mock = MockService.new(MockObject.new(root))
native = MiqAutomate::Workspace.new(root: root).evm

def run(label, iterations)
  GC.start
  best = 3.times.map { Benchmark.realtime { iterations.times { yield } } }.min
  [label, best]
end

results = [
  run("mock   get", iterations) { mock.root["VM_Target_Name"] },
  run("native get", iterations) { native.root["VM_Target_Name"] },
  run("mock   set", iterations) { mock.root["Status"] = "ok" },
  run("native set", iterations) { native.root["Status"] = "ok" }
].to_h

puts "#{iterations} iterations, best of 3 (RUBY_VERSION #{RUBY_VERSION})"
%w[get set].each do |op|
  m = results["mock   #{op}"]
  n = results["native #{op}"]
  printf("%s: mock %.0f ns/op, native %.0f ns/op, native/mock = %.2fx\n", op, m / iterations * 1e9, n / iterations * 1e9, n / m)
end
