//! Follows `spec/miq_ae_collect_spec.rb`: collect expressions.

use miq_automate_core::Value;

use crate::support::{engine, no_attrs};

// miq_ae_collect_spec.rb: hash/sort/rsort/count/min/max/mean/sum; the instance's collect
// overrides the class's; NUMBERS/${#environment} → 3, 1 (.missing), 0 (.default).
#[test]
fn collects_a_hash_sorts_counts_and_by_environment() {
    let e = engine();
    let run = e
        .instantiate("/Test/Collect/info#get_months", no_attrs())
        .unwrap();
    let Value::Hash(months) = run.root_get("months") else {
        panic!("months is a hash");
    };
    assert_eq!(months.len(), 12);
    // Wildcard URIs are sorted, so April comes first.
    assert_eq!(months[0], (Value::from("April"), Value::Integer(4)));
    let ints = |r: std::ops::RangeInclusive<i64>| Value::Array(r.map(Value::Integer).collect());
    assert_eq!(run.root_get("sort"), ints(1..=12));
    assert_eq!(
        run.root_get("rsort"),
        Value::Array((1..=12).rev().map(Value::Integer).collect())
    );
    assert_eq!(run.root_get("count"), Value::Integer(12));
    assert_eq!(run.root_get("min"), Value::Integer(1));
    assert_eq!(run.root_get("max"), Value::Integer(12));
    assert_eq!(run.root_get("mean"), Value::Float(6.5));
    assert_eq!(run.root_get("sum"), Value::Integer(78));
    let run = e
        .instantiate("/Test/Collect/override#get_months", no_attrs())
        .unwrap();
    let Value::Array(names) = run.root_get("names") else {
        panic!("names is an array");
    };
    assert_eq!(names.len(), 12);
    assert_eq!(run.root_get("months"), Value::Nil);
    for (env, n) in [("dev", 3), ("test", 5), ("foo", 1), ("", 0)] {
        let run = e
            .instantiate(
                &format!("/Test/Collect/info?environment={env}#get_number"),
                no_attrs(),
            )
            .unwrap();
        assert_eq!(
            run.root_get("number"),
            Value::Integer(n),
            "environment={env}"
        );
    }
    let run = e.instantiate("/Test/Collect/info", no_attrs()).unwrap();
    assert_eq!(
        run.root_get("lits"),
        Value::Array(vec![Value::Integer(1), Value::Float(2.5), Value::from("x")])
    );
}
