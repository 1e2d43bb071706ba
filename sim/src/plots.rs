//! PNG plots of a run, drawn with `plotters` into memory and encoded with `png`.
//!
//! [`draw_all`] writes into its directory:
//! - `latency_cdf.png`: CDF of message-to-node latency over every first arrival, with the p50 and
//!   p99 marked, and the CDF of each message's time to reach every node it should;
//! - `bytes_per_node.png`: bytes each honest node sent and received per message, payload and
//!   control apart, nodes sorted by value (rank on x), the delegates marked;
//! - `copies_per_node.png`: histogram of full copies received per honest node per message;
//! - `hops.png`: share of first arrivals per hop count;
//! - `eclipse_share.png`, only when the run has eclipse samples: the mean and the largest attacker
//!   share of the victims' outbound slots over time.
//!
//! [`draw_comparison`] overlays several runs in `compare_latency_cdf.png` and
//! `compare_bytes_per_node.png`.
//!
//! Every image is [`WIDTH`] × [`HEIGHT`] pixels. A plot with nothing to show (no message, no
//! arrival, no honest node) is still written, with empty axes and a note saying what is missing,
//! so a run's directory always holds the same files (`eclipse_share.png` aside). Honest nodes are
//! those with `attacker == false`, and percentiles are nearest-rank, as in `summary.json`, so the
//! numbers on the plots match the summary.
//!
//! Text is set in DejaVu Sans, embedded from `sim/assets/DejaVuSans.ttf` (its licence is beside
//! it) and rasterised with `ab_glyph` by `Canvas`, a thin wrapper around plotters' bitmap
//! backend: no system font is read, so the plots need no font package and come out the same on
//! every machine. (Plotters' own `ab_glyph` text drops each glyph's side bearing, which spaces
//! digits unevenly; hence the wrapper.)

use std::error::Error;
use std::fs;
use std::io::BufWriter;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use crate::metrics::{percentile, EclipseSample, NodeRecord, RunResult};
use crate::report::time_to_share_us;

/// Width of every image, pixels.
pub const WIDTH: u32 = 1000;
/// Height of every image, pixels.
pub const HEIGHT: u32 = 650;

/// CDF of message-to-node latency ([`draw_all`]).
pub const LATENCY_CDF: &str = "latency_cdf.png";
/// Bytes per honest node per message, sorted by rank ([`draw_all`]).
pub const BYTES_PER_NODE: &str = "bytes_per_node.png";
/// Histogram of full copies per honest node per message ([`draw_all`]).
pub const COPIES_PER_NODE: &str = "copies_per_node.png";
/// Share of first arrivals per hop count ([`draw_all`]).
pub const HOPS: &str = "hops.png";
/// Attacker share of the victims' outbound slots over time ([`draw_all`], eclipse runs only).
pub const ECLIPSE_SHARE: &str = "eclipse_share.png";
/// One latency CDF per run ([`draw_comparison`]).
pub const COMPARE_LATENCY_CDF: &str = "compare_latency_cdf.png";
/// Total bytes per honest node per message, one pair of lines per run ([`draw_comparison`]).
pub const COMPARE_BYTES_PER_NODE: &str = "compare_bytes_per_node.png";

/// DejaVu Sans 2.37, unmodified (licence: `sim/assets/DejaVuSans-LICENSE`).
const FONT_TTF: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Text sizes: the height of a line (ascent + descent), pixels.
const TITLE_PX: u32 = 25;
const AXIS_DESC_PX: u32 = 20;
const LABEL_PX: u32 = 17;
const LEGEND_PX: u32 = 17;
const NOTE_PX: u32 = 23;
/// Height of one row of the legend strip under the chart, pixels.
const LEGEND_ROW_PX: u32 = 27;
/// A CDF with at most this many samples is drawn as exact steps; a larger one as a line.
const CDF_MAX_STEPS: usize = 300;
/// Vertices of a line closer than this to the previous one (in pixels, roughly) are dropped:
/// thick lines through thousands of sub-pixel segments render ragged.
const MIN_SEGMENT_PX: f64 = 2.5;

// Okabe–Ito colours: told apart by colour-blind readers too.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const GREY: RGBColor = RGBColor(90, 90, 90);
/// One colour per run in the comparison plots (cycled past the seventh).
const RUN_COLOURS: [RGBColor; 7] = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, GREY];

type Area<'a> = DrawingArea<Canvas<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

/// Draws every plot of one run into `dir` (created if missing) and returns the files written,
/// in the order of the module doc.
///
/// `title` names the run on every plot (e.g. "flood, 1000 nodes, 1 KB"). `eclipse_share.png`
/// is written only when `r.eclipse` is non-empty; the other four files always are, with a note
/// in place of the data when there is nothing to plot. An error names the file it concerns.
pub fn draw_all(dir: &Path, r: &RunResult, title: &str) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    type Plot = fn(&Area<'_>, &RunResult, &str) -> DrawResult;
    let mut plots: Vec<(&str, Plot)> = vec![
        (LATENCY_CDF, latency_cdf),
        (BYTES_PER_NODE, bytes_per_node),
        (COPIES_PER_NODE, copies_per_node),
        (HOPS, hops),
    ];
    if !r.eclipse.is_empty() {
        plots.push((ECLIPSE_SHARE, eclipse_share));
    }
    let mut written = Vec::new();
    for (name, plot) in plots {
        let path = dir.join(name);
        render(&path, &|area| plot(area, r, title))?;
        written.push(path);
    }
    Ok(written)
}

/// Overlays several runs (e.g. two relays on one seed), each named by its label, in
/// `compare_latency_cdf.png` (one latency CDF per run) and `compare_bytes_per_node.png` (per
/// run, total bytes per honest node per message, upload and download, sorted by rank), written
/// into `dir` (created if missing). Returns the two files. A run with nothing to show is left out
/// of a plot; a plot left with no run carries a note instead.
pub fn draw_comparison(
    dir: &Path,
    runs: &[(&str, &RunResult)],
    title: &str,
) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let latency = dir.join(COMPARE_LATENCY_CDF);
    render(&latency, &|area| compare_latency_cdf(area, runs, title))?;
    let bytes = dir.join(COMPARE_BYTES_PER_NODE);
    render(&bytes, &|area| compare_bytes_per_node(area, runs, title))?;
    Ok(vec![latency, bytes])
}

// ---------------------------------------------------------------------------------------------
// Data

/// Every first arrival's delay, milliseconds, sorted.
fn latencies_ms(r: &RunResult) -> Vec<f64> {
    let mut v: Vec<f64> = r
        .messages
        .iter()
        .flat_map(|m| m.arrivals.iter().map(|a| a.delay_us as f64 / 1000.0))
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Each message's time to reach every node it should, milliseconds, sorted (messages that
/// never did are left out).
fn times_to_all_ms(r: &RunResult) -> Vec<f64> {
    let mut v: Vec<f64> = r
        .messages
        .iter()
        .filter(|m| m.targets > 0)
        .filter_map(|m| time_to_share_us(m, 1.0))
        .map(|us| us as f64 / 1000.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn honest(r: &RunResult) -> impl Iterator<Item = &NodeRecord> {
    r.node_records.iter().filter(|n| !n.attacker)
}

/// Bytes one honest node moved per message.
#[derive(Clone, Copy, Debug, PartialEq)]
struct NodeBytes {
    payload_up: f64,
    control_up: f64,
    payload_down: f64,
    control_down: f64,
    delegate: bool,
}

impl NodeBytes {
    fn up(&self) -> f64 {
        self.payload_up + self.control_up
    }

    fn down(&self) -> f64 {
        self.payload_down + self.control_down
    }
}

/// Per honest node, bytes per message; empty when the run sent no message.
fn node_bytes(r: &RunResult) -> Vec<NodeBytes> {
    if r.messages.is_empty() {
        return Vec::new();
    }
    let per = |x: u64| x as f64 / r.messages.len() as f64;
    honest(r)
        .map(|n| NodeBytes {
            payload_up: per(n.payload_up),
            control_up: per(n.control_up),
            payload_down: per(n.payload_down),
            control_down: per(n.control_down),
            delegate: n.delegate,
        })
        .collect()
}

/// `v` sorted highest first, as (rank from 1, value) points.
fn by_rank(mut v: Vec<f64>) -> Vec<(f64, f64)> {
    v.sort_by(|a, b| b.total_cmp(a));
    v.into_iter()
        .enumerate()
        .map(|(i, y)| ((i + 1) as f64, y))
        .collect()
}

/// The empirical CDF of sorted `v`: exact steps for a few samples, else the line through
/// (value, share at or below it).
fn cdf_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len() as f64;
    if sorted.len() <= CDF_MAX_STEPS {
        let mut points = Vec::with_capacity(2 * sorted.len());
        for (i, &v) in sorted.iter().enumerate() {
            points.push((v, i as f64 / n));
            points.push((v, (i + 1) as f64 / n));
        }
        points
    } else {
        let mut points = vec![(sorted[0], 0.0)];
        points.extend(
            sorted
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, (i + 1) as f64 / n)),
        );
        points
    }
}

/// `points` less the vertices closer than [`MIN_SEGMENT_PX`] to the last one kept, distances
/// measured as if `x_span` × `y_span` filled an 860 × 480 pixel plot; the ends are kept.
fn simplify(points: &[(f64, f64)], x_span: f64, y_span: f64) -> Vec<(f64, f64)> {
    let (sx, sy) = (860.0 / x_span.max(1e-12), 480.0 / y_span.max(1e-12));
    let mut kept: Vec<(f64, f64)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let far = kept
            .last()
            .is_none_or(|&(x, y)| ((p.0 - x) * sx).hypot((p.1 - y) * sy) >= MIN_SEGMENT_PX);
        if far || i + 1 == points.len() {
            kept.push(p);
        }
    }
    kept
}

/// The smallest of 1, 2, 5 × 10^k at least `x` (> 0).
fn nice_step(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// Histogram of `values` (non-empty): about 25 bins of a round width, centred on its
/// multiples, as (centre, share of the values) for the non-empty bins, and the width.
fn histogram(values: &[f64]) -> (Vec<(f64, f64)>, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        nice_step((hi - lo) / 25.0)
    } else {
        1.0
    };
    let mut bins: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
    for v in values {
        *bins.entry((v / width).round() as i64).or_default() += 1;
    }
    let n = values.len() as f64;
    let shares = bins
        .into_iter()
        .map(|(b, c)| (b as f64 * width, c as f64 / n))
        .collect();
    (shares, width)
}

/// A byte unit for values up to `max`: its name and size.
fn byte_unit(max: f64) -> (&'static str, f64) {
    if max >= 2.0 * 1024.0 * 1024.0 * 1024.0 {
        ("GiB", 1024.0 * 1024.0 * 1024.0)
    } else if max >= 2.0 * 1024.0 * 1024.0 {
        ("MiB", 1024.0 * 1024.0)
    } else if max >= 2.0 * 1024.0 {
        ("KiB", 1024.0)
    } else {
        ("bytes", 1.0)
    }
}

/// `x` with three significant digits (all of its integer part below a million, else in
/// scientific notation) and no trailing zeros: "0.025", "7.88", "40", "1200", "4.20e9".
fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        return format!("{x:.2e}");
    }
    let decimals = if a >= 100.0 || a == 0.0 || !a.is_finite() {
        0
    } else {
        (2 - a.log10().floor() as i32).clamp(0, 9) as usize
    };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `x` ms, as a legend shows it.
fn fmt_ms(x: f64) -> String {
    format!("{} ms", fmt_num(x))
}

/// `n` with thousands separated by commas.
fn fmt_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` `noun`s, the noun in the plural unless `n` is 1: "1 honest node", "1,000 honest nodes".
fn counted(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", fmt_count(n))
}

fn caption(title: &str, what: &str) -> String {
    if title.is_empty() {
        what.to_string()
    } else {
        format!("{title} — {what}")
    }
}

// ---------------------------------------------------------------------------------------------
// The plots

fn latency_cdf(root: &Area<'_>, r: &RunResult, title: &str) -> DrawResult {
    let lat = latencies_ms(r);
    let all = times_to_all_ms(r);
    let mut cdfs = Vec::new();
    let mut markers = Vec::new();
    if !lat.is_empty() {
        let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
        cdfs.push(Cdf {
            label: format!(
                "latency: share of (message, node) pairs ({})",
                counted(lat.len(), "first arrival")
            ),
            sorted_ms: lat,
            colour: BLUE,
        });
        markers.push((format!("latency p50 = {}", fmt_ms(p50)), p50, GREEN));
        markers.push((format!("latency p99 = {}", fmt_ms(p99)), p99, PURPLE));
    }
    if !all.is_empty() {
        cdfs.push(Cdf {
            label: format!(
                "time to all nodes: share of messages ({} of {} reached all)",
                fmt_count(all.len()),
                fmt_count(r.messages.len())
            ),
            sorted_ms: all,
            colour: ORANGE,
        });
    }
    draw_cdfs(
        root,
        &caption(title, "message-to-node latency"),
        "cumulative share",
        &cdfs,
        &markers,
        "no message reached any node",
    )
}

fn compare_latency_cdf(root: &Area<'_>, runs: &[(&str, &RunResult)], title: &str) -> DrawResult {
    let cdfs: Vec<Cdf> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, (name, r))| {
            let lat = latencies_ms(r);
            if lat.is_empty() {
                return None;
            }
            Some(Cdf {
                label: format!(
                    "{name}: p50 {}, p99 {}",
                    fmt_ms(percentile(&lat, 0.50)),
                    fmt_ms(percentile(&lat, 0.99))
                ),
                sorted_ms: lat,
                colour: RUN_COLOURS[i % RUN_COLOURS.len()],
            })
        })
        .collect();
    draw_cdfs(
        root,
        &caption(title, "message-to-node latency"),
        "share of (message, node) pairs",
        &cdfs,
        &[],
        "no run has a first arrival",
    )
}

/// One CDF line.
struct Cdf {
    label: String,
    sorted_ms: Vec<f64>,
    colour: RGBColor,
}

/// CDFs over a shared millisecond axis, logarithmic when the values span more than 20×, with
/// vertical dashed markers (label, ms, colour).
fn draw_cdfs(
    root: &Area<'_>,
    caption: &str,
    y_desc: &str,
    cdfs: &[Cdf],
    markers: &[(String, f64, RGBColor)],
    empty_note: &str,
) -> DrawResult {
    let values = || cdfs.iter().flat_map(|c| c.sorted_ms.iter().copied());
    if values().next().is_none() {
        return empty_chart(root, caption, "milliseconds from send", y_desc, empty_note);
    }
    let hi = values().fold(f64::NEG_INFINITY, f64::max).max(1e-3);
    let lo = values().filter(|&v| v > 0.0).fold(hi, f64::min);
    let log = hi / lo > 20.0;
    // Plotted x: log10(ms) on a log axis (plotters' log axis labels no value below the first
    // power of ten, so the ticks are drawn here), ms otherwise.
    let (x0, x1, floor) = if log {
        ((lo / 1.25).log10(), (hi * 1.25).log10(), lo)
    } else {
        (0.0, hi * 1.04, 0.0)
    };
    let to_x = |ms: f64| {
        if log {
            ms.max(floor).log10()
        } else {
            ms
        }
    };

    let mut legend: Vec<(Swatch, String)> = cdfs
        .iter()
        .map(|c| (Swatch::Line(c.colour), c.label.clone()))
        .collect();
    legend.extend(
        markers
            .iter()
            .map(|(l, _, c)| (Swatch::Dashed(*c), l.clone())),
    );
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;

    let x_desc = if log {
        "milliseconds from send (log scale)"
    } else {
        "milliseconds from send"
    };
    let mut chart = chart_builder(&chart_area, caption)?.build_cartesian_2d(x0..x1, 0.0..1.02)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, y_desc);
    if log {
        mesh.disable_x_mesh().x_labels(0);
    }
    mesh.x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    if log {
        draw_log_ticks(&chart_area, &mut chart, lo / 1.25, hi * 1.25)?;
    }
    for c in cdfs {
        let points: Vec<(f64, f64)> = cdf_points(&c.sorted_ms)
            .into_iter()
            .map(|(x, y)| (to_x(x), y))
            .collect();
        let points = simplify(&points, x1 - x0, 1.02);
        chart.draw_series(LineSeries::new(points, c.colour.stroke_width(3)))?;
    }
    for (_, ms, colour) in markers {
        let x = to_x(*ms);
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, 1.02)],
            9,
            6,
            colour.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Grid lines at 1–9 × 10^k ms and labels at 1, 2, 5 × 10^k (powers of ten only past four
/// decades) for a chart whose x is log10(ms) over `lo..hi` ms.
fn draw_log_ticks(
    area: &Area<'_>,
    chart: &mut ChartContext<'_, Canvas<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    lo: f64,
    hi: f64,
) -> DrawResult {
    let wide = hi / lo > 1e4;
    let label_style = TextStyle::from((FontFamily::SansSerif, LABEL_PX).into_font())
        .pos(Pos::new(HPos::Center, VPos::Top));
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for k in first..=last {
        for m in 1..=9 {
            let ms = f64::from(m) * 10f64.powi(k);
            if ms < lo || ms > hi {
                continue;
            }
            let x = ms.log10();
            let grid = if m == 1 {
                BLACK.mix(0.15)
            } else {
                BLACK.mix(0.05)
            };
            chart.draw_series(LineSeries::new([(x, 0.0), (x, 1.02)], grid))?;
            if m == 1 || (!wide && (m == 2 || m == 5)) {
                let (px, py) = chart.backend_coord(&(x, 0.0));
                area.draw(&PathElement::new([(px, py), (px, py + 5)], BLACK.mix(0.7)))?;
                area.draw(&Text::new(fmt_num(ms), (px, py + 8), label_style.clone()))?;
            }
        }
    }
    Ok(())
}

fn bytes_per_node(root: &Area<'_>, r: &RunResult, title: &str) -> DrawResult {
    let caption = caption(title, "bytes per honest node per message");
    let nodes = node_bytes(r);
    let x_desc = "honest node, by rank (highest value first)";
    if nodes.is_empty() {
        let note = if r.messages.is_empty() {
            "no message was sent"
        } else {
            "no honest node"
        };
        return empty_chart(root, &caption, x_desc, "bytes per message", note);
    }
    let max = nodes
        .iter()
        .flat_map(|n| [n.payload_up, n.control_up, n.payload_down, n.control_down])
        .fold(0.0, f64::max);
    let (unit, scale) = byte_unit(max);
    let series = |f: fn(&NodeBytes) -> f64| by_rank(nodes.iter().map(|n| f(n) / scale).collect());
    let lines = [
        (
            Swatch::Line(BLUE),
            "upload, payload (logos)",
            series(|n| n.payload_up),
        ),
        (
            Swatch::Dashed(BLUE),
            "upload, control",
            series(|n| n.control_up),
        ),
        (
            Swatch::Line(VERMILLION),
            "download, payload (logos)",
            series(|n| n.payload_down),
        ),
        (
            Swatch::Dashed(VERMILLION),
            "download, control",
            series(|n| n.control_down),
        ),
    ];
    // The delegates where they stand on the payload-upload line.
    let mut by_upload: Vec<&NodeBytes> = nodes.iter().collect();
    by_upload.sort_by(|a, b| b.payload_up.total_cmp(&a.payload_up));
    let delegates: Vec<(f64, f64)> = by_upload
        .iter()
        .enumerate()
        .filter(|(_, n)| n.delegate)
        .map(|(i, n)| ((i + 1) as f64, n.payload_up / scale))
        .collect();

    let mut legend: Vec<(Swatch, String)> = lines
        .iter()
        .map(|(s, l, _)| (*s, (*l).to_string()))
        .collect();
    if !delegates.is_empty() {
        legend.push((
            Swatch::Dot(GREY),
            format!("delegates' payload upload ({})", delegates.len()),
        ));
    }
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;
    let x_max = nodes.len() as f64 + 1.0;
    let y_max = if max > 0.0 { max / scale * 1.06 } else { 1.0 };
    let mut chart =
        chart_builder(&chart_area, &caption)?.build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, &format!("{unit} per message"));
    mesh.x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    for (swatch, _, points) in lines {
        let points = simplify(&points, x_max, y_max);
        match swatch {
            Swatch::Dashed(c) => {
                chart.draw_series(DashedLineSeries::new(points, 9, 6, c.stroke_width(3)))?;
            }
            Swatch::Line(c) | Swatch::Bar(c) | Swatch::Dot(c) => {
                chart.draw_series(LineSeries::new(points, c.stroke_width(3)))?;
            }
        }
    }
    chart.draw_series(
        delegates
            .into_iter()
            .map(|p| Circle::new(p, 6, GREY.filled())),
    )?;
    Ok(())
}

fn compare_bytes_per_node(root: &Area<'_>, runs: &[(&str, &RunResult)], title: &str) -> DrawResult {
    let caption = caption(title, "bytes per honest node per message");
    let x_desc = "honest node, by rank (highest value first)";
    let per_run: Vec<(String, RGBColor, Vec<NodeBytes>)> = runs
        .iter()
        .enumerate()
        .map(|(i, (name, r))| {
            (
                (*name).to_string(),
                RUN_COLOURS[i % RUN_COLOURS.len()],
                node_bytes(r),
            )
        })
        .filter(|(_, _, nodes)| !nodes.is_empty())
        .collect();
    if per_run.is_empty() {
        let note = "no run has a message and an honest node";
        return empty_chart(root, &caption, x_desc, "bytes per message", note);
    }
    let max = per_run
        .iter()
        .flat_map(|(_, _, nodes)| nodes.iter().flat_map(|n| [n.up(), n.down()]))
        .fold(0.0, f64::max);
    let (unit, scale) = byte_unit(max);
    let mut legend = Vec::new();
    for (name, colour, _) in &per_run {
        legend.push((Swatch::Line(*colour), format!("{name}: upload")));
        legend.push((Swatch::Dashed(*colour), format!("{name}: download")));
    }
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;
    let x_max = per_run.iter().map(|(_, _, n)| n.len()).max().unwrap_or(1) as f64 + 1.0;
    let y_max = if max > 0.0 { max / scale * 1.06 } else { 1.0 };
    let mut chart =
        chart_builder(&chart_area, &caption)?.build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(
        &mut mesh,
        x_desc,
        &format!("{unit} per message, payload + control"),
    );
    mesh.x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    for (_, colour, nodes) in &per_run {
        let up = by_rank(nodes.iter().map(|n| n.up() / scale).collect());
        let down = by_rank(nodes.iter().map(|n| n.down() / scale).collect());
        let (up, down) = (simplify(&up, x_max, y_max), simplify(&down, x_max, y_max));
        chart.draw_series(LineSeries::new(up, colour.stroke_width(3)))?;
        chart.draw_series(DashedLineSeries::new(down, 9, 6, colour.stroke_width(3)))?;
    }
    Ok(())
}

fn copies_per_node(root: &Area<'_>, r: &RunResult, title: &str) -> DrawResult {
    let caption = caption(title, "full copies received per honest node per message");
    let x_desc = "full copies received per message (duplicates included)";
    let y_desc = "share of honest nodes";
    let copies: Vec<f64> = if r.messages.is_empty() {
        Vec::new()
    } else {
        let n = r.messages.len() as f64;
        honest(r).map(|h| h.copies as f64 / n).collect()
    };
    if copies.is_empty() {
        let note = if r.messages.is_empty() {
            "no message was sent"
        } else {
            "no honest node"
        };
        return empty_chart(root, &caption, x_desc, y_desc, note);
    }
    let mean = copies.iter().sum::<f64>() / copies.len() as f64;
    let (bins, width) = histogram(&copies);
    let legend = vec![
        (Swatch::Bar(BLUE), counted(copies.len(), "honest node")),
        (
            Swatch::Dashed(VERMILLION),
            format!("mean = {} copies per message", fmt_num(mean)),
        ),
    ];
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;
    let first = bins.first().map_or(0.0, |b| b.0);
    let last = bins.last().map_or(0.0, |b| b.0);
    let x = (first - 1.5 * width)..(last + 1.5 * width);
    let y_max = bins.iter().map(|b| b.1).fold(0.0, f64::max) * 1.1;
    let mut chart = chart_builder(&chart_area, &caption)?.build_cartesian_2d(x, 0.0..y_max)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, y_desc);
    mesh.disable_x_mesh()
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    chart.draw_series(bins.iter().map(|&(centre, share)| {
        let mut bar = Rectangle::new(
            [(centre - width / 2.0, 0.0), (centre + width / 2.0, share)],
            BLUE.mix(0.85).filled(),
        );
        bar.set_margin(0, 0, 1, 1);
        bar
    }))?;
    chart.draw_series(DashedLineSeries::new(
        [(mean, 0.0), (mean, y_max)],
        9,
        6,
        VERMILLION.stroke_width(2),
    ))?;
    Ok(())
}

fn hops(root: &Area<'_>, r: &RunResult, title: &str) -> DrawResult {
    let caption = caption(title, "hops of first arrivals");
    let x_desc = "hops from the originator";
    let y_desc = "share of first arrivals";
    let mut hops: Vec<u32> = r
        .messages
        .iter()
        .flat_map(|m| m.arrivals.iter().map(|a| a.hops))
        .collect();
    if hops.is_empty() {
        return empty_chart(
            root,
            &caption,
            x_desc,
            y_desc,
            "no message reached any node",
        );
    }
    hops.sort_unstable();
    // Bars from hop 1 (or 0, should a run report it) to the largest, two at least.
    let hi = hops[hops.len() - 1];
    let lo = hops[0].min(1);
    let hi_bar = hi.max(lo + 1);
    let mut counts = vec![0usize; (hi_bar - lo + 1) as usize];
    for &h in &hops {
        counts[(h - lo) as usize] += 1;
    }
    let n = hops.len() as f64;
    let shares: Vec<(u32, f64)> = (lo..=hi_bar)
        .zip(counts)
        .map(|(h, c)| (h, c as f64 / n))
        .collect();
    let legend = vec![(
        Swatch::Bar(BLUE),
        format!(
            "{}: p50 {} hops, p99 {}, max {}",
            counted(hops.len(), "first arrival"),
            percentile(&hops, 0.50),
            percentile(&hops, 0.99),
            hi
        ),
    )];
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;
    let y_max = shares.iter().map(|s| s.1).fold(0.0, f64::max) * 1.15;
    let mut chart = chart_builder(&chart_area, &caption)?
        .build_cartesian_2d((lo..hi_bar).into_segmented(), 0.0..y_max)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, y_desc);
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(h) => h.to_string(),
        _ => String::new(),
    };
    mesh.disable_x_mesh()
        .x_labels(shares.len() + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .style(BLUE.mix(0.85).filled())
            .margin(if shares.len() > 30 { 2 } else { 10 })
            .data(shares.iter().copied()),
    )?;
    if shares.len() <= 20 {
        let style = TextStyle::from((FontFamily::SansSerif, LABEL_PX).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(shares.iter().filter(|s| s.1 > 0.0).map(|&(h, s)| {
            Text::new(
                format!("{}%", fmt_num(s * 100.0)),
                (SegmentValue::CenterOf(h), s + y_max * 0.01),
                style.clone(),
            )
        }))?;
    }
    Ok(())
}

fn eclipse_share(root: &Area<'_>, r: &RunResult, title: &str) -> DrawResult {
    let caption = caption(title, "attacker share of the victims' outbound slots");
    let x_desc = "seconds since the start of the run";
    let y_desc = "share of outbound slots";
    if r.eclipse.is_empty() {
        return empty_chart(root, &caption, x_desc, y_desc, "no eclipse sample");
    }
    let t0 = r
        .eclipse
        .iter()
        .map(|s| s.t_secs)
        .fold(f64::INFINITY, f64::min);
    let t1 = r
        .eclipse
        .iter()
        .map(|s| s.t_secs)
        .fold(f64::NEG_INFINITY, f64::max);
    let t0 = t0.min(0.0);
    let t1 = if t1 > t0 { t1 } else { t0 + 1.0 };
    let legend = vec![
        (Swatch::Line(BLUE), "mean over the victims".to_string()),
        (Swatch::Line(VERMILLION), "most eclipsed victim".to_string()),
    ];
    let (chart_area, legend_area) = split_legend(root, &legend)?;
    draw_legend(&legend_area, &legend)?;
    let mut chart = chart_builder(&chart_area, &caption)?.build_cartesian_2d(t0..t1, 0.0..1.02)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, y_desc);
    mesh.x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    let mut samples = r.eclipse.clone();
    samples.sort_by(|a, b| a.t_secs.total_cmp(&b.t_secs));
    type Share = fn(&EclipseSample) -> f64;
    let lines: [(RGBColor, Share); 2] = [(BLUE, |s| s.mean_share), (VERMILLION, |s| s.max_share)];
    for (colour, share) in lines {
        let points = samples.iter().map(|s| (s.t_secs, share(s)));
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?;
        // Each sample marked while they are few enough to tell apart (and a lone one shows).
        if samples.len() <= 100 {
            chart.draw_series(points.map(|p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers

/// Bare axes with their names and `note` in the middle.
fn empty_chart(
    root: &Area<'_>,
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    note: &str,
) -> DrawResult {
    let mut chart = chart_builder(root, caption)?.build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, x_desc, y_desc);
    mesh.disable_mesh().x_labels(0).y_labels(0).draw()?;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let centre = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
    let style = TextStyle::from((FontFamily::SansSerif, NOTE_PX).into_font())
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(note.to_string(), centre, style))?;
    Ok(())
}

/// The chart builder every plot starts from: the caption (shrunk to fit the width), margins and
/// room for the tick labels and axis names.
fn chart_builder<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
) -> Result<ChartBuilder<'a, 'b, Canvas<'b>>, Box<dyn Error>> {
    let mut px = TITLE_PX;
    while px > 12 && text_width(area, caption, px)? + 40 > WIDTH {
        px -= 1;
    }
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, (FontFamily::SansSerif, px))
        .margin(14)
        .margin_right(34)
        .x_label_area_size(60)
        .y_label_area_size(88);
    Ok(builder)
}

/// Axis names, fonts and grid colours shared by every chart.
fn style_mesh<X: Ranged, Y: Ranged>(
    mesh: &mut MeshStyle<'_, '_, X, Y, Canvas<'_>>,
    x_desc: &str,
    y_desc: &str,
) {
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FontFamily::SansSerif, AXIS_DESC_PX))
        .label_style((FontFamily::SansSerif, LABEL_PX))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .axis_style(BLACK.mix(0.7));
}

fn text_width(area: &Area<'_>, text: &str, px: u32) -> Result<u32, Box<dyn Error>> {
    let style = TextStyle::from((FontFamily::SansSerif, px).into_font());
    Ok(area.estimate_text_size(text, &style)?.0)
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Bar(RGBColor),
    Dot(RGBColor),
}

/// Width of a legend swatch, the gap to its text, and the gap between entries, pixels.
const SWATCH_PX: u32 = 36;
const SWATCH_GAP_PX: u32 = 8;
const ENTRY_GAP_PX: u32 = 30;

/// Rows of legend entries, each entry as (index, width in pixels).
type LegendRows = Vec<Vec<(usize, u32)>>;

/// The legend's entries row by row, each row filled up to the image's width less margins.
fn legend_rows(
    area: &Area<'_>,
    entries: &[(Swatch, String)],
) -> Result<LegendRows, Box<dyn Error>> {
    let mut rows: LegendRows = Vec::new();
    let mut used = 0;
    for (i, (_, text)) in entries.iter().enumerate() {
        let w = SWATCH_PX + SWATCH_GAP_PX + text_width(area, text, LEGEND_PX)?;
        match rows.last_mut() {
            Some(row) if used + ENTRY_GAP_PX + w <= WIDTH - 60 => {
                row.push((i, w));
                used += ENTRY_GAP_PX + w;
            }
            _ => {
                rows.push(vec![(i, w)]);
                used = w;
            }
        }
    }
    Ok(rows)
}

/// Splits `root` into the chart (top) and a strip for the legend (bottom): the legend never
/// covers data, whatever its shape.
fn split_legend<'a>(
    root: &Area<'a>,
    entries: &[(Swatch, String)],
) -> Result<(Area<'a>, Area<'a>), Box<dyn Error>> {
    let rows = legend_rows(root, entries)?.len() as u32;
    let strip = rows * LEGEND_ROW_PX + 12;
    Ok(root.split_vertically(HEIGHT.saturating_sub(strip)))
}

/// Draws the legend, each row centred, in the strip [`split_legend`] made.
fn draw_legend(area: &Area<'_>, entries: &[(Swatch, String)]) -> DrawResult {
    let style = TextStyle::from((FontFamily::SansSerif, LEGEND_PX).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (row_index, row) in legend_rows(area, entries)?.iter().enumerate() {
        let row_width = row.iter().map(|e| e.1).sum::<u32>()
            + ENTRY_GAP_PX * (row.len() as u32).saturating_sub(1);
        let mut x = (WIDTH.saturating_sub(row_width) / 2) as i32;
        let y = (row_index as u32 * LEGEND_ROW_PX + LEGEND_ROW_PX / 2) as i32;
        for &(i, w) in row {
            let (swatch, text) = &entries[i];
            let (l, r) = (x, x + SWATCH_PX as i32);
            match *swatch {
                Swatch::Line(c) => {
                    area.draw(&PathElement::new([(l, y), (r, y)], c.stroke_width(3)))?;
                }
                Swatch::Dashed(c) => {
                    for (a, b) in [(l, l + 9), (l + 14, l + 22), (l + 27, r)] {
                        area.draw(&PathElement::new([(a, y), (b, y)], c.stroke_width(3)))?;
                    }
                }
                Swatch::Bar(c) => {
                    area.draw(&Rectangle::new(
                        [(l + 6, y - 8), (r - 6, y + 8)],
                        c.filled(),
                    ))?;
                }
                Swatch::Dot(c) => {
                    area.draw(&Circle::new(((l + r) / 2, y), 6, c.filled()))?;
                }
            }
            let at = (r + SWATCH_GAP_PX as i32, y);
            area.draw(&Text::new(text.clone(), at, style.clone()))?;
            x += (w + ENTRY_GAP_PX) as i32;
        }
    }
    Ok(())
}

/// The embedded font, parsed once per process.
fn font() -> Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(FONT_TTF)
            .map_err(|e| format!("plots: the embedded font sim/assets/DejaVuSans.ttf: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Plotters' bitmap backend with its text set by `ab_glyph` from the embedded font (every
/// family and style alike); the rest is the bitmap backend's own drawing.
struct Canvas<'a> {
    bitmap: BitMapBackend<'a>,
    font: &'static FontRef<'static>,
}

type CanvasResult<T = ()> =
    Result<T, DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

impl Canvas<'_> {
    /// The glyphs of `text` set on one line `px` high, the top of the line at y = 0, and the
    /// line's width and height.
    fn set_line(&self, text: &str, px: f64) -> (Vec<ab_glyph::Glyph>, f32, f32) {
        let scale = PxScale::from(px as f32);
        let font = self.font.as_scaled(scale);
        let mut glyphs = Vec::with_capacity(text.len());
        let mut x = 0.0;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                x += font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, ab_glyph::point(x, font.ascent())));
            x += font.h_advance(id);
            previous = Some(id);
        }
        (glyphs, x, font.ascent() - font.descent())
    }
}

impl<'a> DrawingBackend for Canvas<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> CanvasResult {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> CanvasResult {
        self.bitmap.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> CanvasResult {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> CanvasResult {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> CanvasResult {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> CanvasResult {
        self.bitmap.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> CanvasResult {
        self.bitmap.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> CanvasResult {
        self.bitmap.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> CanvasResult {
        self.bitmap.blit_bitmap(pos, size, src)
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> CanvasResult {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let (glyphs, width, height) = self.set_line(text, style.size());
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let (dx, dy) = (dx.round() as i32, dy.round() as i32);
        let transform = style.transform();
        let mut pixels = Vec::new();
        for glyph in glyphs {
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (left, top) = (bounds.min.x as i32 + dx, bounds.min.y as i32 + dy);
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    let (x, y) = transform.transform(left + x as i32, top + y as i32);
                    pixels.push(((pos.0 + x, pos.1 + y), coverage.min(1.0)));
                }
            });
        }
        for (point, coverage) in pixels {
            let color = BackendColor {
                alpha: colour.alpha * f64::from(coverage),
                rgb: colour.rgb,
            };
            self.bitmap.draw_pixel(point, color)?;
        }
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> CanvasResult<(u32, u32)> {
        let (_, width, height) = self.set_line(text, style.size());
        Ok((width.ceil() as u32, height.ceil() as u32))
    }
}

/// Draws one image in memory with `draw` and writes it to `path` as a PNG. A plotters error or
/// panic becomes an `Err` naming the file, so a plot cannot take the run down with it.
fn render(path: &Path, draw: &dyn Fn(&Area<'_>) -> DrawResult) -> Result<(), String> {
    let font = font()?;
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let canvas = Canvas {
            bitmap: BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)),
            font,
        };
        let root = canvas.into_drawing_area();
        let drawn = panic::catch_unwind(AssertUnwindSafe(|| -> DrawResult {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        }));
        match drawn {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(fail(&e)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return Err(fail(&format!("drawing panicked: {what}")));
            }
        }
    }
    let file = fs::File::create(path).map_err(|e| fail(&e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(&rgb).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))?;
    log::debug!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Arrival, MessageRecord};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "logos-sim-plots-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Width and height from a PNG's header (signature, then the IHDR chunk).
    fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
        const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
        if bytes.len() < 24 || bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
            return None;
        }
        let be = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Some((be(16), be(20)))
    }

    /// Asserts `paths` are `names` in `dir`, each a PNG of the right size with something in it.
    fn assert_pngs(dir: &Path, paths: &[PathBuf], names: &[&str]) {
        let expected: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
        assert_eq!(paths, expected.as_slice());
        for p in paths {
            let bytes = fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(
                bytes.len() > 4_000,
                "{}: only {} bytes",
                p.display(),
                bytes.len()
            );
            assert_eq!(png_size(&bytes), Some((WIDTH, HEIGHT)), "{}", p.display());
        }
    }

    /// 40 honest nodes (two of them delegates) and two attackers; 12 messages, delays 5–900 ms
    /// over 1–5 hops, the last message missing one node; eclipse samples over 100 s.
    fn synthetic(slowdown: i64) -> RunResult {
        let messages = (0..12u32)
            .map(|i| {
                let origin = i % 2;
                let arrivals: Vec<Arrival> = (0..40u32)
                    .filter(|&n| n != origin && !(i == 11 && n == 39))
                    .map(|n| {
                        let k = i64::from((n * 7 + i * 13) % 40);
                        Arrival {
                            node: n,
                            delay_us: (5_000 + k * k * 560) * slowdown,
                            hops: 1 + (k as u32 / 9),
                        }
                    })
                    .collect();
                MessageRecord {
                    index: i as usize,
                    origin,
                    size: 1024,
                    sent_us: i64::from(i) * 1_000_000,
                    arrivals,
                    targets: 39,
                    ..MessageRecord::default()
                }
            })
            .collect();
        let node_records = (0..42u32)
            .map(|n| NodeRecord {
                node: n,
                delegate: n < 2,
                attacker: n >= 40,
                copies: 12 * 4 + u64::from(n % 9) * 5,
                delivered: 12,
                payload_up: 12 * 1024 * u64::from(1 + n % 11) / slowdown as u64,
                payload_down: 12 * 1024 * 5,
                control_up: 12 * 200 * u64::from(1 + n % 3),
                control_down: 12 * 250,
                ..NodeRecord::default()
            })
            .collect();
        let eclipse = (0..=20)
            .map(|k| EclipseSample {
                t_secs: f64::from(k) * 5.0,
                mean_share: f64::from(k) / 40.0,
                max_share: f64::from(k) / 25.0,
            })
            .collect();
        RunResult {
            nodes: 40,
            seed: 1,
            messages,
            node_records,
            eclipse,
            ..RunResult::default()
        }
    }

    #[test]
    fn draw_all_writes_every_plot() {
        let dir = TempDir::new("all");
        let written = draw_all(&dir.0, &synthetic(1), "flood, 40 nodes, 1 KB").unwrap();
        assert_pngs(
            &dir.0,
            &written,
            &[
                LATENCY_CDF,
                BYTES_PER_NODE,
                COPIES_PER_NODE,
                HOPS,
                ECLIPSE_SHARE,
            ],
        );
        // Without eclipse samples there is no eclipse plot.
        let r = RunResult {
            eclipse: Vec::new(),
            ..synthetic(1)
        };
        let written = draw_all(&dir.0, &r, "").unwrap();
        assert_pngs(
            &dir.0,
            &written,
            &[LATENCY_CDF, BYTES_PER_NODE, COPIES_PER_NODE, HOPS],
        );
    }

    #[test]
    fn draw_comparison_writes_both_plots() {
        let dir = TempDir::new("compare");
        let (flood, announce) = (synthetic(1), synthetic(3));
        let runs = [("flood", &flood), ("announce", &announce)];
        let written = draw_comparison(&dir.0, &runs, "40 nodes, 1 KB").unwrap();
        assert_pngs(
            &dir.0,
            &written,
            &[COMPARE_LATENCY_CDF, COMPARE_BYTES_PER_NODE],
        );
    }

    #[test]
    fn empty_and_degenerate_runs_draw_without_panicking() {
        let dir = TempDir::new("empty");
        let four = [LATENCY_CDF, BYTES_PER_NODE, COPIES_PER_NODE, HOPS];
        let empty = RunResult::default();
        assert_pngs(&dir.0, &draw_all(&dir.0, &empty, "empty").unwrap(), &four);

        // Messages that reached nobody, attackers only.
        let unreached = RunResult {
            messages: vec![MessageRecord {
                targets: 5,
                ..MessageRecord::default()
            }],
            node_records: vec![NodeRecord {
                attacker: true,
                ..NodeRecord::default()
            }],
            ..RunResult::default()
        };
        assert_pngs(&dir.0, &draw_all(&dir.0, &unreached, "x").unwrap(), &four);

        // One arrival at 0 ms, one hop count, one node, one eclipse sample, huge byte counts.
        let single = RunResult {
            messages: vec![MessageRecord {
                arrivals: vec![Arrival {
                    node: 1,
                    delay_us: 0,
                    hops: 3,
                }],
                targets: 1,
                ..MessageRecord::default()
            }],
            node_records: vec![NodeRecord {
                copies: 2,
                payload_up: u64::MAX / 4,
                delegate: true,
                ..NodeRecord::default()
            }],
            eclipse: vec![EclipseSample {
                t_secs: 10.0,
                mean_share: 1.0,
                max_share: 1.0,
            }],
            ..RunResult::default()
        };
        let mut five = four.to_vec();
        five.push(ECLIPSE_SHARE);
        assert_pngs(&dir.0, &draw_all(&dir.0, &single, "one").unwrap(), &five);

        let runs = [("empty", &empty), ("single", &single)];
        let both = [COMPARE_LATENCY_CDF, COMPARE_BYTES_PER_NODE];
        assert_pngs(&dir.0, &draw_comparison(&dir.0, &runs, "").unwrap(), &both);
        assert_pngs(
            &dir.0,
            &draw_comparison(&dir.0, &[], "none").unwrap(),
            &both,
        );
    }

    #[test]
    fn unwritable_directory_is_an_error() {
        let dir = TempDir::new("file");
        fs::write(&dir.0, b"not a directory").unwrap();
        let err = draw_all(&dir.0.join("sub"), &synthetic(1), "t").unwrap_err();
        assert!(err.contains("sub"), "{err}");
    }

    #[test]
    fn cdf_points_are_steps_then_a_line() {
        assert_eq!(
            cdf_points(&[1.0, 3.0]),
            vec![(1.0, 0.0), (1.0, 0.5), (3.0, 0.5), (3.0, 1.0)]
        );
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let points = cdf_points(&many);
        assert_eq!(points.len(), 1001);
        assert_eq!(points[0], (0.0, 0.0));
        assert_eq!(points[1000], (999.0, 1.0));
        let thin = simplify(&points, 999.0, 1.0);
        assert!(thin.len() < 400, "{}", thin.len());
        assert_eq!((thin[0], thin[thin.len() - 1]), (points[0], points[1000]));
    }

    #[test]
    fn histogram_bins_are_round_and_shares_add_up() {
        let (bins, width) = histogram(&[4.0, 5.0, 5.0, 6.0, 54.0]);
        assert_eq!(width, 2.0);
        assert_eq!(bins.first(), Some(&(4.0, 0.2)));
        assert_eq!(bins.last(), Some(&(54.0, 0.2)));
        assert!((bins.iter().map(|b| b.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(histogram(&[7.0, 7.0]), (vec![(7.0, 1.0)], 1.0));
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(20.0), 20.0);
        assert_eq!(nice_step(21.0), 50.0);
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(fmt_num(1200.0), "1200");
        assert_eq!(fmt_num(40.0), "40");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(0.0005), "0.0005");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(4.2e9), "4.20e9");
        assert_eq!(fmt_num(7.876), "7.88");
        assert_eq!(fmt_count(99_802), "99,802");
        assert_eq!(fmt_count(100), "100");
        assert_eq!(counted(1, "node"), "1 node");
        assert_eq!(counted(1000, "node"), "1,000 nodes");
        assert_eq!(byte_unit(3000.0), ("KiB", 1024.0));
    }

    #[test]
    fn canvas_sets_text_from_the_embedded_font() {
        let mut rgb = vec![255u8; 200 * 40 * 3];
        let mut canvas = Canvas {
            bitmap: BitMapBackend::with_buffer(&mut rgb, (200, 40)),
            font: font().unwrap(),
        };
        let style = TextStyle::from((FontFamily::SansSerif, 20).into_font());
        let (w1, h) = canvas.estimate_text_size("1", &style).unwrap();
        let (w11, _) = canvas.estimate_text_size("11", &style).unwrap();
        assert!(w1 > 5 && (19..=21).contains(&h), "{w1} × {h}");
        assert!(w11 >= 2 * w1 - 1 && w11 <= 2 * w1 + 1, "{w1} then {w11}");
        canvas.draw_text("Hello", &style, (5, 5)).unwrap();
        drop(canvas);
        assert!(rgb.iter().any(|&b| b < 128), "no dark pixel drawn");
    }
}
