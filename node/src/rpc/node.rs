//! Node-level calls (port of the `logging` call of `rpc/node.cpp`).

use serde_json::Value;

use super::protocol::{RpcError, RPC_INVALID_PARAMETER};
use super::server::RpcTable;
use super::univalue::UniValue;
use super::util::{
    get_array, get_str, help_example_cli, help_example_rpc, ArgType, Fallback, ResultType, RpcArg,
    RpcHelpMan, RpcResult,
};

/// Port of EnableOrDisableLogCategories (rpc/node.cpp).
fn enable_or_disable_log_categories(
    t: &RpcTable,
    cats: &Value,
    enable: bool,
) -> Result<(), RpcError> {
    for cat in get_array(cats)? {
        let cat = get_str(cat)?;
        let ok = if enable {
            t.backend.enable_log_category(cat)
        } else {
            t.backend.disable_log_category(cat)
        };
        if !ok {
            return Err(RpcError::new(
                RPC_INVALID_PARAMETER,
                format!("unknown logging category {cat}"),
            ));
        }
    }
    Ok(())
}

/// Port of logging (rpc/node.cpp): read, and optionally change, the debug categories.
fn logging(categories: String) -> RpcHelpMan<RpcTable> {
    RpcHelpMan {
        name: "logging".into(),
        description: format!(
            "Gets and sets the logging configuration.\n\
When called without an argument, returns the list of categories with status that are currently being debug logged or not.\n\
When called with arguments, adds or removes categories from debug logging and return the lists above.\n\
The arguments are evaluated in order \"include\", \"exclude\".\n\
If an item is both included and excluded, it will thus end up being excluded.\n\
The valid logging categories are: {categories}\n\
In addition, the following are available as category names with special meanings:\n\
  \x20\x20- \"all\",  \"1\" : represent all logging categories.\n"
        ),
        args: vec![
            RpcArg::new("include", ArgType::Arr, Fallback::Omitted, "The categories to add to debug logging")
                .with_inner(vec![RpcArg::new(
                    "include_category",
                    ArgType::Str,
                    Fallback::Omitted,
                    "the valid logging category",
                )]),
            RpcArg::new("exclude", ArgType::Arr, Fallback::Omitted, "The categories to remove from debug logging")
                .with_inner(vec![RpcArg::new(
                    "exclude_category",
                    ArgType::Str,
                    Fallback::Omitted,
                    "the valid logging category",
                )]),
        ],
        results: vec![RpcResult::with(
            ResultType::ObjDyn,
            "",
            "keys are the logging categories, and values indicates its status",
            vec![RpcResult::new(
                ResultType::Bool,
                "category",
                "if being debug logged or not. false:inactive, true:active",
            )],
        )],
        examples: help_example_cli("logging", "\"[\\\"all\\\"]\" \"[\\\"http\\\"]\"")
            + &help_example_rpc("logging", "[\"all\"], [\"libevent\"]"),
        fun: |_, req, t| {
            if req.param(0).is_array() {
                enable_or_disable_log_categories(t, req.param(0), true)?;
            }
            if req.param(1).is_array() {
                enable_or_disable_log_categories(t, req.param(1), false)?;
            }
            let mut result = UniValue::new_object();
            for (name, active) in t.backend.log_categories_list() {
                result.push_kv(&name, active);
            }
            Ok(result)
        },
    }
}

/// Port of RegisterNodeRPCCommands (rpc/node.cpp), the part this node has.
pub fn register_node_rpc_commands(t: &mut RpcTable) {
    let names: Vec<String> = t
        .backend
        .log_categories_list()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    t.append_command("control", logging(names.join(", ")));
}
