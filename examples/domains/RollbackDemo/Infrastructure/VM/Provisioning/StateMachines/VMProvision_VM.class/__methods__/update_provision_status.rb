#
# Description: the status method of every VMProvision_VM state (on_entry, on_exit,
# on_error), as ManageIQ's own update_provision_status: it keeps the request's user message
# and the task's message current and notifies on error. On top of that, when a state fails
# it undoes what the provision did so far, driven by the rollback matrix below (journal
# mode: each completed state is recorded on its on_exit; on error the failing state's steps
# run, then those of each completed state, most recent first, each step at most once).
#
# Required inputs: status
# Needs the miq_automate gem on the appliance. The matrix is the same as
# rollback_matrix.yaml beside the domain (a method cannot read files from a repository).
#
require "miq_automate"

MATRIX = {
  "states"      => {
    "AcquireIPAddress" => ["${/#rollback_class}/ReleaseIPAddress"],
    "RegisterDHCP"     => [{ "uri" => "${/#rollback_class}/UnregisterDHCP", "args" => { "reason" => "rollback" } }],
    "RegisterDNS"      => ["${/#rollback_class}/UnregisterDNS"],
    "Provision"        => ["vm.retire_now"]
  },
  "no_rollback" => %w[CustomizeRequest CheckProvisioned PostProvision Finished]
}.freeze

# The matrix's ${/#rollback_class} reads root; the class's rollback_class attribute names it.
$evm.root['rollback_class'] ||= $evm.object['rollback_class']

MiqAutomate::Rollback.update_provision_status($evm, matrix: MATRIX, mode: :journal)
