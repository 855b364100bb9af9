# frozen_string_literal: true

require "date"
require "json"
require "rbconfig"
require "timeout"

# Issue 10: bad input never hangs a worker or leaks a secret.
RSpec.describe "bad input" do
  let(:ws) { MiqAutomate::Workspace.new }
  let(:evm) { ws.evm }

  describe "values nested too deep, or containing themselves" do
    lib = File.expand_path("../lib", __dir__)

    # Every case runs in a non-main Thread (whose stack a runaway conversion used to
    # overflow inside malloc, hanging the process beyond SIGTERM) of a child Ruby, which is
    # killed with SIGKILL if it does not finish: a regression fails here instead of hanging
    # the suite. Each case prints one JSON line: its label and what it raised.
    child = <<~'RUBY'
      require "miq_automate"
      require "json"

      def report(label, result)
        puts JSON.generate({ "label" => label }.merge(result))
        $stdout.flush
      end

      def outcome
        yield
        { "class" => "none" }
      rescue Exception => e
        { "class" => e.class.name, "message" => e.message }
      end

      def probe(label, &block)
        thread = Thread.new { outcome(&block) }
        report(label, thread.join(20) ? thread.value : { "class" => "hang" })
      end

      deep = []
      10_000.times { deep = [deep] }
      deep_hash = {}
      10_000.times { deep_hash = { "k" => deep_hash } }
      looped = []
      looped << looped
      looped_hash = {}
      looped_hash[:self] = looped_hash
      over = nil
      101.times { over = [over] }

      ws = MiqAutomate::Workspace.new
      evm = ws.evm
      probe("array") { evm.root["d"] = deep }
      probe("hash") { evm.root["d"] = deep_hash }
      probe("recursive array") { evm.root["d"] = looped }
      probe("recursive hash") { evm.root["d"] = looped_hash }
      probe("101 levels") { evm.root["d"] = over }
      probe("recursive key") { evm.root["d"] = { looped => 1 } }
      probe("notification") { evm.create_notification!(level: "error", message: "m", options: deep) }
      probe("state var") { evm.set_state_var(:k, deep) }
      probe("state var key") { evm.set_state_var(deep, 1) }
      probe("service var") { evm.set_service_var("k", deep) }
      probe("execute") { evm.execute("send_email", deep) }
      probe("workspace root") { MiqAutomate::Workspace.new(root: { "d" => deep }) }
      probe("adapter") { MiqAutomate::EvmAdapter.new(evm).root_set("d", deep) }
      probe("matrix hash") { MiqAutomate::Rollback.validate("states" => { "A" => deep }) }
      probe("matrix yaml") { MiqAutomate::Rollback.validate("states: {A: #{"[" * 10_000}#{"]" * 10_000}}") }
      probe("matrix json") { MiqAutomate::Rollback.validate(%({"states": {"A": #{"[" * 10_000}#{"]" * 10_000}}})) }
      probe("readable after") { raise "lost" unless evm.root["d"].nil? && ws.state_vars == {} }
      report("fiber", Fiber.new { outcome { evm.root["d"] = deep } }.resume)
      report("main thread", outcome { evm.root["d"] = deep })
    RUBY

    before(:context) do
      output = +""
      IO.popen([RbConfig.ruby, "-I", lib, "-e", child], err: %i[child out]) do |io|
        Timeout.timeout(60) do
          loop { output << io.readpartial(4096) }
        rescue EOFError
          nil
        end
      rescue Timeout::Error
        Process.kill(:KILL, io.pid)
        output << "\n(killed: the child hung)"
      end
      @output = output
      @results = output.lines.filter_map do |line|
        JSON.parse(line)
      rescue JSON::ParserError
        nil
      end.to_h { |r| [r["label"], r] }
    end

    def result(label)
      @results.fetch(label) { raise "no result for #{label.inspect}; child output:\n#{@output}" }
    end

    it "raises NestingError naming the place, in a non-main thread, a fiber and the main thread" do
      {
        "array" => "root['d']", "hash" => "root['d']", "101 levels" => "root['d']",
        "fiber" => "root['d']", "main thread" => "root['d']",
        "notification" => "create_notification options", "state var" => "state var :k",
        "state var key" => "a state var key", "service var" => "service var 'k'",
        "execute" => "execute('send_email') arguments", "workspace root" => "Workspace.new(root:)",
        "adapter" => "root['d']"
      }.each do |label, place|
        expect(result(label)).to include("class" => "MiqAutomate::NestingError",
                                         "message" => "value nested deeper than 100 at #{place}")
      end
    end

    it "refuses a value that contains itself" do
      expect(result("recursive array")).to include(
        "class" => "MiqAutomate::NestingError",
        "message" => "recursive value (an Array that contains itself) at root['d']"
      )
      expect(result("recursive hash")["message"]).to eq("recursive value (a Hash that contains itself) at root['d']")
      expect(result("recursive key")["class"]).to eq("MiqAutomate::NestingError")
    end

    it "refuses a deep rollback matrix as InvalidMatrix, from a Hash, YAML or JSON" do
      expect(result("matrix hash")).to include(
        "class" => "MiqAutomate::InvalidMatrix",
        "message" => "rollback matrix: value nested deeper than 100 at the matrix"
      )
      expect(result("matrix yaml")).to include("class" => "MiqAutomate::InvalidMatrix")
      expect(result("matrix yaml")["message"]).to match(/recursion limit exceeded|nested deeper than 100/)
      expect(result("matrix json")).to include("class" => "MiqAutomate::InvalidMatrix")
    end

    it "leaves the workspace as it was" do
      expect(result("readable after")).to include("class" => "none")
    end

    it "keeps a value exactly 100 levels deep" do
      value = nil
      100.times { value = [value] }
      evm.root["d"] = value
      expect(evm.root["d"]).to eq(value)
      evm.set_state_var(:d, value)
      expect(evm.get_state_var(:d)).to eq(value)
    end

    it "puts NestingError beneath ValueError and MiqAutomate::Error" do
      expect(MiqAutomate::NestingError.ancestors).to include(MiqAutomate::ValueError, MiqAutomate::Error)
    end
  end

  describe "numbers" do
    it "raises RangeError when field_timeout does not fit in 64 bits, never a wrapped number" do
      evm.root["ae_retry_interval"] = 2**62
      evm.root["ae_state_max_retries"] = 100
      expect { evm.field_timeout }.to raise_error(
        RangeError, "field_timeout: integer 4611686018427387904 * 100 does not fit in 64 bits"
      )
      evm.root["ae_retry_interval"] = "1.minute"
      evm.root["ae_state_max_retries"] = Float::INFINITY
      expect { evm.field_timeout }.to raise_error(RangeError, /float Infinity out of range of integer/)
      evm.root["ae_state_max_retries"] = Float::NAN
      expect { evm.field_timeout }.to raise_error(RangeError)
      evm.root["ae_state_max_retries"] = 2.9
      expect(evm.field_timeout).to eq(120)
    end

    it "refuses an integer argument beyond 64 bits instead of clamping it" do
      expect(evm.instantiate("/A/B/C?integer::x=99999999999999999999999")).to be_nil
      expect(ws).to have_logged(:error, "instantiate failed : integer 99999999999999999999999 does not fit in 64 bits")
      expect(evm.instantiate("/A/B/C?integer::x=-9223372036854775808")["x"]).to eq(-2**63)
    end
  end

  describe "secrets in URIs" do
    it "masks a password argument in the ascii-only and empty-argument errors" do
      expect(evm.instantiate("/A/B/C?password::pw=TopSecret1&x=€")).to be_nil
      expect(evm.instantiate("/A/B/C?password::pw=TopSecret1&&x=1")).to be_nil
      expect(evm.instantiate("/A B/C?password%3A%3Apw=TopSecret1")).to be_nil
      expect(ws.logs.map(&:last)).to eq([
        "instantiate failed : URI must be ascii only \"/A/B/C?password::pw=********&x=\\u20AC\"",
        "instantiate failed : empty argument in query [password::pw=********&&x=1]",
        "instantiate failed : bad URI(is not URI?): \"/A B/C?password%3A%3Apw=********\""
      ])
      expect { evm.query_to_hash("password::pw=TopSecret1&&x=1") }.to raise_error(
        MiqAutomate::InvalidPathFormat, "empty argument in query [password::pw=********&&x=1]"
      )
    end

    it "never shows the secret for any spelling of the URI" do
      rng = Random.new(10)
      200.times do
        secret = "Zq9" + Array.new(rng.rand(1..12)) { ["a", "€", " ", "#", "\"", "v2:{x}", "%20", "="].sample(random: rng) }.join
        key = ["password::pw", "Password::pw", "password%3A%3Apw"].sample(random: rng)
        tail = ["", "&&x=1", "&x=€", "#a#b", " "].sample(random: rng)
        uri = "/A/B/C?a=1&#{key}=#{secret}#{tail}"
        evm.instantiate(uri)
        begin
          evm.query_to_hash(uri.split("?", 2).last)
        rescue MiqAutomate::Error => e
          expect(e.message).not_to include(secret)
        end
      end
      ws.logs.each { |(_, line)| expect(line).not_to match(/Zq9/) }
    end

    it "masks it in a rollback matrix error" do
      expect { MiqAutomate::Rollback.validate("states" => { "A" => ["/a b/c?password::pw=TopSecret1"] }) }
        .to raise_error(MiqAutomate::InvalidMatrix) { |e| expect(e.message).not_to include("TopSecret1") }
    end
  end

  describe "values that could not be read back" do
    it "refuses a Hash with a key that could not be a key again, and stays readable" do
      odd = {}.compare_by_identity
      odd[BasicObject.new] = 1
      expect { evm.root["v"] = odd }.to raise_error(
        MiqAutomate::ValueError,
        /\Aa Hash key \(BasicObject\) cannot be kept at root\['v'\]: it could not be a Hash key when read back \(.*hash/
      )
      expect { evm.root["v"] = { "ok" => [odd] } }.to raise_error(MiqAutomate::ValueError)
      expect { evm.set_state_var(:v, odd) }.to raise_error(MiqAutomate::ValueError)
      expect(evm.root["v"]).to be_nil
      expect(evm.root.attributes).to eq({})
      expect(ws.inspect).to include("MiqAutomate::Workspace")
    end

    it "refuses a compare_by_identity Hash whose keys a plain Hash would merge" do
      twins = {}.compare_by_identity
      twins["a".dup] = 1
      twins["a".dup] = 2
      expect { evm.root["v"] = twins }.to raise_error(MiqAutomate::ValueError, /would merge/)
      distinct = {}.compare_by_identity
      distinct[:a] = 1
      distinct[:b] = 2
      evm.root["v"] = distinct
      expect(evm.root["v"]).to eq(a: 1, b: 2)
    end

    it "keeps any other object by reference, as before" do
      obj = BasicObject.new
      evm.root["v"] = [obj]
      expect(evm.root["v"][0]).to equal(obj)
    end
  end

  describe "state-var key errors" do
    it "show the key and never contradict themselves" do
      allowed = "use nil, an Integer that fits in 64 bits, a Float, a UTF-8 String, a Symbol or a Time"
      expect { evm.set_state_var(Date.new(2024, 5, 1), 1) }.to raise_error(
        RuntimeError, "State Var key (Date)[#{Date.new(2024, 5, 1).inspect}] cannot be kept by miq_automate: #{allowed}"
      )
      expect { evm.set_state_var("\xFF".b, 1) }.to raise_error(
        RuntimeError, "State Var key (String)[\"\\xFF\"] cannot be kept by miq_automate: #{allowed}"
      )
      expect { evm.set_state_var(2**70, 1) }.to raise_error(RuntimeError, /\(Integer\)\[1180591620717411303424\]/)
      expect { MiqAutomate::Workspace.new(state_vars: { Date.new(2024, 5, 1) => 1 }) }
        .to raise_error(RuntimeError, /\AState Var key \(Date\)\[#{Regexp.escape(Date.new(2024, 5, 1).inspect)}\] cannot/)
      expect { evm.set_state_var({ a: 1 }, 1) }.to raise_error(
        RuntimeError, "State Var key (Hash)[{:a=>1}] must be of type: NilClass, Numeric, String, Symbol, Date, Time"
      )
    end
  end
end
