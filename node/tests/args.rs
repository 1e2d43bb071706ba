//! Tests of the option parser, ported from Bitcoin Core's `src/test/getarg_tests.cpp` and
//! `src/test/argsman_tests.cpp` (the cases that apply without a settings.json), plus the node's
//! own option set: config file sections, the wrong-flag error text and `-help`.
#![allow(non_snake_case)]

mod bin_common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bin_common::node_options;
use node::args::{flags, ArgsManager, OptionsCategory, SettingsValue};
use sha2::{Digest, Sha256};

fn setup_args(args: &mut ArgsManager, names: &[(&str, u32)]) {
    for (name, f) in names {
        args.add_arg(name, "", *f, OptionsCategory::Options);
    }
}

/// Core's `ResetArgs` (getarg_tests.cpp): splits on spaces, prepends a program name, parses.
fn reset_args(args: &mut ArgsManager, s: &str) {
    let mut argv = vec!["testbitcoin".to_string()];
    if !s.is_empty() {
        argv.extend(s.split(' ').map(str::to_string));
    }
    args.parse_parameters(&argv).expect("parse");
}

/// Core's `TestArgsManager` (argsman_tests.cpp): no network-only args, default chain "main".
fn test_args_manager() -> ArgsManager {
    let mut a = ArgsManager::new();
    a.clear_network_only_args();
    a.set_default_chain("main");
    a
}

/// Core's `TestArgsManager::ReadConfigString`.
fn read_config_string(args: &mut ArgsManager, conf: &str) {
    args.clear_config();
    args.read_config_stream(conf, "", false).expect("config");
}

const ANY: u32 = flags::ALLOW_ANY;

/// Mirrors getarg_tests.cpp: boolarg
#[test]
fn getarg_tests__boolarg() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-foo", ANY)]);
    reset_args(&mut a, "-foo");
    assert!(a.get_bool_arg("-foo", false));
    assert!(a.get_bool_arg("-foo", true));
    assert!(!a.get_bool_arg("-fo", false));
    assert!(a.get_bool_arg("-fo", true));
    assert!(!a.get_bool_arg("-fooo", false));
    assert!(a.get_bool_arg("-fooo", true));

    for (line, expect) in [
        ("-foo=0", false),
        ("-foo=1", true),
        ("-nofoo", false),
        ("-nofoo=1", false),
        ("-foo -nofoo", false),
        ("-foo=1 -nofoo=1", false),
        ("-foo=0 -nofoo=0", true),
        ("--foo=1", true),
        ("--nofoo=1", false),
    ] {
        reset_args(&mut a, line);
        assert_eq!(a.get_bool_arg("-foo", false), expect, "{line}");
        assert_eq!(a.get_bool_arg("-foo", true), expect, "{line}");
    }
}

/// Mirrors getarg_tests.cpp: stringarg
#[test]
fn getarg_tests__stringarg() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-foo", ANY), ("-bar", ANY)]);
    reset_args(&mut a, "");
    assert_eq!(a.get_arg("-foo", ""), "");
    assert_eq!(a.get_arg("-foo", "eleven"), "eleven");
    reset_args(&mut a, "-foo -bar");
    assert_eq!(a.get_arg("-foo", ""), "");
    assert_eq!(a.get_arg("-foo", "eleven"), "");
    reset_args(&mut a, "-foo=");
    assert_eq!(a.get_arg("-foo", ""), "");
    assert_eq!(a.get_arg("-foo", "eleven"), "");
    reset_args(&mut a, "-foo=11");
    assert_eq!(a.get_arg("-foo", ""), "11");
    assert_eq!(a.get_arg("-foo", "eleven"), "11");
    reset_args(&mut a, "-foo=eleven");
    assert_eq!(a.get_arg("-foo", ""), "eleven");
    assert_eq!(a.get_arg("-foo", "eleven"), "eleven");
}

/// Mirrors getarg_tests.cpp: intarg
#[test]
fn getarg_tests__intarg() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-foo", ANY), ("-bar", ANY)]);
    reset_args(&mut a, "");
    assert_eq!(a.get_int_arg("-foo", 11), 11);
    assert_eq!(a.get_int_arg("-foo", 0), 0);
    reset_args(&mut a, "-foo -bar");
    assert_eq!(a.get_int_arg("-foo", 11), 0);
    assert_eq!(a.get_int_arg("-bar", 11), 0);
    reset_args(&mut a, "-foo=-9223372036854775809 -bar=9223372036854775808");
    assert_eq!(a.get_int_arg("-foo", 0), i64::MIN);
    assert_eq!(a.get_int_arg("-bar", 0), i64::MAX);
    reset_args(&mut a, "-foo=11 -bar=12");
    assert_eq!(a.get_int_arg("-foo", 0), 11);
    assert_eq!(a.get_int_arg("-bar", 11), 12);
    reset_args(&mut a, "-foo=NaN -bar=NotANumber");
    assert_eq!(a.get_int_arg("-foo", 1), 0);
    assert_eq!(a.get_int_arg("-bar", 11), 0);
}

/// Mirrors getarg_tests.cpp: patharg (Unix cases)
#[test]
fn getarg_tests__patharg() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-dir", ANY)]);
    reset_args(&mut a, "");
    assert_eq!(a.get_path_arg("-dir", Path::new("")), PathBuf::new());
    for v in ["/", "/.", "/./", "/.//"] {
        reset_args(&mut a, &format!("-dir={v}"));
        assert_eq!(
            a.get_path_arg("-dir", Path::new("")),
            PathBuf::from("/"),
            "{v}"
        );
    }
    for v in [
        "/home/user/.bitcoin",
        "/root/../home/user/.bitcoin",
        "/home/./user/.bitcoin",
        "/home/user/.bitcoin/",
        "/home/user/.bitcoin//",
        "/home/user/.bitcoin/.",
        "/home/user/.bitcoin/./",
        "/home/user/.bitcoin/.//",
    ] {
        reset_args(&mut a, &format!("-dir={v}"));
        assert_eq!(
            a.get_path_arg("-dir", Path::new("")),
            PathBuf::from("/home/user/.bitcoin"),
            "{v}"
        );
    }
    for v in [
        "user/.bitcoin",
        "somewhere/../user/.bitcoin",
        "user/./.bitcoin",
        "user/.bitcoin/",
        "user/.bitcoin//",
        "user/.bitcoin/.",
        "user/.bitcoin/./",
        "user/.bitcoin/.//",
    ] {
        reset_args(&mut a, &format!("-dir={v}"));
        assert_eq!(
            a.get_path_arg("-dir", Path::new("")),
            PathBuf::from("user/.bitcoin"),
            "{v}"
        );
    }
    reset_args(&mut a, "");
    assert_eq!(
        a.get_path_arg("-dir", Path::new("default")),
        PathBuf::from("default")
    );
    reset_args(&mut a, "-dir=override");
    assert_eq!(
        a.get_path_arg("-dir", Path::new("default")),
        PathBuf::from("override")
    );
    reset_args(&mut a, "-dir=");
    assert_eq!(
        a.get_path_arg("-dir", Path::new("default")),
        PathBuf::from("default")
    );
    reset_args(&mut a, "-dir");
    assert_eq!(
        a.get_path_arg("-dir", Path::new("default")),
        PathBuf::from("default")
    );
    reset_args(&mut a, "-nodir");
    assert_eq!(a.get_path_arg("-dir", Path::new("default")), PathBuf::new());
}

/// Mirrors getarg_tests.cpp: doubledash
#[test]
fn getarg_tests__doubledash() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-foo", ANY), ("-bar", ANY)]);
    reset_args(&mut a, "--foo");
    assert!(a.get_bool_arg("-foo", false));
    reset_args(&mut a, "--foo=verbose --bar=1");
    assert_eq!(a.get_arg("-foo", ""), "verbose");
    assert_eq!(a.get_int_arg("-bar", 0), 1);
}

/// Mirrors getarg_tests.cpp: boolargno
#[test]
fn getarg_tests__boolargno() {
    let mut a = ArgsManager::new();
    setup_args(&mut a, &[("-foo", ANY), ("-bar", ANY)]);
    for (line, expect) in [
        ("-nofoo", false),
        ("-nofoo=1", false),
        ("-nofoo=0", true),
        ("-foo --nofoo", false),
        ("-nofoo -foo", true),
    ] {
        reset_args(&mut a, line);
        assert_eq!(a.get_bool_arg("-foo", true), expect, "{line}");
        assert_eq!(a.get_bool_arg("-foo", false), expect, "{line}");
    }
}

/// Mirrors getarg_tests.cpp: logargs
#[test]
fn getarg_tests__logargs() {
    let mut a = ArgsManager::new();
    setup_args(
        &mut a,
        &[
            ("-okaylog-bool", ANY),
            ("-okaylog-negbool", ANY),
            ("-okaylog", ANY),
            ("-dontlog", ANY | flags::SENSITIVE),
        ],
    );
    reset_args(
        &mut a,
        "-okaylog-bool -nookaylog-negbool -okaylog=public -dontlog=private42",
    );
    let logger = node::logging::log_instance();
    let captured = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&captured);
    let id = logger.push_back_callback(move |s| sink.lock().unwrap().push_str(s));
    if logger.is_buffering() {
        logger.start_logging().unwrap();
    }
    a.log_args();
    logger.delete_callback(id);
    let s = captured.lock().unwrap().clone();
    assert!(s.contains("Command-line arg: okaylog-bool=\"\""), "{s}");
    assert!(s.contains("Command-line arg: okaylog-negbool=false"), "{s}");
    assert!(s.contains("Command-line arg: okaylog=\"public\""), "{s}");
    assert!(s.contains("dontlog=****"), "{s}");
    assert!(!s.contains("private42"), "{s}");
}

/// One case of Core's CheckValueTest (argsman_tests.cpp).
struct Expect {
    setting: SettingsValue,
    string: Option<&'static str>,
    int: Option<i64>,
    boolean: Option<bool>,
    list: Vec<&'static str>,
    error: Option<&'static str>,
}

fn check_value(f: u32, arg: Option<&str>, e: Expect) {
    let mut t = test_args_manager();
    setup_args(&mut t, &[("-value", f)]);
    let mut argv = vec!["ignored".to_string()];
    if let Some(a) = arg {
        argv.push(a.to_string());
    }
    let result = t.parse_parameters(&argv);
    assert_eq!(t.get_setting("-value"), e.setting, "{arg:?}");
    let list = t.get_settings_list("-value");
    if e.setting.is_null() || e.setting.is_false() {
        assert!(list.is_empty());
    } else {
        assert_eq!(list, vec![e.setting.clone()]);
    }
    match e.error {
        Some(msg) => assert!(result.unwrap_err().contains(msg)),
        None => assert!(result.is_ok()),
    }
    match e.string {
        Some(s) => assert_eq!(t.get_arg("-value", "zzzzz"), s),
        None => assert_eq!(t.get_arg("-value", "zzzzz"), "zzzzz"),
    }
    match e.int {
        Some(i) => assert_eq!(t.get_int_arg("-value", 99999), i),
        None => assert_eq!(t.get_int_arg("-value", 99999), 99999),
    }
    match e.boolean {
        Some(b) => {
            assert_eq!(t.get_bool_arg("-value", false), b);
            assert_eq!(t.get_bool_arg("-value", true), b);
        }
        None => {
            assert!(!t.get_bool_arg("-value", false));
            assert!(t.get_bool_arg("-value", true));
        }
    }
    assert_eq!(t.get_args("-value"), e.list);
}

fn s(v: &str) -> SettingsValue {
    SettingsValue::Str(v.to_string())
}

/// Mirrors argsman_tests.cpp: util_CheckValue
#[test]
fn argsman_tests__util_CheckValue() {
    let ex = |setting, string, int, boolean, list| Expect {
        setting,
        string,
        int,
        boolean,
        list,
        error: None,
    };
    check_value(ANY, None, ex(SettingsValue::Null, None, None, None, vec![]));
    let f = SettingsValue::Bool(false);
    let t = SettingsValue::Bool(true);
    check_value(
        ANY,
        Some("-novalue"),
        ex(f.clone(), Some("0"), Some(0), Some(false), vec![]),
    );
    check_value(
        ANY,
        Some("-novalue="),
        ex(f.clone(), Some("0"), Some(0), Some(false), vec![]),
    );
    check_value(
        ANY,
        Some("-novalue=0"),
        ex(t.clone(), Some("1"), Some(1), Some(true), vec!["1"]),
    );
    check_value(
        ANY,
        Some("-novalue=1"),
        ex(f.clone(), Some("0"), Some(0), Some(false), vec![]),
    );
    check_value(
        ANY,
        Some("-novalue=2"),
        ex(f.clone(), Some("0"), Some(0), Some(false), vec![]),
    );
    check_value(
        ANY,
        Some("-novalue=abc"),
        ex(t, Some("1"), Some(1), Some(true), vec!["1"]),
    );
    check_value(
        ANY,
        Some("-value"),
        ex(s(""), Some(""), Some(0), Some(true), vec![""]),
    );
    check_value(
        ANY,
        Some("-value="),
        ex(s(""), Some(""), Some(0), Some(true), vec![""]),
    );
    check_value(
        ANY,
        Some("-value=0"),
        ex(s("0"), Some("0"), Some(0), Some(false), vec!["0"]),
    );
    check_value(
        ANY,
        Some("-value=1"),
        ex(s("1"), Some("1"), Some(1), Some(true), vec!["1"]),
    );
    check_value(
        ANY,
        Some("-value=2"),
        ex(s("2"), Some("2"), Some(2), Some(true), vec!["2"]),
    );
    check_value(
        ANY,
        Some("-value=abc"),
        ex(s("abc"), Some("abc"), Some(0), Some(false), vec!["abc"]),
    );
}

/// The DISALLOW_NEGATION / DISALLOW_ELISION errors of InterpretValue (args.cpp).
#[test]
fn argsman_tests__interpret_value_flags() {
    let mut t = test_args_manager();
    setup_args(
        &mut t,
        &[
            ("-negless", ANY | flags::DISALLOW_NEGATION),
            ("-valreq", ANY | flags::DISALLOW_ELISION),
        ],
    );
    assert_eq!(
        t.parse_parameters(&["x", "-nonegless"]).unwrap_err(),
        "Negating of -negless is meaningless and therefore forbidden"
    );
    assert_eq!(
        t.parse_parameters(&["x", "-valreq"]).unwrap_err(),
        "Can not set -valreq with no value. Please specify value with -valreq=value."
    );
    assert!(t
        .parse_parameters(&["x", "-valreq=1", "-negless=3"])
        .is_ok());
}

/// Mirrors argsman_tests.cpp: util_NoIncludeConf
#[test]
fn argsman_tests__util_NoIncludeConf() {
    let parse = |arg: &str| {
        let mut t = test_args_manager();
        setup_args(&mut t, &[("-includeconf", ANY)]);
        t.parse_parameters(&["ignored", arg])
            .err()
            .unwrap_or_default()
    };
    assert_eq!(parse("-noincludeconf"), "");
    assert_eq!(
        parse("-includeconf"),
        "-includeconf cannot be used from commandline; -includeconf=\"\""
    );
    assert_eq!(
        parse("-includeconf=file"),
        "-includeconf cannot be used from commandline; -includeconf=\"file\""
    );
}

/// Mirrors argsman_tests.cpp: util_ParseParameters
#[test]
fn argsman_tests__util_ParseParameters() {
    let mut t = test_args_manager();
    setup_args(
        &mut t,
        &[("-a", ANY), ("-b", ANY), ("-ccc", ANY), ("-d", ANY)],
    );
    let argv = [
        "-ignored",
        "-a",
        "-b",
        "-ccc=argument",
        "-ccc=multiple",
        "f",
        "-d=e",
    ];
    t.parse_parameters::<&str>(&[]).unwrap();
    assert!(t.settings().command_line_options.is_empty() && t.settings().ro_config.is_empty());
    t.parse_parameters(&argv[..1]).unwrap();
    assert!(t.settings().command_line_options.is_empty());
    t.parse_parameters(&argv).unwrap();
    // -d after the non-option "f" is not parsed.
    let clo = &t.settings().command_line_options;
    assert_eq!(clo.len(), 3);
    assert!(t.is_arg_set("-a") && t.is_arg_set("-b") && t.is_arg_set("-ccc"));
    assert!(!t.is_arg_set("f") && !t.is_arg_set("-d"));
    assert_eq!(clo["a"], vec![s("")]);
    assert_eq!(clo["ccc"], vec![s("argument"), s("multiple")]);
    assert_eq!(t.get_args("-ccc").len(), 2);
    assert_eq!(t.command(), ["f".to_string(), "-d=e".to_string()]);
}

/// Mirrors argsman_tests.cpp: util_ParseInvalidParameters
#[test]
fn argsman_tests__util_ParseInvalidParameters() {
    let mut t = test_args_manager();
    setup_args(&mut t, &[("-registered", ANY)]);
    assert!(t.parse_parameters(&["ignored", "-registered"]).is_ok());
    assert_eq!(
        t.parse_parameters(&["ignored", "-unregistered"])
            .unwrap_err(),
        "Invalid parameter -unregistered"
    );
    assert_eq!(
        t.parse_parameters(&["ignored", "-test.registered"])
            .unwrap_err(),
        "Invalid parameter -test.registered"
    );
}

fn test_parse(v: &str, expected_bool: bool, expected_int: i64) {
    let mut t = test_args_manager();
    setup_args(&mut t, &[("-value", ANY)]);
    t.parse_parameters(&["ignored".to_string(), format!("-value={v}")])
        .unwrap();
    assert_eq!(t.get_bool_arg("-value", false), expected_bool, "{v:?}");
    assert_eq!(t.get_bool_arg("-value", true), expected_bool, "{v:?}");
    assert_eq!(t.get_int_arg("-value", 99998), expected_int, "{v:?}");
    assert_eq!(t.get_int_arg("-value", 99999), expected_int, "{v:?}");
}

/// Mirrors argsman_tests.cpp: util_ArgParsing
#[test]
fn argsman_tests__util_ArgParsing() {
    for (v, b, i) in [
        ("", true, 0),
        (" ", false, 0),
        ("0", false, 0),
        ("0 ", false, 0),
        (" 0", false, 0),
        ("+0", false, 0),
        ("-0", false, 0),
        ("5", true, 5),
        ("5 ", true, 5),
        (" 5", true, 5),
        ("+5", true, 5),
        ("-5", true, -5),
        ("0 5", false, 0),
        ("5 0", true, 5),
        ("050", true, 50),
        ("0.", false, 0),
        ("5.", true, 5),
        ("0.0", false, 0),
        ("0.5", false, 0),
        ("5.0", true, 5),
        ("5.5", true, 5),
        ("x", false, 0),
        ("x0", false, 0),
        ("x5", false, 0),
        ("0x", false, 0),
        ("5x", true, 5),
        ("0x5", false, 0),
        ("false", false, 0),
        ("true", false, 0),
        ("yes", false, 0),
        ("no", false, 0),
    ] {
        test_parse(v, b, i);
    }
}

/// Mirrors argsman_tests.cpp: util_GetBoolArg
#[test]
fn argsman_tests__util_GetBoolArg() {
    let mut t = test_args_manager();
    setup_args(
        &mut t,
        &[
            ("-a", ANY),
            ("-b", ANY),
            ("-c", ANY),
            ("-d", ANY),
            ("-e", ANY),
            ("-f", ANY),
        ],
    );
    t.parse_parameters(&[
        "ignored", "-a", "-nob", "-c=0", "-d=1", "-e=false", "-f=true",
    ])
    .unwrap();
    for opt in ["-a", "-b", "-c", "-d", "-e", "-f"] {
        assert!(t.is_arg_set(opt), "{opt}");
    }
    assert_eq!(t.settings().command_line_options.len(), 6);
    assert!(t.settings().ro_config.is_empty());
    assert!(!t.is_arg_set("-nob"));
    assert!(t.is_arg_negated("-b"));
    assert!(!t.is_arg_negated("-a"));
    assert!(t.get_bool_arg("-a", false));
    assert!(!t.get_bool_arg("-b", true));
    assert!(!t.get_bool_arg("-c", true));
    assert!(t.get_bool_arg("-d", false));
    assert!(!t.get_bool_arg("-e", true));
    assert!(!t.get_bool_arg("-f", true));
}

/// Mirrors argsman_tests.cpp: util_GetBoolArgEdgeCases
#[test]
fn argsman_tests__util_GetBoolArgEdgeCases() {
    let mut t = test_args_manager();
    setup_args(&mut t, &[("-foo", ANY), ("-bar", ANY)]);
    let argv = ["ignored", "-nofoo", "-foo", "-nobar=0"];
    t.parse_parameters(&argv).unwrap();
    assert!(!t.is_arg_negated("-foo"));
    assert_eq!(t.get_arg("-foo", "xxx"), "");
    assert!(!t.is_arg_negated("-bar"));
    assert_eq!(t.get_arg("-bar", "xxx"), "1");

    t.parse_parameters(&argv[..1]).unwrap();
    read_config_string(&mut t, "nofoo=1\nfoo=1\nnobar=0\n");
    assert!(!t.is_arg_negated("-foo"));
    assert_eq!(t.get_arg("-foo", "xxx"), "1");
    assert!(!t.is_arg_negated("-bar"));
    assert_eq!(t.get_arg("-bar", "xxx"), "1");

    t.parse_parameters(&["ignored", "-nofoo", "-bar"]).unwrap();
    read_config_string(&mut t, "foo=1\nnobar=1\n");
    assert!(t.is_arg_negated("-foo"));
    assert_eq!(t.get_arg("-foo", "xxx"), "0");
    assert!(t.get_args("-foo").is_empty());
    assert!(!t.is_arg_negated("-bar"));
    assert_eq!(t.get_arg("-bar", "xxx"), "");
    assert_eq!(t.get_args("-bar"), vec![String::new()]);
}

/// Mirrors argsman_tests.cpp: util_ReadConfigStream
#[test]
fn argsman_tests__util_ReadConfigStream() {
    let conf = "a=\nb=1\nccc=argument\nccc=multiple\nd=e\nnofff=1\nnoggg=0\nh=1\nnoh=1\nnoi=1\ni=1\nsec1.ccc=extend1\n\n[sec1]\nccc=extend2\nd=eee\nh=1\n[sec2]\nccc=extend3\niii=2\n";
    let mut t = test_args_manager();
    setup_args(
        &mut t,
        &[
            ("-a", ANY),
            ("-b", ANY),
            ("-ccc", ANY),
            ("-d", ANY),
            ("-e", ANY),
            ("-fff", ANY),
            ("-ggg", ANY),
            ("-h", ANY),
            ("-i", ANY),
            ("-iii", ANY),
        ],
    );
    read_config_string(&mut t, conf);
    let ro = &t.settings().ro_config;
    assert!(t.settings().command_line_options.is_empty());
    assert_eq!(ro.len(), 3);
    assert_eq!(ro[""].len(), 8);
    assert_eq!(ro["sec1"].len(), 3);
    assert_eq!(ro["sec2"].len(), 2);
    for k in ["a", "b", "ccc", "d", "fff", "ggg", "h", "i"] {
        assert!(ro[""].contains_key(k), "{k}");
    }
    assert!(ro["sec1"].contains_key("ccc") && ro["sec1"].contains_key("h"));
    assert!(ro["sec2"].contains_key("ccc") && ro["sec2"].contains_key("iii"));

    for k in ["-a", "-b", "-ccc", "-d", "-fff", "-ggg", "-h", "-i"] {
        assert!(t.is_arg_set(k), "{k}");
    }
    assert!(!t.is_arg_set("-zzz"));
    assert!(!t.is_arg_set("-iii"));
    for (k, v) in [
        ("-a", ""),
        ("-b", "1"),
        ("-ccc", "argument"),
        ("-d", "e"),
        ("-fff", "0"),
        ("-ggg", "1"),
        ("-h", "0"),
        ("-i", "1"),
        ("-zzz", "xxx"),
        ("-iii", "xxx"),
    ] {
        assert_eq!(t.get_arg(k, "xxx"), v, "{k}");
    }
    for def in [false, true] {
        assert!(t.get_bool_arg("-a", def));
        assert!(t.get_bool_arg("-b", def));
        assert!(!t.get_bool_arg("-ccc", def));
        assert!(!t.get_bool_arg("-d", def));
        assert!(!t.get_bool_arg("-fff", def));
        assert!(t.get_bool_arg("-ggg", def));
        assert!(!t.get_bool_arg("-h", def));
        assert!(t.get_bool_arg("-i", def));
        assert_eq!(t.get_bool_arg("-zzz", def), def);
        assert_eq!(t.get_bool_arg("-iii", def), def);
    }
    assert_eq!(t.get_args("-a"), vec![""]);
    assert_eq!(t.get_args("-b"), vec!["1"]);
    assert_eq!(t.get_args("-ccc"), vec!["argument", "multiple"]);
    assert!(t.get_args("-fff").is_empty());
    assert!(t.get_args("-nofff").is_empty());
    assert_eq!(t.get_args("-ggg"), vec!["1"]);
    assert!(t.get_args("-noggg").is_empty());
    assert!(t.get_args("-h").is_empty());
    assert!(t.get_args("-noh").is_empty());
    assert_eq!(t.get_args("-i"), vec!["1"]);
    assert!(t.get_args("-noi").is_empty());
    assert!(t.get_args("-zzz").is_empty());
    for k in ["-a", "-b", "-ccc", "-d", "-ggg", "-i", "-zzz"] {
        assert!(!t.is_arg_negated(k), "{k}");
    }
    assert!(t.is_arg_negated("-fff"));
    assert!(t.is_arg_negated("-h"));

    t.select_config_network("sec1");
    for (k, v) in [
        ("-a", ""),
        ("-b", "1"),
        ("-fff", "0"),
        ("-ggg", "1"),
        ("-zzz", "xxx"),
        ("-iii", "xxx"),
        ("-d", "eee"),
        ("-h", "1"),
        ("-ccc", "extend1"),
    ] {
        assert_eq!(t.get_arg(k, "xxx"), v, "sec1 {k}");
    }
    assert_eq!(
        t.get_args("-ccc"),
        vec!["extend1", "extend2", "argument", "multiple"]
    );

    t.select_config_network("sec2");
    for (k, v) in [
        ("-a", ""),
        ("-b", "1"),
        ("-d", "e"),
        ("-fff", "0"),
        ("-ggg", "1"),
        ("-zzz", "xxx"),
        ("-h", "0"),
        ("-iii", "2"),
        ("-ccc", "extend3"),
    ] {
        assert_eq!(t.get_arg(k, "xxx"), v, "sec2 {k}");
    }
    assert_eq!(t.get_args("-ccc"), vec!["extend3", "argument", "multiple"]);

    // Section-only options.
    t.set_network_only_arg("-d");
    t.set_network_only_arg("-ccc");
    t.set_network_only_arg("-h");
    t.select_config_network("main");
    assert_eq!(t.get_arg("-d", "xxx"), "e");
    assert_eq!(t.get_args("-ccc").len(), 2);
    assert_eq!(t.get_arg("-h", "xxx"), "0");
    t.select_config_network("sec1");
    assert_eq!(t.get_arg("-d", "xxx"), "eee");
    assert_eq!(t.get_args("-d").len(), 1);
    assert_eq!(t.get_args("-ccc").len(), 2);
    assert_eq!(t.get_arg("-h", "xxx"), "1");
    t.select_config_network("sec2");
    assert_eq!(t.get_arg("-d", "xxx"), "xxx");
    assert_eq!(t.get_args("-d").len(), 0);
    assert_eq!(t.get_args("-ccc").len(), 1);
    assert_eq!(t.get_arg("-h", "xxx"), "0");
}

/// Mirrors argsman_tests.cpp: util_GetArg (values set through the parser instead of poking
/// the maps: command line for `command_line_options`, config text for `ro_config`).
#[test]
fn argsman_tests__util_GetArg() {
    let mut t = test_args_manager();
    let names = [
        "-strtest1",
        "-strtest2",
        "-inttest1",
        "-inttest2",
        "-inttest3",
        "-booltest1",
        "-booltest2",
        "-booltest3",
        "-booltest4",
        "-pritest1",
        "-pritest2",
        "-pritest3",
        "-pritest4",
    ];
    for n in names {
        t.add_arg(n, "", ANY, OptionsCategory::Options);
    }
    t.parse_parameters(&[
        "x",
        "-strtest1=string...",
        "-inttest1=12345",
        "-inttest2=81985529216486895",
        "-booltest1",
        "-booltest3=0",
        "-booltest4=1",
        "-pritest1=a",
        "-pritest1=b",
        "-pritest3=a",
        "-pritest4=a",
        "-pritest4=b",
    ])
    .unwrap();
    read_config_string(
        &mut t,
        "pritest2=a\npritest2=b\npritest3=b\npritest4=c\npritest4=d\n",
    );
    assert_eq!(t.get_arg("strtest1", "default"), "string...");
    assert_eq!(t.get_arg("strtest2", "default"), "default");
    assert_eq!(t.get_int_arg("inttest1", -1), 12345);
    assert_eq!(t.get_int_arg("inttest2", -1), 81985529216486895);
    assert_eq!(t.get_int_arg("inttest3", -1), -1);
    assert!(t.get_bool_arg("booltest1", false));
    assert!(!t.get_bool_arg("booltest2", false));
    assert!(!t.get_bool_arg("booltest3", false));
    assert!(t.get_bool_arg("booltest4", false));
    assert_eq!(t.get_arg("pritest1", "default"), "b");
    assert_eq!(t.get_arg("pritest2", "default"), "a");
    assert_eq!(t.get_arg("pritest3", "default"), "a");
    assert_eq!(t.get_arg("pritest4", "default"), "b");
}

/// Mirrors argsman_tests.cpp: util_GetChainTypeString
#[test]
fn argsman_tests__util_GetChainTypeString() {
    let mut t = test_args_manager();
    setup_args(
        &mut t,
        &[("-testnet", ANY), ("-testnet4", ANY), ("-regtest", ANY)],
    );
    let testnet4 = ["cmd", "-testnet4"];
    let regtest = ["cmd", "-regtest"];
    let test_no_reg = ["cmd", "-testnet4", "-noregtest"];
    let both = ["cmd", "-testnet4", "-regtest"];
    let conf = "testnet4=1\nregtest=0\n[testnet4]\nregtest=1";

    let check = |t: &mut ArgsManager, argv: &[&str], with_conf: bool, expect: Option<&str>| {
        t.parse_parameters(argv).unwrap();
        if with_conf {
            read_config_string(t, conf);
        } else {
            t.clear_config();
        }
        match expect {
            Some(e) => assert_eq!(t.get_chain_type_string().unwrap(), e, "{argv:?}"),
            None => assert!(t.get_chain_type_string().is_err(), "{argv:?}"),
        }
    };
    check(&mut t, &testnet4[..0], false, Some("main"));
    check(&mut t, &testnet4, false, Some("testnet4"));
    check(&mut t, &regtest, false, Some("regtest"));
    check(&mut t, &test_no_reg, false, Some("testnet4"));
    check(&mut t, &both, false, None);

    for network in [None, Some("testnet4")] {
        if let Some(n) = network {
            t.select_config_network(n);
        }
        check(&mut t, &testnet4[..0], true, Some("testnet4"));
        check(&mut t, &testnet4, true, Some("testnet4"));
        check(&mut t, &regtest, true, None);
        check(&mut t, &test_no_reg, true, Some("testnet4"));
        check(&mut t, &both, true, None);
    }

    // Our default chain when nothing is given is Logos main.
    let mut ours = ArgsManager::new();
    setup_args(&mut ours, &[("-regtest", ANY), ("-chain", ANY)]);
    ours.parse_parameters(&["cmd"]).unwrap();
    assert_eq!(ours.get_chain_type_string().unwrap(), "logos");
    ours.parse_parameters(&["cmd", "-chain=logosregtest"])
        .unwrap();
    assert_eq!(ours.get_chain_type().unwrap(), "logosregtest");
    ours.parse_parameters(&["cmd", "-chain=nope"]).unwrap();
    assert_eq!(ours.get_chain_type().unwrap_err(), "Unknown chain nope.");
    ours.parse_parameters(&["cmd", "-chain=logos", "-regtest"])
        .unwrap();
    assert!(ours
        .get_chain_type()
        .unwrap_err()
        .starts_with("Invalid combination of -regtest"));
}

/// Core's `NextString` / `ForEachNoDup` (test/util/str.h) over action codes 1..=max.
fn for_each_no_dup<const N: usize>(min: u8, max: u8, mut f: impl FnMut(&[u8; N])) {
    let mut s = [0u8; N];
    loop {
        let mut prev: i32 = -1;
        let mut skip = false;
        for &c in &s {
            if i32::from(c) == prev {
                skip = true;
            }
            if skip || c < min || c > max {
                break;
            }
            prev = i32::from(c);
        }
        if !skip {
            f(&s);
        }
        // NextString
        let mut has_next = false;
        for e in s.iter_mut() {
            let more = *e != max;
            *e = if *e < min || *e >= max { min } else { *e + 1 };
            if more {
                has_next = true;
                break;
            }
        }
        if !has_next {
            break;
        }
    }
}

/// Mirrors argsman_tests.cpp: util_ArgsMerge — same enumeration, same description strings,
/// same SHA256d of all of them as Core's expected value.
#[test]
fn argsman_tests__util_ArgsMerge() {
    const NONE: u8 = 0;
    const SET: u8 = 1;
    const NEGATE: u8 = 2;
    const SECTION_SET: u8 = 3;
    const SECTION_NEGATE: u8 = 4;
    let get_values = |actions: &[u8; 3], section: &str, name: &str, prefix: &str| {
        let mut values = Vec::new();
        let mut suffix = 0;
        for &a in actions {
            if a == NONE {
                break;
            }
            let p = if a == SECTION_SET || a == SECTION_NEGATE {
                format!("{section}.")
            } else {
                String::new()
            };
            if a == SET || a == SECTION_SET {
                for _ in 0..2 {
                    suffix += 1;
                    values.push(format!("{p}{name}={prefix}{suffix}"));
                }
            }
            if a == NEGATE || a == SECTION_NEGATE {
                values.push(format!("{p}no{name}=1"));
            }
        }
        values
    };
    let nets = ["main", "test", "testnet4", "signet"];
    let mut hasher = Sha256::new();
    let mut count = 0usize;
    for_each_no_dup::<3>(SET, NEGATE, |arg_actions| {
        for_each_no_dup::<3>(SET, SECTION_NEGATE, |conf_actions| {
            for soft_set in [false, true] {
                for force_set in [false, true] {
                    for section in nets {
                        for network in nets {
                            for net_specific in [false, true] {
                                count += 1;
                                let mut parser = test_args_manager();
                                let mut desc = format!("net={network}");
                                parser.select_config_network(network);
                                let name = if net_specific { "wallet" } else { "server" };
                                let key = format!("-{name}");
                                parser.add_arg(&key, name, ANY, OptionsCategory::Options);
                                if net_specific {
                                    parser.set_network_only_arg(&key);
                                }
                                let mut argv = vec!["ignored".to_string()];
                                for a in get_values(arg_actions, section, name, "a") {
                                    let a = format!("-{a}");
                                    desc.push(' ');
                                    desc.push_str(&a);
                                    argv.push(a);
                                }
                                parser.parse_parameters(&argv).unwrap();
                                let mut conf = String::new();
                                for c in get_values(conf_actions, section, name, "c") {
                                    desc.push(' ');
                                    desc.push_str(&c);
                                    conf.push_str(&c);
                                    conf.push('\n');
                                }
                                parser.read_config_stream(&conf, "filepath", false).unwrap();
                                if soft_set {
                                    desc.push_str(" soft");
                                    parser.soft_set_arg(&key, "soft1");
                                    parser.soft_set_arg(&key, "soft2");
                                }
                                if force_set {
                                    desc.push_str(" force");
                                    parser.force_set_arg(&key, "force1");
                                    parser.force_set_arg(&key, "force2");
                                }
                                desc.push_str(" || ");
                                if !parser.is_arg_set(&key) {
                                    desc.push_str("unset");
                                    assert!(!parser.is_arg_negated(&key));
                                    assert_eq!(parser.get_arg(&key, "default"), "default");
                                    assert!(parser.get_args(&key).is_empty());
                                } else if parser.is_arg_negated(&key) {
                                    desc.push_str("negated");
                                    assert_eq!(parser.get_arg(&key, "default"), "0");
                                    assert!(parser.get_args(&key).is_empty());
                                } else {
                                    desc.push_str(&parser.get_arg(&key, "default"));
                                    desc.push_str(" |");
                                    for a in parser.get_args(&key) {
                                        desc.push(' ');
                                        desc.push_str(&a);
                                    }
                                }
                                let ignored = parser.get_unsuitable_section_only_args();
                                if !ignored.is_empty() {
                                    desc.push_str(" | ignored");
                                    for a in ignored {
                                        desc.push(' ');
                                        desc.push_str(&a);
                                    }
                                }
                                desc.push('\n');
                                hasher.update(desc.as_bytes());
                            }
                        }
                    }
                }
            }
        });
    });
    assert!(count > 0);
    let once = hasher.finalize();
    let twice = Sha256::digest(once);
    assert_eq!(
        hex(&twice),
        "f1ee5ab094cc43d16a6086fa7f2c10389e0f99902616b31bbf29189972ad1473"
    );
}

/// Mirrors argsman_tests.cpp: util_ChainMerge — same enumeration and expected SHA256d.
#[test]
fn argsman_tests__util_ChainMerge() {
    let arg = |a: u8| match a {
        1 => Some("-testnet4=1"),
        2 => Some("-testnet4=0"),
        3 => Some("-notestnet4=1"),
        4 => Some("-regtest=1"),
        5 => Some("-regtest=0"),
        6 => Some("-noregtest=1"),
        _ => None,
    };
    let mut hasher = Sha256::new();
    for_each_no_dup::<2>(1, 6, |arg_actions| {
        for_each_no_dup::<2>(1, 6, |conf_actions| {
            let mut parser = test_args_manager();
            parser.add_arg("-regtest", "regtest", ANY, OptionsCategory::Options);
            parser.add_arg("-testnet4", "testnet4", ANY, OptionsCategory::Options);
            let mut desc = String::new();
            let mut argv = vec!["ignored".to_string()];
            for &a in arg_actions {
                let Some(s) = arg(a) else { break };
                argv.push(s.to_string());
                desc.push(' ');
                desc.push_str(s);
            }
            parser.parse_parameters(&argv).unwrap();
            let mut conf = String::new();
            for &a in conf_actions {
                let Some(s) = arg(a) else { break };
                desc.push(' ');
                desc.push_str(&s[1..]);
                conf.push_str(&s[1..]);
                conf.push('\n');
            }
            parser.read_config_stream(&conf, "filepath", false).unwrap();
            desc.push_str(" || ");
            match parser.get_chain_type_string() {
                Ok(c) => desc.push_str(&c),
                Err(e) => {
                    desc.push_str("error: ");
                    desc.push_str(&e);
                }
            }
            desc.push('\n');
            hasher.update(desc.as_bytes());
        });
    });
    let twice = Sha256::digest(hasher.finalize());
    assert_eq!(
        hex(&twice),
        "c0e33aab0c74e040ddcee9edad59e8148d8e1cacb3cccd9ea1a1f485cb6bad21"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Mirrors argsman_tests.cpp: util_datadir (trailing separators and `.` are normalized away).
#[test]
fn argsman_tests__util_datadir() {
    let root = std::env::temp_dir().join(format!("node-datadir-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let mut args = node::init::server_args();
    args.force_set_arg("-datadir", root.to_str().unwrap());
    let dd_norm = node::datadir::get_data_dir_base(&args).unwrap();
    for suffix in ["/", "/.", "/./", "/.//"] {
        args.force_set_arg("-datadir", &format!("{}{suffix}", dd_norm.display()));
        assert_eq!(
            node::datadir::get_data_dir_base(&args).unwrap(),
            dd_norm,
            "{suffix}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// Config parse errors of GetConfigOptions (common/config.cpp), with Core's texts.
#[test]
fn config_parse_errors() {
    let mut t = node::init::server_args();
    assert_eq!(
        t.read_config_stream("-port=1\n", "f", false).unwrap_err(),
        "parse error on line 1: -port=1, options in configuration file must be specified without leading -"
    );
    assert_eq!(
        t.read_config_stream("\n# c\nnolisten\n", "f", false).unwrap_err(),
        "parse error on line 3: nolisten, if you intended to specify a negated option, use nolisten=1 instead"
    );
    assert_eq!(
        t.read_config_stream("rpcpassword=a#b\n", "f", false)
            .unwrap_err(),
        "parse error on line 1, using # in rpcpassword can be ambiguous and should be avoided"
    );
    assert_eq!(
        t.read_config_stream("conf=x\n", "f", false).unwrap_err(),
        "conf cannot be set in the configuration file; use includeconf= if you want to include additional config files"
    );
    assert_eq!(
        t.read_config_stream("wallet=w\n", "f", false).unwrap_err(),
        "Invalid configuration value wallet"
    );
    // As bitcoind reads its config file: unknown keys (wallet, mempool, ...) are skipped.
    assert!(t
        .read_config_stream("wallet=w\nmaxconnections=1\n", "f", true)
        .is_ok());
    assert_eq!(t.get_arg("-maxconnections", ""), "1");
}

/// A bitcoind-style config file with network sections, read by the node's own option set.
#[test]
fn config_file_sections_select_network() {
    let dir = std::env::temp_dir().join(format!("node-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bitcoin.conf");
    std::fs::write(
        &conf,
        "# written for bitcoind\nregtest=1\nport=1111\nmaxconnections=7\ndebug=net\nwalletbroadcast=0\n\n[regtest]\nport=2222\naddnode=127.0.0.1:1\naddnode=127.0.0.1:2\n[main]\nport=3333\n[logosregtest]\nport=4444\n",
    )
    .unwrap();
    let mut args = node::init::server_args();
    let argv = vec![
        "logos-p2pd".to_string(),
        format!("-datadir={}", dir.display()),
        format!("-conf={}", conf.display()),
    ];
    let (chain, dirs) = node::init::parse_args_and_config(&mut args, &argv).unwrap();
    assert_eq!(chain, "regtest");
    assert_eq!(dirs.net, dir.join("regtest"));
    assert!(dirs.net.is_dir());
    assert_eq!(args.get_int_arg("-port", 0), 2222);
    assert_eq!(args.get_int_arg("-maxconnections", 0), 7);
    assert_eq!(
        args.get_args("-addnode"),
        vec!["127.0.0.1:1", "127.0.0.1:2"]
    );
    assert_eq!(args.get_args("-debug"), vec!["net"]);

    // The command line wins over the file; -chain= with a Logos section.
    let mut args = node::init::server_args();
    let mut argv2 = argv.clone();
    argv2.push("-port=5555".to_string());
    let (chain, _) = node::init::parse_args_and_config(&mut args, &argv2).unwrap();
    assert_eq!(chain, "regtest");
    assert_eq!(args.get_int_arg("-port", 0), 5555);

    // A second file selecting a Logos network via chain=; port (NETWORK_ONLY) from the
    // default section is ignored there, the [logosregtest] one applies.
    std::fs::write(
        dir.join("logos-p2p.conf"),
        "chain=logosregtest\nport=1111\nconnect=127.0.0.1:9\n[logosregtest]\nport=4444\n[nosuchnet]\nlisten=0\n",
    )
    .unwrap();
    let mut args = node::init::server_args();
    let argv3 = vec![
        "logos-p2pd".to_string(),
        format!("-datadir={}", dir.display()),
    ];
    let (chain, dirs) = node::init::parse_args_and_config(&mut args, &argv3).unwrap();
    assert_eq!(chain, "logosregtest");
    assert_eq!(dirs.net, dir.join("logosregtest"));
    assert_eq!(args.get_int_arg("-port", 0), 4444);
    assert!(
        args.get_args("-connect").is_empty(),
        "NETWORK_ONLY from default section"
    );
    assert_eq!(
        args.get_unsuitable_section_only_args()
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["-connect".to_string()]
    );
    assert_eq!(args.get_unrecognized_sections().len(), 1);
    assert_eq!(args.get_unrecognized_sections()[0].name, "nosuchnet");
    // As bitcoind: that is an init error (AppInitParameterInteraction, init.cpp).
    assert_eq!(
        node::init::app_init_parameter_interaction(&args, chain, false).unwrap_err(),
        "Config setting for -connect only applied on logosregtest network when in [logosregtest] section.\n"
    );

    // Logos main (the default) reads NETWORK_ONLY options from the default section, as main.
    std::fs::write(dir.join("logos-p2p.conf"), "port=1111\n").unwrap();
    let mut args = node::init::server_args();
    let (chain, dirs) = node::init::parse_args_and_config(&mut args, &argv3).unwrap();
    assert_eq!(chain, "logos");
    assert_eq!(dirs.net, dir);
    assert_eq!(args.get_int_arg("-port", 0), 1111);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The error text for a wrong flag is bitcoind's.
#[test]
fn wrong_flag_error_text() {
    let mut args = node::init::server_args();
    let argv = vec!["logos-p2pd".to_string(), "-foo=1".to_string()];
    assert_eq!(
        node::init::parse_args_and_config(&mut args, &argv).unwrap_err(),
        "Error parsing command line arguments: Invalid parameter -foo=1"
    );
    let argv = vec!["logos-p2pd".to_string(), "-daemon".to_string()];
    assert_eq!(
        node::init::parse_args_and_config(&mut args, &argv).unwrap_err(),
        "Error parsing command line arguments: Invalid parameter -daemon"
    );
    let argv = vec!["logos-p2pd".to_string(), "-nodatadir".to_string()];
    assert_eq!(
        node::init::parse_args_and_config(&mut args, &argv).unwrap_err(),
        "Error parsing command line arguments: Negating of -datadir is meaningless and therefore forbidden"
    );
}

/// Every option of the brief is registered, and `-help` lists every option that is not
/// DEBUG_ONLY, `-help-debug` every option, each under its group heading.
#[test]
fn help_lists_every_option() {
    let required = [
        "-regtest",
        "-testnet",
        "-testnet4",
        "-signet",
        "-chain",
        "-datadir",
        "-conf",
        "-port",
        "-bind",
        "-listen",
        "-connect",
        "-addnode",
        "-seednode",
        "-dnsseed",
        "-forcednsseed",
        "-fixedseeds",
        "-maxconnections",
        "-peertimeout",
        "-timeout",
        "-maxreceivebuffer",
        "-maxsendbuffer",
        "-discover",
        "-externalip",
        "-onlynet",
        "-debug",
        "-debugexclude",
        "-logtimestamps",
        "-logips",
        "-printtoconsole",
        "-rpcport",
        "-rpcuser",
        "-rpcpassword",
        "-rpcbind",
        "-rpcallowip",
        "-checkaddrman",
        "-help",
    ];
    let args = node::init::server_args();
    let options = args.options();
    for r in required {
        assert!(options.iter().any(|o| o.name == r), "{r} not registered");
    }
    assert!(!options.iter().any(|o| o.name == "-daemon"));
    for o in &options {
        if o.category != OptionsCategory::Hidden {
            assert!(!o.help_text.is_empty(), "{} has no description", o.name);
        }
    }

    let mut plain = node::init::server_args();
    plain.parse_parameters(&["x", "-help"]).unwrap();
    let help = node::init::process_init_commands(&plain).unwrap();
    let mut debug = node::init::server_args();
    debug.parse_parameters(&["x", "-help-debug"]).unwrap();
    let help_debug = node::init::process_init_commands(&debug).unwrap();
    assert!(help.contains("Usage: logos-p2pd [options]"));
    for heading in [
        "Options:",
        "Connection options:",
        "Debugging/Testing options:",
        "Chain selection options:",
        "RPC server options:",
    ] {
        assert!(help.contains(&format!("\n{heading}\n\n")), "{heading}");
    }
    // Groups in bitcoind's order.
    let pos = |h: &str| help.find(h).unwrap();
    assert!(pos("\nOptions:") < pos("Connection options:"));
    assert!(pos("Connection options:") < pos("Debugging/Testing options:"));
    assert!(pos("Debugging/Testing options:") < pos("Chain selection options:"));
    assert!(pos("Chain selection options:") < pos("RPC server options:"));
    for o in &options {
        if o.category == OptionsCategory::Hidden {
            assert!(!help_debug.contains(&format!("\n  {}\n", o.name)));
            continue;
        }
        let line = format!("\n  {}{}\n       ", o.name, o.help_param);
        assert!(
            help_debug.contains(&line),
            "{} missing from -help-debug",
            o.name
        );
        assert_eq!(
            help.contains(&line),
            o.flags & flags::DEBUG_ONLY == 0,
            "{} in -help",
            o.name
        );
    }
    // Option lines are wrapped at 79 columns.
    let options_part = &help_debug[help_debug.find("\nOptions:").unwrap()..];
    for l in options_part.lines() {
        assert!(l.len() <= 79 || !l.trim().contains(' '), "too long: {l}");
    }
}

/// Port of FormatParagraph's cases (util_tests.cpp: test_FormatParagraph).
#[test]
fn util_tests__test_FormatParagraph() {
    use node::args::format_paragraph as fp;
    assert_eq!(fp("", 79, 0), "");
    assert_eq!(fp("test", 79, 0), "test");
    assert_eq!(fp(" test", 79, 0), " test");
    assert_eq!(fp("test test", 79, 0), "test test");
    assert_eq!(fp("test test", 4, 0), "test\ntest");
    assert_eq!(fp("testerde test", 4, 0), "testerde\ntest");
    assert_eq!(fp("test test", 4, 4), "test\n    test");
    assert_eq!(fp("test test\nabc", 4, 4), "test\n    test\nabc");
    assert_eq!(
        fp("This_is_a_very_long_test_string_without_any_spaces_so_it_should_just_get_returned_as_is_despite_the_length until it gets here", 79, 0),
        "This_is_a_very_long_test_string_without_any_spaces_so_it_should_just_get_returned_as_is_despite_the_length\nuntil it gets here"
    );
    let abc = "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 a b c de";
    assert_eq!(
        fp(&format!("{abc} f g h i j k l m n o p"), 79, 0),
        format!("{abc}\nf g h i j k l m n o p")
    );
    assert_eq!(
        fp(&format!("x\n{abc} f g h i j k l m n o p"), 79, 0),
        format!("x\n{abc}\nf g h i j k l m n o p")
    );
    assert_eq!(
        fp(&format!("x\n{abc} f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 a b c d e fg h i j k"), 79, 4),
        format!("x\n{abc}\n    f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 a b c d e fg\n    h i j k")
    );
    let s1 = "This is a very long test string.";
    let s2 = "This is a second sentence in the very long test string.";
    let s3 = "This is a third sentence in the very long test string.";
    assert_eq!(
        fp(&format!("{s1} {s2}"), 79, 0),
        "This is a very long test string. This is a second sentence in the very long\ntest string."
    );
    assert_eq!(
        fp(&format!("{s1}\n{s2} {s3}"), 79, 0),
        format!("{s1}\n{s2} This is a third\nsentence in the very long test string.")
    );
    assert_eq!(
        fp(&format!("{s1}\n\n{s2} {s3}"), 79, 0),
        format!("{s1}\n\n{s2} This is a third\nsentence in the very long test string.")
    );
    assert_eq!(
        fp(
            "Testing that normal newlines do not get indented.\nLike here.",
            79,
            0
        ),
        "Testing that normal newlines do not get indented.\nLike here."
    );
}

/// Port of the ignored-config-file check of common::InitConfig (common/init.cpp): a
/// logos-p2p.conf in the data directory that is not the file in use is an error unless
/// -allowignoredconf; with -noconf it is only logged.
#[test]
fn init_config_ignored_conf_file() {
    let dir = std::env::temp_dir().join(format!("node-ignoredconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("logos-p2p.conf"), "maxconnections=3\n").unwrap();
    std::fs::write(dir.join("other.conf"), "maxconnections=4\n").unwrap();
    let datadir = format!("-datadir={}", dir.display());
    let run = |extra: &[&str]| {
        let mut args = node::init::server_args();
        let mut argv = vec![
            "logos-p2pd".to_string(),
            datadir.clone(),
            "-regtest".to_string(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        node::init::parse_args_and_config(&mut args, &argv).map(|_| args)
    };
    let err = run(&["-conf=other.conf"]).err().unwrap();
    assert!(err.starts_with(&format!(
        "Data directory \"{}\" contains a \"logos-p2p.conf\" file which is ignored, because a different configuration file \"{}\" from command line argument \"-conf=other.conf\" is being used instead.",
        dir.display(),
        dir.join("other.conf").display()
    )), "{err}");
    assert!(err.ends_with(
        "- Set allowignoredconf=1 option to treat this condition as a warning, not an error."
    ));
    let args = run(&["-conf=other.conf", "-allowignoredconf"]).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 4);
    let args = run(&["-noconf"]).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 0);
    let args = run(&[]).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 3);
    // The same file named explicitly is not "another" file.
    let args = run(&["-conf=logos-p2p.conf"]).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 3);
    // A missing -conf file is an error; a missing default file is not.
    let err = run(&["-conf=missing.conf"]).err().unwrap();
    assert!(err.contains("specified config file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// includeconf= in the config file reads the named file (relative to the data directory).
#[test]
fn config_includeconf() {
    let dir = std::env::temp_dir().join(format!("node-includeconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("logos-p2p.conf"),
        "includeconf=extra.conf\n[regtest]\nincludeconf=regtest.conf\n",
    )
    .unwrap();
    std::fs::write(dir.join("extra.conf"), "maxconnections=9\nregtest=1\n").unwrap();
    std::fs::write(dir.join("regtest.conf"), "[regtest]\nport=7777\n").unwrap();
    let mut args = node::init::server_args();
    let argv = vec![
        "logos-p2pd".to_string(),
        format!("-datadir={}", dir.display()),
        "-regtest".to_string(),
    ];
    node::init::parse_args_and_config(&mut args, &argv).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 9);
    assert_eq!(args.get_int_arg("-port", 0), 7777);
    // -noincludeconf on the command line turns includes off.
    let mut args = node::init::server_args();
    let mut argv2 = argv.clone();
    argv2.push("-noincludeconf".to_string());
    node::init::parse_args_and_config(&mut args, &argv2).unwrap();
    assert_eq!(args.get_int_arg("-maxconnections", 0), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The network subdirectories (Core's CBaseChainParams::DataDir, plus the Logos networks).
#[test]
fn chain_data_dirs() {
    use node::datadir::chain_data_dir_name as d;
    assert_eq!(d("logos"), "");
    assert_eq!(d("logostest"), "logostest");
    assert_eq!(d("logosregtest"), "logosregtest");
    assert_eq!(d("main"), "main");
    assert_eq!(d("test"), "testnet3");
    assert_eq!(d("testnet4"), "testnet4");
    assert_eq!(d("signet"), "signet");
    assert_eq!(d("regtest"), "regtest");
    for c in node::args::KNOWN_CHAIN_NAMES {
        assert!(node::run::chain_params(c).is_some(), "{c}");
        assert!(node::init::default_p2p_port(c) > 0, "{c}");
    }
    assert!(node::datadir::get_default_data_dir().ends_with(".logos-p2p"));
}

/// Port of InitParameterInteraction and the checks of AppInitParameterInteraction (init.cpp):
/// implied options and Core's error texts.
#[test]
fn init_parameter_interaction_and_checks() {
    let o = node_options(&["-regtest"]).unwrap();
    assert!(o.listen && o.dnsseed && o.fixedseeds && !o.forcednsseed && o.discover);
    assert!(o.use_addrman_outgoing && o.bind_on_any);
    assert_eq!(o.port, 18444);
    assert_eq!(o.max_connections, 125);
    assert_eq!(o.peer_connect_timeout, 60);
    assert_eq!(o.connect_timeout_ms, 5000);
    assert_eq!(o.receive_flood_size, 5_000_000);
    assert_eq!(o.send_buffer_max_size, 1_000_000);
    assert_eq!(o.bantime, 86400);

    let o = node_options(&["-chain=logosregtest"]).unwrap();
    assert_eq!(o.port, node::init::default_p2p_port("logosregtest"));

    // -connect: no DNS seeds, no listening, no automatic outbound.
    let o = node_options(&["-regtest", "-connect=127.0.0.1:1"]).unwrap();
    assert!(!o.listen && !o.dnsseed && !o.discover && !o.use_addrman_outgoing);
    assert_eq!(o.connect, vec!["127.0.0.1:1"]);
    // -connect=0 / -noconnect: same, with nothing to connect to.
    for c in ["-connect=0", "-noconnect"] {
        let o = node_options(&["-regtest", c]).unwrap();
        assert!(
            !o.listen && !o.use_addrman_outgoing && o.connect.is_empty(),
            "{c}"
        );
    }
    // -bind implies -listen=1 even with -connect.
    let o = node_options(&["-regtest", "-connect=127.0.0.1:1", "-bind=127.0.0.1:5555"]).unwrap();
    assert!(o.listen && !o.bind_on_any);
    assert_eq!(o.binds[0].to_string(), "127.0.0.1:5555");
    // -bind without a port takes -port.
    let o = node_options(&["-regtest", "-port=6666", "-bind=127.0.0.1"]).unwrap();
    assert_eq!(o.binds[0].to_string(), "127.0.0.1:6666");
    // -maxconnections=0 turns off listening and DNS seeds.
    let o = node_options(&["-regtest", "-maxconnections=0"]).unwrap();
    assert!(!o.listen && !o.dnsseed);
    // -timeout <= 0 falls back to the default.
    assert_eq!(
        node_options(&["-regtest", "-timeout=0"])
            .unwrap()
            .connect_timeout_ms,
        5000
    );
    // -onlynet without IPv4/IPv6 turns off DNS seeds.
    let o = node_options(&["-regtest", "-onlynet=onion"]).unwrap();
    assert!(!o.dnsseed);
    assert_eq!(o.onlynet, vec![netbase::Network::Onion]);
    // -test=addrman / loopbackonly on a regtest network.
    let o = node_options(&["-chain=logosregtest", "-test=addrman", "-test=loopbackonly"]).unwrap();
    assert!(o.deterministic_addrman && o.test_loopback_only && !o.test_loopback_not_local);

    // -uacomment: BIP-0014 comments in the user agent.
    let o = node_options(&["-regtest"]).unwrap();
    assert_eq!(
        o.user_agent,
        format!("/logos-p2p:{}/", node::init::CLIENT_VERSION)
    );
    assert_eq!(o.user_agent, net::connman::DEFAULT_USER_AGENT);
    let o = node_options(&["-regtest", "-uacomment=a b", "-uacomment=c"]).unwrap();
    assert_eq!(
        o.user_agent,
        format!("/logos-p2p:{}(a b; c)/", node::init::CLIENT_VERSION)
    );
    assert!(o.network_active);
    assert!(
        !node_options(&["-regtest", "-nonetworkactive"])
            .unwrap()
            .network_active
    );
    let long = format!("-uacomment={}", "x".repeat(300));

    for (argv, err) in [
        (
            &["-regtest", "-uacomment=a(b"][..],
            "User Agent comment (a(b) contains unsafe characters.",
        ),
        (
            &["-regtest", long.as_str()][..],
            "Total length of network version string (319) exceeds maximum length (256). Reduce the number or size of uacomments.",
        ),
        (
            &["-regtest", "-forcednsseed", "-nodnsseed"][..],
            "Cannot set -forcednsseed to true when setting -dnsseed to false.",
        ),
        (
            &["-regtest", "-bind=127.0.0.1:1", "-listen=0"][..],
            "Cannot set -bind or -whitebind together with -listen=0",
        ),
        (
            &["-regtest", "-maxconnections=-1"][..],
            "-maxconnections must be greater or equal than zero",
        ),
        (
            &["-regtest", "-peertimeout=0"][..],
            "peertimeout must be a positive integer.",
        ),
        (
            &["-regtest", "-port=0"][..],
            "Invalid port specified in -port: '0'",
        ),
        (
            &["-regtest", "-port=70000"][..],
            "Invalid port specified in -port: '70000'",
        ),
        (
            &["-regtest", "-bind=127.0.0.1:0"][..],
            "Invalid port specified in -bind: '127.0.0.1:0'",
        ),
        (
            &["-regtest", "-onlynet=foo"][..],
            "Unknown network specified in -onlynet: 'foo'",
        ),
        (
            &["-regtest", "-debug=foo"][..],
            "Unsupported logging category -debug=foo.",
        ),
        (
            &["-test=addrman"][..],
            "-test=<option> can only be used with regtest",
        ),
    ] {
        assert_eq!(node_options(argv).unwrap_err(), err, "{argv:?}");
    }
}
