# frozen_string_literal: true

module MiqAutomate
  class World
    # The world's own clock when none is given: virtual, starting at the wall time (whole
    # seconds), moved only by `advance` (alias `wait`) or `now =`, as the engine's.
    class Clock
      def initialize(start = Time.now.utc)
        @now = Time.at(start.to_i).utc
      end

      attr_reader :now

      def advance(seconds)
        raise ArgumentError, "advance takes whole seconds (an Integer), not #{seconds.inspect}" unless seconds.is_a?(Integer)

        @now += seconds
      end
      alias wait advance

      def now=(time)
        raise ArgumentError, "the clock is set to a Time, not #{time.inspect}" unless time.respond_to?(:to_time)

        @now = Time.at(time.to_time.to_i).utc
      end

      def inspect
        "#<MiqAutomate::World::Clock #{@now.strftime('%Y-%m-%d %H:%M:%S UTC')}>"
      end

      # A clock from what World.new was given: nil (a Clock of its own), something with
      # `now` (the engine's clock), or a callable giving the time.
      def self.wrap(clock)
        if clock.nil? then new
        elsif clock.respond_to?(:now) then clock
        elsif clock.respond_to?(:call) then Given.new(clock)
        else raise ArgumentError, "clock: is a callable giving a Time or an object answering now, not #{clock.inspect}"
        end
      end

      # A callable's time, read each time it is asked. It cannot be moved from here.
      class Given
        def initialize(callable)
          @callable = callable
        end

        def now
          time = @callable.call
          raise ArgumentError, "the world's clock gave #{time.inspect}, not a Time" unless time.respond_to?(:to_time)

          time.to_time
        end

        def inspect
          "#<MiqAutomate::World::Clock::Given #{now}>"
        end
      end
    end
  end
end
