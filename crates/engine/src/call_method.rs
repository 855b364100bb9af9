//! Calling one method as ManageIQ's content specs do: a method of the datastore run on an
//! object given by the caller (its attributes), whose parent is given too, under a given
//! root — no instance to write, no domain to build. `MiqAeMethod.invoke` does the rest as
//! for a method field: the method's declared inputs (the caller's arguments first), its
//! embedded methods, its runner, its exit status.

use indexmap::IndexMap;
use miq_automate_core::{AeError, AeObject, Value};

use crate::domain_search::{find_first, Target};
use crate::engine::{Aborted, Engine, Run, Runtime};
use crate::error::EngineError;

/// What [`Engine::call_method`] runs and on what.
#[derive(Clone, Debug, Default)]
pub struct MethodCall {
    /// `/ns/Class/method`, with or without its domain (a domain-less path goes through the
    /// overlay, as a method field's does).
    pub path: String,
    /// The call's arguments (they win over the object's attributes and the defaults).
    pub inputs: Vec<(String, Value)>,
    /// The attributes of the object the method runs on (`$evm.object`).
    pub object: Vec<(String, Value)>,
    /// The attributes of the object's parent (`$evm.parent`); `None`: the root is its
    /// parent.
    pub parent: Option<Vec<(String, Value)>>,
    /// The root's attributes (`$evm.root`).
    pub root: Vec<(String, Value)>,
}

impl Engine {
    /// Runs one method of the datastore on the objects `call` describes (see the module).
    pub fn call_method(&self, call: &MethodCall) -> Result<Run, Box<Aborted>> {
        let mut rt = Runtime::new(self);
        let result = rt.call_method(call);
        let run = Run {
            root: Some(rt.ws.root()),
            workspace: rt.ws,
            trace: rt.trace,
            state_info: rt.state_info,
        };
        match result {
            Ok(()) => Ok(run),
            Err(error) => Err(Box::new(Aborted { error, run })),
        }
    }
}

impl Runtime<'_> {
    fn call_method(&mut self, call: &MethodCall) -> Result<(), EngineError> {
        let mut parts: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        if parts.len() < 3 {
            return Err(AeError::MethodNotFound(format!(
                "[{}] is not a method path: /namespace/Class/method",
                call.path
            ))
            .into());
        }
        let name = parts.pop().unwrap_or_default().to_string();
        let class = parts.pop().unwrap_or_default().to_string();
        let namespace = parts.join("/");
        // A domain-less path is overlaid; else the path's first segment is its domain.
        let ds = self.engine.datastore();
        let (namespace, class) = match find_first(ds, &namespace, &class, Target::Method(&name)) {
            Some(found) => (found, class),
            None => match ds.class_by_fqname(&namespace, &class) {
                Some(_) => (namespace, class),
                None => {
                    return Err(AeError::MethodNotFound(format!(
                        "Method [{name}] not found in class [{namespace}/{class}]"
                    ))
                    .into())
                }
            },
        };
        let ws = self.workspace();
        let root = ws.root();
        for (k, v) in &call.root {
            ws.obj_mut(root).set(k, v.clone());
        }
        let parent = match &call.parent {
            Some(attrs) => {
                let id = ws.add_object(Some(root), AeObject::new(None, None, None, "create"));
                for (k, v) in attrs {
                    ws.obj_mut(id).set(k, v.clone());
                }
                id
            }
            None => root,
        };
        let object = ws.add_object(
            Some(parent),
            AeObject::new(Some(&namespace), Some(&class), None, "create"),
        );
        for (k, v) in &call.object {
            ws.obj_mut(object).set(k, v.clone());
        }
        ws.push_current(object, None);
        let args: IndexMap<String, Value> = call.inputs.iter().cloned().collect();
        let result = self.invoke_method(Some(&namespace), Some(&class), &name, args);
        self.workspace().pop_current();
        result.map(|_| ())
    }
}
