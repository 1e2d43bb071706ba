//! An ordered JSON value for RPC output (port of the writing half of Core's `UniValue`).
//!
//! Core's objects keep their keys in insertion order and numbers as text, so
//! `bitcoin-cli getpeerinfo` prints fields in a fixed order and amounts as `0.00001000`.
//! `serde_json::Value` sorts keys and re-formats numbers, so answers are built with this
//! type instead and written exactly as `UniValue::write` writes them; a diff of our output
//! against bitcoind's then shows only real differences. Requests are still parsed with
//! `serde_json`.

use serde_json::Value;

/// A JSON value whose objects keep insertion order and whose numbers keep their text.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum UniValue {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<UniValue>),
    /// An object, keys in insertion order.
    Obj(Vec<(String, UniValue)>),
}

/// Builds an ordered [`UniValue`] object: `obj! { "a" => 1, "b" => "x" }`.
#[macro_export]
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::rpc::univalue::UniValue::Obj(vec![
            $((::std::string::String::from($k), $crate::rpc::univalue::UniValue::from($v))),*
        ])
    };
}

impl UniValue {
    /// An empty object.
    pub fn new_object() -> Self {
        UniValue::Obj(Vec::new())
    }

    /// An empty array.
    pub fn new_array() -> Self {
        UniValue::Arr(Vec::new())
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, UniValue::Null)
    }

    /// Port of UniValue::pushKV: replace the value of an existing key, else append.
    pub fn push_kv(&mut self, key: &str, val: impl Into<UniValue>) {
        if let UniValue::Obj(kv) = self {
            let val = val.into();
            match kv.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = val,
                None => kv.push((key.to_string(), val)),
            }
        }
    }

    /// Port of UniValue::push_back.
    pub fn push_back(&mut self, val: impl Into<UniValue>) {
        if let UniValue::Arr(a) = self {
            a.push(val.into());
        }
    }

    /// Port of UniValue::setFloat: `%.16g`-style text (`std::setprecision(16)`).
    pub fn from_f64(v: f64) -> Self {
        UniValue::Num(format_g16(v))
    }

    /// Port of ValueFromAmount (core_write.cpp): satoshis as a decimal with 8 places.
    pub fn from_amount(amount: i64) -> Self {
        let sign = if amount < 0 { "-" } else { "" };
        let a = amount.unsigned_abs();
        UniValue::Num(format!("{sign}{}.{:08}", a / 100_000_000, a % 100_000_000))
    }

    /// Port of UniValue::write: compact when `pretty_indent` is 0, else indented.
    pub fn write(&self, pretty_indent: usize) -> String {
        let mut s = String::new();
        self.write_into(pretty_indent, 0, &mut s);
        s
    }

    fn write_into(&self, pretty: usize, indent_level: usize, s: &mut String) {
        let level = indent_level.max(1);
        match self {
            UniValue::Null => s.push_str("null"),
            UniValue::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            UniValue::Num(n) => s.push_str(n),
            UniValue::Str(v) => {
                s.push('"');
                json_escape(v, s);
                s.push('"');
            }
            UniValue::Arr(a) => {
                s.push('[');
                if pretty > 0 {
                    s.push('\n');
                }
                for (i, v) in a.iter().enumerate() {
                    if pretty > 0 {
                        s.push_str(&" ".repeat(pretty * level));
                    }
                    v.write_into(pretty, level + 1, s);
                    if i + 1 != a.len() {
                        s.push(',');
                    }
                    if pretty > 0 {
                        s.push('\n');
                    }
                }
                if pretty > 0 {
                    s.push_str(&" ".repeat(pretty * (level - 1)));
                }
                s.push(']');
            }
            UniValue::Obj(kv) => {
                s.push('{');
                if pretty > 0 {
                    s.push('\n');
                }
                for (i, (k, v)) in kv.iter().enumerate() {
                    if pretty > 0 {
                        s.push_str(&" ".repeat(pretty * level));
                    }
                    s.push('"');
                    json_escape(k, s);
                    s.push_str("\":");
                    if pretty > 0 {
                        s.push(' ');
                    }
                    v.write_into(pretty, level + 1, s);
                    if i + 1 != kv.len() {
                        s.push(',');
                    }
                    if pretty > 0 {
                        s.push('\n');
                    }
                }
                if pretty > 0 {
                    s.push_str(&" ".repeat(pretty * (level - 1)));
                }
                s.push('}');
            }
        }
    }
}

/// Port of json_escape (univalue_write.cpp): `"` `\` and control characters escaped,
/// DEL as `\u007f`, everything else (UTF-8 included) as is.
fn json_escape(v: &str, s: &mut String) {
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\u{8}' => s.push_str("\\b"),
            '\t' => s.push_str("\\t"),
            '\n' => s.push_str("\\n"),
            '\u{c}' => s.push_str("\\f"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => s.push(c),
        }
    }
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
        f.write_str(&self.write(0))
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
            o.write(0),
            "{\"z\":true,\"a\":\"x\\\"\\n\\u007fé\",\"m\":[]}"
        );
        let nested = obj! { "k" => vec![1, 2], "o" => obj! { "x" => UniValue::Null } };
        assert_eq!(nested.write(4), "{\n    \"k\": [\n        1,\n        2\n    ],\n    \"o\": {\n        \"x\": null\n    }\n}");
        assert_eq!(UniValue::new_array().write(2), "[\n]");
    }

    /// Mirrors univalue_tests.cpp: univalue_set (setFloat) and core_io ValueFromAmount.
    #[test]
    fn univalue_tests__numbers() {
        assert_eq!(UniValue::from(0.0015).write(0), "0.0015");
        assert_eq!(UniValue::from(1.0).write(0), "1");
        assert_eq!(UniValue::from(-0.1).write(0), "-0.1");
        assert_eq!(UniValue::from(1e-5).write(0), "1e-05");
        assert_eq!(UniValue::from(123456.789).write(0), "123456.789");
        assert_eq!(UniValue::from(1e16).write(0), "1e+16");
        assert_eq!(UniValue::from(0.1 + 0.2).write(0), "0.3");
        assert_eq!(UniValue::from_amount(0).write(0), "0.00000000");
        assert_eq!(UniValue::from_amount(1000).write(0), "0.00001000");
        assert_eq!(
            UniValue::from_amount(-2_100_000_000_000_000).write(0),
            "-21000000.00000000"
        );
        assert_eq!(UniValue::from(u64::MAX).write(0), "18446744073709551615");
    }
}
