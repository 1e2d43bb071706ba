//! An ordered JSON value with Core's writer: the building and writing half of univalue's
//! `UniValue` (univalue.h, univalue.cpp, univalue_write.cpp).
//!
//! Core's objects keep their keys in insertion order and numbers as their text, so
//! `banlist.json`, `getrawaddrman` and the RPC answers (`bitcoin-cli getpeerinfo`) have fields
//! in a fixed order and amounts as `0.00001000`. `serde_json::Value` sorts keys and re-formats
//! numbers, so such output is built with [`UniValue`] and written as `UniValue::write` writes
//! it: byte-for-byte what bitcoind writes for the same data. Parsing still goes through
//! `serde_json`.
//!
//! Deviation: Core's `push_back` / `pushKV` / `pushKVEnd` throw on a value of the wrong type;
//! here they do nothing.

use serde_json::Value;

/// A JSON value whose objects keep insertion order and whose numbers keep their text.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum UniValue {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its JSON text.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<UniValue>),
    /// An object, keys in insertion order.
    Obj(Vec<(String, UniValue)>),
}

impl UniValue {
    /// Port of UniValue::setObject (univalue.cpp): an empty object.
    pub fn new_object() -> Self {
        UniValue::Obj(Vec::new())
    }

    /// Port of UniValue::setArray (univalue.cpp): an empty array.
    pub fn new_array() -> Self {
        UniValue::Arr(Vec::new())
    }

    /// Port of UniValue::isNull (univalue.h).
    pub fn is_null(&self) -> bool {
        matches!(self, UniValue::Null)
    }

    /// Port of UniValue::setInt (univalue.cpp): a signed integer.
    pub fn int(v: i64) -> Self {
        UniValue::Num(v.to_string())
    }

    /// Port of UniValue::setInt (univalue.cpp), the `uint64_t` overload: an unsigned integer.
    pub fn uint(v: u64) -> Self {
        UniValue::Num(v.to_string())
    }

    /// Port of UniValue::setStr (univalue.cpp): a string.
    pub fn str(v: impl Into<String>) -> Self {
        UniValue::Str(v.into())
    }

    /// Port of UniValue::setFloat (univalue.cpp): the text `std::setprecision(16)` gives
    /// (printf's `%.16g`).
    pub fn from_f64(v: f64) -> Self {
        UniValue::Num(format_g16(v))
    }

    /// Port of ValueFromAmount (core_write.cpp): satoshis as a decimal with 8 places.
    pub fn from_amount(amount: i64) -> Self {
        let sign = if amount < 0 { "-" } else { "" };
        let a = amount.unsigned_abs();
        UniValue::Num(format!("{sign}{}.{:08}", a / 100_000_000, a % 100_000_000))
    }

    /// Port of UniValue::pushKVEnd (univalue.cpp): append `key` to an object without looking
    /// for an existing one. Does nothing on a non-object.
    pub fn push_kv_end(&mut self, key: impl Into<String>, val: impl Into<UniValue>) {
        if let UniValue::Obj(kv) = self {
            kv.push((key.into(), val.into()));
        }
    }

    /// Port of UniValue::pushKV (univalue.cpp): set `key` of an object, replacing an existing
    /// value in place, else appending. Does nothing on a non-object.
    pub fn push_kv(&mut self, key: impl Into<String>, val: impl Into<UniValue>) {
        let key = key.into();
        if let UniValue::Obj(kv) = self {
            let val = val.into();
            match kv.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = val,
                None => kv.push((key, val)),
            }
        }
    }

    /// Port of UniValue::push_back (univalue.cpp): append to an array. Does nothing on a
    /// non-array.
    pub fn push_back(&mut self, val: impl Into<UniValue>) {
        if let UniValue::Arr(a) = self {
            a.push(val.into());
        }
    }

    /// Port of UniValue::write (univalue_write.cpp): compact when `pretty_indent` is 0, else
    /// one member per line, indented by `pretty_indent` spaces per level; `indent_level` is the
    /// level of this value's members (0 counts as 1).
    pub fn write(&self, pretty_indent: usize, indent_level: usize) -> String {
        let mut s = String::new();
        self.write_into(pretty_indent, indent_level.max(1), &mut s);
        s
    }

    /// Not in Core: the same value as a `serde_json::Value` (object key order is not kept
    /// there), for comparisons.
    pub fn to_serde(&self) -> Value {
        match self {
            UniValue::Null => Value::Null,
            UniValue::Bool(b) => Value::Bool(*b),
            UniValue::Num(n) => serde_json::from_str(n).unwrap_or(Value::Null),
            UniValue::Str(v) => Value::String(v.clone()),
            UniValue::Arr(values) => Value::Array(values.iter().map(UniValue::to_serde).collect()),
            UniValue::Obj(kv) => {
                Value::Object(kv.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect())
            }
        }
    }

    /// UniValue::write with Core's `modIndent` already applied (`level` >= 1).
    fn write_into(&self, pretty: usize, level: usize, s: &mut String) {
        match self {
            UniValue::Null => s.push_str("null"),
            UniValue::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            UniValue::Num(n) => s.push_str(n),
            UniValue::Str(v) => json_escape_into(v, s),
            UniValue::Arr(values) => write_members(
                pretty,
                level,
                ('[', ']'),
                values.iter().map(|v| (None, v)),
                s,
            ),
            UniValue::Obj(kv) => write_members(
                pretty,
                level,
                ('{', '}'),
                kv.iter().map(|(k, v)| (Some(k.as_str()), v)),
                s,
            ),
        }
    }
}

/// writeArray and writeObject (univalue_write.cpp) in one: `brackets` around the members, each
/// on its own indented line when pretty-printing, an object member's key before its value.
fn write_members<'a>(
    pretty: usize,
    level: usize,
    brackets: (char, char),
    members: impl ExactSizeIterator<Item = (Option<&'a str>, &'a UniValue)>,
    s: &mut String,
) {
    s.push(brackets.0);
    if pretty > 0 {
        s.push('\n');
    }
    let n = members.len();
    for (i, (key, v)) in members.enumerate() {
        indent(pretty, level, s);
        if let Some(k) = key {
            json_escape_into(k, s);
            s.push(':');
            if pretty > 0 {
                s.push(' ');
            }
        }
        v.write_into(pretty, level + 1, s);
        if i + 1 != n {
            s.push(',');
        }
        if pretty > 0 {
            s.push('\n');
        }
    }
    indent(pretty, level - 1, s);
    s.push(brackets.1);
}

/// indentStr (univalue_write.cpp): `pretty * level` spaces (none when not pretty-printing).
fn indent(pretty: usize, level: usize, s: &mut String) {
    s.extend(std::iter::repeat_n(' ', pretty * level));
}

/// json_escape (univalue_write.cpp) and the quotes around it: `"`, `\` and control characters
/// escaped as univalue's table does (DEL as `\u007f`), everything else (UTF-8 included) as is.
fn json_escape_into(v: &str, s: &mut String) {
    s.push('"');
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\u{08}' => s.push_str("\\b"),
            '\u{0c}' => s.push_str("\\f"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

/// `%.16g` of C's printf (what `std::setprecision(16)` gives for a double).
fn format_g16(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        // UniValue refuses these; JSON has no spelling for them.
        return "null".into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{v:.15e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |t: &str| -> String {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t.to_string()
        }
    };
    if !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mantissa), exp.abs())
    } else {
        let decimals = (15 - exp).max(0) as usize;
        strip(&format!("{v:.decimals$}"))
    }
}

impl From<&Value> for UniValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => UniValue::Null,
            Value::Bool(b) => UniValue::Bool(*b),
            Value::Number(n) => UniValue::Num(n.to_string()),
            Value::String(s) => UniValue::Str(s.clone()),
            Value::Array(a) => UniValue::Arr(a.iter().map(UniValue::from).collect()),
            Value::Object(o) => UniValue::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), UniValue::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<Value> for UniValue {
    fn from(v: Value) -> Self {
        UniValue::from(&v)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for UniValue {
            fn from(v: $t) -> Self {
                UniValue::Num(v.to_string())
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl From<f64> for UniValue {
    fn from(v: f64) -> Self {
        UniValue::from_f64(v)
    }
}

impl From<bool> for UniValue {
    fn from(v: bool) -> Self {
        UniValue::Bool(v)
    }
}

impl From<&str> for UniValue {
    fn from(v: &str) -> Self {
        UniValue::Str(v.to_string())
    }
}

impl From<String> for UniValue {
    fn from(v: String) -> Self {
        UniValue::Str(v)
    }
}

impl From<&String> for UniValue {
    fn from(v: &String) -> Self {
        UniValue::Str(v.clone())
    }
}

impl<T: Into<UniValue>> From<Vec<T>> for UniValue {
    fn from(v: Vec<T>) -> Self {
        UniValue::Arr(v.into_iter().map(Into::into).collect())
    }
}

impl std::fmt::Display for UniValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.write(0, 0))
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// Mirrors univalue_tests.cpp: univalue_writearray / writeobject layout and order.
    #[test]
    fn univalue_tests__write_order_and_pretty() {
        let mut o = UniValue::new_object();
        o.push_kv("z", 1);
        o.push_kv("a", "x\"\n\u{7f}é");
        o.push_kv("m", UniValue::new_array());
        o.push_kv("z", true);
        assert_eq!(
            o.write(0, 0),
            "{\"z\":true,\"a\":\"x\\\"\\n\\u007fé\",\"m\":[]}"
        );
        let mut nested = UniValue::new_object();
        nested.push_kv("k", vec![1, 2]);
        let mut inner = UniValue::new_object();
        inner.push_kv("x", UniValue::Null);
        nested.push_kv("o", inner);
        assert_eq!(nested.write(4, 0), "{\n    \"k\": [\n        1,\n        2\n    ],\n    \"o\": {\n        \"x\": null\n    }\n}");
        assert_eq!(nested.write(4, 1), nested.write(4, 0));
        assert_eq!(UniValue::new_array().write(2, 0), "[\n]");
        // A deeper start level indents members and the closing bracket further.
        assert_eq!(UniValue::from(vec![1]).write(2, 2), "[\n    1\n  ]");
        assert_eq!(nested.to_string(), nested.write(0, 0));
    }

    /// pushKVEnd appends without replacing; the push functions ignore a value of the wrong type.
    #[test]
    fn push_kv_end_and_wrong_type() {
        let mut o = UniValue::new_object();
        o.push_kv_end("a", 1);
        o.push_kv_end("a", 2);
        assert_eq!(o.write(0, 0), "{\"a\":1,\"a\":2}");
        o.push_back(3);
        let mut a = UniValue::new_array();
        a.push_kv("a", 1);
        a.push_kv_end("a", 1);
        assert_eq!(a, UniValue::new_array());
        assert!(UniValue::default().is_null());
    }

    /// Mirrors univalue_tests.cpp: univalue_set (setFloat) and core_io ValueFromAmount.
    #[test]
    fn univalue_tests__numbers() {
        assert_eq!(UniValue::from(0.0015).write(0, 0), "0.0015");
        assert_eq!(UniValue::from(1.0).write(0, 0), "1");
        assert_eq!(UniValue::from(-0.1).write(0, 0), "-0.1");
        assert_eq!(UniValue::from(1e-5).write(0, 0), "1e-05");
        assert_eq!(UniValue::from(123456.789).write(0, 0), "123456.789");
        assert_eq!(UniValue::from(1e16).write(0, 0), "1e+16");
        assert_eq!(UniValue::from(0.1 + 0.2).write(0, 0), "0.3");
        assert_eq!(UniValue::from_amount(0).write(0, 0), "0.00000000");
        assert_eq!(UniValue::from_amount(1000).write(0, 0), "0.00001000");
        assert_eq!(
            UniValue::from_amount(-2_100_000_000_000_000).write(0, 0),
            "-21000000.00000000"
        );
        assert_eq!(UniValue::from(u64::MAX).write(0, 0), "18446744073709551615");
        assert_eq!(UniValue::uint(u64::MAX), UniValue::from(u64::MAX));
        assert_eq!(UniValue::int(i64::MIN), UniValue::from(i64::MIN));
        assert_eq!(UniValue::str("s"), UniValue::from("s"));
    }
}
