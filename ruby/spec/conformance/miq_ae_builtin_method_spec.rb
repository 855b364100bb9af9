# frozen_string_literal: true

require "spec_helper"

# Conformance with ManageIQ's engine, after its spec/engine/miq_ae_builtin_method_spec.rb:
# the built-ins run from Ruby reach the caller's own objects as Ruby code would call them.
# (The Rust suite, crates/engine/tests/builtins.rs, covers each built-in's effect.)
RSpec.describe "Conformance: built-in methods (miq_ae_builtin_method_spec)" do
  domain = File.expand_path("../../../tests/domains/builtins", __dir__)

  it "calls the event stream's manager_refresh with its keyword, as a real model takes it" do
    event = Class.new do
      attr_reader :refreshed

      def manager_refresh(sync:)
        @refreshed = sync
      end
    end.new
    ws = build_engine(datastore: domain).instantiate("/System/Handlers/refresh_sync", root: { "event_stream" => event })
    expect(event.refreshed).to be(true)
    expect(ws.executions).to include(["manager_refresh", [{ sync: true }]])
  end
end
