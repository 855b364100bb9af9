# frozen_string_literal: true

module MiqAutomate
  # The environment ManageIQ sets up before every inline method's body (its preamble): the
  # `date` and `yaml` libraries, ActiveSupport's core extensions (`blank?`, `present?`,
  # `truncate`, `1.minute` — used by a fifth of the ManageIQ domain's methods) and
  # `Time.zone` UTC. Loaded once per process; `run_method` and `load_method` call it.
  def self.method_environment!
    return @method_environment unless @method_environment.nil?

    require "date"
    require "yaml"
    begin
      require "active_support"
      require "active_support/all"
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
end
