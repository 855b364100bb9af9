# frozen_string_literal: true

# Every method the native extension exposes to Ruby runs inside the panic guard, so a Rust
# panic becomes MiqAutomate::InternalError and never Ruby's `fatal`. This lists every native
# method Ruby sees, finds where the extension registers it, and checks that the Rust function
# behind it goes through `guard(`.
RSpec.describe "the extension's entry points" do
  src = File.expand_path("../../crates/ruby/src", __dir__)

  # [owner description, method name, rust function, file] for each registration.
  registrations = Dir[File.join(src, "**/*.rs")].flat_map do |file|
    File.read(file).scan(/define_(?:singleton_|private_)?method\(\s*"([^"]+)"\s*,\s*(?:magnus::)?(?:method|function)!\(\s*([\w:]+)\s*,/m)
        .map { |name, function| [name, function.split("::").last, file] }
  end

  # Native methods (no Ruby source) defined on MiqAutomate's classes and modules.
  def self.native_methods
    seen = {}
    walk = lambda do |mod|
      next if seen[mod]

      seen[mod] = true
      # A Struct's accessors and its class methods are Ruby's own C code, not the extension's.
      next if mod.is_a?(Class) && mod < Struct

      owners = [mod, mod.singleton_class]
      owners.each do |owner|
        (owner.instance_methods(false) + owner.private_instance_methods(false)).each do |m|
          meth = owner.instance_method(m)
          yield [mod.name, (owner == mod ? "#" : "."), m.to_s] if meth.source_location.nil? && meth.owner == owner
        end
      end
      mod.constants.each do |c|
        value = mod.const_get(c)
        walk.call(value) if value.is_a?(Module) && value.name&.start_with?("MiqAutomate")
      end
    end
    walk.call(MiqAutomate)
  end

  it "finds where each native method is registered" do
    skip "not in a source checkout" unless File.directory?(src)

    registered = registrations.map(&:first).uniq
    missing = []
    self.class.native_methods { |owner, sep, name| missing << "#{owner}#{sep}#{name}" unless registered.include?(name) }
    expect(missing).to eq([])
    expect(registrations.size).to be > 60
  end

  it "runs every registered function inside guard" do
    skip "not in a source checkout" unless File.directory?(src)

    unguarded = registrations.reject do |name, function, file|
      text = File.read(file)
      start = text =~ /^(?:pub(?:\(crate\))?\s+)?fn\s+#{Regexp.escape(function)}\b/
      raise "fn #{function} (for #{name}) not found in #{file}" unless start

      body = text[start..][/\A.*?^\}\s*$/m]
      body.include?("guard(")
    end
    expect(unguarded.map { |name, function, file| "#{name} -> #{File.basename(file)}:#{function}" }).to eq([])
  end
end
