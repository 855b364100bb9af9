//! A tour of the core: a VM-provision workspace, substitution, an instantiate handler,
//! state vars and automation.log lines. Run with `make demo-core` or
//! `cargo run -p miq-automate-core --features automation-log --example demo`.

use miq_automate_core::log::AutomationLogFormat;
use miq_automate_core::substitution::substitute;
use miq_automate_core::{AeError, Evm, LogLevel, Password, Value, Workspace};

fn main() -> Result<(), AeError> {
    tracing_subscriber::fmt()
        .event_format(AutomationLogFormat)
        .with_writer(std::io::stdout)
        .init();

    let mut ws = Workspace::with_root([
        ("vmdb_object_type", Value::from("miq_provision")),
        ("ae_state", Value::from("RegisterDHCP")),
        ("ae_result", Value::from("error")),
        (
            "rollback_class",
            Value::from("/Infrastructure/VM/Provisioning/Rollback"),
        ),
        ("dhcp_password", Value::Password(Password::new("s3cret"))),
    ]);
    ws.set_current_method(Some("update_provision_status"));
    ws.on_instantiate(
        "/ReleaseIPAddress",
        Box::new(|ws, id| {
            let ip = ws.obj(id).read("ip_address");
            ws.log(LogLevel::Info, &format!("releasing {ip}"));
            Ok(())
        }),
    );

    let step = substitute(
        &mut ws,
        "${/#rollback_class}/ReleaseIPAddress?ip_address=10.0.0.7",
    )?;
    ws.log(LogLevel::Info, &format!(">>> Instantiating '{step}'"));
    Evm::instantiate(&mut ws, &step)?;
    ws.set_state_var(
        &Value::Symbol("rolled_back".into()),
        Value::Array(vec![Value::from(step)]),
    )?;
    ws.log(
        LogLevel::Info,
        &format!(
            "password attribute reads as {}",
            ws.root_get("dhcp_password")
        ),
    );
    ws.log(
        LogLevel::Warn,
        "a v2:{c2VjcmV0} token never reaches the log",
    );
    println!("state vars: {}", ws.state_vars().to_hash().inspect());
    println!(
        "field_timeout without ae_state_max_retries: {:?}",
        ws.field_timeout().err()
    );
    Ok(())
}
