//! The object tree and the current-object stack, and `$evm.object(path)`: relative paths,
//! named ancestors and the workspace-wide lookup (`MiqAeWorkspaceRuntime#get_obj_from_path`).

use crate::error::AeError;
use crate::glob::fnmatch_casefold;
use crate::log::LogLevel;
use crate::object::AeObject;
use crate::path::ruby_split;
use crate::value::ObjectId;

use super::{Frame, Workspace};

impl Workspace {
    /// The object behind `id`.
    ///
    /// # Panics
    /// When `id` did not come from this workspace.
    pub fn obj(&self, id: ObjectId) -> &AeObject {
        &self.objects[id.0]
    }

    /// The object behind `id`, mutably.
    ///
    /// # Panics
    /// When `id` did not come from this workspace.
    pub fn obj_mut(&mut self, id: ObjectId) -> &mut AeObject {
        &mut self.objects[id.0]
    }

    /// The object behind `id`, or `ObjectNotFound` for a foreign id.
    pub fn try_obj(&self, id: ObjectId) -> Result<&AeObject, AeError> {
        self.objects
            .get(id.0)
            .ok_or_else(|| AeError::ObjectNotFound(format!("no workspace object #{}", id.0)))
    }

    /// Adds an object as a child of `parent` (or as a new root).
    pub fn add_object(&mut self, parent: Option<ObjectId>, object: AeObject) -> ObjectId {
        let id = ObjectId(self.objects.len());
        let mut object = object;
        object.parent = parent;
        self.objects.push(object);
        if let Some(p) = parent {
            self.objects[p.0].children.push(id);
        }
        id
    }

    /// Unlinks an object from its parent (as the engine does after MIQ_STOP). It stays
    /// findable by path, like the engine's lookup table.
    pub fn detach(&mut self, id: ObjectId) {
        if let Some(p) = self.objects[id.0].parent.take() {
            self.objects[p.0].children.retain(|c| *c != id);
        }
    }

    /// The current object.
    pub fn current(&self) -> ObjectId {
        self.stack.last().map_or(ObjectId(0), |f| f.object)
    }

    /// The current stack frame.
    pub fn current_frame(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// Makes `object` current (running `method`, if any) until [`Workspace::pop_current`].
    pub fn push_current(&mut self, object: ObjectId, method: Option<&str>) {
        self.stack.push(Frame {
            object,
            method: method.map(str::to_string),
        });
    }

    /// Returns to the previous current object (the first frame is never popped).
    pub fn pop_current(&mut self) -> Option<Frame> {
        if self.stack.len() > 1 {
            self.stack.pop()
        } else {
            None
        }
    }

    /// Names the method running in the current object (what `<AEMethod NAME>` shows).
    pub fn set_current_method(&mut self, method: Option<&str>) {
        if let Some(frame) = self.stack.last_mut() {
            frame.method = method.map(str::to_string);
        }
    }

    /// `$evm.root`: the top ancestor of the current object.
    pub fn root(&self) -> ObjectId {
        self.top_of(self.current())
    }

    fn top_of(&self, mut id: ObjectId) -> ObjectId {
        while let Some(p) = self.objects[id.0].parent {
            id = p;
        }
        id
    }

    /// `$evm.parent`: the current object's parent.
    pub fn parent(&self) -> Option<ObjectId> {
        self.objects[self.current().0].parent
    }

    /// `$evm.object(path)` with every path form the engine knows: blank → current; `/` →
    /// top ancestor; `.`/`..` segments; a named ancestor by `Class` or `ns/Class`; then any
    /// object by `[/Domain]/ns/Class/Instance` (instance globs allowed). `Ok(None)` when
    /// nothing matches.
    pub fn object(&mut self, path: Option<&str>) -> Result<Option<ObjectId>, AeError> {
        let current = self.current();
        let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
            return Ok(Some(current));
        };
        let path = if path.starts_with("/.") {
            &path[1..]
        } else {
            path
        };
        if path == "/" {
            return Ok(Some(self.top_of(current)));
        }
        if path.starts_with('.') {
            let mut obj = Some(current);
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => obj = obj.and_then(|o| self.objects[o.0].parent),
                    other => {
                        return Err(AeError::InvalidPathFormat(format!(
                            "bad part [{other}] in path [{path}]"
                        )))
                    }
                }
            }
            return Ok(obj);
        }
        if let Some(found) = self.find_named_ancestor(path)? {
            return Ok(Some(found));
        }
        Ok(self.find_obj_entry(path))
    }

    fn find_named_ancestor(&self, path: &str) -> Result<Option<ObjectId>, AeError> {
        let stripped = path.strip_prefix('/').unwrap_or(path);
        let parts = ruby_split(stripped, '/');
        if parts.first().is_none_or(|p| p.is_empty()) {
            return Err(AeError::InvalidPathFormat(format!(
                "Unsupported Path [{stripped}]"
            )));
        }
        let (klass, ns_parts) = parts.split_last().expect("non-empty");
        let ns = if ns_parts.is_empty() {
            None
        } else {
            Some(ns_parts.join("/"))
        };
        let mut cursor = self.objects[self.current().0].parent;
        while let Some(id) = cursor {
            let o = &self.objects[id.0];
            let class_match = o
                .class_name
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(klass));
            let ns_match = ns
                .as_deref()
                .is_none_or(|n| o.namespace_sans_domain().eq_ignore_ascii_case(n));
            if class_match && ns_match {
                return Ok(Some(id));
            }
            cursor = o.parent;
        }
        Ok(None)
    }

    fn find_obj_entry(&mut self, path: &str) -> Option<ObjectId> {
        let stripped = path.strip_prefix('/').unwrap_or(path).to_lowercase();
        let parts = ruby_split(&stripped, '/');
        if parts.len() < 3 {
            self.log_line(
                LogLevel::Error,
                format!("{path} is invalid. Need at least Namespace/Class/Instance"),
            );
            return None;
        }
        let instance = parts[parts.len() - 1];
        let klass = parts[parts.len() - 2];
        let ns_parts = &parts[..parts.len() - 2];
        let fqns = ns_parts.join("/");
        let domain = ns_parts[0];
        let partial_ns = ns_parts[1..].join("/");
        let candidates: Vec<(ObjectId, &AeObject)> = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (ObjectId(i), o))
            .filter(|(_, o)| {
                o.class_name
                    .as_deref()
                    .is_some_and(|c| c.to_lowercase() == klass)
                    && o.instance_name
                        .as_deref()
                        .is_some_and(|i| fnmatch_casefold(instance, i))
            })
            .collect();
        let full_ns = |o: &AeObject| o.namespace.as_deref().unwrap_or("").to_lowercase();
        let in_domain = candidates.iter().find(|(_, o)| {
            let ns = full_ns(o);
            let (d, rest) = ns.split_once('/').unwrap_or((&ns, ""));
            d == domain && rest == partial_ns
        });
        let any_domain = || {
            candidates
                .iter()
                .find(|(_, o)| o.namespace_sans_domain().to_lowercase() == fqns)
        };
        // Offline objects may have been created without a domain: match them in full.
        let no_domain = || candidates.iter().find(|(_, o)| full_ns(o) == fqns);
        in_domain
            .or_else(any_domain)
            .or_else(no_domain)
            .map(|(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::object::AeObject;
    use crate::value::{ObjectId, Value};
    use crate::Workspace;

    fn tree() -> (Workspace, ObjectId, ObjectId, ObjectId) {
        let mut ws = Workspace::with_root([("attr", Value::from("root"))]);
        let root = ObjectId(0);
        ws.obj_mut(root).namespace = Some("ManageIQ/System".into());
        ws.obj_mut(root).class_name = Some("Process".into());
        ws.obj_mut(root).instance_name = Some("Request".into());
        let a = ws.add_object(
            Some(root),
            AeObject::new(
                Some("Dom1/A/B"),
                Some("CLASS1"),
                Some("INSTANCE1"),
                "create",
            ),
        );
        let b = ws.add_object(
            Some(a),
            AeObject::new(
                Some("Dom1/C/D"),
                Some("CLASS1"),
                Some("INSTANCE1"),
                "create",
            ),
        );
        let c = ws.add_object(
            Some(b),
            AeObject::new(
                Some("Dom1/E/F"),
                Some("CLASS2"),
                Some("INSTANCE2"),
                "create",
            ),
        );
        ws.push_current(c, Some("m"));
        (ws, a, b, c)
    }

    #[test]
    fn relative_paths() {
        let (mut ws, a, b, c) = tree();
        assert_eq!(ws.object(None).unwrap(), Some(c));
        assert_eq!(ws.object(Some("")).unwrap(), Some(c));
        assert_eq!(ws.object(Some(".")).unwrap(), Some(c));
        assert_eq!(ws.object(Some("/.")).unwrap(), Some(c));
        assert_eq!(ws.object(Some("..")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("/..")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("../..")).unwrap(), Some(a));
        assert_eq!(ws.object(Some("..//..")).unwrap(), Some(a));
        assert_eq!(ws.object(Some("/")).unwrap(), Some(ObjectId(0)));
        assert_eq!(ws.root(), ObjectId(0));
        assert_eq!(ws.parent(), Some(b));
        assert_eq!(
            ws.object(Some(".foo")).unwrap_err(),
            AeError::InvalidPathFormat("bad part [.foo] in path [.foo]".into())
        );
    }

    #[test]
    fn named_ancestors_skip_the_current_object() {
        let (mut ws, _a, b, _c) = tree();
        assert_eq!(ws.object(Some("class1")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("A/B/Class1")).unwrap(), Some(ObjectId(1)));
        // the current object (CLASS2) itself is never a named ancestor; the lookup
        // then falls through to the workspace-wide table, which needs ns/class/instance
        assert_eq!(ws.object(Some("CLASS2")).unwrap(), None);
        assert!(ws
            .logs()
            .last()
            .unwrap()
            .message
            .contains("Need at least Namespace/Class/Instance"));
    }

    // miq_ae_object_lookup_spec.rb
    #[test]
    fn workspace_wide_lookup_with_globs() {
        let (mut ws, a, b, _c) = tree();
        ws.push_current(ObjectId(0), None);
        let find = |ws: &mut Workspace, p: &str| ws.object(Some(p)).unwrap();
        assert_eq!(find(&mut ws, "/Dom1/A/B/class1/instance1"), Some(a));
        assert_eq!(find(&mut ws, "Dom1/A/B/class1/instance1"), Some(a));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/instance1"), Some(b));
        assert_eq!(find(&mut ws, "C/d/class1/instance1"), Some(b));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/i?stance1"), Some(b));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/*"), Some(b));
        assert_eq!(find(&mut ws, "/Dom5/A/B/class1/instance1"), None);
        assert_eq!(find(&mut ws, "A/B"), None);
    }
}
