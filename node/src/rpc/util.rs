//! Command descriptions, argument checking and help text (port of `RPCHelpMan`, `RPCArg`,
//! `RPCResult` in `rpc/util.cpp`).
//!
//! A command is described once — arguments with their types and defaults, result shape,
//! examples — and that description gives both the checks done before the command runs
//! (argument count, argument types) and the help text, formatted as bitcoind formats it, so
//! `bitcoin-cli help <command>` and the error for a wrong argument count read the same.

use serde_json::Value;

use super::protocol::{uv_type_name, RpcError, RPC_MISC_ERROR, RPC_TYPE_ERROR};
use super::request::{JsonRpcRequest, RequestMode};
use super::univalue::UniValue;

/// Port of UNIX_EPOCH_TIME (rpc/util.cpp).
pub const UNIX_EPOCH_TIME: &str = "UNIX epoch time";

/// Port of RPCArg::Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// A JSON object with fixed keys.
    Obj,
    /// A JSON array.
    Arr,
    /// A string.
    Str,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// A hex string.
    StrHex,
}

/// Port of RPCArg::Fallback: required, omitted, a default hint, or a default value.
#[derive(Clone, Debug)]
pub enum Fallback {
    /// `RPCArg::Optional::NO`.
    Required,
    /// `RPCArg::Optional::OMITTED`.
    Omitted,
    /// `RPCArg::DefaultHint`: prose shown as the default.
    DefaultHint(String),
    /// `RPCArg::Default`: a JSON default value.
    Default(Value),
}

/// Port of RPCArg.
#[derive(Clone, Debug)]
pub struct RpcArg {
    /// Name (Core allows `a|b` aliases; none of ours use them).
    pub names: String,
    /// Expected type.
    pub ty: ArgType,
    /// Required / optional / default.
    pub fallback: Fallback,
    /// Help description.
    pub description: String,
    /// Members of an array or object argument.
    pub inner: Vec<RpcArg>,
    /// Hidden from help (and every later argument too), as `RPCArgOptions::hidden`.
    pub hidden: bool,
}

impl RpcArg {
    /// An argument.
    pub fn new(names: &str, ty: ArgType, fallback: Fallback, description: &str) -> Self {
        RpcArg {
            names: names.into(),
            ty,
            fallback,
            description: description.into(),
            inner: Vec::new(),
            hidden: false,
        }
    }

    /// An array/object argument with members.
    pub fn with_inner(mut self, inner: Vec<RpcArg>) -> Self {
        self.inner = inner;
        self
    }

    /// Hidden from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Port of RPCArg::IsOptional.
    pub fn is_optional(&self) -> bool {
        !matches!(self.fallback, Fallback::Required)
    }

    /// Port of RPCArg::GetFirstName.
    pub fn get_first_name(&self) -> &str {
        self.names.split('|').next().unwrap_or("")
    }

    /// Port of RPCArg::MatchesType: `None` if the value fits, else Core's mismatch text.
    pub fn matches_type(&self, request: &Value) -> Option<String> {
        if self.is_optional() && request.is_null() {
            return None;
        }
        let expected = match self.ty {
            ArgType::Str | ArgType::StrHex => "string",
            ArgType::Num => "number",
            ArgType::Bool => "bool",
            ArgType::Obj => "object",
            ArgType::Arr => "array",
        };
        let got = uv_type_name(request);
        if got != expected {
            return Some(format!(
                "JSON value of type {got} is not of expected type {expected}"
            ));
        }
        None
    }

    /// Port of RPCArg::ToStringObj.
    fn to_string_obj(&self, oneline: bool) -> String {
        let mut res = format!("\"{}\"", self.get_first_name());
        res += if oneline { ":" } else { ": " };
        match self.ty {
            ArgType::Str => res + "\"str\"",
            ArgType::StrHex => res + "\"hex\"",
            ArgType::Num => res + "n",
            ArgType::Bool => res + "bool",
            ArgType::Arr => {
                res += "[";
                for i in &self.inner {
                    res += &i.to_string(oneline);
                    res += ",";
                }
                res + "...]"
            }
            ArgType::Obj => res + "{...}",
        }
    }

    /// Port of RPCArg::ToString.
    pub fn to_string(&self, oneline: bool) -> String {
        match self.ty {
            ArgType::Str | ArgType::StrHex => format!("\"{}\"", self.get_first_name()),
            ArgType::Num | ArgType::Bool => self.get_first_name().to_string(),
            ArgType::Obj => {
                let inner: Vec<String> = self
                    .inner
                    .iter()
                    .map(|i| i.to_string_obj(oneline))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            ArgType::Arr => {
                let mut res = String::new();
                for i in &self.inner {
                    res += &i.to_string(oneline);
                    res += ",";
                }
                format!("[{res}...]")
            }
        }
    }

    /// Port of RPCArg::ToDescriptionString.
    pub fn to_description_string(&self, is_named_arg: bool) -> String {
        let mut ret = String::from("(");
        ret += match self.ty {
            ArgType::Str | ArgType::StrHex => "string",
            ArgType::Num => "numeric",
            ArgType::Bool => "boolean",
            ArgType::Obj => "json object",
            ArgType::Arr => "json array",
        };
        match &self.fallback {
            Fallback::DefaultHint(h) => ret += &format!(", optional, default={h}"),
            Fallback::Default(v) => ret += &format!(", optional, default={v}"),
            Fallback::Omitted => {
                if is_named_arg {
                    ret += ", optional";
                }
            }
            Fallback::Required => ret += ", required",
        }
        ret += ")";
        if !self.description.is_empty() {
            ret += " ";
            ret += &self.description;
        }
        ret
    }
}

/// Port of RPCResult::Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultType {
    /// A JSON object with fixed keys.
    Obj,
    /// A JSON array.
    Arr,
    /// A string.
    Str,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// JSON null.
    None,
    /// Anything (not documented).
    Any,
    /// A decimal amount.
    StrAmount,
    /// A hex string.
    StrHex,
    /// An object with dynamic keys.
    ObjDyn,
    /// A timestamp.
    NumTime,
}

/// Port of RPCResult.
#[derive(Clone, Debug)]
pub struct RpcResult {
    /// Condition under which this result is returned (empty = always).
    pub cond: String,
    /// Result type.
    pub ty: ResultType,
    /// Key name inside an object.
    pub key_name: String,
    /// Only sometimes present.
    pub optional: bool,
    /// Help description.
    pub description: String,
    /// Members of an array or object.
    pub inner: Vec<RpcResult>,
}

impl RpcResult {
    /// A result element.
    pub fn new(ty: ResultType, key: &str, description: &str) -> Self {
        RpcResult {
            cond: String::new(),
            ty,
            key_name: key.into(),
            optional: false,
            description: description.into(),
            inner: Vec::new(),
        }
    }

    /// An optional result element.
    pub fn opt(ty: ResultType, key: &str, description: &str) -> Self {
        let mut r = Self::new(ty, key, description);
        r.optional = true;
        r
    }

    /// A result element with members.
    pub fn with(ty: ResultType, key: &str, description: &str, inner: Vec<RpcResult>) -> Self {
        let mut r = Self::new(ty, key, description);
        r.inner = inner;
        r
    }

    /// Port of RPCResult::ToSections.
    fn to_sections(&self, sections: &mut Sections, outer: OuterType, current_indent: usize) {
        let indent = " ".repeat(current_indent);
        let indent_next = " ".repeat(current_indent + 2);
        let sep = if outer != OuterType::None { "," } else { "" };
        let key = if outer == OuterType::Obj {
            format!("\"{}\" : ", self.key_name)
        } else {
            String::new()
        };
        let description = |ty: &str| {
            let mut d = format!("({ty}{})", if self.optional { ", optional" } else { "" });
            if !self.description.is_empty() {
                d += " ";
                d += &self.description;
            }
            d
        };
        match self.ty {
            ResultType::Any => {}
            ResultType::None => {
                sections.push(format!("{indent}null{sep}"), description("json null"));
            }
            ResultType::Str => {
                sections.push(format!("{indent}{key}\"str\"{sep}"), description("string"));
            }
            ResultType::StrAmount | ResultType::Num => {
                sections.push(format!("{indent}{key}n{sep}"), description("numeric"));
            }
            ResultType::StrHex => {
                sections.push(format!("{indent}{key}\"hex\"{sep}"), description("string"));
            }
            ResultType::NumTime => {
                sections.push(format!("{indent}{key}xxx{sep}"), description("numeric"));
            }
            ResultType::Bool => {
                sections.push(
                    format!("{indent}{key}true|false{sep}"),
                    description("boolean"),
                );
            }
            ResultType::Arr => {
                sections.push(format!("{indent}{key}["), description("json array"));
                for i in &self.inner {
                    i.to_sections(sections, OuterType::Arr, current_indent + 2);
                }
                sections.push(format!("{indent_next}..."), String::new());
                sections.push(format!("{indent}]{sep}"), String::new());
            }
            ResultType::Obj | ResultType::ObjDyn => {
                if self.inner.is_empty() {
                    sections.push(
                        format!("{indent}{key}{{}}"),
                        description("empty JSON object"),
                    );
                    return;
                }
                sections.push(format!("{indent}{key}{{"), description("json object"));
                for i in &self.inner {
                    i.to_sections(sections, OuterType::Obj, current_indent + 2);
                }
                if self.ty == ResultType::ObjDyn {
                    sections.push(format!("{indent_next}..."), String::new());
                } else if let Some(last) = sections.list.last_mut() {
                    last.0.pop();
                }
                sections.push(format!("{indent}}}{sep}"), String::new());
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OuterType {
    Arr,
    Obj,
    None,
}

/// Port of the `Sections` helper: left column padded to the widest entry plus four.
#[derive(Default)]
struct Sections {
    list: Vec<(String, String)>,
    max_pad: usize,
}

impl Sections {
    fn push(&mut self, left: String, right: String) {
        self.max_pad = self.max_pad.max(left.len());
        self.list.push((left, right));
    }

    /// Port of Sections::Push for nested arguments (top-level scalars add nothing).
    fn push_arg(&mut self, arg: &RpcArg, current_indent: usize, outer: OuterType) {
        let indent = " ".repeat(current_indent);
        let indent_next = " ".repeat(current_indent + 2);
        let push_name = outer == OuterType::Obj;
        let top = outer == OuterType::None;
        match arg.ty {
            ArgType::Str | ArgType::StrHex | ArgType::Num | ArgType::Bool => {
                if top {
                    return;
                }
                let mut left = indent;
                left += &if push_name {
                    arg.to_string_obj(false)
                } else {
                    arg.to_string(false)
                };
                left += ",";
                self.push(left, arg.to_description_string(push_name));
            }
            ArgType::Obj => {
                let right = if top {
                    String::new()
                } else {
                    arg.to_description_string(push_name)
                };
                let name = if push_name {
                    format!("\"{}\": ", arg.names)
                } else {
                    String::new()
                };
                self.push(format!("{indent}{name}{{"), right);
                for i in &arg.inner {
                    self.push_arg(i, current_indent + 2, OuterType::Obj);
                }
                self.push(
                    format!("{indent}}}{}", if top { "" } else { "," }),
                    String::new(),
                );
            }
            ArgType::Arr => {
                let name = if push_name {
                    format!("\"{}\": ", arg.names)
                } else {
                    String::new()
                };
                let right = if top {
                    String::new()
                } else {
                    arg.to_description_string(push_name)
                };
                self.push(format!("{indent}{name}["), right);
                for i in &arg.inner {
                    self.push_arg(i, current_indent + 2, OuterType::Arr);
                }
                self.push(format!("{indent_next}..."), String::new());
                self.push(
                    format!("{indent}]{}", if top { "" } else { "," }),
                    String::new(),
                );
            }
        }
    }

    /// Port of Sections::ToString.
    fn render(&self) -> String {
        let mut ret = String::new();
        let pad = self.max_pad + 4;
        for (left, right) in &self.list {
            if right.is_empty() {
                ret += left;
                ret += "\n";
                continue;
            }
            ret += &format!("{left:<pad$}");
            // Continuation lines are indented to the right column, their own leading
            // spaces dropped (the scan restarts one past the first kept character).
            let bytes = right.as_bytes();
            let find_nl = |from: usize| {
                bytes[from.min(bytes.len())..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|p| p + from)
            };
            let mut begin = 0usize;
            let mut new_line_pos = find_nl(0);
            loop {
                let end = new_line_pos.unwrap_or(bytes.len());
                ret += &right[begin..end];
                let Some(nl) = new_line_pos else { break };
                ret += "\n";
                ret += &" ".repeat(pad);
                match bytes[nl + 1..].iter().position(|&b| b != b' ') {
                    None => break,
                    Some(p) => begin = nl + 1 + p,
                }
                new_line_pos = find_nl(begin + 1);
            }
            ret += "\n";
        }
        ret
    }
}

/// Port of HelpExampleCli (rpc/util.cpp).
pub fn help_example_cli(method: &str, args: &str) -> String {
    format!("> bitcoin-cli {method} {args}\n")
}

/// Port of HelpExampleRpc (rpc/util.cpp).
pub fn help_example_rpc(method: &str, args: &str) -> String {
    format!(
        "> curl --user myusername --data-binary '{{\"jsonrpc\": \"2.0\", \"id\": \"curltest\", \"method\": \"{method}\", \"params\": [{args}]}}' -H 'content-type: application/json' http://127.0.0.1:8332/\n"
    )
}

/// The body of a command: the description (for typed argument access) and the request.
pub type RpcMethodImpl<C> = fn(&RpcHelpMan<C>, &JsonRpcRequest, &C) -> Result<UniValue, RpcError>;

/// Port of RPCHelpMan: a command's name, description, arguments, results, examples, body.
pub struct RpcHelpMan<C> {
    /// Command name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Arguments in positional order.
    pub args: Vec<RpcArg>,
    /// Possible results.
    pub results: Vec<RpcResult>,
    /// Examples text.
    pub examples: String,
    /// The body.
    pub fun: RpcMethodImpl<C>,
}

impl<C> RpcHelpMan<C> {
    /// Port of RPCHelpMan::HandleRequest: help, argument count, argument types, then the body.
    ///
    /// A wrong count (or a help request) fails with the help text as message and
    /// `RPC_MISC_ERROR` (Core throws a `std::runtime_error` that `ExecuteCommand` turns into
    /// that code); wrong types fail with `RPC_TYPE_ERROR` "Wrong type passed:" and a JSON
    /// object naming each bad position.
    pub fn handle_request(&self, request: &JsonRpcRequest, ctx: &C) -> Result<UniValue, RpcError> {
        if request.mode == RequestMode::GetHelp || !self.is_valid_num_args(request.params_len()) {
            return Err(RpcError::new(RPC_MISC_ERROR, self.help_text()));
        }
        let mut mismatch = UniValue::new_object();
        for (i, arg) in self.args.iter().enumerate() {
            if let Some(m) = arg.matches_type(request.param(i)) {
                mismatch.push_kv(format!("Position {} ({})", i + 1, arg.names), m);
            }
        }
        if mismatch != UniValue::new_object() {
            return Err(RpcError::new(
                RPC_TYPE_ERROR,
                format!("Wrong type passed:\n{}", mismatch.write(4, 0)),
            ));
        }
        (self.fun)(self, request, ctx)
    }

    /// Port of RPCHelpMan::IsValidNumArgs.
    pub fn is_valid_num_args(&self, num_args: usize) -> bool {
        let num_required = self
            .args
            .iter()
            .rposition(|a| !a.is_optional())
            .map_or(0, |p| p + 1);
        num_required <= num_args && num_args <= self.args.len()
    }

    /// Port of RPCHelpMan::GetArgNames: the names used to map named parameters to positions.
    pub fn get_arg_names(&self) -> Vec<String> {
        self.args.iter().map(|a| a.names.clone()).collect()
    }

    /// Index of argument `key`.
    fn param_index(&self, key: &str) -> usize {
        self.args
            .iter()
            .position(|a| a.names == key)
            .unwrap_or(usize::MAX)
    }

    /// Port of RPCHelpMan::MaybeArg / Arg as a JSON value: the given value, else the
    /// declared default, else `None`.
    pub fn maybe_arg<'a>(&'a self, request: &'a JsonRpcRequest, key: &str) -> Option<&'a Value> {
        let i = self.param_index(key);
        let v = request.param(i);
        if !v.is_null() {
            return Some(v);
        }
        match self.args.get(i).map(|a| &a.fallback) {
            Some(Fallback::Default(d)) => Some(d),
            _ => None,
        }
    }

    /// Port of RPCHelpMan::ToString: the full help text.
    pub fn help_text(&self) -> String {
        let mut ret = self.name.clone();
        let mut was_optional = false;
        for arg in &self.args {
            if arg.hidden {
                break;
            }
            let optional = arg.is_optional();
            ret += " ";
            if optional {
                if !was_optional {
                    ret += "( ";
                }
                was_optional = true;
            } else {
                if was_optional {
                    ret += ") ";
                }
                was_optional = false;
            }
            ret += &arg.to_string(true);
        }
        if was_optional {
            ret += " )";
        }

        ret += "\n\n";
        ret += self
            .description
            .trim_matches(|c: char| " \x0c\n\r\t\x0b".contains(c));
        ret += "\n";

        let mut sections = Sections::default();
        for (i, arg) in self.args.iter().enumerate() {
            if arg.hidden {
                break;
            }
            sections.push(
                format!("{}. {}", i + 1, arg.get_first_name()),
                arg.to_description_string(true),
            );
            sections.push_arg(arg, 5, OuterType::None);
        }
        if !sections.list.is_empty() {
            ret += "\nArguments:\n";
        }
        ret += &sections.render();

        for r in &self.results {
            if r.ty == ResultType::Any {
                continue;
            }
            if r.cond.is_empty() {
                ret += "\nResult:\n";
            } else {
                ret += &format!("\nResult ({}):\n", r.cond);
            }
            let mut s = Sections::default();
            r.to_sections(&mut s, OuterType::None, 0);
            ret += &s.render();
        }

        if !self.examples.is_empty() {
            ret += "\nExamples:\n";
            ret += &self.examples;
        }
        ret
    }
}

/// Port of UniValue::get_str: the string, or Core's type error.
pub fn get_str(v: &Value) -> Result<&str, RpcError> {
    v.as_str().ok_or_else(|| type_error(v, "string"))
}

/// Port of UniValue::get_bool.
pub fn get_bool(v: &Value) -> Result<bool, RpcError> {
    v.as_bool().ok_or_else(|| type_error(v, "bool"))
}

/// Port of UniValue::get_array.
pub fn get_array(v: &Value) -> Result<&Vec<Value>, RpcError> {
    v.as_array().ok_or_else(|| type_error(v, "array"))
}

/// Port of `UniValue::getInt<i64>`: a number that is an integer in range, else
/// "JSON integer out of range" (`RPC_MISC_ERROR`, as Core's `std::runtime_error`).
pub fn get_int(v: &Value) -> Result<i64, RpcError> {
    let Value::Number(n) = v else {
        return Err(type_error(v, "number"));
    };
    n.as_i64()
        .ok_or_else(|| RpcError::new(RPC_MISC_ERROR, "JSON integer out of range"))
}

/// Port of `UniValue::getInt<T>` for a narrower integer type.
pub fn get_int_as<T: TryFrom<i64>>(v: &Value) -> Result<T, RpcError> {
    let i = get_int(v)?;
    T::try_from(i).map_err(|_| RpcError::new(RPC_MISC_ERROR, "JSON integer out of range"))
}

/// Port of UniValue::checkType's failure: `RPC_TYPE_ERROR` (Core's `UniValue::type_error`,
/// mapped by `ExecuteCommand`).
fn type_error(v: &Value, expected: &str) -> RpcError {
    RpcError::new(
        RPC_TYPE_ERROR,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            uv_type_name(v)
        ),
    )
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fake(_: &RpcHelpMan<()>, _: &JsonRpcRequest, _: &()) -> Result<UniValue, RpcError> {
        Ok(UniValue::Null)
    }

    fn sample() -> RpcHelpMan<()> {
        RpcHelpMan {
            name: "addnode".into(),
            description: "Attempts to add a node.\n".into(),
            args: vec![
                RpcArg::new("node", ArgType::Str, Fallback::Required, "The address"),
                RpcArg::new(
                    "command",
                    ArgType::Str,
                    Fallback::Required,
                    "'add' or 'remove'",
                ),
                RpcArg::new(
                    "v2transport",
                    ArgType::Bool,
                    Fallback::DefaultHint("set by -v2transport".into()),
                    "Use v2",
                ),
            ],
            results: vec![RpcResult::new(ResultType::None, "", "")],
            examples: help_example_cli("addnode", "\"1.2.3.4\" \"add\""),
            fun: fake,
        }
    }

    /// Mirrors rpc_tests.cpp: rpc_arg_helper / help text layout.
    #[test]
    fn rpc_tests__help_text_layout() {
        let h = sample();
        let text = h.help_text();
        let expected = "addnode \"node\" \"command\" ( v2transport )\n\nAttempts to add a node.\n\nArguments:\n\
1. node           (string, required) The address\n\
2. command        (string, required) 'add' or 'remove'\n\
3. v2transport    (boolean, optional, default=set by -v2transport) Use v2\n\
\nResult:\nnull    (json null)\n\nExamples:\n> bitcoin-cli addnode \"1.2.3.4\" \"add\"\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn rpc_tests__num_args_and_types() {
        let h = sample();
        assert!(!h.is_valid_num_args(1));
        assert!(h.is_valid_num_args(2));
        assert!(h.is_valid_num_args(3));
        assert!(!h.is_valid_num_args(4));
        let req = JsonRpcRequest {
            params: json!([1, "add"]),
            ..Default::default()
        };
        let e = h.handle_request(&req, &()).unwrap_err();
        assert_eq!(e.code, RPC_TYPE_ERROR);
        assert_eq!(
            e.message,
            "Wrong type passed:\n{\n    \"Position 1 (node)\": \"JSON value of type number is not of expected type string\"\n}"
        );
        let req = JsonRpcRequest {
            params: json!(["a"]),
            ..Default::default()
        };
        let e = h.handle_request(&req, &()).unwrap_err();
        assert_eq!(e.code, RPC_MISC_ERROR);
        assert!(e
            .message
            .starts_with("addnode \"node\" \"command\" ( v2transport )\n"));
    }

    #[test]
    fn univalue_get_int_rules() {
        assert_eq!(get_int(&json!(5)).unwrap(), 5);
        assert_eq!(
            get_int(&json!(1.5)).unwrap_err().message,
            "JSON integer out of range"
        );
        assert_eq!(get_int(&json!("5")).unwrap_err().code, RPC_TYPE_ERROR);
        assert!(get_int_as::<u16>(&json!(70000)).is_err());
        assert_eq!(get_int_as::<u16>(&json!(8333)).unwrap(), 8333);
    }
}
