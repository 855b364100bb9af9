# frozen_string_literal: true

module MiqAutomate
  # What the engine's default mode (`isolation: :vm`, every method in this Ruby VM) does so
  # that one method does not reach the next, as ManageIQ's process per method guarantees:
  #
  # - isolated: each method runs with a fresh top-level `self` (an object that reads as
  #   `main`), so its instance variables and top-level `def`s are gone for the next one;
  #   the globals it creates or changes are put back afterwards (a new global reads nil);
  #   `$stdin` is empty; `$stdout`/`$stderr` are the method's log.
  # - reported: methods and constants it adds to Ruby's core classes (CORE) cannot be
  #   taken back cheaply, so each is named in one warning line of the log after the method.
  #
  # `isolation: :process` (MiqAutomate::ProcessIsolation) is ManageIQ's own model.
  module MethodIsolation
    CORE = [::Object, ::Kernel, ::String, ::Symbol, ::Integer, ::Float, ::Array, ::Hash, ::NilClass, ::Time].freeze

    # Ruby's own globals, and the engine's: never saved nor put back (most are read-only,
    # per-thread or per-frame, and the rest belong to the process, not to a method).
    RUBY_GLOBALS = %i[
      $stdin $stdout $stderr $> $< $evm $! $@ $~ $_ $& $` $' $+ $= $; $, $/ $\ $. $0 $* $$ $? $: $"
      $FILENAME $LOAD_PATH $LOADED_FEATURES $PROGRAM_NAME $DEBUG $VERBOSE
      $-0 $-F $-I $-W $-a $-d $-i $-l $-p $-v $-w $-K
    ].freeze

    # The main object of one method run: `self` at the top of its body.
    def self.fresh_main
      main = ::Object.new
      main.define_singleton_method(:to_s) { "main" }
      main.define_singleton_method(:inspect) { "main" }
      # A method's own `exit!` ends the method with that status, as it ends ManageIQ's
      # method process, and not this VM (Kernel.exit! and Process.exit! still do).
      main.define_singleton_method(:exit!) { |status = false| raise SystemExit.new(status == true ? 0 : status || 1) }
      main
    end

    # Points the STDIN, STDOUT and STDERR constants at `input`, `out` and `err` (no "already
    # initialized constant" warning); returns what they were.
    def self.swap_std_constants(input, out, err)
      saved = [::STDIN, ::STDOUT, ::STDERR]
      { STDIN: input, STDOUT: out, STDERR: err }.each do |name, io|
        ::Object.send(:remove_const, name)
        ::Object.const_set(name, io)
      end
      saved
    end

    # A backtrace frame of a method's own code as ManageIQ's script has it: the method's
    # top-level code is `<main>` (here it runs in blocks of the fresh binding).
    TOP_LEVEL = /in `block \((\d+) levels\) in <top \(required\)>'\z/.freeze

    def self.main_label(frame, scripts)
      return frame unless scripts.any? { |name| frame.start_with?("#{name}:") }

      frame.sub(TOP_LEVEL) do
        depth = Regexp.last_match(1).to_i - 2
        case depth
        when 0 then "in `<main>'"
        when 1 then "in `block in <main>'"
        else "in `block (#{depth} levels) in <main>'"
        end
      end
    end

    # The globals a method may change, with their values.
    def self.save_globals
      (global_variables - RUBY_GLOBALS).to_h { |name| [name, global_get(name)] }
    end

    # Puts back what `saved` had; a global the method created reads nil again.
    def self.restore_globals(saved)
      (global_variables - RUBY_GLOBALS).each do |name|
        value = saved.fetch(name, nil)
        global_set(name, value) unless global_get(name).equal?(value)
      end
    end

    @getters = {}
    @setters = {}

    # Ruby has no global_variable_get: a small compiled lambda per name, kept.
    def self.global_get(name)
      (@getters[name] ||= eval("-> { #{name} }", TOPLEVEL_BINDING, __FILE__, __LINE__)).call # rubocop:disable Security/Eval
    end

    def self.global_set(name, value)
      (@setters[name] ||= eval("->(v) { #{name} = v }", TOPLEVEL_BINDING, __FILE__, __LINE__)).call(value) # rubocop:disable Security/Eval
    end

    # Methods and constants added to the core classes while a method runs.
    module CoreWatch
      @depth = 0
      @added = []

      class << self
        attr_reader :added

        def active?
          @depth.positive?
        end

        # Runs the block with the watch on; returns [the block's value, what was added].
        def watch
          mark = @added.size
          constants = CORE.map { |c| c.constants(false) }
          @depth += 1
          begin
            value = yield
          ensure
            @depth -= 1
            found = @added.slice!(mark..) || []
            CORE.zip(constants).each do |c, before|
              (c.constants(false) - before).each { |name| found << "constant #{c == ::Object ? '' : "#{c}::"}#{name}" }
            end
          end
          [value, found.uniq]
        end

        def record(owner, name)
          @added << "#{owner}##{name}" if active?
        end
      end

      # Prepended to the core classes' singleton classes: sees each method defined on them.
      module Hook
        def method_added(name)
          CoreWatch.record(self, name) if CORE.include?(self)
          super
        end
      end

      ::Object.singleton_class.prepend(Hook)
      ::Kernel.singleton_class.prepend(Hook)
    end
  end
end
