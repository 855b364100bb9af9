//! `snmp_trap_v1` / `snmp_trap_v2`: the method's inputs (host, trap OID, object list…) sent
//! as an SNMP trap through `MiqAeServiceMethods`, the same call as `$evm.execute` makes:
//! recorded offline, nothing sent.

use indexmap::IndexMap;
use miq_automate_core::{AeError, Value};

use crate::engine::Runtime;

/// `MiqAeServiceMethods.snmp_trap_v1(inputs)` (`version` is `v1` or `v2`).
pub(super) fn snmp_trap(
    rt: &mut Runtime<'_>,
    version: &str,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, AeError> {
    let inputs = crate::deliver::string_keyed_hash(inputs);
    rt.workspace()
        .execute(&format!("snmp_trap_{version}"), vec![inputs])
}
