//! One JSON-RPC request (port of `JSONRPCRequest` in `rpc/request.h` / `rpc/request.cpp`).

use serde_json::Value;

use super::protocol::{JsonRpcVersion, RpcError, RPC_INVALID_REQUEST};

/// Why the command is being called: to run it, or to produce its help text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RequestMode {
    /// Run the command.
    #[default]
    Execute,
    /// Produce the help text (`help <command>`).
    GetHelp,
}

/// A parsed JSON-RPC request.
#[derive(Clone, Debug, Default)]
pub struct JsonRpcRequest {
    /// The `id` member; `None` when absent (a 2.0 notification).
    pub id: Option<Value>,
    /// The `method` member.
    pub str_method: String,
    /// Positional (array) or named (object) parameters; an empty array when absent.
    pub params: Value,
    /// Execute or help.
    pub mode: RequestMode,
    /// The HTTP URI the request came in on.
    pub uri: String,
    /// The authenticated user name.
    pub auth_user: String,
    /// `ip:port` of the HTTP client.
    pub peer_addr: String,
    /// Envelope flavour.
    pub json_version: JsonRpcVersion,
}

impl JsonRpcRequest {
    /// Port of JSONRPCRequest::IsNotification (rpc/request.h): a 2.0 request without `id`.
    pub fn is_notification(&self) -> bool {
        self.id.is_none() && self.json_version == JsonRpcVersion::V2
    }

    /// Positional parameter `i`, or JSON null when absent (UniValue's `operator[]`).
    pub fn param(&self, i: usize) -> &Value {
        static NULL: Value = Value::Null;
        match &self.params {
            Value::Array(a) => a.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Number of positional parameters.
    pub fn params_len(&self) -> usize {
        match &self.params {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        }
    }

    /// Port of JSONRPCRequest::parse (rpc/request.cpp).
    ///
    /// The `id` is taken first, so every later error carries it; `jsonrpc` may be absent,
    /// `"1.0"` (kept for old documentation that sent it) or `"2.0"`.
    pub fn parse(&mut self, val_request: &Value) -> Result<(), RpcError> {
        let Value::Object(request) = val_request else {
            return Err(RpcError::new(RPC_INVALID_REQUEST, "Invalid Request object"));
        };
        self.id = request.get("id").cloned();

        self.json_version = JsonRpcVersion::V1Legacy;
        match request.get("jsonrpc") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "1.0" => self.json_version = JsonRpcVersion::V1Legacy,
            Some(Value::String(s)) if s == "2.0" => self.json_version = JsonRpcVersion::V2,
            Some(Value::String(_)) => {
                return Err(RpcError::new(
                    RPC_INVALID_REQUEST,
                    "JSON-RPC version not supported",
                ))
            }
            Some(_) => {
                return Err(RpcError::new(
                    RPC_INVALID_REQUEST,
                    "jsonrpc field must be a string",
                ))
            }
        }

        match request.get("method") {
            None | Some(Value::Null) => {
                return Err(RpcError::new(RPC_INVALID_REQUEST, "Missing method"))
            }
            Some(Value::String(s)) => self.str_method = s.clone(),
            Some(_) => {
                return Err(RpcError::new(
                    RPC_INVALID_REQUEST,
                    "Method must be a string",
                ))
            }
        }
        if crate::logging::log_ips() {
            log::debug!(
                target: "rpc",
                "ThreadRPCServer method={} user={} peeraddr={}",
                sanitize_string(&self.str_method),
                self.auth_user,
                self.peer_addr
            );
        } else {
            log::debug!(
                target: "rpc",
                "ThreadRPCServer method={} user={}",
                sanitize_string(&self.str_method),
                self.auth_user
            );
        }

        match request.get("params") {
            Some(p @ (Value::Array(_) | Value::Object(_))) => self.params = p.clone(),
            None | Some(Value::Null) => self.params = Value::Array(Vec::new()),
            Some(_) => {
                return Err(RpcError::new(
                    RPC_INVALID_REQUEST,
                    "Params must be an array or object",
                ))
            }
        }
        Ok(())
    }
}

/// Port of SanitizeString (util/strencodings.cpp) with the default rule `SAFE_CHARS_DEFAULT`:
/// keep letters, digits, space and ` .,;-_/:?@()`; drop everything else.
pub fn sanitize_string(s: &str) -> String {
    const SAFE: &str = " .,;-_/:?@()";
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || SAFE.contains(*c))
        .collect()
}

/// Port of SanitizeString with `SAFE_CHARS_URI` (the HTTP log line for the request URI).
pub fn sanitize_uri(s: &str) -> String {
    const SAFE: &str = " .,;-_/:?@()!*'&=+$#[]%~";
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || SAFE.contains(*c))
        .collect()
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<JsonRpcRequest, RpcError> {
        let mut r = JsonRpcRequest::default();
        r.parse(&v).map(|_| r)
    }

    /// Mirrors interface_rpc.py: test_batch_request / jsonrpc version handling.
    #[test]
    fn interface_rpc__parse_versions_and_errors() {
        let r = parse(json!({"method": "uptime", "id": 1})).unwrap();
        assert_eq!(r.json_version, JsonRpcVersion::V1Legacy);
        assert_eq!(r.params, json!([]));
        let r = parse(json!({"jsonrpc": "2.0", "method": "uptime"})).unwrap();
        assert!(r.is_notification());
        let r = parse(json!({"jsonrpc": "1.0", "method": "uptime"})).unwrap();
        assert!(!r.is_notification());
        let e = parse(json!({"jsonrpc": "3.0", "method": "x"})).unwrap_err();
        assert_eq!(e, RpcError::new(-32600, "JSON-RPC version not supported"));
        let e = parse(json!({"jsonrpc": 2, "method": "x"})).unwrap_err();
        assert_eq!(e.message, "jsonrpc field must be a string");
        assert_eq!(
            parse(json!({"id": 1})).unwrap_err().message,
            "Missing method"
        );
        assert_eq!(
            parse(json!({"method": 1})).unwrap_err().message,
            "Method must be a string"
        );
        assert_eq!(
            parse(json!({"method": "a", "params": 1}))
                .unwrap_err()
                .message,
            "Params must be an array or object"
        );
        assert_eq!(
            parse(json!([1])).unwrap_err().message,
            "Invalid Request object"
        );
        // The id is kept even when parsing fails later.
        let mut r = JsonRpcRequest::default();
        assert!(r.parse(&json!({"id": "x", "method": 5})).is_err());
        assert_eq!(r.id, Some(json!("x")));
    }

    #[test]
    fn sanitize_drops_unsafe_chars() {
        assert_eq!(sanitize_string("get\npeer<info>"), "getpeerinfo");
        assert_eq!(sanitize_uri("/wallet/a%20b"), "/wallet/a%20b");
    }
}
