//! The command table and the JSON-RPC request handler (port of `rpc/server.cpp` and the
//! JSON half of `HTTPReq_JSONRPC` in `httprpc.cpp`).
//!
//! [`RpcTable`] maps method names to their [`RpcHelpMan`] description; it holds the node
//! behind [`RpcBackend`] and the shutdown callback that `stop` fires. [`RpcTable::handle_body`]
//! turns an authenticated HTTP body into the HTTP status and body bitcoind would send:
//! JSON-RPC 1.x errors as HTTP errors, 2.0 errors inside HTTP 200, batches always 200,
//! notifications 204.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::backend::RpcBackend;
use super::protocol::*;
use super::request::{JsonRpcRequest, RequestMode};
use super::univalue::UniValue;
use super::util::{
    get_int, get_str, help_example_cli, help_example_rpc, ArgType, Fallback, ResultType, RpcArg,
    RpcHelpMan, RpcResult,
};

/// The callback `stop` fires (the node's shutdown request).
pub type ShutdownFn = Arc<dyn Fn() + Send + Sync>;

/// One table entry (port of CRPCCommand): category and description/body.
pub struct RpcCommand {
    /// Help category ("control", "network", "hidden", …).
    pub category: &'static str,
    /// Description and body.
    pub helpman: RpcHelpMan<RpcTable>,
}

/// What the HTTP layer sends back for a JSON-RPC request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcHttpReply {
    /// HTTP status.
    pub status: u16,
    /// Body (JSON text plus a newline, or empty).
    pub body: String,
    /// Whether to send `Content-Type: application/json`.
    pub json: bool,
}

/// Port of CRPCTable plus the server state of `rpc/server.cpp` (warm-up, running flag).
pub struct RpcTable {
    commands: BTreeMap<String, RpcCommand>,
    /// The node.
    pub backend: Arc<dyn RpcBackend>,
    shutdown: ShutdownFn,
    /// Name used in the `stop` answer ("`<name>` stopping").
    pub client_name: String,
    warmup: Mutex<Option<String>>,
    running: AtomicBool,
}

impl RpcTable {
    /// A table with every command of this node registered, in warm-up ("RPC server started")
    /// until [`RpcTable::set_rpc_warmup_finished`].
    pub fn new(backend: Arc<dyn RpcBackend>, shutdown: ShutdownFn, client_name: &str) -> Self {
        let mut t = RpcTable {
            commands: BTreeMap::new(),
            backend,
            shutdown,
            client_name: client_name.to_string(),
            warmup: Mutex::new(Some("RPC server started".to_string())),
            running: AtomicBool::new(false),
        };
        register_server_rpc_commands(&mut t);
        super::node::register_node_rpc_commands(&mut t);
        super::net::register_net_rpc_commands(&mut t);
        super::net::register_logos_rpc_commands(&mut t);
        t
    }

    /// Port of CRPCTable::appendCommand.
    pub fn append_command(&mut self, category: &'static str, helpman: RpcHelpMan<RpcTable>) {
        self.commands
            .insert(helpman.name.clone(), RpcCommand { category, helpman });
    }

    /// Port of CRPCTable::listCommands.
    pub fn list_commands(&self) -> Vec<String> {
        self.commands.keys().cloned().collect()
    }

    /// Port of StartRPC.
    pub fn start_rpc(&self) {
        log::debug!(target: "rpc", "Starting RPC");
        self.running.store(true, Ordering::SeqCst);
    }

    /// Port of InterruptRPC.
    pub fn interrupt_rpc(&self) {
        if self.running.swap(false, Ordering::SeqCst) {
            log::debug!(target: "rpc", "Interrupting RPC");
        }
    }

    /// Port of IsRPCRunning.
    pub fn is_rpc_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Port of SetRPCWarmupStatus.
    pub fn set_rpc_warmup_status(&self, status: &str) {
        let mut w = self.warmup.lock().unwrap_or_else(|e| e.into_inner());
        if w.is_some() {
            *w = Some(status.to_string());
        }
    }

    /// Port of SetRPCWarmupFinished: from now on commands run.
    pub fn set_rpc_warmup_finished(&self) {
        *self.warmup.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Port of RPCIsInWarmup.
    pub fn rpc_is_in_warmup(&self) -> Option<String> {
        self.warmup
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Port of CRPCTable::help: one command's full help, or the one-line summary of every
    /// non-hidden command grouped by category.
    pub fn help(&self, str_command: &str, helpreq: &JsonRpcRequest) -> String {
        let mut ret = String::new();
        let mut category = "";
        let mut sorted: Vec<(String, &RpcCommand)> = self
            .commands
            .iter()
            .map(|(n, c)| (format!("{}{}", c.category, n), c))
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut jreq = helpreq.clone();
        jreq.mode = RequestMode::GetHelp;
        jreq.params = Value::Null;
        for (_, cmd) in sorted {
            let name = &cmd.helpman.name;
            if (!str_command.is_empty() || cmd.category == "hidden") && name != str_command {
                continue;
            }
            jreq.str_method = name.clone();
            let mut help = match cmd.helpman.handle_request(&jreq, self) {
                Err(e) => e.message,
                Ok(_) => continue,
            };
            if str_command.is_empty() {
                if let Some(p) = help.find('\n') {
                    help.truncate(p);
                }
                if category != cmd.category {
                    if !category.is_empty() {
                        ret += "\n";
                    }
                    category = cmd.category;
                    ret += &format!("== {} ==\n", capitalize(category));
                }
            }
            ret += &help;
            ret += "\n";
        }
        if ret.is_empty() {
            ret = format!("help: unknown command: {str_command}\n");
        }
        ret.pop();
        ret
    }

    /// Port of CRPCTable::dumpArgMap (`help dump_all_command_conversions`).
    pub fn dump_arg_map(&self) -> UniValue {
        let mut ret = UniValue::new_array();
        for cmd in self.commands.values() {
            for (i, arg) in cmd.helpman.args.iter().enumerate() {
                for name in arg.names.split('|') {
                    ret.push_back(UniValue::from(vec![
                        UniValue::from(&cmd.helpman.name),
                        UniValue::from(i),
                        UniValue::from(name),
                        UniValue::from(matches!(arg.ty, ArgType::Str | ArgType::StrHex)),
                    ]));
                }
            }
        }
        ret
    }

    /// Port of CRPCTable::execute: warm-up check, lookup, named-argument mapping, run.
    pub fn execute(&self, request: &JsonRpcRequest) -> Result<UniValue, RpcError> {
        if let Some(status) = self.rpc_is_in_warmup() {
            return Err(RpcError::new(RPC_IN_WARMUP, status));
        }
        let Some(cmd) = self.commands.get(&request.str_method) else {
            return Err(RpcError::new(RPC_METHOD_NOT_FOUND, "Method not found"));
        };
        if request.params.is_object() {
            let transformed = transform_named_arguments(request, &cmd.helpman.get_arg_names())?;
            cmd.helpman.handle_request(&transformed, self)
        } else {
            cmd.helpman.handle_request(request, self)
        }
    }

    /// Port of JSONRPCExec (rpc/server.cpp): the reply object, or (1.x, `catch_errors` false)
    /// the error to be turned into an HTTP error.
    pub fn json_rpc_exec(
        &self,
        jreq: &JsonRpcRequest,
        catch_errors: bool,
    ) -> Result<UniValue, RpcError> {
        match self.execute(jreq) {
            Ok(result) => Ok(json_rpc_reply_obj(
                result,
                UniValue::Null,
                jreq.id.as_ref(),
                jreq.json_version,
            )),
            Err(e) if catch_errors => Ok(json_rpc_reply_obj(
                UniValue::Null,
                e.to_json(),
                jreq.id.as_ref(),
                jreq.json_version,
            )),
            Err(e) => Err(e),
        }
    }

    /// The JSON-RPC part of HTTPReq_JSONRPC (httprpc.cpp), after method and credentials were
    /// checked: parse the body, run a single request or a batch, build the HTTP reply.
    pub fn handle_body(
        &self,
        body: &[u8],
        auth_user: &str,
        peer_addr: &str,
        uri: &str,
    ) -> RpcHttpReply {
        let mut jreq = JsonRpcRequest {
            auth_user: auth_user.to_string(),
            peer_addr: peer_addr.to_string(),
            ..Default::default()
        };
        match self.handle_body_inner(body, uri, &mut jreq) {
            Ok(r) => r,
            Err(e) => json_error_reply(e, &jreq),
        }
    }

    fn handle_body_inner(
        &self,
        body: &[u8],
        uri: &str,
        jreq: &mut JsonRpcRequest,
    ) -> Result<RpcHttpReply, RpcError> {
        let val_request: Value = serde_json::from_slice(body)
            .map_err(|_| RpcError::new(RPC_PARSE_ERROR, "Parse error"))?;
        jreq.uri = uri.to_string();

        let reply = match &val_request {
            Value::Object(_) => {
                jreq.parse(&val_request)?;
                // 1.x: errors become HTTP errors; 2.0: errors go inside an HTTP 200 reply.
                let catch_errors = jreq.json_version == JsonRpcVersion::V2;
                let reply = self.json_rpc_exec(jreq, catch_errors)?;
                if jreq.is_notification() {
                    return Ok(RpcHttpReply {
                        status: HTTP_NO_CONTENT,
                        body: String::new(),
                        json: false,
                    });
                }
                reply
            }
            Value::Array(batch) => {
                let mut replies = Vec::new();
                for item in batch {
                    // A batch never fails as a whole; each member gets its own reply.
                    let response = match jreq.parse(item) {
                        Ok(()) => match self.json_rpc_exec(jreq, true) {
                            Ok(r) => r,
                            Err(e) => json_rpc_reply_obj(
                                UniValue::Null,
                                e.to_json(),
                                jreq.id.as_ref(),
                                jreq.json_version,
                            ),
                        },
                        Err(e) => json_rpc_reply_obj(
                            UniValue::Null,
                            e.to_json(),
                            jreq.id.as_ref(),
                            jreq.json_version,
                        ),
                    };
                    if !jreq.is_notification() {
                        replies.push(response);
                    }
                }
                // An all-notification batch gets no body; an empty batch gets `[]` (as Core,
                // for clients that predate 2.0).
                if replies.is_empty() && !batch.is_empty() {
                    return Ok(RpcHttpReply {
                        status: HTTP_NO_CONTENT,
                        body: String::new(),
                        json: false,
                    });
                }
                UniValue::Arr(replies)
            }
            _ => {
                return Err(RpcError::new(
                    RPC_PARSE_ERROR,
                    "Top-level object parse error",
                ))
            }
        };
        Ok(RpcHttpReply {
            status: HTTP_OK,
            body: format!("{}\n", reply.write(0, 0)),
            json: true,
        })
    }

    /// Fires the node's shutdown request (`stop`).
    pub fn request_shutdown(&self) {
        (self.shutdown)();
    }
}

/// Port of JSONErrorReply (httprpc.cpp): a 1.x error as an HTTP error with the error object.
fn json_error_reply(e: RpcError, jreq: &JsonRpcRequest) -> RpcHttpReply {
    let status = match e.code {
        RPC_INVALID_REQUEST => HTTP_BAD_REQUEST,
        RPC_METHOD_NOT_FOUND => HTTP_NOT_FOUND,
        _ => HTTP_INTERNAL_SERVER_ERROR,
    };
    let reply = json_rpc_reply_obj(
        UniValue::Null,
        e.to_json(),
        jreq.id.as_ref(),
        jreq.json_version,
    );
    RpcHttpReply {
        status,
        body: format!("{}\n", reply.write(0, 0)),
        json: true,
    }
}

/// Port of Capitalize (util/strencodings.cpp).
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// Port of transformNamedArguments (rpc/server.cpp): named parameters to positions.
///
/// Positions left out before a given one are filled with null (trailing ones are not); an
/// `args` array supplies leading positional values; duplicates and unknown names fail with
/// `RPC_INVALID_PARAMETER`.
pub fn transform_named_arguments(
    input: &JsonRpcRequest,
    arg_names: &[String],
) -> Result<JsonRpcRequest, RpcError> {
    let mut out = input.clone();
    let mut params: Vec<Value> = Vec::new();
    let Value::Object(obj) = &input.params else {
        return Ok(out);
    };
    let mut args_in: HashMap<&str, &Value> = obj.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut hole = 0usize;
    let mut initial_hole_size = 0usize;
    let mut initial_param: Option<&str> = None;
    for pattern in arg_names {
        let found = pattern
            .split('|')
            .find_map(|n| args_in.get_key_value(n).map(|(k, v)| (*k, *v)));
        if let Some((key, value)) = found {
            params.extend(std::iter::repeat_n(Value::Null, hole));
            hole = 0;
            if initial_param.is_none() {
                initial_param = Some(pattern);
            }
            params.push(value.clone());
            args_in.remove(key);
        } else {
            hole += 1;
            if params.is_empty() {
                initial_hole_size = hole;
            }
        }
    }
    if let Some(Value::Array(positional)) = args_in.remove("args") {
        if initial_hole_size < positional.len() {
            if let Some(p) = initial_param {
                return Err(RpcError::new(
                    RPC_INVALID_PARAMETER,
                    format!("Parameter {p} specified twice both as positional and named argument"),
                ));
            }
        }
        let named = std::mem::take(&mut params);
        params = positional.clone();
        for v in named.into_iter().skip(params.len()) {
            params.push(v);
        }
    }
    if let Some(k) = args_in.keys().min() {
        return Err(RpcError::new(
            RPC_INVALID_PARAMETER,
            format!("Unknown named parameter {k}"),
        ));
    }
    out.params = Value::Array(params);
    Ok(out)
}

/// Port of help (rpc/server.cpp).
fn help() -> RpcHelpMan<RpcTable> {
    RpcHelpMan {
        name: "help".into(),
        description: "List all commands, or get help for a specified command.\n".into(),
        args: vec![RpcArg::new(
            "command",
            ArgType::Str,
            Fallback::DefaultHint("all commands".into()),
            "The command to get help on",
        )],
        results: vec![
            RpcResult::new(ResultType::Str, "", "The help text"),
            RpcResult::new(ResultType::Any, "", ""),
        ],
        examples: String::new(),
        fun: |_, req, t| {
            let cmd = match req.param(0) {
                Value::Null => "",
                v => get_str(v)?,
            };
            if cmd == "dump_all_command_conversions" {
                return Ok(t.dump_arg_map());
            }
            Ok(UniValue::from(t.help(cmd, req)))
        },
    }
}

/// Port of stop (rpc/server.cpp): ask the node to shut down; the reply still goes out
/// because the HTTP server finishes requests in flight before it stops.
fn stop(client_name: &str) -> RpcHelpMan<RpcTable> {
    RpcHelpMan {
        name: "stop".into(),
        description: format!("Request a graceful shutdown of {client_name}."),
        args: vec![RpcArg::new(
            "wait",
            ArgType::Num,
            Fallback::Omitted,
            "how long to wait in ms",
        )
        .hidden()],
        results: vec![RpcResult::new(
            ResultType::Str,
            "",
            &format!("A string with the content '{client_name} stopping'"),
        )],
        examples: String::new(),
        fun: |_, req, t| {
            t.request_shutdown();
            if req.param(0).is_number() {
                let ms = get_int(req.param(0))?.max(0) as u64;
                std::thread::sleep(Duration::from_millis(ms));
            }
            Ok(UniValue::from(format!("{} stopping", t.client_name)))
        },
    }
}

/// Port of uptime (rpc/server.cpp).
fn uptime() -> RpcHelpMan<RpcTable> {
    RpcHelpMan {
        name: "uptime".into(),
        description: "Returns the total uptime of the server.\n".into(),
        args: vec![],
        results: vec![RpcResult::new(
            ResultType::Num,
            "",
            "The number of seconds that the server has been running",
        )],
        examples: help_example_cli("uptime", "") + &help_example_rpc("uptime", ""),
        fun: |_, _, t| {
            Ok(UniValue::from(
                t.backend.get_time() - t.backend.get_startup_time(),
            ))
        },
    }
}

/// Port of the vRPCCommands registration in rpc/server.cpp.
fn register_server_rpc_commands(t: &mut RpcTable) {
    t.append_command("control", help());
    let stop = stop(&t.client_name);
    t.append_command("control", stop);
    t.append_command("control", uptime());
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(params: Value) -> JsonRpcRequest {
        JsonRpcRequest {
            params,
            ..Default::default()
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Mirrors rpc_tests.cpp: rpc_namedparams.
    #[test]
    fn rpc_tests__rpc_namedparams() {
        let arg_names = names(&["arg1", "arg2", "arg3", "arg4", "arg5"]);
        let r = transform_named_arguments(&req(json!({"arg5": 5, "arg3": 3})), &arg_names).unwrap();
        assert_eq!(r.params, json!([null, null, 3, null, 5]));
        let r = transform_named_arguments(&req(json!({})), &arg_names).unwrap();
        assert_eq!(r.params, json!([]));
        let e = transform_named_arguments(&req(json!({"arg8": 1})), &arg_names).unwrap_err();
        assert_eq!(
            e,
            RpcError::new(RPC_INVALID_PARAMETER, "Unknown named parameter arg8")
        );
        let r = transform_named_arguments(&req(json!({"args": [1, 2], "arg4": 4})), &arg_names)
            .unwrap();
        assert_eq!(r.params, json!([1, 2, null, 4]));
        let e = transform_named_arguments(&req(json!({"args": [1, 2], "arg2": 2})), &arg_names)
            .unwrap_err();
        assert_eq!(
            e.message,
            "Parameter arg2 specified twice both as positional and named argument"
        );
    }
}
