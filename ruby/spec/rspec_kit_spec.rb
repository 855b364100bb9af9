# frozen_string_literal: true

require "tmpdir"

RSpec.describe "the rspec kit" do
  around { |ex| Dir.mktmpdir { |dir| @dir = dir; ex.run } }

  def write(name, body)
    File.join(@dir, name).tap { |path| File.write(path, body) }
  end

  it "load_method neutralises the trailing Klass.new.main" do
    path = write("k.rb", <<~RUBY)
      module KitSpec
        class Marker
          def initialize(handle = $evm) = @handle = handle
          def main = @handle.root["ran"] = true
        end
      end
      KitSpec::Marker.new.main
    RUBY
    ws = build_workspace
    $evm = nil
    expect(load_method(path)).to be(true)
    expect(ws.root["ran"]).to be_nil
    KitSpec::Marker.new(ws.evm).main
    expect(ws.root["ran"]).to be(true)
  end

  it "run_method returns exit codes, never ends the run, and restores $evm" do
    stop = write("stop.rb", "$evm.log(:info, 'before'); exit MIQ_STOP; $evm.log(:info, 'after')")
    warn = write("warn.rb", "exit MIQ_WARN")
    plain = write("plain.rb", "$evm.root['x'] = 1")
    ws = build_workspace
    $evm = :previous
    expect(run_method(stop, ws)).to eq(MiqAutomate::MIQ_STOP)
    expect(run_method(warn, ws)).to exit_with(MiqAutomate::MIQ_WARN)
    expect(run_method(plain, ws)).to eq(0)
    expect($evm).to eq(:previous)
    expect(ws.logs).to eq([
      [:info, "<AEMethod stop> before"],
      [:error, "Method exited with rc=MIQ_STOP"],
      [:warn, "Method exited with rc=MIQ_WARN"],
      [:info, "Method exited with rc=MIQ_OK"]
    ])
  end

  it "exit_with takes a block too, and explains a mismatch" do
    expect { exit MiqAutomate::MIQ_ABORT }.to exit_with(MiqAutomate::MIQ_ABORT)
    expect { expect(0).to exit_with(MiqAutomate::MIQ_STOP) }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError, "expected the method to exit with MIQ_STOP, but it exited with MIQ_OK")
  end

  it "matchers read a workspace, its $evm or its root" do
    ws = build_workspace(root: { "ae_result" => "retry" })
    expect(ws).to have_ae_result("retry")
    expect(ws.evm).to have_ae_result(:retry)
    expect(ws.root).to have_ae_result("retry")
    ws.evm.instantiate("/A/B/C?x=1")
    expect(ws).to have_instantiated("/A/B/C?x=1")
    expect(ws).to have_instantiated(%r{/A/B/C})
    expect(ws).not_to have_instantiated("/A/B/D")
    expect { expect(ws).to have_logged(:error, /nothing/) }.to raise_error(RSpec::Expectations::ExpectationNotMetError, /expected a error log line/)
  end
end

RSpec.describe "the rspec kit's failure messages" do
  around { |ex| Dir.mktmpdir { |dir| @dir = dir; ex.run } }

  it "end with the method's exception and the last error lines of the log" do
    path = File.join(@dir, "validate.rb")
    File.write(path, "raise ArgumentError, 'validation blew up on demand'\n")
    ws = build_workspace
    code = run_method(path, ws)
    expect { expect(code).to exit_with(MiqAutomate::MIQ_OK) }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError) { |e|
        expect(e.message).to start_with("expected the method to exit with MIQ_OK, but it exited with Unknown RC: [1]")
        expect(e.message).to include("the method raised ArgumentError: validation blew up on demand")
        expect(e.message).to include("last error lines of the log:")
      }
    expect { expect(ws).to have_ae_result("ok") }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError, /the method raised ArgumentError: validation blew up on demand/)
  end
end
