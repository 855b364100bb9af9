# frozen_string_literal: true

require "spec_helper"
require "json"
require "tempfile"
require "timeout"

# The trace reader against hostile input: random JSON documents and random damage to a
# real trace (crates/cli/tests/traces), bounded in count and seeded, each read with
# Workspace.replay and its calls replayed. A bad trace is a MiqAutomate::TraceError
# naming the place, never another exception, and the reader always ends.
RSpec.describe "the trace reader against hostile input" do
  real = JSON.parse(File.read(File.expand_path("../../crates/cli/tests/traces/check_vm_provision.retry.json", __dir__)))

  def random_json(rng, depth = 0)
    kinds = depth > 3 ? 5 : 7
    case rng.rand(kinds)
    when 0 then nil
    when 1 then rng.rand(2).zero?
    when 2 then rng.rand(-1000..1000)
    when 3 then ["", "calls", "handles", "v2:{x}", "\u0000", "é" * rng.rand(3), "$evm"].sample(random: rng)
    when 4 then rng.rand * 1e6
    when 5 then Array.new(rng.rand(4)) { random_json(rng, depth + 1) }
    else
      keys = %w[method calls handles receiver name args result raised via path secrets version] + ["x#{rng.rand(9)}"]
      Array.new(rng.rand(5)) { [keys.sample(random: rng), random_json(rng, depth + 1)] }.to_h
    end
  end

  # Replaces a random place of a trace by random JSON.
  def damage(doc, rng)
    copy = Marshal.load(Marshal.dump(doc))
    node = copy
    3.times do
      children = case node
                 when Hash then node.keys
                 when Array then (0...node.size).to_a
                 else []
                 end
      break if children.empty?

      key = children.sample(random: rng)
      if rng.rand(3).zero? || !(node[key].is_a?(Hash) || node[key].is_a?(Array))
        node[key] = random_json(rng)
        return copy
      end
      node = node[key]
    end
    copy
  end

  def read(doc)
    Tempfile.create(["fuzz", ".json"]) do |f|
      f.write(JSON.generate(doc))
      f.flush
      ws = MiqAutomate::Workspace.replay(f.path, strict: false)
      # Play what the trace recorded: the calls must answer or raise the recorded errors.
      ws.evm.root
    end
  end

  it "refuses random documents with a TraceError or reads them, and always ends" do
    rng = Random.new(42)
    outcomes = Hash.new(0)
    200.times do
      doc = random_json(rng)
      begin
        Timeout.timeout(5) { read(doc) }
        outcomes[:read] += 1
      rescue MiqAutomate::TraceError
        outcomes[:refused] += 1
      end
    end
    expect(outcomes[:refused]).to be_positive
  end

  it "refuses a damaged real trace with a TraceError naming the place, or reads it" do
    rng = Random.new(7)
    200.times do
      doc = damage(real, rng)
      begin
        Timeout.timeout(5) { read(doc) }
      rescue MiqAutomate::TraceError => e
        expect(e.message).to match(/\S/)
      rescue MiqAutomate::ReplayMismatch, MiqAutomate::Error
        nil # a readable trace whose calls answer as recorded (errors included)
      end
    end
  end
end
