//! ManageIQ's two-way passwords (`v2:{…}`), as the manageiq-password gem makes and reads
//! them with the appliance's key file (`v2_key`).
//!
//! The key file is YAML with symbol keys: `:algorithm:` (only `aes-256-cbc`, the default),
//! `:key:` (32 bytes, base64) and an optional `:iv:` (16 bytes, base64; all zeros without
//! it, as OpenSSL leaves an IV that is never set). A value is AES-256-CBC with PKCS#7
//! padding, base64 without line breaks, wrapped as `v2:{…}`; the empty string is `v2:{}`.
//!
//! The key is a secret: no error message and no `Debug` output shows it or the file's text.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use regex::Regex;
use zeroize::Zeroizing;

/// The only algorithm ManageIQ's key files name.
pub const ALGORITHM: &str = "aes-256-cbc";

const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;

/// Why a value could not be decrypted: `ManageIQ::Password::PasswordError`, with the gem's
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The value is not `v2:{…}` (the gem takes anything else for plaintext).
    #[error("cannot decrypt plaintext string")]
    Plaintext,
    /// The value is `v2:{…}` but this key does not decrypt it (another key, a damaged
    /// value, or plaintext that is not UTF-8 where a Rust `String` is asked for).
    #[error("cannot decrypt encrypted string")]
    Undecryptable,
}

/// Why a key file's text is not a usable key. The reason never quotes the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidKey(String);

/// Why a key file could not be loaded; the message names the file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("cannot read v2 key file {}: {source}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is read but is not a key.
    #[error("invalid v2 key file {}: {source}", path.display())]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        source: InvalidKey,
    },
}

/// An appliance's encryption key (`certs/v2_key`). Its bytes are wiped when it is dropped.
pub struct V2Key {
    key: Zeroizing<[u8; KEY_LEN]>,
    iv: Zeroizing<[u8; IV_LEN]>,
}

impl fmt::Debug for V2Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V2Key")
            .field("algorithm", &ALGORITHM)
            .field("key", &super::MASK)
            .finish()
    }
}

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

impl V2Key {
    /// Reads a key file as the gem does (`ManageIQ::Password.key_root = dir` then its
    /// `v2_key`).
    pub fn load(path: impl AsRef<Path>) -> Result<V2Key, KeyFileError> {
        let path = path.as_ref();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
                    path: path.to_path_buf(),
                    source,
                })?,
            );
        V2Key::parse(&text).map_err(|source| KeyFileError::Invalid {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a key file's text: a flat YAML mapping with `:algorithm:`, `:key:` and
    /// optionally `:iv:` (other entries, such as `:created:`, are ignored).
    pub fn parse(text: &str) -> Result<V2Key, InvalidKey> {
        let entries = yaml_entries(text)?;
        let find = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        if let Some(algorithm) = find(":algorithm") {
            if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
                return Err(InvalidKey(format!(
                    "algorithm {algorithm:?} is not supported (only {ALGORITHM})"
                )));
            }
        }
        let key_text = find(":key").ok_or_else(|| {
            let hint = if entries.iter().any(|(k, _)| k == "key") {
                " (`key:` is there: the keys are symbols, `:key:`)"
            } else {
                ""
            };
            InvalidKey(format!("no :key: entry{hint}"))
        })?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let raw = Zeroizing::new(decode64(key_text));
        if raw.len() != KEY_LEN {
            return Err(InvalidKey(format!(
                ":key: decodes to {} bytes; {ALGORITHM} needs {KEY_LEN}",
                raw.len()
            )));
        }
        key.copy_from_slice(&raw);
        let mut iv = Zeroizing::new([0u8; IV_LEN]);
        if let Some(iv_text) = find(":iv") {
            let raw = Zeroizing::new(decode64(iv_text));
            if raw.len() != IV_LEN {
                return Err(InvalidKey(format!(
                    ":iv: decodes to {} bytes; {ALGORITHM} needs {IV_LEN}",
                    raw.len()
                )));
            }
            iv.copy_from_slice(&raw);
        }
        Ok(V2Key { key, iv })
    }

    /// `ManageIQ::Password.encrypt(plaintext)`: `v2:{base64}`, and `v2:{}` for "".
    pub fn encrypt(&self, plaintext: impl AsRef<[u8]>) -> String {
        let plaintext = plaintext.as_ref();
        if plaintext.is_empty() {
            return "v2:{}".to_string();
        }
        let cipher = Encryptor::new(self.key.as_ref().into(), self.iv.as_ref().into());
        let bytes = cipher.encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        format!(
            "v2:{{{}}}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// `ManageIQ::Password.decrypt(value)` as bytes (the gem tags them UTF-8 without
    /// checking). An ERB wrapper (`<%= MiqPassword.decrypt('v2:{…}') %>`) is taken off
    /// first; "" and `v2:{}` give "".
    pub fn decrypt_bytes(&self, value: &str) -> Result<Vec<u8>, PasswordError> {
        let value = remove_erb(value);
        if value.is_empty() {
            return Ok(Vec::new());
        }
        let inner = unwrap(value).ok_or(PasswordError::Plaintext)?;
        if inner.is_empty() {
            return Ok(Vec::new());
        }
        let cipher = Decryptor::new(self.key.as_ref().into(), self.iv.as_ref().into());
        cipher
            .decrypt_padded_vec_mut::<Pkcs7>(&decode64(inner))
            .map_err(|_| PasswordError::Undecryptable)
    }

    /// [`V2Key::decrypt_bytes`] as a `String`; plaintext that is not UTF-8 is
    /// [`PasswordError::Undecryptable`].
    pub fn decrypt(&self, value: &str) -> Result<String, PasswordError> {
        String::from_utf8(self.decrypt_bytes(value)?).map_err(|_| PasswordError::Undecryptable)
    }
}

/// `ManageIQ::Password.encrypted?(text)`: a line of it (after any ERB wrapper) starts with
/// `v2:{…}`.
pub fn is_encrypted(text: &str) -> bool {
    let text = remove_erb(text);
    !text.is_empty() && unwrap(text).is_some()
}

/// The inside of the first `v2:{…}` that starts a line (the gem's `/^v2:\{([^}]*)\}/`).
fn unwrap(text: &str) -> Option<&str> {
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    starts.into_iter().find_map(|start| {
        let rest = text[start..].strip_prefix("v2:{")?;
        rest.find('}').map(|end| &rest[..end])
    })
}

static ERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?s)\A<%= (?:MiqPassword|DB_PASSWORD|ManageIQ::Password)\.decrypt\(['"](.+?)['"]\) %>\n?\z"#,
    )
    .expect("valid regex")
});

/// The value inside `<%= MiqPassword.decrypt("…") %>` (also `DB_PASSWORD`,
/// `ManageIQ::Password`), else the text as it is.
fn remove_erb(text: &str) -> &str {
    if !text.starts_with("<%=") {
        return text;
    }
    match ERB.captures(text).and_then(|c| c.get(1)) {
        Some(inner) => inner.as_str(),
        None => text,
    }
}

/// Ruby's `Base64.decode64` (`unpack1("m")`): characters outside the alphabet are skipped,
/// a `=` in the third or fourth place of a group ends the data, and a last group of two or
/// three characters gives one or two bytes.
fn decode64(text: &str) -> Vec<u8> {
    fn sextet(b: u8) -> Option<u8> {
        match b {
            b'A'..=b'Z' => Some(b - b'A'),
            b'a'..=b'z' => Some(b - b'a' + 26),
            b'0'..=b'9' => Some(b - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let mut group = [0u8; 4];
    let mut filled = 0;
    for &b in bytes {
        match sextet(b) {
            Some(v) => {
                group[filled] = v;
                filled += 1;
                if filled == 4 {
                    out.push(group[0] << 2 | group[1] >> 4);
                    out.push(group[1] << 4 | group[2] >> 2);
                    out.push(group[2] << 6 | group[3]);
                    filled = 0;
                }
            }
            // Padding in the first two places is skipped like any other character.
            None if b == b'=' && filled >= 2 => break,
            None => {}
        }
    }
    if filled >= 2 {
        out.push(group[0] << 2 | group[1] >> 4);
    }
    if filled == 3 {
        out.push(group[1] << 4 | group[2] >> 2);
    }
    out
}

/// The `key: value` entries of a flat YAML mapping (the key file). Comments, blank lines,
/// the `---`/`...` markers and indented lines (parts of a nested value) are skipped; a
/// quoted value loses its quotes. Errors name the line by number only.
fn yaml_entries(text: &str) -> Result<Vec<(String, Zeroizing<String>)>, InvalidKey> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed == "---"
            || trimmed == "..."
            || line.starts_with([' ', '\t'])
        {
            continue;
        }
        // `:key: value` or `key: value`: the name ends at the first `: ` (or a final `:`).
        let split = line.match_indices(':').map(|(i, _)| i).find(|&i| {
            i > 0 && (line[i + 1..].is_empty() || line[i + 1..].starts_with([' ', '\t']))
        });
        let Some(at) = split else {
            return Err(InvalidKey(format!(
                "line {} is not a YAML `name: value` entry",
                n + 1
            )));
        };
        let value = line[at + 1..].trim();
        let value = unquote(value.split(" #").next().unwrap_or(value).trim());
        entries.push((
            line[..at].trim().to_string(),
            Zeroizing::new(value.to_string()),
        ));
    }
    Ok(entries)
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode64_is_rubys_lenient_decoder() {
        assert_eq!(decode64("aGVsbG8="), b"hello");
        assert_eq!(decode64("aGVs\nbG8="), b"hello");
        assert_eq!(decode64("aGVsbG8"), b"hello");
        assert_eq!(decode64("aGVsbA=="), b"hell");
        assert_eq!(decode64("aGVsbA==aGVs"), b"hell");
        assert_eq!(decode64("!!a!G!V!s"), b"hel");
        assert_eq!(decode64("=aGVs"), b"hel");
        assert_eq!(decode64("aG=Vs"), b"h");
        assert_eq!(decode64("a"), b"");
        assert_eq!(decode64(""), b"");
    }

    #[test]
    fn unwrap_finds_a_token_at_a_line_start() {
        assert_eq!(unwrap("v2:{abc}"), Some("abc"));
        assert_eq!(unwrap("v2:{abc}tail"), Some("abc"));
        assert_eq!(unwrap("x\nv2:{abc}"), Some("abc"));
        assert_eq!(unwrap("v2:{a\nb}"), Some("a\nb"));
        assert_eq!(unwrap("x v2:{abc}"), None);
        assert_eq!(unwrap("v2:{abc"), None);
        assert_eq!(unwrap("v1:{abc}"), None);
    }

    #[test]
    fn erb_wrappers_are_taken_off() {
        assert_eq!(remove_erb("<%= MiqPassword.decrypt('v2:{x}') %>"), "v2:{x}");
        assert_eq!(
            remove_erb("<%= ManageIQ::Password.decrypt(\"v2:{x}\") %>\n"),
            "v2:{x}"
        );
        assert_eq!(
            remove_erb("<%= Other.decrypt('v2:{x}') %>"),
            "<%= Other.decrypt('v2:{x}') %>"
        );
    }

    #[test]
    fn yaml_entries_read_the_key_file_shapes() {
        let e = yaml_entries("---\n# a comment\n:created: 2024-01-01 10:00:00 -0500\n:algorithm: aes-256-cbc\n:key: 'abc='\n:iv: \"def\"\n  nested: x\n...\n").unwrap();
        let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                (":created", "2024-01-01 10:00:00 -0500"),
                (":algorithm", "aes-256-cbc"),
                (":key", "abc="),
                (":iv", "def")
            ]
        );
        let err = yaml_entries(":key: x\nTOPSECRETLINE\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2 is not a YAML `name: value` entry");
    }
}
