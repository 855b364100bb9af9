//! Service vars: kept on the root service of `current['service'] || root['service']`, as
//! ManageIQ keeps them.

use indexmap::IndexMap;

use crate::error::AeError;
use crate::log::LogLevel;
use crate::value::Value;

use super::Workspace;

impl Workspace {
    fn service_object(&self) -> Option<Value> {
        let current = self.objects[self.current().0].read("service");
        let service = if current.is_truthy() {
            current
        } else {
            self.root_get("service")
        };
        service.is_truthy().then_some(service)
    }

    fn root_service(&mut self) -> Result<Option<Value>, AeError> {
        let Some(service) = self.service_object() else {
            return Ok(None);
        };
        // Service vars live on the top-level service; ask the broker when there is one.
        Ok(Some(match self.broker.as_mut() {
            Some(b) => match b.call(&service, "root_service", &[])? {
                Value::Nil => service,
                root => root,
            },
            None => service,
        }))
    }

    /// `$evm.set_service_var(name, value)`: on the root service of `current['service'] ||
    /// root['service']`; without one, logged and skipped as ManageIQ does.
    pub fn set_service_var(&mut self, name: &str, value: Value) -> Result<(), AeError> {
        let Some(service) = self.root_service()? else {
            self.log_line(
                LogLevel::Error,
                format!(
                    "Service object not found in root object, set_service_var skipped for {name} = {}",
                    value.to_ruby_s()
                ),
            );
            return Ok(());
        };
        match self.service_vars.iter_mut().find(|(s, _)| *s == service) {
            Some((_, vars)) => {
                vars.insert(name.to_string(), value);
            }
            None => {
                let mut vars = IndexMap::new();
                vars.insert(name.to_string(), value);
                self.service_vars.push((service, vars));
            }
        }
        Ok(())
    }

    fn service_vars_of(&mut self) -> Result<Option<&mut IndexMap<String, Value>>, AeError> {
        let Some(service) = self.root_service()? else {
            return Ok(None);
        };
        Ok(self
            .service_vars
            .iter_mut()
            .find(|(s, _)| *s == service)
            .map(|(_, v)| v))
    }

    /// `$evm.get_service_var(name)`.
    pub fn get_service_var(&mut self, name: &str) -> Result<Value, AeError> {
        Ok(self
            .service_vars_of()?
            .and_then(|v| v.get(name).cloned())
            .unwrap_or_default())
    }

    /// `$evm.service_var_exists?(name)`.
    pub fn service_var_exists(&mut self, name: &str) -> Result<bool, AeError> {
        Ok(self
            .service_vars_of()?
            .is_some_and(|v| v.contains_key(name)))
    }

    /// `$evm.delete_service_var(name)`: the deleted value, or nil.
    pub fn delete_service_var(&mut self, name: &str) -> Result<Value, AeError> {
        Ok(self
            .service_vars_of()?
            .and_then(|v| v.shift_remove(name))
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use crate::value::{ServiceModelRef, Value};
    use crate::Workspace;

    #[test]
    fn service_vars_need_a_service() {
        let mut ws = Workspace::new();
        ws.set_service_var("a", Value::Integer(1)).unwrap();
        assert!(ws.logs()[0]
            .message
            .starts_with("Service object not found in root object"));
        assert!(!ws.service_var_exists("a").unwrap());
        ws.root_set(
            "service",
            Value::ServiceModel(ServiceModelRef::new("service", 7)),
        );
        ws.set_service_var("a", Value::Integer(1)).unwrap();
        assert!(ws.service_var_exists("a").unwrap());
        assert_eq!(ws.get_service_var("a").unwrap(), Value::Integer(1));
        assert_eq!(ws.delete_service_var("a").unwrap(), Value::Integer(1));
        assert_eq!(ws.get_service_var("a").unwrap(), Value::Nil);
    }
}
