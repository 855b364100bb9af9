# frozen_string_literal: true

# A generated world of 10,000 VMs on 1,000 hosts: how long it takes to load (target under
# 200 ms) and to answer `where` (target under 1 ms), against JSON.parse of the same file
# and a scan of every row. `where` indexes a column the first time it is asked for it
# (and keeps the index up to date on writes), so the first query pays for the index.
#
#   ruby -I ruby/lib ruby/bench/world.rb [vms] [hosts]

require "benchmark"
require "json"
require "tmpdir"
require "miq_automate/world"

vms = Integer(ARGV[0] || 10_000)
hosts = Integer(ARGV[1] || 1_000)

doc = {
  "description" => "generated: #{vms} VMs on #{hosts} hosts",
  "groups" => [{ "id" => 1, "description" => "EvmGroup-super_administrator" }],
  "users" => [{ "id" => 1, "userid" => "admin", "groups" => [1] }],
  "ext_management_systems" => [{ "id" => 1, "name" => "vc01" }, { "id" => 2, "name" => "vc02" }],
  "ems_clusters" => (1..20).map { |i| { "id" => i, "name" => "cluster#{i}", "ems_id" => (i % 2) + 1 } },
  "storages" => (1..100).map { |i| { "id" => i, "name" => "ds#{i}", "free_space" => i * 1_000 } },
  "hosts" => (1..hosts).map do |i|
    { "id" => i, "name" => "esx#{i}", "ems_id" => (i % 2) + 1, "ems_cluster_id" => (i % 20) + 1,
      "storage_ids" => [(i % 100) + 1] }
  end,
  "vms" => (1..vms).map do |i|
    { "id" => 10_000 + i, "name" => "vm#{i}", "host_id" => (i % hosts) + 1, "ems_id" => (i % 2) + 1,
      "storage_id" => (i % 100) + 1, "power_state" => i % 7 == 0 ? "off" : "on", "vendor" => "vmware",
      "tags" => [i.even? ? "environment/prod" : "environment/dev"],
      "hardware" => { "cpu_sockets" => 2, "memory_mb" => 4096 } }
  end
}

def best(runs)
  GC.start
  runs.times.map { Benchmark.realtime { yield } }.min
end

def ms(seconds)
  format("%.1f ms", seconds * 1000)
end

def us(seconds)
  format("%.1f µs", seconds * 1_000_000)
end

Dir.mktmpdir("world-bench") do |dir|
  path = File.join(dir, "world.json")
  File.write(path, JSON.generate(doc))
  text = File.read(path)
  rows = vms + hosts + 122 + vms # hardware rows too

  parse = best(5) { JSON.parse(text) }
  load = best(5) { MiqAutomate::World.load(path) }
  world = MiqAutomate::World.load(path)
  vm = world.vmdb(:vm)

  first = Benchmark.realtime { vm.where(host_id: 500) }
  samples = 1_000.times.map { |i| Benchmark.realtime { vm.where(host_id: (i % hosts) + 1) } }.sort
  median = samples[samples.size / 2]
  p99 = samples[(samples.size * 0.99).floor]
  two = 1_000.times.map { |i| Benchmark.realtime { vm.where(host_id: (i % hosts) + 1, power_state: "on") } }.sort[500]
  finder = 1_000.times.map { |i| Benchmark.realtime { vm.find_by_name("vm#{i + 1}") } }.sort[500]
  all = world.store.rows("vms")
  scan = best(5) { all.select { |r| r.attrs["host_id"] == 500 } }
  # A write moves the row between index buckets: the next query still needs no rebuild.
  moved = world.vmdb(:vm, 10_001)
  moved.migrate(world.vmdb(:host, 7))
  after_write = Benchmark.realtime { vm.where(host_id: 7) }

  puts "world: #{vms} VMs on #{hosts} hosts, #{rows} rows, #{File.size(path) / 1024} KB of JSON"
  puts "load:  #{ms(load)} (target < 200 ms) — #{format('%.1f', load / parse)}× JSON.parse alone (#{ms(parse)})"
  puts "where(host_id:) first call (builds the index): #{ms(first)}"
  puts "where(host_id:) median #{us(median)}, p99 #{us(p99)} (target < 1 ms) — a scan of every row takes #{ms(scan)}, " \
       "#{format('%.0f', scan / median)}× the indexed query"
  puts "where(host_id:, power_state:) median #{us(two)}; find_by_name median #{us(finder)}"
  puts "where after a write (the row moved host): #{us(after_write)}"
  ok = load < 0.2 && median < 0.001
  puts ok ? "within targets" : "OUTSIDE TARGETS"
  exit(ok ? 0 : 1)
end
