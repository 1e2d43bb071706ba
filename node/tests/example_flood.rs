//! Runs the logic of `node/examples/flood.rs` (`cargo run -p node --example flood`).

#[path = "../examples/flood.rs"]
mod flood_example;

/// Not in Core: the example's three loopback nodes deliver each payload once, and the late
/// fourth node gets only the important one.
#[test]
fn example_flood_runs() {
    let s = flood_example::run(true).expect("example runs");
    assert_eq!(s, flood_example::Summary { b: 2, c: 2, d: 1 });
}
