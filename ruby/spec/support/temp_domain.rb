# frozen_string_literal: true

require "fileutils"
require "tmpdir"
require "yaml"

# Writes small domain exports for specs.
#
#   dir = TempDomain.write(tmp, { "a" => "$evm.root['x'] = 1", "b" => "..." })
#   engine = MiqAutomate::Engine.new(datastore: dir)
#   engine.instantiate("/Demo/Run/a")
#
# `write` gives domain `Spec`, namespace `Demo`, class `Run` with one method field
# `execute` and, for each method given, an inline Ruby method and an instance of the same
# name that runs it (`/Demo/Run/<name>`). `klass` writes any class into a domain:
#
#   TempDomain.klass(domain, "Demo/Check", schema: [{ "name" => "guard", "aetype" => "assertion" }],
#                    instances: { "one" => { "guard" => "true" } }, methods: { "m" => "..." })
module TempDomain
  module_function

  def write(parent, methods, name: "Spec")
    domain = domain(parent, name)
    klass(domain, "Demo/Run", schema: [{ "aetype" => "method", "name" => "execute" }],
                              instances: methods.keys.to_h { |m| [m, { "execute" => m }] },
                              methods: methods)
    domain
  end

  # A domain directory with its __domain__.yaml (priority 10, enabled).
  def domain(parent, name, priority: 10)
    domain = File.join(parent, name)
    FileUtils.mkdir_p(domain)
    dump(File.join(domain, "__domain__.yaml"), "domain", "name" => name, "priority" => priority, "enabled" => true)
    domain
  end

  # A class `path` ("Ns/Sub/Class") in `domain` with its schema fields (each a Hash of
  # field keys: name, aetype, datatype, default_value, on_entry…), instances ({name =>
  # {field => value}}) and inline Ruby methods ({name => source}, or {name => [source,
  # {method yaml extras: "inputs" => [...], "embedded_methods" => [...]}]}).
  def klass(domain, path, schema: [], instances: {}, methods: {})
    *namespaces, name = path.split("/")
    dir = domain
    namespaces.each do |ns|
      dir = File.join(dir, ns)
      FileUtils.mkdir_p(dir)
      ns_file = File.join(dir, "__namespace__.yaml")
      dump(ns_file, "namespace", "name" => ns) unless File.exist?(ns_file)
    end
    klass = File.join(dir, "#{name}.class")
    FileUtils.mkdir_p(File.join(klass, "__methods__"))
    fields = schema.each_with_index.map do |field, i|
      { "field" => { "aetype" => "attribute", "datatype" => "string", "priority" => i + 1 }.merge(field) }
    end
    dump(File.join(klass, "__class__.yaml"), "class", { "name" => name }, "schema" => fields)
    instances.each do |instance, values|
      dump(File.join(klass, "#{instance}.yaml"), "instance", { "name" => instance },
           "fields" => values.map { |field, value| { field => value.is_a?(Hash) ? value : { "value" => value } } })
    end
    methods.each do |method, (source, extra)|
      dump(File.join(klass, "__methods__", "#{method}.yaml"), "method",
           { "name" => method, "language" => "ruby", "location" => "inline", "scope" => "instance" }
             .merge((extra || {}).reject { |k, _| k == "inputs" }),
           extra&.key?("inputs") ? { "inputs" => extra["inputs"].map { |f| { "field" => f } } } : {})
      File.write(File.join(klass, "__methods__", "#{method}.rb"), source)
    end
    klass
  end

  def dump(path, type, attributes, extra = {})
    File.write(path, YAML.dump("object_type" => type, "version" => 1.0, "object" => { "attributes" => attributes }.merge(extra)))
  end
end
