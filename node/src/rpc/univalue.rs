//! An ordered JSON value for RPC output: [`UniValue`] is `addrman`'s port of Core's
//! `UniValue` (see [`addrman::univalue`]), re-exported here with the node's
//! [`obj!`](crate::obj!) builder.
//!
//! Answers are built with it rather than `serde_json::Value` so that keys keep Core's order
//! and numbers Core's text, and are written exactly as `UniValue::write` writes them; a diff
//! of our output against bitcoind's then shows only real differences. Requests are still
//! parsed with `serde_json`.

pub use addrman::univalue::UniValue;

/// Builds an ordered [`UniValue`] object: `obj! { "a" => 1, "b" => "x" }`.
#[macro_export]
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::rpc::univalue::UniValue::Obj(vec![
            $((::std::string::String::from($k), $crate::rpc::univalue::UniValue::from($v))),*
        ])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `obj!` keeps the order it is given and converts each value with `UniValue::from`.
    #[test]
    fn obj_macro_order_and_values() {
        let nested = obj! { "k" => vec![1, 2], "o" => obj! { "x" => UniValue::Null } };
        assert_eq!(nested.write(4, 0), "{\n    \"k\": [\n        1,\n        2\n    ],\n    \"o\": {\n        \"x\": null\n    }\n}");
        assert_eq!(obj! {}.write(0, 0), "{}");
    }
}
