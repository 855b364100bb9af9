# frozen_string_literal: true

require "drb/drb"

# Serves an object built by the block from a child process on a loopback port, as
# ManageIQ's worker serves `$evm` to the method's process; yields the client-side proxy.
# Every call on it crosses a socket.
module DrbFork
  def self.serve(build)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      DRb.start_service("druby://127.0.0.1:0", build.call)
      writer.puts(DRb.uri)
      writer.close
      DRb.thread.join
    end
    writer.close
    uri = reader.gets.to_s.strip
    reader.close
    raise "the DRb server did not start" if uri.empty?

    DRb.start_service("druby://127.0.0.1:0") unless DRb.primary_server
    yield DRbObject.new_with_uri(uri)
  ensure
    if pid
      # KILL, not TERM: a test server must never keep the suite waiting.
      Process.kill(:KILL, pid)
      Process.wait(pid)
    end
  end
end
