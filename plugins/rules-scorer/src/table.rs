//! A points table (`points_by_value`, or `bins` with `points_by_bin`): the
//! first case that holds gives its points. A learned model has ~60 tables of
//! up to ~20 cases; testing every case in turn (trim, case-fold, compare) was
//! a third of a learned scorer's call, so each table keeps an index built
//! once per install: the case a value selects is found by one lookup, and
//! only that case is tested and explained.

use std::collections::BTreeMap;

use leadwire_sdk::Value;

use crate::conditions::{self, FieldCondition, FieldTest};
use crate::reader::Scalar;

#[derive(Debug)]
pub struct PointsTable {
    /// The cases in the config's order, each with its points.
    pub cases: Vec<(FieldCondition, f64)>,
    index: Index,
}

#[derive(Debug)]
enum Index {
    /// `points_by_value`: each value's text key (see
    /// [`conditions::text_key`]) and the first case with that key.
    ByText(BTreeMap<String, usize>),
    /// `bins`: the edges, lowest first; case `i` is `[edges[i-1], edges[i])`.
    ByBin(Vec<f64>),
}

impl PointsTable {
    /// The table of `points_by_value` (every case an `Equals` of text).
    pub fn by_value(cases: Vec<(FieldCondition, f64)>) -> PointsTable {
        let mut keys = BTreeMap::new();
        for (i, (case, _)) in cases.iter().enumerate() {
            if let FieldTest::Equals(Scalar::Text(text)) = &case.test {
                keys.entry(conditions::text_key(text).into_owned())
                    .or_insert(i);
            }
        }
        PointsTable {
            cases,
            index: Index::ByText(keys),
        }
    }

    /// The table of `bins` with `points_by_bin` (one `Range` case per bin).
    pub fn by_bin(edges: Vec<f64>, cases: Vec<(FieldCondition, f64)>) -> PointsTable {
        PointsTable {
            cases,
            index: Index::ByBin(edges),
        }
    }

    /// The field every case tests.
    pub fn field(&self) -> Option<&str> {
        self.cases.first().map(|(case, _)| case.field.as_str())
    }

    /// The first case that holds for the field's value: its points and reason.
    pub fn find(&self, value: Option<&Value>) -> Option<(f64, String)> {
        // No table has a `missing` case: an empty field scores nothing.
        let value = value.filter(|v| !v.is_empty())?;
        let i = match &self.index {
            Index::ByText(keys) => {
                let mut first: Option<usize> = None;
                conditions::each_text(value, |text| {
                    if let Some(&i) = keys.get(conditions::text_key(text).as_ref()) {
                        first = Some(first.map_or(i, |f| f.min(i)));
                    }
                });
                first?
            }
            Index::ByBin(edges) => {
                let n = conditions::number(value)?;
                edges.partition_point(|edge| *edge <= n)
            }
        };
        // The index only chooses the case; the case's own test decides (and
        // words the reason), so the index can never make a case hold.
        let (case, points) = self.cases.get(i)?;
        let reason = case.check_value(Some(value))?;
        Some((*points, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the index replaces: every case tested in turn.
    fn each_case(table: &PointsTable, value: Option<&Value>) -> Option<(f64, String)> {
        table.cases.iter().find_map(|(case, points)| {
            let reason = case.check_value(value)?;
            Some((*points, reason))
        })
    }

    fn case(test: FieldTest) -> FieldCondition {
        FieldCondition {
            field: "f".into(),
            test,
        }
    }

    fn values() -> Vec<Option<Value>> {
        let texts = [
            "a",
            "A",
            " a ",
            "b",
            "Ünïcode",
            "ÜNÏCODE",
            "ünïcode ",
            "K",
            "\u{212A}",
            "42",
            "42.0",
            "true",
            "TRUE",
            "x;y",
            "",
            "  ",
            "missing",
            "-1.5",
            "0",
            "9.99",
            "10",
            "1e3",
        ];
        let mut values: Vec<Option<Value>> = texts.iter().map(|t| Some((*t).into())).collect();
        values.extend([
            None,
            Some(Value::Null),
            Some(Value::Number(42.0)),
            Some(Value::Number(-1.5)),
            Some(Value::Number(10.0)),
            Some(Value::Number(f64::NAN)),
            Some(Value::Boolean(true)),
            Some(Value::Time(0)),
            Some(Value::List(vec![])),
            Some(Value::List(vec!["b".into(), "A".into()])),
            Some(Value::List(vec!["nothing".into(), "ünïcode".into()])),
            Some(Value::List(vec!["x".into(), "y".into()])),
        ]);
        values
    }

    #[test]
    fn a_value_table_finds_what_testing_each_case_finds() {
        let keys = [
            "b",
            "A",
            "a",
            "ÜNÏCODE",
            "k",
            "42",
            "true",
            "x;y",
            " spaced ",
            "y",
        ];
        let cases = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (case(FieldTest::Equals(Scalar::Text((*k).into()))), i as f64))
            .collect();
        let table = PointsTable::by_value(cases);
        for value in values() {
            assert_eq!(
                table.find(value.as_ref()),
                each_case(&table, value.as_ref()),
                "{value:?}"
            );
        }
        // and it does find things
        let found = table.find(Some(&Value::List(vec!["b".into(), "A".into()])));
        assert_eq!(found.map(|(points, _)| points), Some(0.0));
    }

    #[test]
    fn a_bin_table_finds_what_testing_each_case_finds() {
        let edges = vec![-1.5, 0.0, 10.0];
        let cases = (0..=edges.len())
            .map(|i| {
                let min = i.checked_sub(1).map(|j| edges[j]);
                let max = edges.get(i).copied();
                (case(FieldTest::Range { min, max }), i as f64)
            })
            .collect();
        let table = PointsTable::by_bin(edges, cases);
        for value in values() {
            assert_eq!(
                table.find(value.as_ref()),
                each_case(&table, value.as_ref()),
                "{value:?}"
            );
        }
        let found = table.find(Some(&Value::Number(10.0)));
        assert_eq!(found.map(|(points, _)| points), Some(3.0));
    }
}
