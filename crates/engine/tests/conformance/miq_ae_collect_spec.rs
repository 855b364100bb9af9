//! Follows `spec/miq_ae_collect_spec.rb`: collect expressions. The first case runs over
//! `tests/domains/engine` (months); the others over the peer's `collect_data` rewritten
//! (`TEST/COLLECT`, `WEEKDAYS`, `NUMBERS`). Every example is ported.

use miq_automate_core::Value;
use miq_automate_engine::{Engine, ScriptedRunner};

use crate::support::build::{attribute, relationship, TempDomains};
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

const WEEKDAYS: [(&str, &str, &str); 7] = [
    ("SUN", "1", "Sunday"),
    ("MON", "2", "Monday"),
    ("TUE", "3", "Tuesday"),
    ("WED", "4", "Wednesday"),
    ("THU", "5", "Thursday"),
    ("FRI", "6", "Friday"),
    ("SAT", "7", "Saturday"),
];

/// `TEST/COLLECT/INFO`, its `weekdays` collect given by the class or by the instance.
fn collect_data(instance_collect: Option<&str>) -> (TempDomains, Engine) {
    let t = TempDomains::new();
    let d = t.domain("SPEC_DOMAIN", 100);
    let mut info = vec![
        (
            "random_number",
            vec![("value", "/TEST/NUMBERS/${#environment}#create")],
        ),
        ("weekdays", vec![("value", "/TEST/WEEKDAYS/*#create")]),
    ];
    if let Some(c) = instance_collect {
        info[1].1.push(("collect", c));
    }
    d.class(
        "TEST/COLLECT",
        &[
            relationship("random_number")
                .message("get_random_number")
                .collect("number"),
            relationship("weekdays")
                .message("get_weekdays")
                .collect("weekdays = {description => weekday}; sum = [weekday].sum"),
        ],
    )
    .instance_keys("INFO", &info);
    let weekdays = d.class(
        "TEST/WEEKDAYS",
        &[
            attribute("weekday").datatype("integer"),
            attribute("description"),
        ],
    );
    for (name, n, description) in WEEKDAYS {
        weekdays.instance(name, &[("weekday", n), ("description", description)]);
    }
    d.class(
        "TEST/NUMBERS",
        &[attribute("number").datatype("integer").default("0")],
    )
    .instance(".missing", &[("number", "1")])
    .instance("dev", &[("number", "3")])
    .instance("test", &[("number", "5")]);
    let e = t.engine(ScriptedRunner::new());
    (t, e)
}

#[test]
fn collects_weekdays_as_a_hash_and_their_sum() {
    let (_t, e) = collect_data(None);
    let run = e
        .instantiate("/TEST/COLLECT/INFO#get_weekdays", no_attrs())
        .unwrap();
    let Value::Hash(weekdays) = run.root_get("weekdays") else {
        panic!("weekdays is a hash");
    };
    assert_eq!(weekdays.len(), 7);
    for (_, n, description) in WEEKDAYS {
        let day = weekdays
            .iter()
            .find(|(k, _)| *k == Value::from(description));
        assert_eq!(
            day.map(|(_, v)| v.clone()),
            Some(Value::Integer(n.parse().unwrap()))
        );
    }
    assert_eq!(run.root_get("sum"), Value::Integer(28));
}

#[test]
fn an_instance_collect_overrides_the_class_collect() {
    let (_t, e) = collect_data(Some("weekdays = [description]"));
    let run = e
        .instantiate("/TEST/COLLECT/INFO#get_weekdays", no_attrs())
        .unwrap();
    let Value::Array(weekdays) = run.root_get("weekdays") else {
        panic!("weekdays is an array");
    };
    assert_eq!(weekdays.len(), 7);
}

/// `NUMBERS/${#environment}`: an instance, `.missing`, or (empty or absent) `.default`.
#[test]
fn the_environment_picks_the_number() {
    let (_t, e) = collect_data(None);
    for (query, number) in [
        ("?environment=dev", 3),
        ("?environment=test", 5),
        ("?environment=foo", 1),
        ("?environment=", 0),
        ("", 0),
    ] {
        let run = e
            .instantiate(
                &format!("/TEST/COLLECT/INFO{query}#get_random_number"),
                no_attrs(),
            )
            .unwrap();
        assert_eq!(run.root_get("number"), Value::Integer(number), "{query}");
    }
}
