//! `$evm.execute(name, *args)`: the methods of ManageIQ's `MiqAeServiceMethods`, recorded.

use crate::error::AeError;
use crate::value::Value;

use super::Workspace;

impl Workspace {
    /// Methods `$evm.execute` knows (ManageIQ's MiqAeServiceMethods).
    pub const EXECUTE_METHODS: [&'static str; 16] = [
        "send_email",
        "snmp_trap_v1",
        "snmp_trap_v2",
        "vm_templates",
        "category_exists?",
        "category_create",
        "category_delete!",
        "category_delete",
        "tag_exists?",
        "tag_create",
        "tag_delete!",
        "tag_delete",
        "create_provision_request",
        "create_automation_request",
        "create_service_provision_request",
        "create_retire_request",
    ];

    /// `$evm.execute(name, *args)`: recorded; an unknown name is `MethodNotFound`. Offline
    /// nothing is sent or created: the call returns nil.
    pub fn execute(&mut self, name: &str, args: Vec<Value>) -> Result<Value, AeError> {
        if !Self::EXECUTE_METHODS.contains(&name) {
            return Err(AeError::MethodNotFound(format!(
                "undefined method `{name}' for MiqAeMethodService::MiqAeServiceMethods:Class"
            )));
        }
        self.executions.push((name.to_string(), args));
        Ok(Value::Nil)
    }

    /// `$evm.execute` calls so far.
    pub fn executions(&self) -> &[(String, Vec<Value>)] {
        &self.executions
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::value::Value;
    use crate::Workspace;

    #[test]
    fn execute_records_known_methods() {
        let mut ws = Workspace::new();
        ws.execute("send_email", vec![Value::from("a@b")]).unwrap();
        assert_eq!(ws.executions().len(), 1);
        assert!(matches!(
            ws.execute("nope", vec![]),
            Err(AeError::MethodNotFound(_))
        ));
    }
}
