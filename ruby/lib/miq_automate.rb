# frozen_string_literal: true

# miq_automate: a ManageIQ-compatible automate runtime. `require "miq_automate"` gives an
# offline `$evm` (MiqAutomate::Workspace#evm) with the engine's semantics, service-model
# doubles, and MiqAutomate::EvmAdapter, which runs native logic against any `$evm`.

require "json"
require_relative "miq_automate/version"
require_relative "miq_automate/errors"
require_relative "miq_automate/exit_codes"

begin
  require_relative "miq_automate/miq_automate"
rescue LoadError
  begin
    # Installed from the source gem: the extension lives in the gem's extension directory.
    require "miq_automate/miq_automate"
  rescue LoadError => e
    raise LoadError, "miq_automate: the native extension is not built (#{e.message}); run `make` in the miq-automate checkout"
  end
end

require_relative "miq_automate/password"
require_relative "miq_automate/service_model"
require_relative "miq_automate/world"
require_relative "miq_automate/workspace"
require_relative "miq_automate/rollback"
require_relative "miq_automate/api"
require_relative "miq_automate/mock_manageiq"
require_relative "miq_automate/engine"
require_relative "miq_automate/recorder"
require_relative "miq_automate/replay"
