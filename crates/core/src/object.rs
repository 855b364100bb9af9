//! A workspace object (an instantiated instance): its datastore identity, message, and
//! attributes with downcased keys.

use indexmap::IndexMap;

use crate::password::MASK;
use crate::path::AePath;
use crate::value::{ObjectId, Value};

/// One node of the workspace tree (`MiqAeObject`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AeObject {
    /// Namespace, domain first when known (`ManageIQ/System`).
    pub namespace: Option<String>,
    /// Class name.
    pub class_name: Option<String>,
    /// Instance name.
    pub instance_name: Option<String>,
    /// The message it was instantiated with (`create` by default).
    pub message: String,
    pub(crate) attributes: IndexMap<String, Value>,
    pub(crate) parent: Option<ObjectId>,
    pub(crate) children: Vec<ObjectId>,
}

impl AeObject {
    /// An object for `/namespace/class/instance`, receiving `message`.
    pub fn new(
        namespace: Option<&str>,
        class_name: Option<&str>,
        instance_name: Option<&str>,
        message: &str,
    ) -> Self {
        AeObject {
            namespace: namespace.map(str::to_string),
            class_name: class_name.map(str::to_string),
            instance_name: instance_name.map(str::to_string),
            message: message.to_string(),
            ..AeObject::default()
        }
    }

    /// The attribute under `key` (downcased), passwords included as they are.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attributes.get(&key.to_lowercase())
    }

    /// `obj[key]`: the attribute with a password read as `"********"`, nil when absent.
    pub fn read(&self, key: &str) -> Value {
        match self.get(key) {
            Some(Value::Password(_)) => Value::String(MASK.into()),
            Some(v) => v.clone(),
            None => Value::Nil,
        }
    }

    /// `obj[key] = value` (key downcased). Returns the previous value.
    pub fn set(&mut self, key: &str, value: Value) -> Option<Value> {
        self.attributes.insert(key.to_lowercase(), value)
    }

    /// Removes an attribute.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.attributes.shift_remove(&key.to_lowercase())
    }

    /// `decrypt(key)`: the plaintext of a password attribute (other values as their string).
    pub fn decrypt(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::Password(p) => Some(p.decrypt().to_string()),
            Value::Nil => None,
            other => Some(other.to_ruby_s()),
        }
    }

    /// The attributes as stored.
    pub fn attributes(&self) -> &IndexMap<String, Value> {
        &self.attributes
    }

    /// `attributes`: a copy with passwords masked.
    pub fn masked_attributes(&self) -> IndexMap<String, Value> {
        self.attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.masked()))
            .collect()
    }

    /// The parent in the tree.
    pub fn parent(&self) -> Option<ObjectId> {
        self.parent
    }

    /// The children, in creation order.
    pub fn children(&self) -> &[ObjectId] {
        &self.children
    }

    /// `name`: the fully qualified `/namespace/Class/Instance`.
    pub fn name(&self) -> String {
        self.path().to_string()
    }

    /// The datastore path of the object.
    pub fn path(&self) -> AePath {
        AePath::new(
            self.namespace.as_deref(),
            self.class_name.as_deref(),
            self.instance_name.as_deref(),
            None,
        )
    }

    /// The namespace without the domain (its first segment).
    pub fn namespace_sans_domain(&self) -> String {
        self.path().namespace_sans_domain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Password;

    #[test]
    fn keys_are_downcased_and_passwords_masked() {
        let mut o = AeObject::new(Some("Dom/NS"), Some("Cls"), Some("Inst"), "create");
        o.set("MixedCase", Value::from("v"));
        assert_eq!(o.read("mixedcase"), Value::from("v"));
        assert_eq!(o.read("MIXEDCASE"), Value::from("v"));
        o.set("pw", Value::Password(Password::new("s3cret")));
        assert_eq!(o.read("pw"), Value::from(MASK));
        assert_eq!(o.decrypt("PW").as_deref(), Some("s3cret"));
        assert_eq!(o.masked_attributes()["pw"], Value::from(MASK));
        assert_eq!(o.name(), "/Dom/NS/Cls/Inst");
        assert_eq!(o.namespace_sans_domain(), "NS");
    }
}
