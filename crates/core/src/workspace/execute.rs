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

    /// A call a built-in method makes on a VMDB object (`event_stream.refresh("ems", false)`):
    /// recorded with the executions as `(method, args)`, so a test sees it as it sees an
    /// `$evm.execute`, then made through the broker when one is set (the embedder's object
    /// answers). Without a broker nothing is refreshed or enforced offline: it returns nil.
    /// Only service models and foreign objects have such methods: any other receiver is
    /// Ruby's `NoMethodError`, and nothing is recorded.
    pub fn execute_on(
        &mut self,
        receiver: &Value,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, AeError> {
        if !matches!(receiver, Value::ServiceModel(_) | Value::Foreign(_)) {
            return Err(AeError::NoMethod {
                receiver: receiver.masked().inspect(),
                method: method.to_string(),
            });
        }
        self.executions.push((method.to_string(), args.clone()));
        match &mut self.broker {
            Some(broker) => broker.call(receiver, method, &args),
            None => Ok(Value::Nil),
        }
    }

    /// `$evm.execute` calls so far (and the calls built-ins made with [`Self::execute_on`]).
    pub fn executions(&self) -> &[(String, Vec<Value>)] {
        &self.executions
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::value::{ServiceModelRef, Value};
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

    #[test]
    fn execute_on_records_model_calls_and_refuses_plain_values() {
        let mut ws = Workspace::new();
        let event = Value::ServiceModel(ServiceModelRef::new("ems_event", 1));
        let args = vec![Value::from("ems"), Value::Bool(false)];
        assert_eq!(
            ws.execute_on(&event, "refresh", args.clone()),
            Ok(Value::Nil)
        );
        assert_eq!(ws.executions(), &[("refresh".to_string(), args)]);
        assert!(matches!(
            ws.execute_on(&Value::from("x"), "refresh", vec![]),
            Err(AeError::NoMethod { .. })
        ));
        assert_eq!(ws.executions().len(), 1);
    }
}
