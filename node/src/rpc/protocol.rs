//! HTTP status codes, JSON-RPC error codes and the reply envelope (port of `rpc/protocol.h`
//! and the envelope half of `rpc/request.cpp`).
//!
//! Every constant keeps Core's name and value, so an error returned by this server carries
//! the same code bitcoind would return and `bitcoin-cli` prints the same text.

use serde_json::Value;

use super::univalue::UniValue;

/// 200: request handled.
pub const HTTP_OK: u16 = 200;
/// 204: a JSON-RPC 2.0 notification (or an all-notification batch) was handled.
pub const HTTP_NO_CONTENT: u16 = 204;
/// 400: malformed HTTP, or a JSON-RPC 1.x `RPC_INVALID_REQUEST`.
pub const HTTP_BAD_REQUEST: u16 = 400;
/// 401: no or wrong credentials.
pub const HTTP_UNAUTHORIZED: u16 = 401;
/// 403: client address not in `-rpcallowip`.
pub const HTTP_FORBIDDEN: u16 = 403;
/// 404: no handler for the URI, or a JSON-RPC 1.x `RPC_METHOD_NOT_FOUND`.
pub const HTTP_NOT_FOUND: u16 = 404;
/// 405: HTTP method not handled.
pub const HTTP_BAD_METHOD: u16 = 405;
/// 413: request head or body over the limit (libevent's answer, which bitcoind relies on).
pub const HTTP_ENTITY_TOO_LARGE: u16 = 413;
/// 500: any other JSON-RPC 1.x error.
pub const HTTP_INTERNAL_SERVER_ERROR: u16 = 500;
/// 501: a transfer coding other than `chunked` (libevent's `HTTP_NOTIMPLEMENTED`; not in
/// Core's list).
pub const HTTP_NOT_IMPLEMENTED: u16 = 501;
/// 503: work queue full, or the server is shutting down.
pub const HTTP_SERVICE_UNAVAILABLE: u16 = 503;

/// Standard JSON-RPC 2.0: the request object is not valid (HTTP 400 in 1.x mode).
pub const RPC_INVALID_REQUEST: i32 = -32600;
/// Standard JSON-RPC 2.0: unknown method (HTTP 404 in 1.x mode).
pub const RPC_METHOD_NOT_FOUND: i32 = -32601;
/// Standard JSON-RPC 2.0: invalid method parameters.
pub const RPC_INVALID_PARAMS: i32 = -32602;
/// Standard JSON-RPC 2.0: genuine internal error.
pub const RPC_INTERNAL_ERROR: i32 = -32603;
/// Standard JSON-RPC 2.0: the body is not JSON.
pub const RPC_PARSE_ERROR: i32 = -32700;
/// A generic failure inside a command (Core: a `std::exception` escaped the handler).
pub const RPC_MISC_ERROR: i32 = -1;
/// A parameter has the wrong JSON type.
pub const RPC_TYPE_ERROR: i32 = -3;
/// Invalid address or key.
pub const RPC_INVALID_ADDRESS_OR_KEY: i32 = -5;
/// Invalid, missing or duplicate parameter.
pub const RPC_INVALID_PARAMETER: i32 = -8;
/// P2P client not connected / RPC shutting down.
pub const RPC_CLIENT_NOT_CONNECTED: i32 = -9;
/// Node (or subnet) already added / banned.
pub const RPC_CLIENT_NODE_ALREADY_ADDED: i32 = -23;
/// Node has not been added before.
pub const RPC_CLIENT_NODE_NOT_ADDED: i32 = -24;
/// The server is still starting up.
pub const RPC_IN_WARMUP: i32 = -28;
/// Node to disconnect not found among the connected nodes.
pub const RPC_CLIENT_NODE_NOT_CONNECTED: i32 = -29;
/// Invalid IP or subnet.
pub const RPC_CLIENT_INVALID_IP_OR_SUBNET: i32 = -30;
/// No connection manager.
pub const RPC_CLIENT_P2P_DISABLED: i32 = -31;
/// Already at capacity for the requested connection type.
pub const RPC_CLIENT_NODE_CAPACITY_REACHED: i32 = -34;

/// An error object `{"code": .., "message": ..}` (what Core throws as a `UniValue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// One of the `RPC_*` codes.
    pub code: i32,
    /// Human-readable text, as bitcoind's.
    pub message: String,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// The JSON error object.
    pub fn to_json(&self) -> UniValue {
        json_rpc_error(self.code, &self.message)
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// JSON-RPC envelope flavour of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JsonRpcVersion {
    /// No `jsonrpc` field, or `"1.0"`: both `result` and `error` in the reply, HTTP errors.
    #[default]
    V1Legacy,
    /// `"jsonrpc": "2.0"`: strict 2.0 reply, HTTP 200 for RPC errors.
    V2,
}

/// Port of JSONRPCError (rpc/request.cpp): the error object.
pub fn json_rpc_error(code: i32, message: &str) -> UniValue {
    crate::obj! { "code" => code, "message" => message }
}

/// Port of JSONRPCReplyObj (rpc/request.cpp).
///
/// 1.x replies carry both `result` and `error` (one of them null) and no `jsonrpc` field;
/// 2.0 replies carry `"jsonrpc": "2.0"` and only the non-null one of the two. `id` is left out
/// when the request had none.
pub fn json_rpc_reply_obj(
    result: UniValue,
    error: UniValue,
    id: Option<&Value>,
    version: JsonRpcVersion,
) -> UniValue {
    let mut reply = UniValue::new_object();
    if version == JsonRpcVersion::V2 {
        reply.push_kv("jsonrpc", "2.0");
    }
    if error.is_null() {
        reply.push_kv("result", result);
        if version == JsonRpcVersion::V1Legacy {
            reply.push_kv("error", UniValue::Null);
        }
    } else {
        if version == JsonRpcVersion::V1Legacy {
            reply.push_kv("result", UniValue::Null);
        }
        reply.push_kv("error", error);
    }
    if let Some(id) = id {
        reply.push_kv("id", UniValue::from(id));
    }
    reply
}

/// Port of uvTypeName (univalue.cpp): the type names used in Core's type error texts.
pub fn uv_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Mirrors interface_rpc.py: the 1.x envelope keeps both fields, 2.0 only one; Core's
    /// key order.
    #[test]
    fn interface_rpc__reply_obj_v1_and_v2() {
        let id = json!(1);
        let v1 = json_rpc_reply_obj(
            5.into(),
            UniValue::Null,
            Some(&id),
            JsonRpcVersion::V1Legacy,
        );
        assert_eq!(v1.write(0, 0), r#"{"result":5,"error":null,"id":1}"#);
        let v2 = json_rpc_reply_obj(5.into(), UniValue::Null, Some(&id), JsonRpcVersion::V2);
        assert_eq!(v2.write(0, 0), r#"{"jsonrpc":"2.0","result":5,"id":1}"#);
        let e2 = json_rpc_reply_obj(
            UniValue::Null,
            json_rpc_error(RPC_METHOD_NOT_FOUND, "Method not found"),
            None,
            JsonRpcVersion::V2,
        );
        assert_eq!(
            e2.write(0, 0),
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"}}"#
        );
        let e1 = json_rpc_reply_obj(
            UniValue::Null,
            json_rpc_error(-1, "x"),
            None,
            JsonRpcVersion::V1Legacy,
        );
        assert_eq!(
            e1.write(0, 0),
            r#"{"result":null,"error":{"code":-1,"message":"x"}}"#
        );
    }
}
