# frozen_string_literal: true

# Builds miq_automate's native extension with cargo when the source gem is installed. This
# writes a Makefile (as mkmf would) whose targets call cargo, so no gem beyond RubyGems itself
# is needed. Needs Rust (cargo) and libclang (bindgen reads Ruby's headers); the crates come
# from crates.io (or a vendored/offline cargo setup). Set CARGO to use another cargo,
# CARGO_TARGET_DIR to share a build directory.

require "rbconfig"

root = File.expand_path("../..", __dir__)
cargo = ENV.fetch("CARGO", "cargo")
unless system(cargo, "--version", out: File::NULL, err: File::NULL)
  abort "miq_automate: building the native extension needs Rust's cargo on PATH (https://rustup.rs), " \
        "and libclang (Debian: apt-get install libclang-dev)"
end

target_dir = ENV.fetch("CARGO_TARGET_DIR") { File.join(Dir.pwd, "target") }
dlext = RbConfig::CONFIG["DLEXT"]
built = File.join(target_dir, "release", "libmiq_automate_ruby.#{RbConfig::CONFIG["host_os"] =~ /darwin/ ? "dylib" : "so"}")

File.write("Makefile", <<~MAKE)
  # Written by extconf.rb: the extension is built by cargo.
  CARGO = #{cargo}
  RUBY = #{RbConfig.ruby}
  sitearchdir = #{RbConfig::CONFIG["sitearchdir"]}
  DLLIB = miq_automate.#{dlext}

  all: $(DLLIB)

  $(DLLIB):
  \tRUBY=$(RUBY) CARGO_TARGET_DIR=#{target_dir} $(CARGO) build --release --locked --manifest-path #{File.join(root, "Cargo.toml")} -p miq-automate-ruby
  \tcp #{built} $(DLLIB)

  install: $(DLLIB)
  \tmkdir -p $(sitearchdir)/miq_automate
  \tcp $(DLLIB) $(sitearchdir)/miq_automate/$(DLLIB)

  clean:
  \trm -f $(DLLIB)

  .PHONY: all install clean
MAKE
