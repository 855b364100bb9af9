//! `MiqAutomate::V2Key`: an appliance's key file (`v2_key`) read once, for the workspaces
//! that decrypt `v2:{…}` passwords with it, and the `ManageIQ::Password::PasswordError`
//! they raise. The key never leaves Rust: Ruby sees only the file's path.

use std::sync::Arc;

use magnus::{
    prelude::*, typed_data::Obj, DataTypeFunctions, Error, ExceptionClass, RClass, RModule,
    RString, Ruby, TypedData, Value,
};
use miq_automate_core::password::{KeyFileError, PasswordError, V2Key};

use crate::errors::{self, guard};
use crate::workspace::RbWorkspace;

/// The native part of `MiqAutomate::V2Key`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::V2Key", free_immediately)]
pub struct RbV2Key {
    key: Arc<V2Key>,
    path: String,
}

impl DataTypeFunctions for RbV2Key {}

impl RbV2Key {
    /// The key, to share with a workspace.
    pub fn key(&self) -> Arc<V2Key> {
        Arc::clone(&self.key)
    }
}

/// The key a workspace was given (`Workspace.new(v2_key:)` keeps the `MiqAutomate::V2Key`
/// in its `@v2_key`, so it stays while an engine run swaps the core workspace), if any.
pub fn key_of(workspace: Obj<RbWorkspace>) -> Result<Option<Arc<V2Key>>, Error> {
    let value: Value = workspace.ivar_get("@v2_key")?;
    if value.is_nil() {
        return Ok(None);
    }
    Ok(Some(Obj::<RbV2Key>::try_convert(value)?.key()))
}

/// `ManageIQ::Password::PasswordError` (defined by the real gem or by `miq_automate/password`)
/// with the gem's message.
pub fn password_error(error: PasswordError) -> Error {
    let ruby = Ruby::get().expect("called on a Ruby thread");
    let class = ruby
        .class_object()
        .const_get::<_, RModule>("ManageIQ")
        .and_then(|m| m.const_get::<_, RClass>("Password"))
        .and_then(|m| m.const_get::<_, ExceptionClass>("PasswordError"))
        .unwrap_or_else(|_| errors::class("Error"));
    Error::new(class, error.to_string())
}

/// `MiqAutomate::V2KeyError`: the file cannot be read or is not a key (never quoted).
fn key_file_error(error: KeyFileError) -> Error {
    Error::new(errors::class("V2KeyError"), error.to_string())
}

/// A Ruby String of decrypted bytes, tagged UTF-8 as the gem tags them.
pub fn plaintext(ruby: &Ruby, bytes: &[u8]) -> RString {
    ruby.enc_str_new(bytes, ruby.utf8_encoding())
}

/// `V2Key._load(path)`.
fn load(ruby: &Ruby, path: String) -> Result<Obj<RbV2Key>, Error> {
    guard(|| {
        let key = V2Key::load(&path).map_err(key_file_error)?;
        Ok(ruby.obj_wrap(RbV2Key {
            key: Arc::new(key),
            path,
        }))
    })
}

/// `#path`: the key file it was read from.
fn path(rb_self: &RbV2Key) -> Result<String, Error> {
    guard(|| Ok(rb_self.path.clone()))
}

/// `#encrypt(plaintext)`: `v2:{…}` (`v2:{}` for "").
fn encrypt(rb_self: &RbV2Key, plaintext: RString) -> Result<String, Error> {
    guard(|| {
        // SAFETY: the bytes are copied before any Ruby call can move or free them.
        let bytes = unsafe { plaintext.as_slice() }.to_vec();
        Ok(rb_self.key.encrypt(bytes))
    })
}

/// `#decrypt(value)`: `ManageIQ::Password.decrypt(value)` with this key.
fn decrypt(ruby: &Ruby, rb_self: &RbV2Key, value: String) -> Result<RString, Error> {
    guard(|| {
        let bytes = rb_self.key.decrypt_bytes(&value).map_err(password_error)?;
        Ok(plaintext(ruby, &bytes))
    })
}

/// Defines `MiqAutomate::V2Key`'s native methods.
pub fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let base: ExceptionClass = module.const_get("Error")?;
    module.define_error("V2KeyError", base)?;
    let class = module.define_class("V2Key", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_load", magnus::function!(load, 1))?;
    class.define_method("path", magnus::method!(path, 0))?;
    class.define_method("encrypt", magnus::method!(encrypt, 1))?;
    class.define_method("decrypt", magnus::method!(decrypt, 1))?;
    Ok(())
}
