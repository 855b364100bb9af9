# frozen_string_literal: true

require "json"
require "tempfile"

# Starts the project's mock ManageIQ (`miq-automate mock-server`) on 127.0.0.1 for a scenario.
module MockManageIQ
  ROOT = File.expand_path("../../..", __dir__)

  def self.binary
    ENV.fetch("MIQ_AUTOMATE_BIN") { File.join(ROOT, "target/release/miq-automate") }.tap do |bin|
      raise "#{bin} is missing: run `make build` (or set MIQ_AUTOMATE_BIN)" unless File.executable?(bin)
    end
  end

  # Yields the base URL; `faults` are added to failed_bundle.json.
  def self.serve(scenario: "failed_bundle.json", faults: nil)
    path = File.join(ROOT, "mocks", scenario)
    if faults
      data = JSON.parse(File.read(path))
      data["faults"] = faults
      file = Tempfile.new(["scenario", ".json"])
      file.write(JSON.generate(data))
      file.close
      path = file.path
    end
    io = IO.popen([binary, "mock-server", "--scenario", path, "--port", "0"], err: File::NULL)
    url = io.gets.to_s.strip
    raise "the mock did not start" if url.empty?

    yield url
  ensure
    if io
      Process.kill(:TERM, io.pid)
      io.close
    end
    file&.unlink
  end
end
