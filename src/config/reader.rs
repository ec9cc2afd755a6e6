//! A reader over a parsed TOML table that records every problem instead of stopping at the
//! first, so that one run of `zeropipe check` lists them all.

use std::cell::RefCell;
use std::fmt;

use toml::{Table, Value};

/// One thing wrong with the configuration: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, such as `ingest.sockets[0].bind`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Problems(RefCell<Vec<Problem>>);

impl Problems {
    /// Records a problem at `key`.
    pub fn add(&self, key: impl Into<String>, message: impl Into<String>) {
        self.0.borrow_mut().push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Whether any problem was recorded at the key `prefix` or below it (`prefix.x`,
    /// `prefix[0]`); a sibling key that merely starts with the same text does not count.
    pub fn has_under(&self, prefix: &str) -> bool {
        self.0.borrow().iter().any(|p| is_under(&p.key, prefix))
    }

    /// Takes the list out.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0.into_inner()
    }
}

fn is_under(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// One table of the configuration, with the keys read from it remembered so that unknown keys
/// can be reported by [`Section::finish`].
pub struct Section<'a> {
    path: String,
    table: &'a Table,
    seen: RefCell<Vec<&'a str>>,
    problems: &'a Problems,
}

impl<'a> Section<'a> {
    /// The top-level table.
    pub fn root(table: &'a Table, problems: &'a Problems) -> Self {
        Self::at(String::new(), table, problems)
    }

    fn at(path: String, table: &'a Table, problems: &'a Problems) -> Self {
        Self {
            path,
            table,
            seen: RefCell::new(Vec::new()),
            problems,
        }
    }

    /// The full path of `key` in this table.
    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Records a problem at `key` of this table.
    pub fn problem(&self, key: &str, message: impl Into<String>) {
        self.problems.add(self.key(key), message);
    }

    /// Records a problem at item `index` of the list at `key`.
    pub fn item_problem(&self, key: &str, index: usize, message: impl Into<String>) {
        self.problem(&format!("{key}[{index}]"), message);
    }

    /// Whether a problem was recorded at `key` of this table or below it.
    pub fn has_problem(&self, key: &str) -> bool {
        self.problems.has_under(&self.key(key))
    }

    /// Whether the table holds `key` at all, whatever its type; does not count as reading it.
    pub fn contains(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// Reports `key` as required when it is absent.
    pub fn require(&self, key: &str) {
        if !self.contains(key) {
            self.problem(key, "is required");
        }
    }

    fn get(&self, key: &'a str) -> Option<&'a Value> {
        self.seen.borrow_mut().push(key);
        self.table.get(key)
    }

    fn typed<T>(
        &self,
        key: &'a str,
        want: &str,
        pick: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(key)?;
        let picked = pick(value);
        if picked.is_none() {
            self.problem(key, format!("expected {want}, found {}", value.type_str()));
        }
        picked
    }

    /// An optional string.
    pub fn string(&self, key: &'a str) -> Option<String> {
        self.typed(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    /// An optional string that, when given, must not be empty.
    pub fn non_empty_string(&self, key: &'a str) -> Option<String> {
        let text = self.string(key)?;
        if text.is_empty() {
            self.problem(key, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// A string that must be present and not empty.
    pub fn required_string(&self, key: &'a str) -> Option<String> {
        self.require(key);
        self.non_empty_string(key)
    }

    /// An optional boolean.
    pub fn bool(&self, key: &'a str) -> Option<bool> {
        self.typed(key, "true or false", Value::as_bool)
    }

    /// An optional integer that must lie in `min..=max`.
    pub fn integer(&self, key: &'a str, min: i64, max: i64) -> Option<i64> {
        let n = self.typed(key, "an integer", Value::as_integer)?;
        if n < min || n > max {
            self.problem(key, format!("must be between {min} and {max}, found {n}"));
            return None;
        }
        Some(n)
    }

    /// An optional list of strings, each with its position in the TOML array so that a problem
    /// found later names the right item; items that are not strings are reported and left out.
    pub fn strings(&self, key: &'a str) -> Option<Vec<(usize, String)>> {
        let list = self.typed(key, "a list of strings", Value::as_array)?;
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push((i, s.to_owned())),
                None => self.item_problem(
                    key,
                    i,
                    format!("expected a string, found {}", item.type_str()),
                ),
            }
        }
        Some(out)
    }

    /// An optional sub-table.
    pub fn table(&self, key: &'a str) -> Option<Section<'a>> {
        let table = self.typed(key, "a table", Value::as_table)?;
        Some(Self::at(self.key(key), table, self.problems))
    }

    /// An optional array of tables (`[[key]]`); absent means empty.
    pub fn tables(&self, key: &'a str) -> Vec<Section<'a>> {
        let Some(list) = self.typed(key, "an array of tables", Value::as_array) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let path = format!("{}[{i}]", self.key(key));
            match item.as_table() {
                Some(t) => out.push(Self::at(path, t, self.problems)),
                None => self
                    .problems
                    .add(path, format!("expected a table, found {}", item.type_str())),
            }
        }
        out
    }

    /// Reports every key of this table that was never read.
    pub fn finish(&self) {
        let seen = self.seen.borrow();
        for key in self.table.keys() {
            if !seen.contains(&key.as_str()) {
                self.problems.add(self.key(key), "unknown key");
            }
        }
    }
}
