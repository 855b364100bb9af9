# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

# Every ```ruby, ```sh, ```bash and ```console block of README.md and docs/**/*.md runs, from
# the repository root, so the documentation cannot drift from the code:
# - a Ruby block with `ruby -I ruby/lib`, or, when it holds `RSpec.describe`, as a spec file
#   with `rspec -I ruby/lib`;
# - a shell block with `bash -e`, `target/release/miq-automate` first on PATH (`make rspec`
#   builds it); a console block runs its `$ ` lines the same way.
# Each is bounded by a timeout (MIQ_SNIPPET_TIMEOUT seconds, 30 by default; every block is
# meant to take well under 10). A block that is not meant to run has, on the line just
# before its fence, `<!-- snippet: skip (the reason) -->`: it is reported as pending with
# that reason, and the skipped blocks are listed at the end of the run.
module DocSnippets
  ROOT = File.expand_path("../..", __dir__)
  LANGS = { "ruby" => :ruby, "sh" => :shell, "bash" => :shell, "console" => :console }.freeze
  SKIP = /\A<!-- snippet: skip \((?<reason>[^)].*)\) -->\z/
  MARKER = /\A<!-- snippet:/
  TIMEOUT = Float(ENV.fetch("MIQ_SNIPPET_TIMEOUT", "30"))
  BIN_DIR = File.join(ROOT, "target", "release")

  Block = Struct.new(:file, :line, :lang, :code, :skip, keyword_init: true) do
    def name = "#{DocSnippets.relative(file)}:#{line} (#{lang})"
    def spec? = lang == :ruby && code.match?(/^\s*RSpec\.describe\b/)
  end

  module_function

  def relative(path) = path.delete_prefix("#{ROOT}/")

  def files
    [File.join(ROOT, "README.md"), *Dir.glob(File.join(ROOT, "docs", "**", "*.md")).sort]
  end

  # The fenced blocks of a Markdown file in a language that runs, with the skip marker of
  # the line before each. A fence may be indented (inside a list item): its indentation is
  # taken off the block's lines.
  def blocks(file)
    lines = File.readlines(file, chomp: true)
    found = []
    i = 0
    while i < lines.size
      open = lines[i].match(/\A(?<indent> *)(?<fence>`{3,}|~{3,})(?<lang>[^`\s]*)\s*\z/)
      unless open
        i += 1
        next
      end
      start = i
      close = /\A *#{Regexp.escape(open[:fence])}\s*\z/
      body = []
      i += 1
      while i < lines.size && !lines[i].match?(close)
        body << lines[i].sub(/\A {0,#{open[:indent].size}}/, "")
        i += 1
      end
      i += 1
      lang = LANGS[open[:lang]]
      next unless lang

      before = start.positive? ? lines[start - 1].strip : ""
      found << Block.new(file: file, line: start + 1, lang: lang, code: "#{body.join("\n")}\n",
                         skip: before[SKIP, :reason])
    end
    found
  end

  # Skip markers that do not stand on the line just before a fenced block, or have no
  # reason: each is a mistake (a block thought skipped that runs, or a marker left behind).
  def stray_markers(file)
    lines = File.readlines(file, chomp: true)
    lines.each_with_index.filter_map do |line, i|
      next unless line.match?(MARKER)

      problem = if !line.strip.match?(SKIP)
                  "not `<!-- snippet: skip (reason) -->`"
                elsif !lines[i + 1].to_s.match?(/\A *(`{3,}|~{3,})\S+/)
                  "not on the line just before a fenced block"
                end
      "#{relative(file)}:#{i + 1}: #{problem}" if problem
    end
  end

  # Runs a block; returns [status, output]. nil status: it timed out (its process group was
  # ended).
  def run(block)
    Dir.mktmpdir("doc-snippet-") do |dir|
      command =
        case block.lang
        when :ruby
          path = File.join(dir, block.spec? ? "snippet_spec.rb" : "snippet.rb")
          File.write(path, block.code)
          block.spec? ? ["rspec", "-I", "ruby/lib", path] : [RbConfig.ruby, "-I", "ruby/lib", path]
        else
          code = block.code
          code = code.lines.grep(/\A\$ /).map { |l| l.delete_prefix("$ ") }.join if block.lang == :console
          path = File.join(dir, "snippet.sh")
          File.write(path, code)
          ["bash", "-e", path]
        end
      out = File.join(dir, "output")
      env = { "PATH" => "#{BIN_DIR}:#{ENV.fetch('PATH', '')}", "TMPDIR" => dir, "NO_COLOR" => "1" }
      pid = Process.spawn(env, *command, chdir: ROOT, in: File::NULL, %i[out err] => [out, "w"], pgroup: true)
      status = wait(pid, TIMEOUT)
      [status, File.exist?(out) ? File.read(out) : ""]
    end
  end

  def wait(pid, seconds)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    loop do
      _, status = Process.waitpid2(pid, Process::WNOHANG)
      return status if status

      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        kill(pid)
        return nil
      end
      sleep 0.02
    end
  end

  def kill(pid)
    %w[TERM KILL].each do |signal|
      Process.kill(signal, -pid)
      sleep 0.5 unless Process.waitpid(pid, Process::WNOHANG)
    rescue Errno::ESRCH, Errno::ECHILD
      break
    end
    begin
      Process.kill("KILL", -pid) # anything left in its group
    rescue Errno::ESRCH
      nil
    end
  end

  def tail(text, lines = 60) = text.lines.last(lines).join
end

RSpec.describe "The documentation's snippets (README.md, docs/)" do
  files = DocSnippets.files
  all = files.flat_map { |f| DocSnippets.blocks(f) }
  skipped = all.select(&:skip)

  after(:context) do
    next if skipped.empty?

    list = skipped.map { |b| "  #{b.name}: #{b.skip}" }.join("\n")
    RSpec.configuration.reporter.message(
      "\nDoc snippets: #{all.size - skipped.size} run, #{skipped.size} skipped:\n#{list}"
    )
  end

  it "finds the README's blocks and a page of docs/" do
    expect(files.map { |f| DocSnippets.relative(f) }).to include("README.md", a_string_starting_with("docs/"))
    expect(all.count { |b| b.file.end_with?("/README.md") }).to be >= 3
  end

  it "has every skip marker on the line just before a block, with its reason" do
    expect(files.flat_map { |f| DocSnippets.stray_markers(f) }).to eq([])
  end

  files.each do |file|
    context DocSnippets.relative(file) do
      DocSnippets.blocks(file).each do |block|
        it "runs the block at line #{block.line} (#{block.lang})" do
          skip(block.skip) if block.skip
          if block.lang != :ruby && !File.executable?(File.join(DocSnippets::BIN_DIR, "miq-automate"))
            raise "target/release/miq-automate is not built: cargo build --release -p miq-automate-cli (make rspec does)"
          end

          status, output = DocSnippets.run(block)
          expect(status).not_to be_nil,
                                "#{block.name} took more than #{DocSnippets::TIMEOUT} s and was ended:\n#{DocSnippets.tail(output)}"
          expect(status.success?).to be(true),
                                     "#{block.name} failed (#{status}):\n#{block.code}\n--- output ---\n#{DocSnippets.tail(output)}"
        end
      end
    end
  end
end
