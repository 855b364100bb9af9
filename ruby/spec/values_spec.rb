# frozen_string_literal: true

RSpec.describe "values crossing into the workspace" do
  let(:ws) { MiqAutomate::Workspace.new }
  let(:root) { ws.evm.root }

  def round_trip(value)
    root["v"] = value
    root["v"]
  end

  it "keeps Ruby's core types exactly" do
    time = Time.at(1_700_000_000, 123_456_789, :nsec).utc
    local = Time.at(1_700_000_000, 5, :nsec).getlocal("+02:00")
    [
      "text", :sym, 42, -7, 2.5, true, false, nil, [1, "a", [:b]], { "a" => 1, b: [2] }, { 1 => nil },
      time, 2**64
    ].each do |value|
      expect(round_trip(value)).to eq(value)
      expect(round_trip(value).class).to eq(value.class)
    end
    expect(round_trip(local)).to eq(local)
    expect(round_trip(local).utc_offset).to eq(7200)
  end

  it "keeps bignums and any other object by reference" do
    big = 2**70
    double = Object.new
    expect(round_trip(big)).to equal(big)
    expect(round_trip(double)).to equal(double)
    list = round_trip([double, { key: double }])
    expect(list[0]).to equal(double)
    expect(list[1][:key]).to equal(double)
  end

  it "keeps rspec doubles by reference so stubs still apply" do
    prov = double("miq_provision", message: "m")
    root["miq_provision"] = prov
    expect(root["miq_provision"]).to equal(prov)
    expect(root["miq_provision"].message).to eq("m")
  end

  it "masks passwords on read and decrypts on request" do
    root["pw"] = MiqAutomate::Password.new("s3cret")
    expect(root["pw"]).to eq("********")
    expect(root.decrypt("pw")).to eq("s3cret")
    expect(root.attributes["pw"]).to eq("********")
    expect(ws.evm.instantiate("/A/B/C?password::pass=hidden").decrypt("pass")).to eq("hidden")
  end

  it "accepts a workspace object as a value" do
    obj = ws.evm.instantiate("/A/B/C")
    root["child"] = obj
    expect(root["child"]).to eq(obj)
  end
end
