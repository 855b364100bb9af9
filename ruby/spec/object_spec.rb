# frozen_string_literal: true

RSpec.describe MiqAutomate::Object do
  let(:ws) { MiqAutomate::Workspace.new(root: { "Name" => "root" }) }
  let(:evm) { ws.evm }

  it "downcases keys on read and write and lists attributes" do
    evm.root["VM_Name"] = "web01"
    expect(evm.root["vm_name"]).to eq("web01")
    expect(evm.root.attributes).to eq("name" => "root", "vm_name" => "web01")
  end

  it "knows its identity, parent and children" do
    a = evm.instantiate("/Dom/NS/Cls/A")
    b = evm.instantiate("/Dom/NS/Cls/B")
    expect([a.namespace, a.class_name, a.instance_name, a.name]).to eq(["Dom/NS", "Cls", "A", "/Dom/NS/Cls/A"])
    expect(evm.root.children).to eq([a, b])
    expect(evm.root.children("b")).to eq([b])
    expect(a.parent).to eq(evm.root)
    expect(evm.root.parent).to be_nil
    expect(a.inspect).to eq("#<MiqAutomate::Object /Dom/NS/Cls/A>")
    expect({ a => 1 }[evm.object("/Dom/NS/Cls/A")]).to eq(1)
  end

  it "cannot be created from Ruby" do
    expect { MiqAutomate::Object.new }.to raise_error(TypeError, /allocator undefined/)
  end

  it "rejects keys that are not names" do
    expect { evm.root[1] }.to raise_error(TypeError, /String or Symbol/)
  end
end
