# {{CLASS_PATH}}: the whole state machine, delivered by the offline engine with its real
# methods on the world worlds/{{CLASS}}.json, on a virtual clock (retries take no time).
require "json"
require "tmpdir"
require_relative "spec_helper"

RSpec.describe "{{CLASS_PATH}}/default" do
  let(:world) { File.join(DOMAIN_DIR, "worlds/{{CLASS}}.json") }
  let(:engine) { build_engine(datastore: DOMAIN_DIR, world: world) }

  it "powers the VM on and waits until it is on" do
    delivery = deliver(engine, "{{CLASS_PATH}}/default")
    expect(delivery).to have_ae_result("ok")
    expect(delivery).to have_passed_states(%w[Prepare WaitForReady Finish])
    # On 90 s after the start, checked every 30 s: 3 retries.
    expect(delivery).to have_retried(3).in_state("WaitForReady")
    expect(delivery.logs.map(&:last)).to include(a_string_ending_with("VM [web01] is ready"))
  end

  context "when the VM never comes up" do
    # The same world with a power-on that takes a day.
    let(:world) do
      doc = JSON.parse(File.read(File.join(DOMAIN_DIR, "worlds/{{CLASS}}.json")))
      doc["behaviour"]["power"]["after"] = 86_400
      path = File.join(Dir.mktmpdir, "slow.json")
      File.write(path, JSON.generate(doc))
      path
    end

    it "gives up after max_retries" do
      delivery = deliver(engine, "{{CLASS_PATH}}/default")
      expect(delivery).to have_ae_result("error")
      # The first try and its 10 retries all answered retry; the 11th retry is refused.
      expect(delivery).to have_retried(11).in_state("WaitForReady")
      expect(delivery.logs.map(&:last)).to include(a_string_including("exceeded maximum of <10>"))
    end
  end
end
