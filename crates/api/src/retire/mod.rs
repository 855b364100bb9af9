//! Retiring the siblings of a failed bundle item: discover the bundle, plan what to do with
//! each member (retire, skip, leave), execute with bounded concurrency, and report.
//!
//! Each member is retired at most once: a child service listed both as a direct child and
//! as a service resource counts once, a VM is retired directly only when it is a direct
//! resource of the bundle (retiring a child service retires its VMs), and a member that
//! already has a retire request (or VM retirement task) not finished is skipped, so a rerun
//! sends nothing twice. After a failed POST the member is read again before any resend.

mod discover;
mod execute;
mod open;
mod wait;

use std::time::Duration;

use serde::Serialize;

pub use discover::{bundle, discover, Target};
pub use execute::{execute, execute_all, NoProgress, Progress};
pub use open::{open_retirements, OpenKind, OpenRetirement, OpenRetirements};

/// Checks an id given by a user or read from a server: ManageIQ's ids are positive integers
/// (`1000`, or a region-prefixed `99000000001234`). Anything else never reaches a URL path.
pub fn check_id(text: &str) -> Result<String, crate::ApiError> {
    let digits = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if digits && n > 0 => Ok(n.to_string()),
        _ => Err(crate::ApiError::config(format!(
            "invalid id {text:?}: an id is a positive integer"
        ))),
    }
}

/// Finds the bundle(s) a target names, plans and executes: what the CLI's `retire-bundle`
/// and Ruby's `retire_bundle_siblings` do. `failed_id` names the failed item when the caller
/// knows it (otherwise it comes from the request, or from the members' lifecycle state).
pub async fn retire_bundles(
    client: &crate::Client,
    target: &Target,
    failed_id: Option<&str>,
    with_vms: bool,
    options: &RetireOptions,
    progress: &dyn Progress,
) -> Result<Vec<Report>, crate::ApiError> {
    let mut bundles = discover(client, target, with_vms).await?;
    if let Some(failed) = failed_id {
        for b in &mut bundles {
            b.failed_id = Some(failed.to_string());
        }
    }
    let plans: Vec<Plan> = bundles.iter().map(|b| plan(b, options)).collect();
    if let Some(healthy) = plans.iter().find(|p| p.failed.is_empty()) {
        if !options.all_members {
            return Err(crate::ApiError::new(
                crate::ErrorKind::Config,
                "",
                format!(
                    "nothing in bundle {} failed; use --all-members to retire it anyway",
                    healthy.bundle_id
                ),
            ));
        }
    }
    Ok(execute_all(client, &plans, options, progress).await)
}

/// A service or a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A service (`/api/services`).
    Service,
    /// A VM (`/api/vms`).
    Vm,
}

impl ItemKind {
    /// The collection name.
    pub fn collection(self) -> &'static str {
        match self {
            ItemKind::Service => "services",
            ItemKind::Vm => "vms",
        }
    }
}

/// A VM of a child service, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VmRef {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A member of the bundle as read from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Service or VM.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `provisioned`, `error_in_provisioning` … (services).
    pub lifecycle_state: Option<String>,
    /// Already retired.
    pub retired: bool,
    /// `initializing`, `retiring`, `retired`, `error` or none.
    pub retirement_state: Option<String>,
    /// The child service's VMs (read with `with_vms`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmRef>,
    /// A retire request or task naming it that is not finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenRetirement>,
}

impl Member {
    fn retiring(&self) -> bool {
        matches!(
            self.retirement_state.as_deref(),
            Some("retiring" | "initializing")
        )
    }

    fn done(&self) -> bool {
        self.retired || self.retirement_state.as_deref() == Some("retired")
    }
}

/// A bundle and its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bundle {
    /// The bundle service id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its lifecycle state.
    pub lifecycle_state: Option<String>,
    /// Already retired.
    pub retired: bool,
    /// Its retirement state.
    pub retirement_state: Option<String>,
    /// Child services, then VMs that are direct resources.
    pub members: Vec<Member>,
    /// The failed item, when known from the request.
    pub failed_id: Option<String>,
    /// Why it failed: its provision task's `message` (secrets masked), when known from the
    /// request.
    pub failed_message: Option<String>,
    /// Whether the server offers `request_retire` (from the bundle's actions), if it said.
    pub supports_request_retire: Option<bool>,
    /// A retire request naming the bundle itself that is not finished.
    pub open: Option<OpenRetirement>,
}

/// Choices of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetireOptions {
    /// Retire the failed item too (it normally rolls itself back).
    pub include_failed: bool,
    /// Retire the bundle itself after its children.
    pub retire_parent: bool,
    /// Poll requests and tasks until they finish, then read the final retirement state.
    pub wait: bool,
    /// How long `wait` may take in all.
    pub timeout: Duration,
    /// The pause between polls.
    pub poll_interval: Duration,
    /// Plan only: send no POST.
    pub dry_run: bool,
    /// How long one member's retire POST may be sent again through a transient outage
    /// (5xx, 429, lost connections), with backoff, jitter and the server's `Retry-After`.
    pub post_budget: Duration,
    /// Retire the members of a bundle in which nothing failed (refused otherwise: a healthy
    /// service is not retired by mistake).
    pub all_members: bool,
}

impl Default for RetireOptions {
    fn default() -> Self {
        RetireOptions {
            include_failed: false,
            retire_parent: false,
            wait: false,
            timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
            dry_run: false,
            post_budget: Duration::from_secs(60),
            all_members: false,
        }
    }
}

/// What to do with a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Retire it.
    Retire,
    /// Nothing to do (already retired or retiring).
    Skip,
    /// Not ours to retire (the failed item).
    Leave,
}

/// One line of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// Service or VM.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What to do.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// `true` for the bundle itself (`retire_parent`).
    pub parent: bool,
    /// The child's VMs, retired with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmRef>,
    /// The retire request or task already open for it (the reason it is skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenRetirement>,
}

/// The plan for one bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The bundle id.
    pub bundle_id: String,
    /// The bundle name.
    pub bundle_name: String,
    /// The failed item(s).
    pub failed: Vec<String>,
    /// Why it failed (its provision task's message), when known from the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_message: Option<String>,
    /// Whether `request_retire` is known to be supported.
    #[serde(skip)]
    pub supports_request_retire: Option<bool>,
    /// Members in order, the bundle last when it is retired too.
    pub items: Vec<PlanItem>,
}

/// Decides, for each member, retire / skip / leave.
pub fn plan(bundle: &Bundle, options: &RetireOptions) -> Plan {
    let failed: Vec<String> = match &bundle.failed_id {
        Some(id) => vec![id.clone()],
        None => bundle
            .members
            .iter()
            .filter(|m| m.lifecycle_state.as_deref() == Some("error_in_provisioning"))
            .map(|m| m.id.clone())
            .collect(),
    };
    let decide = |m: &Member, is_failed: bool| -> (Action, String) {
        if m.done() {
            (Action::Skip, "already retired".into())
        } else if let Some(open) = &m.open {
            (Action::Skip, format!("{open} already open"))
        } else if m.retiring() {
            (
                Action::Skip,
                format!(
                    "retirement in progress ({})",
                    m.retirement_state.as_deref().unwrap_or("")
                ),
            )
        } else if is_failed && !options.include_failed {
            (
                Action::Leave,
                "the failed item rolls itself back (use --include-failed to retire it)".into(),
            )
        } else if is_failed {
            (Action::Retire, "failed item, retired on request".into())
        } else if failed.is_empty() {
            (
                Action::Retire,
                "member of a bundle in which nothing failed (--all-members)".into(),
            )
        } else {
            (
                Action::Retire,
                "provisioned sibling of the failed item".into(),
            )
        }
    };
    let mut items: Vec<PlanItem> = bundle
        .members
        .iter()
        .map(|m| {
            let is_failed = m.kind == ItemKind::Service && failed.contains(&m.id);
            let (action, reason) = decide(m, is_failed);
            PlanItem {
                kind: m.kind,
                id: m.id.clone(),
                name: m.name.clone(),
                action,
                reason,
                parent: false,
                vms: m.vms.clone(),
                open: m.open.clone(),
            }
        })
        .collect();
    if options.retire_parent {
        let me = Member {
            kind: ItemKind::Service,
            id: bundle.id.clone(),
            name: bundle.name.clone(),
            lifecycle_state: bundle.lifecycle_state.clone(),
            retired: bundle.retired,
            retirement_state: bundle.retirement_state.clone(),
            vms: Vec::new(),
            open: bundle.open.clone(),
        };
        let (action, reason) = decide(&me, false);
        let reason = if action == Action::Retire {
            "the bundle itself, after its children".into()
        } else {
            reason
        };
        items.push(PlanItem {
            kind: ItemKind::Service,
            id: me.id,
            name: me.name,
            action,
            reason,
            parent: true,
            vms: Vec::new(),
            open: me.open,
        });
    }
    Plan {
        bundle_id: bundle.id.clone(),
        bundle_name: bundle.name.clone(),
        failed,
        failed_message: bundle.failed_message.clone(),
        supports_request_retire: bundle.supports_request_retire,
        items,
    }
}

/// How an item ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Dry run: would be retired.
    Planned,
    /// Retirement requested (not waited for).
    Requested,
    /// Retired (confirmed by reading its state).
    Retired,
    /// Skipped by the plan.
    Skipped,
    /// Left alone by the plan.
    Left,
    /// The retirement failed.
    Failed,
    /// Still not finished when the wait timed out.
    TimedOut,
}

/// The account of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemReport {
    /// Service or VM.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What the plan said.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// The bundle itself.
    pub parent: bool,
    /// `request_retire` or the legacy `retire`.
    pub method: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The retire request created.
    pub request_id: Option<String>,
    /// The task created (VMs).
    pub task_id: Option<String>,
    /// The final `retired`, when read.
    pub retired: Option<bool>,
    /// The final `retirement_state`, when read.
    pub retirement_state: Option<String>,
    /// The POST's reply was lost (an error, a timeout) but reading the member again showed
    /// that the server had acted on it: requested, not failed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reply_lost: bool,
    /// What went wrong (secrets redacted).
    pub error: Option<String>,
    /// The child's VMs, retired with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmRef>,
}

/// Counts by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Items in the plan.
    pub total: usize,
    /// Planned (dry run).
    pub planned: usize,
    /// Requested.
    pub requested: usize,
    /// Retired.
    pub retired: usize,
    /// Skipped.
    pub skipped: usize,
    /// Left.
    pub left: usize,
    /// Failed.
    pub failed: usize,
    /// Timed out.
    pub timed_out: usize,
}

/// The account of one bundle's retirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The bundle id.
    pub bundle_id: String,
    /// The bundle name.
    pub bundle_name: String,
    /// The failed item(s).
    pub failed_items: Vec<String>,
    /// Why the failed item failed: its provision task's `message` (secrets masked), known
    /// when the bundle was found from its request (`--request`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_message: Option<String>,
    /// Nothing was sent.
    pub dry_run: bool,
    /// Requests were waited for.
    pub waited: bool,
    /// Every item, in plan order.
    pub items: Vec<ItemReport>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// `true` when some item failed or timed out.
    pub fn has_failures(&self) -> bool {
        self.summary.failed + self.summary.timed_out > 0
    }
}

/// Counts outcomes.
pub fn summarize(items: &[ItemReport]) -> Summary {
    let mut s = Summary {
        total: items.len(),
        ..Summary::default()
    };
    for item in items {
        match item.outcome {
            Outcome::Planned => s.planned += 1,
            Outcome::Requested => s.requested += 1,
            Outcome::Retired => s.retired += 1,
            Outcome::Skipped => s.skipped += 1,
            Outcome::Left => s.left += 1,
            Outcome::Failed => s.failed += 1,
            Outcome::TimedOut => s.timed_out += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, lifecycle: &str, retired: bool, state: Option<&str>) -> Member {
        Member {
            kind: ItemKind::Service,
            id: id.into(),
            name: format!("svc {id}"),
            lifecycle_state: Some(lifecycle.into()),
            retired,
            retirement_state: state.map(str::to_string),
            vms: vec![],
            open: None,
        }
    }

    fn bundle() -> Bundle {
        Bundle {
            id: "1".into(),
            name: "b".into(),
            lifecycle_state: Some("error_in_provisioning".into()),
            retired: false,
            retirement_state: None,
            members: vec![
                member("2", "provisioned", false, None),
                member("3", "provisioned", true, Some("retired")),
                member("4", "provisioned", false, Some("retiring")),
                member("5", "error_in_provisioning", false, None),
            ],
            failed_id: None,
            failed_message: None,
            supports_request_retire: Some(true),
            open: None,
        }
    }

    #[test]
    fn plan_retires_provisioned_siblings_only() {
        let p = plan(&bundle(), &RetireOptions::default());
        let actions: Vec<(&str, Action)> =
            p.items.iter().map(|i| (i.id.as_str(), i.action)).collect();
        assert_eq!(
            actions,
            vec![
                ("2", Action::Retire),
                ("3", Action::Skip),
                ("4", Action::Skip),
                ("5", Action::Leave)
            ]
        );
        assert_eq!(p.failed, vec!["5".to_string()]);
    }

    #[test]
    fn include_failed_and_retire_parent() {
        let options = RetireOptions {
            include_failed: true,
            retire_parent: true,
            ..RetireOptions::default()
        };
        let p = plan(&bundle(), &options);
        assert_eq!(p.items[3].action, Action::Retire);
        let last = p.items.last().unwrap();
        assert!(last.parent);
        assert_eq!((last.id.as_str(), last.action), ("1", Action::Retire));
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(check_id("1000").unwrap(), "1000");
        assert_eq!(check_id("007").unwrap(), "7");
        assert_eq!(check_id("99000000001234").unwrap(), "99000000001234");
        for bad in [
            "",
            "0",
            "-1",
            "1000/../1100",
            " 1",
            "1e3",
            "１２",
            "99999999999999999999999",
        ] {
            let e = check_id(bad).unwrap_err();
            assert!(
                e.message.contains("an id is a positive integer"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn an_open_retire_request_is_not_asked_again() {
        let mut b = bundle();
        b.members[0].open = Some(OpenRetirement {
            kind: OpenKind::Request,
            id: "77".into(),
        });
        let p = plan(&b, &RetireOptions::default());
        assert_eq!(p.items[0].action, Action::Skip);
        assert_eq!(p.items[0].reason, "retire request 77 already open");
    }

    #[test]
    fn the_failed_item_from_the_request_wins() {
        let mut b = bundle();
        b.failed_id = Some("2".into());
        let p = plan(&b, &RetireOptions::default());
        assert_eq!(p.items[0].action, Action::Leave);
        assert_eq!(p.items[3].action, Action::Retire);
    }
}
