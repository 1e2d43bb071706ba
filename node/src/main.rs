//! `logos-p2pd`: the bitcoind-like P2P node (port of bitcoind.cpp's `main`).

#![forbid(unsafe_code)]

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    std::process::exit(node::init::app_main(&argv));
}
