# frozen_string_literal: true

require "json"
require "time"
require "date"

module MiqAutomate
  # A trace document that cannot be read or replayed (the message names the place).
  class TraceError < StandardError; end

  # The trace file a MiqAutomate::Recorder writes and MiqAutomate::Workspace.replay reads:
  # one JSON document (format "miq-automate-trace", version 1; see the CLI's
  # README-trace-section.md). Pure Ruby, so a recorder runs where only the gem's Ruby files
  # can be loaded (an appliance without the native extension).
  #
  # Values are in the core's JSON form (README "Values"): JSON types as themselves,
  # `{"$symbol": "x"}`, `{"$time": "…"}`, `{"$float": "NaN"}`, `{"$password": "********"}`,
  # `{"$hash": [[k, v], …]}` for hashes with non-String keys; an object handed out by `$evm`
  # (a DRb proxy, a service model) is `{"$foreign": {"id": HANDLE, "label": "miq_provision"}}`
  # with HANDLE described in the document's "handles" (kind, model name, id, how it was reached);
  # `id` 0 is a local value that is no handle (a Date, …) described by its label.
  module Trace
    FORMAT = "miq-automate-trace"
    VERSION = 1
    MASK = "********"

    # Option and attribute keys whose values are secrets (a key matches when its downcased
    # text contains one of these); `secret_keys:` adds more.
    DEFAULT_SECRET_KEYS = %w[password token secret api_key].freeze

    # Class names whose instances hold a secret (ManageIQ's Password type and ours).
    PASSWORD_CLASSES = %w[MiqAutomate::Password ManageIQ::Password MiqPassword].freeze

    # The core's masking (miq_automate_core::log::sanitize), in Ruby: `v2:{…}` tokens (any key
    # version, also URL-encoded) and the value of every `password::` argument.
    ENCRYPTED = /v\d+:\{[^}]*\}|v\d+%3[Aa]%7[Bb].*?%7[Dd]/.freeze
    PASSWORD_ARG = /password(?:::|%3A%3A)/i.freeze
    QUICK = %r{v\d+(?::\{|%3[Aa]%7[Bb])|password|authorization|://}i.freeze
    ENDS_VALUE = /[&"'\x1F[[:space:]]]/.freeze
    # `scheme://user:pass@` (the password runs to the last `@` before the host).
    USERINFO = %r{([A-Za-z][A-Za-z0-9+.-]*://[^\s/?\#@:]*:)[^\s/?\#]*@}.freeze
    # `Authorization: Basic …`, `"Authorization"=>"Bearer …"`.
    AUTHORIZATION = /(authorization["']?\s*(?:=>|:|=)\s*["']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?)[^\s"',&;}]+/i.freeze
    # `password=…`, `password: …`, `"password"=>"…"`, `"db_password":"…"`.
    PASSWORD_PAIR = /password(["']?)\s*(=>|:|=)\s*(["']?)/i.freeze
    PAIR_ENDS = /[[:space:]&"',;})\]\x1F]/.freeze

    Error = TraceError

    module_function

    # A path with a query (`/X?…`, `miqaedb:/X?…`): its `password::` values run to the next `&`.
    URI_TEXT = %r{\A(?:[A-Za-z][A-Za-z0-9+.-]*:)?/[^\s?]*\?}.freeze

    # Text with secrets replaced by ********, as the core's `sanitize` does.
    def sanitize(text, ends_value = ENDS_VALUE)
      return text unless text.match?(QUICK)

      out = +""
      copied = 0
      pos = 0
      while (found = PASSWORD_ARG.match(text, pos))
        start = found.begin(0)
        stop = found.end(0)
        pos = stop
        next if start < copied || !starts_argument?(text, start)

        rest = text[stop..]
        region = rest[0, rest.index(ends_value) || rest.size]
        before = text[0, start]
        element = before.end_with?("=", "\x1F") || before[-3..].to_s.casecmp?("%1f")
        eq = region.index("=")
        keep = eq && !element ? eq + 1 : 0
        out << text[copied...stop] << region[0, keep]
        out << MASK if keep < region.size
        copied = stop + region.size
      end
      out << text[copied..]
      out = out.gsub(ENCRYPTED, MASK)
      out = out.gsub(USERINFO) { "#{Regexp.last_match(1)}#{MASK}@" }
      out = out.gsub(AUTHORIZATION) { "#{Regexp.last_match(1)}#{MASK}" }
      mask_pairs(out)
    end

    # The core's `sanitize_uri`: for the text of a URI, whose `password::` argument's value
    # runs to the next `&` (spaces and quotes included, as `query_to_hash` splits it).
    def sanitize_uri(text)
      sanitize(text, /&/)
    end

    # A recorded String: a URI with a query as a URI, any other text as text.
    def sanitize_value(text)
      text.match?(URI_TEXT) ? sanitize_uri(text) : sanitize(text)
    end

    # Whether `password::` at `start` can be a typed argument: not inside a Ruby constant
    # path (`ManageIQ::Password::PasswordError`) or a longer name (`MiqPassword::`), which
    # an argument never is (it follows `?`, `&`, `=`, a separator, or an escape like `%1F`).
    def starts_argument?(text, start)
      return true if start.zero?

      last = text[start - 1]
      return false if last == ":"
      return true unless last.match?(/[[:alnum:]_]/)

      start >= 3 && text[start - 3] == "%" && text[start - 2, 2].match?(/\A\h\h\z/)
    end

    # Masks the value of every `password=…` / `password: …` pair (a quoted value up to its
    # closing quote); a `password::` argument is not a pair.
    def mask_pairs(text)
      out = +""
      copied = 0
      pos = 0
      while (found = PASSWORD_PAIR.match(text, pos))
        start = found.begin(0)
        stop = found.end(0)
        pos = stop
        next if start < copied

        after = text[stop..]
        next if found[2] == ":" && found[1].empty? && found[3].empty? && after.start_with?(":")

        len = found[3].empty? ? (after.index(PAIR_ENDS) || after.size) : (after.index(found[3]) || after.size)
        next if len.zero?

        out << text[copied...stop] << MASK
        copied = stop + len
      end
      out << text[copied..]
    end

    # A Regexp matching the secret keys (defaults + extra), case-insensitive.
    def secret_key_pattern(extra = [])
      words = (DEFAULT_SECRET_KEYS + Array(extra).map(&:to_s)).reject(&:empty?).uniq
      Regexp.union(words.map { |w| /#{Regexp.escape(w)}/i })
    end

    def password?(value)
      # Never a method call on a proxy (BasicObject) or a DRb reference: no round trip, nothing recorded.
      return false unless ::Object === value
      return false if defined?(::DRb::DRbObject) && ::DRb::DRbObject === value

      name = value.class.name
      return true if PASSWORD_CLASSES.include?(name)

      # A password marshalled over DRb whose class the method's process cannot load.
      defined?(::DRb::DRbUnknown) && value.is_a?(::DRb::DRbUnknown) && PASSWORD_CLASSES.include?(value.name.to_s)
    end

    # Writes `doc` to `path` atomically (a temp file beside it, then rename).
    def write(path, doc)
      text = JSON.pretty_generate(doc)
      tmp = "#{path}.tmp-#{Process.pid}-#{Thread.current.object_id}"
      # Created here, never followed: a file or symlink planted at that name is an error.
      file = File.open(tmp, File::CREAT | File::EXCL | File::WRONLY, 0o600)
      created = true
      begin
        file.write(text)
        file.write("\n")
        file.flush
        file.fsync
      ensure
        file.close
      end
      File.rename(tmp, path)
      created = false
      path
    ensure
      File.unlink(tmp) if created && File.exist?(tmp)
    end

    # Reads and checks a trace document.
    def load(path)
      doc = JSON.parse(File.read(path))
      unless doc.is_a?(Hash) && doc["format"] == FORMAT
        raise Error, "#{path} is not a miq-automate trace (no \"format\": #{FORMAT.inspect})"
      end
      unless doc["version"] == VERSION
        raise Error, "#{path}: trace version #{doc['version'].inspect} is not supported (this library reads #{VERSION})"
      end
      check!(doc, path)
    rescue JSON::ParserError => e
      raise Error, "#{path} is not valid JSON: #{e.message.lines.first&.strip}"
    end

    # The document when its calls and handles have the shape a replay reads; else a
    # TraceError naming the place (`calls[0]`, `handles[2].handle`).
    def check!(doc, source = "(trace)")
      raise TraceError, "#{source}: a trace is a JSON object, not #{doc.class}" unless doc.is_a?(Hash)

      calls = doc["calls"]
      raise TraceError, "#{source}: \"calls\" must be a list" unless calls.is_a?(Array)

      calls.each_with_index do |call, i|
        raise TraceError, "#{source}: calls[#{i}] must be an object, not #{call.inspect[0, 40]}" unless call.is_a?(Hash)
        raise TraceError, "#{source}: calls[#{i}].receiver must be an integer" unless call["receiver"].is_a?(Integer)
        raise TraceError, "#{source}: calls[#{i}].method must be a string" unless call["method"].is_a?(String)
        raise TraceError, "#{source}: calls[#{i}].args must be a list" unless call["args"].is_a?(Array)
        raise TraceError, "#{source}: calls[#{i}].yields must be a list" unless call["yields"].nil? || call["yields"].is_a?(Array)
        raised = call["raised"]
        raise TraceError, "#{source}: calls[#{i}].raised must be an object" unless raised.nil? || raised.is_a?(Hash)
      end
      handles = doc["handles"]
      raise TraceError, "#{source}: \"handles\" must be a list" unless handles.nil? || handles.is_a?(Array)

      Array(handles).each_with_index do |h, i|
        raise TraceError, "#{source}: handles[#{i}] must be an object, not #{h.inspect[0, 40]}" unless h.is_a?(Hash)
        raise TraceError, "#{source}: handles[#{i}].handle must be an integer" unless h["handle"].is_a?(Integer)
      end
      outcome = doc["outcome"]
      raise TraceError, "#{source}: \"outcome\" must be an object" unless outcome.nil? || outcome.is_a?(Hash)

      doc
    end

    # A compact, readable form of an encoded call for messages: `miq_provision#1.message=("x")`.
    def describe_call(label, method, args)
      shown = Array(args).map { |a| show(a) }.join(", ")
      name = method.to_s
      case name
      when "[]" then "#{label}[#{shown}]"
      when "[]=" then "#{label}[#{Array(args).first(1).map { |a| show(a) }.join}] = #{Array(args)[1..].to_a.map { |a| show(a) }.join(', ')}"
      else "#{label}.#{name}(#{shown})"
      end
    end

    # An encoded value shown briefly (handles as their label and id).
    def show(json)
      case json
      when Hash
        if json.size == 1 && json.keys.first.start_with?("$")
          tag, inner = json.first
          case tag
          when "$symbol" then ":#{inner}"
          when "$foreign" then inner["id"].to_i.zero? ? "#<#{inner['label']}>" : "#{inner['label']}(handle #{inner['id']})"
          when "$password" then MASK.inspect
          when "$time" then "Time(#{inner})"
          when "$hash" then "{#{Array(inner).map { |k, v| "#{show(k)} => #{show(v)}" }.join(', ')}}"
          else JSON.generate(json)
          end
        else
          "{#{json.map { |k, v| "#{k.inspect} => #{show(v)}" }.join(', ')}}"
        end
      when Array then "[#{json.map { |v| show(v) }.join(', ')}]"
      else json.inspect
      end
    end

    # Encodes Ruby values into the core's JSON form, masking secrets. `handle_of` gives the
    # handle id and label of a recorded object (or nil when the value is no handle).
    class Encoder
      MAX_DEPTH = 100

      attr_reader :secrets

      def initialize(secret_keys: [], handle_of: nil)
        @key_pattern = Trace.secret_key_pattern(secret_keys)
        @key_cache = {}
        @handle_of = handle_of
        @secrets = {} # plaintexts seen under secret keys: replaced wherever they appear
      end

      def secret_key?(key)
        text = Symbol === key || String === key ? key.to_s : nil
        return false if text.nil?

        cached = @key_cache[text]
        return cached unless cached.nil?

        @key_cache[text] = text.match?(@key_pattern)
      end

      # Encodes one call: args and answer, with the per-call secret rules:
      # `decrypt` answers and anything read or written under a secret key are masked.
      def call(method, args)
        name = method.to_s
        masked_name = name == "decrypt" || secret_key?(name.delete_suffix("="))
        key_secret = !args.empty? && secret_key?(args[0])
        enc_args = args.each_with_index.map do |a, i|
          (masked_name && name != "decrypt") || (key_secret && i.positive?) ? mask(a) : encode(a)
        end
        [enc_args, masked_name || key_secret]
      end

      def answer(value, secret)
        secret ? mask(value) : encode(value)
      end

      # The masked form of a secret value (nil stays nil), remembering a String's plaintext.
      def mask(value)
        case value
        when nil then nil
        when String
          @secrets[value] = true if value.size >= 4 && value != MASK
          MASK
        when Integer, Float
          # a pin is often a number: its text is remembered like a String's
          @secrets[value.to_s] = true if value.to_s.size >= 4
          MASK
        when Array then value.map { |v| mask(v) }
        when Hash then value.each_with_object({}) { |(k, v), h| h[k.to_s] = mask(v) }
        else
          if handle(value)
            encode(value)
          elsif Trace.password?(value)
            remember_password(value)
            { "$password" => MASK }
          else
            MASK
          end
        end
      end

      def encode(value, depth = 0)
        case value
        when nil, true, false then value
        when String then Trace.sanitize_value(value.encoding == Encoding::UTF_8 || value.ascii_only? ? value : value.dup.force_encoding(Encoding::UTF_8).scrub)
        when Symbol then { "$symbol" => value.to_s }
        when Integer
          value.bit_length < 64 ? value : { "$foreign" => { "id" => 0, "label" => "Integer #{value}" } }
        when Float
          value.finite? ? value : { "$float" => value.nan? ? "NaN" : (value.positive? ? "Infinity" : "-Infinity") }
        when Array
          return { "$too_deep" => MAX_DEPTH } if depth >= MAX_DEPTH

          value.map { |v| encode(v, depth + 1) }
        when Hash
          return { "$too_deep" => MAX_DEPTH } if depth >= MAX_DEPTH

          encode_hash(value, depth)
        else encode_other(value)
        end
      end

      private

      def encode_hash(hash, depth)
        plain = hash.each_key.all? { |k| String === k && !k.start_with?("$") }
        if plain
          hash.each_with_object({}) do |(k, v), out|
            out[k] = secret_key?(k) ? mask(v) : encode(v, depth + 1)
          end
        else
          { "$hash" => hash.map { |k, v| [encode(k, depth + 1), secret_key?(k) ? mask(v) : encode(v, depth + 1)] } }
        end
      end

      def encode_other(value)
        if (h = handle(value))
          { "$foreign" => { "id" => h[0], "label" => h[1] } }
        elsif Trace.password?(value)
          remember_password(value)
          { "$password" => MASK }
        elsif ::Time === value
          { "$time" => value.iso8601(value.subsec.zero? ? 0 : 6) }
        elsif DateTime === value
          { "$foreign" => { "id" => 0, "label" => "DateTime #{value.iso8601}" } }
        elsif Date === value
          { "$foreign" => { "id" => 0, "label" => "Date #{value.iso8601}" } }
        else
          { "$foreign" => { "id" => 0, "label" => ::Object === value ? value.class.name.to_s : "BasicObject" } }
        end
      end

      def handle(value)
        @handle_of&.call(value)
      end

      def remember_password(value)
        return unless value.class.name == "MiqAutomate::Password"

        plain = value.decrypt.to_s
        @secrets[plain] = true if plain.size >= 4
      end
    end

    STRUCTURAL = %w[seq receiver handle id code version].freeze

    # Replaces every known secret plaintext in the Strings of an encoded document.
    def scrub_secrets(json, secrets)
      return json if secrets.empty?

      pattern = Regexp.union(secrets.keys.sort_by { |s| -s.size })
      scrub = lambda do |v|
        case v
        when String then v.gsub(pattern, MASK)
        when Integer, Float then secrets.key?(v.to_s) ? MASK : v
        when Array then v.map { |x| scrub.call(x) }
        when Hash
          # the document's own numbers (sequence, handles, exit code) are no secret
          v.to_h { |k, x| [k.is_a?(String) ? k.gsub(pattern, MASK) : k, STRUCTURAL.include?(k) ? x : scrub.call(x)] }
        else v
        end
      end
      scrub.call(json)
    end
  end
end
