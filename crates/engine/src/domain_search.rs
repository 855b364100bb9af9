//! Domain search (`MiqAeDomainSearch`): which domain a domain-less path resolves to.
//!
//! `/NS/Class/Inst` goes to the highest-priority *enabled* domain that has that instance,
//! else to the highest one that has `NS/Class/.missing`, else the namespace stays as given
//! (so `/Dom/NS/Class/Inst` works: no domain has a namespace called `Dom`). Methods are
//! searched the same way, so a higher domain's method wins over a lower one's.

use crate::datastore::Datastore;

/// The `.missing` instance name.
pub const MISSING_INSTANCE: &str = ".missing";
/// The instance a path with a trailing `/` names.
pub const DEFAULT_INSTANCE: &str = ".default";

/// What to look for in a class.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// An instance (`None`: the path ended with `/`, which no instance matches).
    Instance(Option<&'a str>),
    /// A method.
    Method(&'a str),
}

/// The highest-priority enabled domain whose `namespace/class` has `target`:
/// its namespace, domain first, as the engine's `match.namespace` gives it.
pub fn matching_namespace(
    ds: &Datastore,
    namespace: &str,
    class: &str,
    target: Target<'_>,
) -> Option<String> {
    let found = ds
        .classes_by_relative(namespace, class)
        .iter()
        .copied()
        .find(|id| {
            let c = ds.class(*id);
            ds.domains()[c.domain].enabled
                && match target {
                    Target::Instance(Some(i)) => c.instance(i).is_some(),
                    Target::Instance(None) => false,
                    Target::Method(m) => c.method(m).is_some(),
                }
        })?;
    Some(ds.class_namespace_fq(found))
}

/// `find_first_fq_domain`: the target, then `.missing` (for methods too, as the engine
/// does), `None` when neither exists in any enabled domain.
pub fn find_first(
    ds: &Datastore,
    namespace: &str,
    class: &str,
    target: Target<'_>,
) -> Option<String> {
    matching_namespace(ds, namespace, class, target).or_else(|| {
        matching_namespace(
            ds,
            namespace,
            class,
            Target::Instance(Some(MISSING_INSTANCE)),
        )
    })
}

/// `MiqAeInstance.search`: instances whose domain-less path matches `pattern` (a trailing
/// `*` matches any rest; case-insensitive), from the one highest-priority domain that has
/// any (enabled or not, as the engine does). Fully qualified paths, sorted.
pub fn wildcard_instances(ds: &Datastore, pattern: &str) -> Vec<String> {
    let pattern = pattern.trim_start_matches('/').to_lowercase();
    let (prefix, exact) = match pattern.strip_suffix('*') {
        Some(p) => (p.to_string(), false),
        None => (pattern.clone(), true),
    };
    let mut best: Option<(i64, usize)> = None;
    let mut hits: Vec<(usize, String)> = Vec::new();
    for c in ds.classes() {
        let relative = if c.namespace.is_empty() {
            c.name.clone()
        } else {
            format!("{}/{}", c.namespace, c.name)
        };
        for i in &c.instances {
            let path = format!("{relative}/{}", i.name).to_lowercase();
            let matched = if exact {
                path == prefix
            } else {
                path.starts_with(&prefix)
            };
            if matched {
                let domain = &ds.domains()[c.domain];
                if best.is_none_or(|(p, _)| domain.priority > p) {
                    best = Some((domain.priority, c.domain));
                }
                hits.push((c.domain, format!("/{}/{relative}/{}", domain.name, i.name)));
            }
        }
    }
    let Some((_, domain)) = best else {
        return Vec::new();
    };
    let mut out: Vec<String> = hits
        .into_iter()
        .filter(|(d, _)| *d == domain)
        .map(|(_, p)| p)
        .collect();
    out.sort();
    out
}
