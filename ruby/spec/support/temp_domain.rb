# frozen_string_literal: true

require "fileutils"
require "tmpdir"
require "yaml"

# Writes a small domain export for a spec: domain `Spec`, namespace `Demo`, class `Run`
# with one method field `execute` and, for each method given, an inline Ruby method and an
# instance of the same name that runs it (`/Demo/Run/<name>`). Returns the domain's dir.
#
#   dir = TempDomain.write(tmp, "a" => "$evm.root['x'] = 1", "b" => "...")
#   engine = MiqAutomate::Engine.new(datastore: dir)
#   engine.instantiate("/Demo/Run/a")
module TempDomain
  module_function

  def write(parent, methods, name: "Spec")
    domain = File.join(parent, name)
    klass = File.join(domain, "Demo", "Run.class")
    FileUtils.mkdir_p(File.join(klass, "__methods__"))
    dump(File.join(domain, "__domain__.yaml"), "domain", "name" => name, "priority" => 10, "enabled" => true)
    dump(File.join(domain, "Demo", "__namespace__.yaml"), "namespace", "name" => "Demo")
    dump(File.join(klass, "__class__.yaml"), "class", { "name" => "Run" },
         "schema" => [{ "field" => { "aetype" => "method", "name" => "execute", "datatype" => "string", "priority" => 1 } }])
    methods.each do |method, source|
      dump(File.join(klass, "#{method}.yaml"), "instance", { "name" => method },
           "fields" => [{ "execute" => { "value" => method } }])
      dump(File.join(klass, "__methods__", "#{method}.yaml"), "method",
           "name" => method, "language" => "ruby", "location" => "inline", "scope" => "instance")
      File.write(File.join(klass, "__methods__", "#{method}.rb"), source)
    end
    domain
  end

  def dump(path, type, attributes, extra = {})
    File.write(path, YAML.dump("object_type" => type, "version" => 1.0, "object" => { "attributes" => attributes }.merge(extra)))
  end
end
