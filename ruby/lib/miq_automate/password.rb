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
