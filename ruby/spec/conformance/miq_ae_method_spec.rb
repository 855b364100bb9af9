# frozen_string_literal: true

require "spec_helper"
require_relative "../support/temp_domain"

# Conformance with ManageIQ's engine, after its spec/miq_ae_method_spec.rb and
# spec/engine/miq_ae_method_spec.rb and the method preamble/postscript of
# lib/miq_automation_engine/engine/miq_ae_engine/drb_remote_invoker.rb: how an inline
# method's environment and its failures look, in both isolations.
RSpec.describe "Conformance: inline methods (miq_ae_method_spec)" do
  methods = {
    "yaml_aliases" => <<~RUBY,
      data = YAML.safe_load("base: &base\\n  cpu: 2\\nvm:\\n  <<: *base\\n  name: web\\n")
      $evm.root["vm_cpu"] = data["vm"]["cpu"]
    RUBY
    "human_size" => <<~RUBY,
      $evm.root["size"] = 10_737_418_240.to_fs(:human_size)
      $evm.root["small"] = 1024.to_fs(:human_size)
      $evm.root["stamp"] = Time.utc(2024, 5, 1, 10, 0, 0).to_fs(:db)
    RUBY
    "uncaught" => <<~RUBY,
      def helper
        raise "boom"
      end
      helper
    RUBY
    "constants" => <<~RUBY,
      STDOUT.puts "through the STDOUT constant"
      STDERR.puts "through the STDERR constant"
      $evm.root["stdout_is_log"] = !STDOUT.tty?
    RUBY
  }

  around do |example|
    Dir.mktmpdir("miq-conformance-") do |dir|
      @domain = TempDomain.write(dir, methods)
      example.run
    end
  end

  %i[vm process].each do |isolation|
    context "isolation: #{isolation}" do
      let(:engine) { build_engine(datastore: @domain, isolation: isolation) }

      it "lets YAML.safe_load read aliases in a method, as the preamble does" do
        expect(engine.instantiate("/Demo/Run/yaml_aliases").root["vm_cpu"]).to eq(2)
      end

      it "gives methods Rails 7's to_fs on numbers and times" do
        root = engine.instantiate("/Demo/Run/human_size").root
        expect([root["size"], root["small"], root["stamp"]]).to eq(["10 GB", "1 KB", "2024-05-01 10:00:00"])
      end

      it "logs an uncaught exception as the postscript does, then Ruby's own report on stderr" do
        expect { engine.instantiate("/Demo/Run/uncaught") }.to raise_error(MiqAutomate::UnknownMethodRc, "Method exited with rc=Unknown RC: [1]") { |e|
          lines = e.workspace.logs.map(&:last)
          at = lines.index("<AEMethod uncaught> The following error occurred during method evaluation:")
          expect(at).not_to be_nil
          expect(lines[at + 1, 5]).to eq([
            "<AEMethod uncaught>   RuntimeError: boom",
            "<AEMethod uncaught>   /Spec/Demo/Run/uncaught:2:in `helper'", # the backtrace but its last frame
            "Method STDERR: /Spec/Demo/Run/uncaught:2:in `helper': boom (RuntimeError)",
            "Method STDERR: from /Spec/Demo/Run/uncaught:4:in `<main>'",
            "<AEMethod [/Spec/Demo/Run/uncaught]> Ending"
          ])
        }
      end

      it "logs what goes to the STDOUT and STDERR constants as the method's output" do
        ws = engine.instantiate("/Demo/Run/constants")
        expect(ws).to have_logged(:info, "Method STDOUT: through the STDOUT constant")
        expect(ws).to have_logged(:error, "Method STDERR: through the STDERR constant")
        expect(ws.root["stdout_is_log"]).to be(true)
      end
    end
  end

  it "keeps the caller's YAML.safe_load as it was (the preamble's change holds in methods only)" do
    build_engine(datastore: @domain).instantiate("/Demo/Run/yaml_aliases")
    expect { YAML.safe_load("a: &x 1\nb: *x\n") }.to raise_error(Psych::BadAlias)
    expect(STDOUT).to equal($stdout) # the constants are given back
  end
end
