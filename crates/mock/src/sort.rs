//! `sort_by` / `sort_order`: sorting a collection's rows as ManageIQ does, on physical
//! columns only, numeric strings as numbers, nulls first.

use std::cmp::Ordering;

use serde_json::Value;

use crate::collection::Collection;
use crate::query::Query;
use crate::records::Record;
use crate::reply::ApiError;

/// Sorts `rows` by the query's keys; a key that is not a physical column is a 400.
pub(crate) fn sort_rows(
    coll: Collection,
    rows: &mut [Record],
    query: &Query,
) -> Result<(), ApiError> {
    if query.sort_by.is_empty() {
        return Ok(());
    }
    for a in &query.sort_by {
        if !coll.physical().contains(&a.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{a} is not a valid attribute for {}",
                coll.klass()
            )));
        }
    }
    let keys: Vec<(String, bool)> = query
        .sort_by
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let desc = query
                .sort_order
                .get(i)
                .or(query.sort_order.last())
                .is_some_and(|o| {
                    o.eq_ignore_ascii_case("desc") || o.eq_ignore_ascii_case("descending")
                });
            (a.clone(), desc)
        })
        .collect();
    rows.sort_by(|a, b| {
        for (k, desc) in &keys {
            let ord = compare_values(a.get(k), b.get(k));
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    Ok(())
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let a = a.unwrap_or(&Value::Null);
    let b = b.unwrap_or(&Value::Null);
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            _ => x.cmp(y),
        },
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}
