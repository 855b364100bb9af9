# frozen_string_literal: true

module MiqAutomate
  # A password attribute value: reads as "********" everywhere but #decrypt.
  class Password
    MASK = "********"

    def initialize(plaintext)
      @plaintext = plaintext.to_s.dup.freeze
    end

    def decrypt
      @plaintext
    end

    def to_s
      MASK
    end

    def inspect
      MASK.inspect
    end

    def ==(other)
      other.is_a?(Password) && other.decrypt == @plaintext
    end
    alias eql? ==

    def hash
      [Password, @plaintext].hash
    end
  end
end

module ManageIQ
  # The manageiq-password gem's class, for its error: `$evm.object.decrypt` raises
  # ManageIQ::Password::PasswordError ("cannot decrypt encrypted string") for a `v2:{…}`
  # value the key does not decrypt, as on the appliance. Defined as the gem defines it
  # (PasswordError < StandardError, inside the class ManageIQ::Password) when the gem is not
  # loaded, so a method's `rescue ManageIQ::Password::PasswordError` works either way.
  class Password
    class PasswordError < StandardError; end
  end
end

module MiqAutomate
  # An appliance's key file (certs/v2_key: YAML with :algorithm: aes-256-cbc and :key:,
  # maybe :iv:), read once. With it `$evm.object.decrypt` decrypts `v2:{…}` passwords as
  # the appliance does. The key stays native: #inspect shows the path only.
  #
  #   key = MiqAutomate::V2Key.load("certs/v2_key")
  #   key.encrypt("s3cret")   # => "v2:{…}"
  #   key.decrypt("v2:{…}")   # => "s3cret"; a bogus value raises ManageIQ::Password::PasswordError
  #
  # A file that cannot be read or is not a key raises MiqAutomate::V2KeyError naming it.
  class V2Key
    # The environment variable naming the key file when no `v2_key:` is given.
    ENV_NAME = "MIQ_V2_KEY"

    def self.load(path)
      _load(File.expand_path(path))
    end

    # What a `v2_key:` keyword means: a V2Key, or the path of a key file; false for no key;
    # nil for the file $MIQ_V2_KEY names (no key when it is unset or empty).
    def self.resolve(given)
      case given
      when V2Key then given
      when false then nil
      when nil
        path = ENV.fetch(ENV_NAME, "")
        path.empty? ? nil : load(path)
      else load(given)
      end
    end

    def inspect
      "#<MiqAutomate::V2Key #{path}>"
    end
    alias to_s inspect
  end
end
