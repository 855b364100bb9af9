# frozen_string_literal: true

module MiqAutomate
  # The environment ManageIQ's preamble sets up before every inline method's body, line for
  # line in effect: the `date`, `logger`, `socket`, `drb` and `yaml` libraries,
  # ActiveSupport's core extensions (`blank?`, `present?`, `truncate`, `1.minute` — used by a
  # fifth of the ManageIQ domain's methods), `YAML.safe_load` accepting aliases, and
  # `Time.zone` UTC. ManageIQ runs Rails 7, so the Rails 7 names content calls on top of
  # Debian's ActiveSupport 6.1 (MiqAutomate::Rails7). Loaded once per process; the engine,
  # `run_method` and `load_method` call it.
  #
  # The preamble's YAML change holds only while a method runs (in this VM the caller's own
  # `YAML.safe_load` keeps its default); MIQ_OK…MIQ_ABORT are define_exit_codes!.
  def self.method_environment!
    return @method_environment unless @method_environment.nil?

    require "date"
    require "logger"
    require "socket"
    require "drb"
    require "yaml"
    YAML.singleton_class.prepend(MethodYaml)
    begin
      require "active_support"
      require "active_support/all"
      require "miq_automate/rails7"
      Time.zone = "UTC"
      # Time.zone is per thread; a method with a timeout runs on a thread of its own.
      Time.zone_default = Time.find_zone!("UTC")
      @method_environment = true
    rescue LoadError => e
      warn "miq_automate: ActiveSupport is not installed (#{e.message}): methods run without ManageIQ's " \
           "preamble, so blank?/present?/1.minute are missing (apt install ruby-activesupport, or gem install activesupport)"
      @method_environment = false
    end
  end

  # True while an automate method runs on this thread (in this VM, or in a method's child).
  def self.in_method?
    Thread.current[:miq_automate_method_depth].to_i.positive?
  end

  # ManageIQ's preamble makes YAML.safe_load (and so YAML.load) accept aliases in methods.
  module MethodYaml
    def safe_load(yaml, aliases: false, **kwargs)
      super(yaml, aliases: aliases || MiqAutomate.in_method?, **kwargs)
    end
  end
end
