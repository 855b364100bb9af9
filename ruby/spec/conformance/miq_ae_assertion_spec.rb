# frozen_string_literal: true

require "spec_helper"
require_relative "../support/temp_domain"

# Conformance with ManageIQ's engine, after its spec/miq_ae_assertion_spec.rb and
# MiqAeObject#process_assertion: an assertion is the field's substituted text `eval`ed as
# Ruby; false drops the object, a syntax error or an exception fails it with their messages.
# With a Ruby runner (MiqAutomate::Engine, `miq-automate run`) it is real Ruby; the Rust-only
# engine keeps its small evaluator.
RSpec.describe "Conformance: assertions (miq_ae_assertion_spec)" do
  around do |example|
    Dir.mktmpdir("miq-conformance-") do |dir|
      domain = TempDomain.domain(dir, "Spec")
      TempDomain.klass(domain, "Demo/Guarded",
                       schema: [{ "aetype" => "assertion", "name" => "guard" },
                                { "aetype" => "attribute", "name" => "passed", "default_value" => "yes" }],
                       instances: {
                         "ruby_include" => { "guard" => '%w(small medium).include?("${/#size}")' },
                         "ruby_range" => { "guard" => "(1..4).cover?(${/#cpus})" },
                         "syntax" => { "guard" => "1 +* 2" },
                         "raises" => { "guard" => "nil.fetch(1)" }
                       })
      @domain = domain
      example.run
    end
  end

  let(:engine) { build_engine(datastore: @domain) }

  it "evaluates the substituted text as Ruby: a true assertion keeps the object" do
    ws = engine.instantiate("/Demo/Guarded/ruby_include", root: { "size" => "small" })
    expect(ws).to have_logged(:info, 'Evaluating substituted assertion [%w(small medium).include?("small")]')
    expect(ws.root["passed"]).to eq("yes")
    expect(engine.instantiate("/Demo/Guarded/ruby_range", root: { "cpus" => 2 }).root["passed"]).to eq("yes")
  end

  it "drops the object when the assertion is false" do
    ws = engine.instantiate("/Demo/Guarded/ruby_include", root: { "size" => "huge" })
    expect(ws.root).to be_nil.or(satisfy { |root| root["passed"].nil? })
    expect(ws).to have_logged(:info, 'Evaluating substituted assertion [%w(small medium).include?("huge")]')
  end

  it "fails an assertion that is not Ruby with the engine's syntax-error messages" do
    ws = engine.instantiate("/Demo/Guarded/syntax")
    expect(ws.logs.map(&:last)).to include(a_string_starting_with("Assertion had the following Syntax Error: '"))
  end

  it "fails an assertion that raises with the engine's evaluation messages" do
    ws = engine.instantiate("/Demo/Guarded/raises")
    expect(ws.logs.map(&:last)).to include(a_string_matching(/\A'undefined method `fetch' for nil.*', evaluating assertion\z/))
  end
end
