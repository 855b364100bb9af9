# frozen_string_literal: true

# The state vars of a pure-Ruby `$evm` double (keys as strings), shared by the DRb
# doubles; the including class keeps them in `@state`.
module EvmStateVars
  def set_state_var(key, value) = @state[key.to_s] = value
  def get_state_var(key) = @state[key.to_s]
  def state_var_exist?(key) = @state.key?(key.to_s)
  def delete_state_var(key) = @state.delete(key.to_s)
  def get_state_vars = @state.dup
end
