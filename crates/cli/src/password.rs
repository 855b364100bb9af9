//! `miq-automate password encrypt|decrypt --v2-key FILE [VALUE]`: ManageIQ's `v2:{…}`
//! passwords with an appliance's key file, as the manageiq-password gem makes and reads them.

use std::fmt;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use miq_automate_core::password::{PasswordError, V2Key};

use crate::EXIT_OK;

const EXAMPLES: &str = "\
Examples:
  # the plaintext on standard input keeps it out of the shell's history
  printf '%s' \"$PW\" | miq-automate password encrypt --v2-key certs/v2_key
  miq-automate password decrypt --v2-key certs/v2_key 'v2:{…}'";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Encrypt a plaintext into `v2:{…}` (read from standard input when not given).
    #[command(after_help = EXAMPLES)]
    Encrypt(Args),
    /// Decrypt a `v2:{…}` value to its plaintext (read from standard input when not given).
    #[command(after_help = EXAMPLES)]
    Decrypt(Args),
}

#[derive(clap::Args)]
pub struct Args {
    /// The appliance's key file (certs/v2_key: YAML with :algorithm: and :key:).
    #[arg(long = "v2-key", value_name = "FILE", env = "MIQ_V2_KEY")]
    v2_key: PathBuf,
    /// The value. Left out, it is read from standard input (one trailing line end dropped):
    /// give a plaintext that way, so that it stays out of the shell's history.
    value: Option<String>,
}

// The value may be a plaintext: Debug shows only whether it was given.
impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("v2_key", &self.v2_key)
            .field("value", &self.value.as_ref().map(|_| "********"))
            .finish()
    }
}

pub fn run(command: Command) -> Result<u8> {
    let (args, encrypt) = match command {
        Command::Encrypt(args) => (args, true),
        Command::Decrypt(args) => (args, false),
    };
    let key = V2Key::load(&args.v2_key)?;
    let value = match args.value {
        Some(v) => v.into_bytes(),
        None => read_stdin()?,
    };
    let mut out = if encrypt {
        key.encrypt(&value).into_bytes()
    } else {
        let text = String::from_utf8(value)
            .map_err(|_| anyhow!("the value to decrypt is not UTF-8 text"))?;
        key.decrypt_bytes(text.trim())
            .map_err(|e| explain(e, &args.v2_key))?
    };
    out.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out).context("cannot write the result")?;
    stdout.flush().context("cannot write the result")?;
    Ok(EXIT_OK)
}

/// Standard input without one trailing line end (`\n` or `\r\n`).
fn read_stdin() -> Result<Vec<u8>> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("miq-automate: reading the value from standard input (end it with Ctrl-D)");
    }
    let mut value = Vec::new();
    stdin
        .read_to_end(&mut value)
        .context("cannot read the value from standard input")?;
    if value.ends_with(b"\n") {
        value.pop();
        if value.ends_with(b"\r") {
            value.pop();
        }
    }
    Ok(value)
}

/// The gem's message, and what it means here.
fn explain(error: PasswordError, key: &std::path::Path) -> anyhow::Error {
    let why = match error {
        PasswordError::Plaintext => "the value is not a v2:{…} string".to_string(),
        PasswordError::Undecryptable => format!(
            "the key in {} does not decrypt it (another appliance's key, or a damaged value)",
            key.display()
        ),
    };
    anyhow!("{error}: {why}")
}
