//! `$evm.instantiate(uri)`: the URI parsed as the engine parses it, the child object with its
//! arguments, cycles refused, and the handlers that stand in for the instance's methods.

use crate::args::process_args;
use crate::error::AeError;
use crate::log::LogLevel;
use crate::object::AeObject;
use crate::path::{AePath, SplitOptions};
use crate::uri::Uri;
use crate::value::{ObjectId, Value};

use super::{Created, InstantiateHandler, Workspace};

impl Workspace {
    /// Registers a handler run when an instantiated URI's path ends with `path_suffix`
    /// (case-insensitive): it simulates what the instance's methods would do.
    pub fn on_instantiate(&mut self, path_suffix: &str, handler: InstantiateHandler) {
        self.handlers
            .push((path_suffix.to_lowercase(), Some(handler)));
    }

    /// URIs instantiated so far, in order (as given).
    pub fn instantiations(&self) -> &[String] {
        &self.instantiations
    }

    /// `$evm.instantiate(uri)`: `Some(object)`, or `None` with the error logged as
    /// `instantiate failed : <message>`, as the engine's service does.
    pub fn instantiate(&mut self, uri: &str) -> Option<ObjectId> {
        match self.instantiate_strict(uri) {
            Ok(id) => Some(id),
            Err(e) => {
                self.log_line(LogLevel::Error, format!("instantiate failed : {e}"));
                None
            }
        }
    }

    /// The workspace's `instantiate`, errors returned: the object is created as a child of
    /// the current object, its arguments become attributes, and registered handlers run
    /// with it as the current object. MIQ_STOP from a handler is logged and the object
    /// detached; MIQ_ABORT and unknown codes are returned as errors.
    pub fn instantiate_strict(&mut self, uri: &str) -> Result<ObjectId, AeError> {
        match self.create_instance(uri)? {
            Created::Existing(id) => Ok(id),
            Created::New(id, path) => {
                let result = self.run_handlers(id, &path);
                self.finish_instance(id, result)
            }
        }
    }

    /// The first half of `instantiate`, for embedders that run the instance's methods
    /// themselves (outside any borrow of the workspace): parses `uri`, refuses cycles, and
    /// creates the child object with its arguments. A `miqaews:` URI names an existing object.
    pub fn create_instance(&mut self, uri: &str) -> Result<Created, AeError> {
        self.instantiations.push(uri.to_string());
        let parsed = Uri::parse_for_instantiate(uri)?;
        let path_text = parsed.path.clone().unwrap_or_default();
        if parsed.scheme == "miqaews" {
            return self
                .object(Some(&path_text))?
                .map(Created::Existing)
                .ok_or_else(|| AeError::ObjectNotFound(format!("Object [{path_text}] not found")));
        }
        let path = AePath::split(&path_text, SplitOptions::default());
        let message = parsed.message();
        let namespace = path.namespace.as_deref().filter(|n| !n.is_empty());
        let same = |o: &AeObject| {
            o.namespace.as_deref() == namespace
                && o.class_name == path.class
                && o.instance_name == path.instance
                && o.message == message
        };
        if self.stack.iter().any(|f| same(&self.objects[f.object.0])) {
            return Err(AeError::CyclicalRelationship(format!(
                "cyclical reference: [{path} with message={message}]"
            )));
        }
        let object = AeObject::new(
            namespace,
            path.class.as_deref(),
            path.instance.as_deref(),
            &message,
        );
        let args: Vec<(String, Value)> = parsed
            .args()?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let parent = self.current();
        let id = self.add_object(Some(parent), object);
        match process_args(args, |_| false) {
            Ok(attrs) => {
                for (k, v) in attrs {
                    self.objects[id.0].set(&k, v);
                }
            }
            // A datastore error (InvalidClass) is logged and the object kept, as the engine does.
            Err(e @ AeError::InvalidClass(_)) => self.log_line(LogLevel::Error, e.to_string()),
            Err(e) => return Err(e),
        }
        Ok(Created::New(id, path_text))
    }

    /// The second half of `instantiate`: what the engine does with the outcome of the
    /// instance's methods. MIQ_STOP is logged and the object detached (and still returned);
    /// MIQ_ABORT and unknown exit codes are logged and returned as errors.
    pub fn finish_instance(
        &mut self,
        id: ObjectId,
        outcome: Result<(), AeError>,
    ) -> Result<ObjectId, AeError> {
        match outcome {
            Ok(()) => Ok(id),
            Err(AeError::StopInstantiation(msg)) => {
                self.log_line(
                    LogLevel::Info,
                    format!("Stopping instantiation because [{msg}]"),
                );
                self.detach(id);
                Ok(id)
            }
            Err(AeError::UnknownMethodRc(msg)) => {
                self.log_line(
                    LogLevel::Error,
                    format!("Aborting instantiation (unknown method return code) because [{msg}]"),
                );
                Err(AeError::UnknownMethodRc(msg))
            }
            Err(AeError::AbortInstantiation(msg)) => {
                self.log_line(
                    LogLevel::Info,
                    format!("Aborting instantiation because [{msg}]"),
                );
                Err(AeError::AbortInstantiation(msg))
            }
            Err(other) => Err(other),
        }
    }

    fn run_handlers(&mut self, id: ObjectId, path: &str) -> Result<(), AeError> {
        let lower = path.to_lowercase();
        for index in 0..self.handlers.len() {
            if !lower.ends_with(&self.handlers[index].0) {
                continue;
            }
            let Some(mut handler) = self.handlers[index].1.take() else {
                continue; // already running: a handler instantiating its own path
            };
            // The instance's method runs under the instance's name, lowercased as the engine does.
            let method = self.objects[id.0]
                .instance_name
                .as_deref()
                .map(str::to_lowercase);
            self.push_current(id, method.as_deref());
            let result = handler(self, id);
            self.pop_current();
            self.handlers[index].1 = Some(handler);
            result?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::log::LogLevel;
    use crate::object::AeObject;
    use crate::value::{ObjectId, Value};
    use crate::Workspace;

    // Issue 10: `integer::x=99999999999999999999999` was stored as i64::MAX.
    #[test]
    fn an_integer_argument_beyond_64_bits_is_refused() {
        let mut ws = Workspace::new();
        assert_eq!(
            ws.instantiate("/A/B/C?integer::x=99999999999999999999999"),
            None
        );
        assert_eq!(
            ws.logs().last().unwrap().message,
            "instantiate failed : integer 99999999999999999999999 does not fit in 64 bits"
        );
        let id = ws
            .instantiate("/A/B/C?integer::x=-9223372036854775808")
            .unwrap();
        assert_eq!(ws.obj(id).read("x"), Value::Integer(i64::MIN));
    }

    // Issue 10: the ascii-only and empty-argument errors logged a password argument.
    #[test]
    fn instantiate_failures_never_log_a_password_argument() {
        let mut ws = Workspace::new();
        for uri in [
            "/A/B/C?password::pw=TopSecret1&x=\u{20ac}",
            "/A/B/C?password::pw=TopSecret1&&x=1",
            "/A/B/C?password::pw=Top#Secret1#x",
            "miqaedb:A/B?password::pw=TopSecret1",
        ] {
            assert_eq!(ws.instantiate(uri), None);
            let line = &ws.logs().last().unwrap().message;
            assert!(!line.contains("Secret1"), "{line}");
            assert!(line.contains("password::pw=********"), "{line}");
        }
    }

    #[test]
    fn instantiate_creates_a_child_with_typed_args_and_runs_handlers() {
        let mut ws = Workspace::new();
        ws.on_instantiate(
            "/ReleaseIPAddress",
            Box::new(|ws, id| {
                let ip = ws.obj(id).read("ip");
                ws.root_set("released", ip);
                ws.log(LogLevel::Info, "released");
                Ok(())
            }),
        );
        let id = ws
            .instantiate("/Infra/VM/Methods/ReleaseIPAddress?ip=10.0.0.1&Integer::n=3#Release")
            .unwrap();
        let o = ws.obj(id);
        assert_eq!(o.class_name.as_deref(), Some("Methods"));
        assert_eq!(o.instance_name.as_deref(), Some("ReleaseIPAddress"));
        assert_eq!(o.message, "release");
        assert_eq!(o.read("n"), Value::Integer(3));
        assert_eq!(ws.root_get("released"), Value::from("10.0.0.1"));
        assert_eq!(ws.obj(ObjectId(0)).children(), &[id]);
        assert_eq!(ws.current(), ObjectId(0), "the stack is restored");
        assert_eq!(ws.instantiations().len(), 1);
    }

    #[test]
    fn instantiate_errors_are_logged_and_give_none() {
        let mut ws = Workspace::new();
        assert_eq!(ws.instantiate("abc:A/EVM"), None);
        assert_eq!(
            ws.logs().last().unwrap().message,
            "instantiate failed : Unsupported Scheme [abc]"
        );
        ws.on_instantiate(
            "/Stop",
            Box::new(|_, _| {
                Err(AeError::StopInstantiation(
                    "Method exited with rc=MIQ_STOP".into(),
                ))
            }),
        );
        let id = ws.instantiate("/A/B/Stop").unwrap();
        assert!(
            ws.obj(ObjectId(0)).children().is_empty(),
            "stopped object is detached"
        );
        assert_eq!(ws.obj(id).parent(), None);
        ws.on_instantiate(
            "/Abort",
            Box::new(|_, _| {
                Err(AeError::AbortInstantiation(
                    "Method exited with rc=MIQ_ABORT".into(),
                ))
            }),
        );
        assert_eq!(ws.instantiate("/A/B/Abort"), None);
        let messages: Vec<&str> = ws.logs().iter().map(|l| l.message.as_str()).collect();
        assert!(
            messages.contains(&"Stopping instantiation because [Method exited with rc=MIQ_STOP]")
        );
        assert!(
            messages.contains(&"Aborting instantiation because [Method exited with rc=MIQ_ABORT]")
        );
        assert!(messages.contains(&"instantiate failed : Method exited with rc=MIQ_ABORT"));
    }

    #[test]
    fn cyclical_instantiation_is_refused() {
        let mut ws = Workspace::new();
        let id = ws.add_object(
            Some(ObjectId(0)),
            AeObject::new(Some("A"), Some("B"), Some("Loop"), "create"),
        );
        ws.push_current(id, None);
        assert_eq!(
            ws.instantiate_strict("/A/B/Loop").unwrap_err(),
            AeError::CyclicalRelationship(
                "cyclical reference: [/A/B/Loop with message=create]".into()
            )
        );
    }
}
