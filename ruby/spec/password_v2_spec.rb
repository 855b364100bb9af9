# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "tmpdir"
require "yaml"

# `decrypt` of `v2:{…}` passwords with the appliance's key (issue 19), with the test keys of
# tests/passwords/ (made for the tests; the vectors were made with Ruby's OpenSSL).
RSpec.describe "v2 passwords with the appliance's key" do
  key_dir = File.expand_path("../../tests/passwords", __dir__)
  let(:key_path) { File.join(key_dir, "v2_key") }
  let(:other_key_path) { File.join(key_dir, "v2_key_with_iv") }
  let(:encrypted) { "v2:{mvAEkOZjpzMQN3Q2ZpEoOw==}" } # "s3cret" with v2_key
  let(:key_text) { File.read(key_path)[/^:key: (.*)$/, 1] }

  # Each example sees MIQ_V2_KEY as it sets it, whatever the caller's environment.
  around do |example|
    saved = ENV.delete("MIQ_V2_KEY")
    example.run
  ensure
    saved ? ENV["MIQ_V2_KEY"] = saved : ENV.delete("MIQ_V2_KEY")
  end

  def workspace(value, **options)
    MiqAutomate::Workspace.new(root: { "password" => MiqAutomate::Password.new(value) }, **options)
  end

  describe "MiqAutomate::Workspace.new(v2_key:)" do
    it "decrypts a v2 password to its plaintext, and reads it masked" do
      ws = workspace(encrypted, v2_key: key_path)
      expect(ws.evm.object.decrypt("password")).to eq("s3cret")
      expect(ws.root.decrypt("PASSWORD")).to eq("s3cret")
      expect(ws.root["password"]).to eq("********")
      expect(ws.root.attributes["password"]).to eq("********")
    end

    it "takes a loaded MiqAutomate::V2Key, and gives plaintext passwords as they are" do
      key = MiqAutomate::V2Key.load(key_path)
      ws = workspace("not encrypted", v2_key: key)
      expect(ws.v2_key).to equal(key)
      expect(ws.root.decrypt("password")).to eq("not encrypted")
      ws.root["other"] = MiqAutomate::Password.new(key.encrypt("naïve"))
      expect(ws.root.decrypt("other")).to eq("naïve")
      expect(ws.root.decrypt("other").encoding).to eq(Encoding::UTF_8)
    end

    it "raises ManageIQ::Password::PasswordError for a bogus value, as on the appliance" do
      ws = workspace("v2:{55555}", v2_key: key_path)
      expect { ws.root.decrypt("password") }
        .to raise_error(ManageIQ::Password::PasswordError, "cannot decrypt encrypted string")
      # Another appliance's value.
      ws.root["other"] = MiqAutomate::Password.new("v2:{w23XpH3P9Iq+sHZhZOY/sw==}")
      expect { ws.root.decrypt("other") }.to raise_error(ManageIQ::Password::PasswordError)
      expect(ManageIQ::Password::PasswordError.ancestors).to include(StandardError)
    end

    it "gives undecodable plaintext as the gem does: UTF-8-tagged bytes" do
      ws = workspace("v2:{GCIlRhOodQk3VWD5sC8iAA==}", v2_key: key_path) # the bytes FF FE
      plain = ws.root.decrypt("password")
      expect(plain.bytes).to eq([0xff, 0xfe])
      expect(plain.encoding).to eq(Encoding::UTF_8)
    end

    it "without a key keeps today's behaviour: the password's text as it is" do
      expect(workspace(encrypted).root.decrypt("password")).to eq(encrypted)
      expect(workspace("v2:{55555}").root.decrypt("password")).to eq("v2:{55555}")
      expect(workspace("s3cret").root.decrypt("password")).to eq("s3cret")
      expect(workspace(encrypted).v2_key).to be_nil
    end

    it "leaves other attributes as decrypt gave them" do
      ws = MiqAutomate::Workspace.new(root: { "n" => 1, "s" => "text" }, v2_key: key_path)
      expect(ws.root.decrypt("n")).to eq("1")
      expect(ws.root.decrypt("s")).to eq("text")
      expect(ws.root.decrypt("missing")).to be_nil
    end

    it "reads the key file MIQ_V2_KEY names by default; v2_key: false means none" do
      ENV["MIQ_V2_KEY"] = key_path
      expect(workspace(encrypted).root.decrypt("password")).to eq("s3cret")
      expect(workspace(encrypted, v2_key: false).root.decrypt("password")).to eq(encrypted)
      ENV["MIQ_V2_KEY"] = ""
      expect(workspace(encrypted).root.decrypt("password")).to eq(encrypted)
    end

    it "builds through build_workspace(v2_key:)" do
      ws = build_workspace(root: { "password" => MiqAutomate::Password.new(encrypted) }, v2_key: key_path)
      expect(ws.root.decrypt("password")).to eq("s3cret")
    end
  end

  describe "MiqAutomate::V2Key" do
    it "encrypts and decrypts as the gem, and never shows the key" do
      key = MiqAutomate::V2Key.load(key_path)
      expect(key.encrypt("s3cret")).to eq(encrypted)
      expect(key.encrypt("")).to eq("v2:{}")
      expect(key.decrypt(encrypted)).to eq("s3cret")
      expect { key.decrypt("s3cret") }
        .to raise_error(ManageIQ::Password::PasswordError, "cannot decrypt plaintext string")
      expect(key.inspect).to eq("#<MiqAutomate::V2Key #{key_path}>")
      expect(key.instance_variables).to eq([])
      [key.inspect, key.to_s].each { |shown| expect(shown).not_to include(key_text) }
    end

    it "names a missing or bad key file, never quoting it" do
      expect { MiqAutomate::V2Key.load(File.join(key_dir, "nope")) }
        .to raise_error(MiqAutomate::V2KeyError, /cannot read v2 key file .*nope/)
      Dir.mktmpdir do |dir|
        bad = File.join(dir, "v2_key")
        File.write(bad, ":algorithm: aes-256-cbc\n:key: c2hvcnQgYW5kIHNlY3JldA==\n")
        expect { MiqAutomate::Workspace.new(v2_key: bad) }.to raise_error(MiqAutomate::V2KeyError) do |e|
          expect(e.message).to eq("invalid v2 key file #{bad}: :key: decodes to 16 bytes; aes-256-cbc needs 32")
          expect(e).to be_a(MiqAutomate::Error)
        end
      end
      ENV["MIQ_V2_KEY"] = File.join(key_dir, "nope")
      expect { MiqAutomate::Workspace.new }.to raise_error(MiqAutomate::V2KeyError, /nope/)
    end
  end

  describe "MiqAutomate::Engine.new(v2_key:)" do
    # Domain Spec, class Demo/Creds: a password field and a method that decrypts it.
    def write_domain(dir)
      domain = File.join(dir, "Spec")
      klass = File.join(domain, "Demo", "Creds.class")
      FileUtils.mkdir_p(File.join(klass, "__methods__"))
      dump = lambda do |path, type, attributes, extra = {}|
        File.write(path, YAML.dump("object_type" => type, "version" => 1.0,
                                   "object" => { "attributes" => attributes }.merge(extra)))
      end
      dump.call(File.join(domain, "__domain__.yaml"), "domain", "name" => "Spec", "priority" => 10, "enabled" => true)
      dump.call(File.join(domain, "Demo", "__namespace__.yaml"), "namespace", "name" => "Demo")
      dump.call(File.join(klass, "__class__.yaml"), "class", { "name" => "Creds" },
                "schema" => [
                  { "field" => { "aetype" => "attribute", "name" => "password", "datatype" => "password", "priority" => 1 } },
                  { "field" => { "aetype" => "method", "name" => "execute", "datatype" => "string", "priority" => 2 } }
                ])
      { "good" => encrypted, "bogus" => "v2:{55555}" }.each do |instance, value|
        dump.call(File.join(klass, "#{instance}.yaml"), "instance", { "name" => instance },
                  "fields" => [{ "password" => { "value" => value } }, { "execute" => { "value" => "check" } }])
      end
      dump.call(File.join(klass, "__methods__", "check.yaml"), "method",
                "name" => "check", "language" => "ruby", "location" => "inline", "scope" => "instance")
      File.write(File.join(klass, "__methods__", "check.rb"), <<~RUBY)
        begin
          $evm.root["plain"] = $evm.object.decrypt("password")
          $evm.root["from_root"] = $evm.root.decrypt("root_password")
        rescue ManageIQ::Password::PasswordError => e
          $evm.root["error"] = "\#{e.class}: \#{e.message}"
        end
      RUBY
      domain
    end

    around do |example|
      Dir.mktmpdir do |dir|
        @domain = write_domain(dir)
        example.run
      end
    end

    let(:root) { { "root_password" => MiqAutomate::Password.new(encrypted) } }

    %i[vm process].each do |isolation|
      it "lets a method decrypt a datastore password and a root password (isolation: #{isolation})" do
        engine = MiqAutomate::Engine.new(datastore: @domain, v2_key: key_path, isolation: isolation)
        ws = engine.instantiate("/Demo/Creds/good", root: root)
        expect(ws.root["error"]).to be_nil
        expect(ws.root["plain"]).to eq("s3cret")
        expect(ws.root["from_root"]).to eq("s3cret")
      end

      it "raises ManageIQ::Password::PasswordError in the method for a bogus value (isolation: #{isolation})" do
        engine = MiqAutomate::Engine.new(datastore: @domain, v2_key: key_path, isolation: isolation)
        ws = engine.instantiate("/Demo/Creds/bogus", root: root)
        expect(ws.root["error"]).to eq("ManageIQ::Password::PasswordError: cannot decrypt encrypted string")
        expect(ws.logs.map(&:last).join("\n")).not_to include(key_text)
      end
    end

    it "without a key keeps today's behaviour" do
      ws = MiqAutomate::Engine.new(datastore: @domain).instantiate("/Demo/Creds/bogus", root: root)
      expect(ws.root["error"]).to be_nil
      expect(ws.root["plain"]).to eq("v2:{55555}")
      expect(ws.root["from_root"]).to eq(encrypted)
    end

    it "reads MIQ_V2_KEY when it is built, and builds through build_engine(v2_key:)" do
      ENV["MIQ_V2_KEY"] = key_path
      engine = MiqAutomate::Engine.new(datastore: @domain)
      ENV.delete("MIQ_V2_KEY")
      expect(engine.instantiate("/Demo/Creds/good", root: root).root["plain"]).to eq("s3cret")
      ws = build_engine(datastore: @domain, v2_key: key_path).instantiate("/Demo/Creds/good", root: root)
      expect(ws.root["plain"]).to eq("s3cret")
    end

    it "keeps the key in the workspaces of earlier deliveries" do
      engine = MiqAutomate::Engine.new(datastore: @domain, v2_key: key_path)
      # The first delivery retries once (a state var carries over the requeue).
      engine.stub("/Demo/Creds/again") do |evm|
        unless evm.state_var_exist?(:again)
          evm.set_state_var(:again, true)
          evm.root["ae_result"] = "retry"
          evm.root["ae_retry_interval"] = 1
        end
      end
      delivery = engine.deliver("/Demo/Creds/again", root: root)
      expect(delivery.deliveries.size).to eq(2)
      expect(delivery.deliveries.map { |d| d.workspace.root.decrypt("root_password") }).to eq(%w[s3cret s3cret])
    end

    it "refuses a key file it cannot read when it is built" do
      expect { MiqAutomate::Engine.new(datastore: @domain, v2_key: other_key_path + ".missing") }
        .to raise_error(MiqAutomate::V2KeyError, /cannot read v2 key file/)
    end
  end
end
