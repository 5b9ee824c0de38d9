//! `report.html`: one simulation run as a self-contained page (no scripts, fonts or external
//! CSS) — the summary table and inline SVG plots drawn by hand from a [`Report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{Mark, NodeBytes, Point, Report};

/// Plot size in pixels, and the margins around the plotting area.
const W: f64 = 900.0;
const H: f64 = 320.0;
const ML: f64 = 72.0;
const MR: f64 = 28.0;
const MT: f64 = 26.0;
const MB: f64 = 48.0;
/// Timeline strip: height and the y of its axis.
const TH: f64 = 170.0;
const TAXIS: f64 = 130.0;

/// Page style, the palette included (SVG elements use these classes).
const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:940px}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 12px 2px 0;text-align:left;\
border-bottom:1px solid #e4e4e4}.nodata{color:#888;font-style:italic}ul{font-size:90%}\
svg{display:block}.grid{stroke:#e6e6e6}.ax{stroke:#333}.m{text-anchor:middle}\
.e{text-anchor:end}.lbl{paint-order:stroke;stroke:#fff;stroke-width:3px;fill:#333}\
.curve{fill:none;stroke:#1f77b4;stroke-width:1.8}.pc{stroke:#ff7f0e;stroke-dasharray:5 4}\
.pct{fill:#ff7f0e}.mk{stroke:#666;stroke-dasharray:4 3}.band{fill:#f8d0d0;fill-opacity:.6}\
.bt{fill:#a33}.sent{fill:#2ca02c}.recv{fill:#1f77b4}";

/// HTML-escapes `s` for text and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A coordinate with one decimal; 0 for a non-finite value so no `NaN` reaches the SVG.
fn f1(v: f64) -> String {
    format!("{:.1}", if v.is_finite() { v } else { 0.0 })
}

/// `v` with as many decimals as a tick `step` needs.
fn num(v: f64, step: f64) -> String {
    let d = (-step.log10()).ceil().clamp(0.0, 6.0) as usize; // NaN: 0
    format!("{:.d$}", v + 0.0)
}

/// The 1, 2 or 5 × 10^k step that cuts `span` into about `n` parts.
fn nice_step(span: f64, n: usize) -> f64 {
    let raw = span / n.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 5.0].into_iter().find(|m| m * mag >= raw * 0.999);
    m.unwrap_or(10.0) * mag
}

/// Round ticks (about `n`, at most 50) from at or below `lo` to at or above `hi`.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = match ((hi - lo).is_finite(), hi > lo) {
        (true, true) => (lo, hi),
        (true, false) if lo != 0.0 => (lo - lo.abs() / 2.0, lo + lo.abs() / 2.0),
        _ => (0.0, 1.0),
    };
    let step = nice_step(hi - lo, n);
    let a = (lo / step + 1e-9).floor() as i64;
    let b = (hi / step - 1e-9).ceil() as i64;
    let ticks = (a..=b.max(a.saturating_add(1))).take(50);
    ticks.map(|i| i as f64 * step).collect()
}

/// A plot axis: data range, pixel range, linear or log10, and labelled ticks.
struct Axis {
    lo: f64,
    hi: f64,
    px: (f64, f64),
    log: bool,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Over `lo..=hi` widened to round ticks: log10 (whole decades; `lo` > 0) or linear,
    /// counted in `unit`s labelled `suffix`.
    fn new(lo: f64, hi: f64, px: (f64, f64), log: bool, (unit, suffix): (f64, &str)) -> Self {
        let mut ticks = Vec::new();
        let (lo, hi) = if log {
            let a = lo.log10().floor() as i32;
            let b = (hi.log10().ceil() as i32).max(a + 1);
            let ms: &[f64] = if b - a <= 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
            for (e, m) in (a..=b).flat_map(|e| ms.iter().map(move |m| (e, *m))) {
                let d = 10f64.powi(e);
                if e < b || m == 1.0 {
                    ticks.push((m * d, num(m * d, d)));
                }
            }
            (10f64.powi(a), 10f64.powi(b))
        } else {
            let t = nice_ticks(lo / unit, hi / unit, 6);
            let step = t.get(1).zip(t.first()).map_or(1.0, |(b, a)| b - a);
            for v in &t {
                ticks.push((v * unit, format!("{}{suffix}", num(*v, step))));
            }
            let lo = t.first().map_or(0.0, |v| v * unit);
            (lo, t.last().map_or(1.0, |v| v * unit))
        };
        Axis {
            lo,
            hi,
            px,
            log,
            ticks,
        }
    }

    /// Pixel position of `v`.
    fn at(&self, v: f64) -> f64 {
        let t = |v: f64| if self.log { v.max(1e-300).log10() } else { v };
        let (a, b) = (t(self.lo), t(self.hi));
        let share = if b > a { (t(v) - a) / (b - a) } else { 0.0 };
        self.px.0 + share * (self.px.1 - self.px.0)
    }

    fn contains(&self, v: f64) -> bool {
        v.is_finite() && v >= self.lo && v <= self.hi && (!self.log || v > 0.0)
    }

    /// `v` moved into the axis range.
    fn clamp(&self, v: f64) -> f64 {
        v.max(self.lo).min(self.hi)
    }

    /// Ticks as (pixel, label).
    fn placed(&self) -> Vec<(f64, String)> {
        self.ticks
            .iter()
            .map(|(v, l)| (self.at(*v), l.clone()))
            .collect()
    }
}

fn ln(s: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &str) {
    let (a, b, c, d) = (f1(x1), f1(y1), f1(x2), f1(y2));
    let _ = write!(s, r#"<line x1="{a}" y1="{b}" x2="{c}" y2="{d}"{attrs}/>"#);
}

fn txt(s: &mut String, (x, y): (f64, f64), attrs: &str, body: &str) {
    let (x, y, body) = (f1(x), f1(y), esc(body));
    let _ = write!(s, r#"<text x="{x}" y="{y}"{attrs}>{body}</text>"#);
}

fn rect(s: &mut String, (x, y): (f64, f64), (w, h): (f64, f64), a: &str) {
    let (x, y, w, h) = (f1(x), f1(y), f1(w), f1(h));
    let _ = write!(s, r#"<rect x="{x}" y="{y}" width="{w}" height="{h}"{a}/>"#);
}

fn svg_open(s: &mut String, h: f64) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="11">"#
    );
}

/// Grid, axes, tick labels and axis titles of a standard plot; `xt` are (pixel, label).
fn frame(s: &mut String, xt: &[(f64, String)], y: &Axis, xlabel: &str, ylabel: &str) {
    let (bot, right, mid) = (H - MB, W - MR, (MT + H - MB) / 2.0);
    s.push_str(r#"<g class="grid">"#);
    for (p, _) in xt {
        ln(s, (*p, MT), (*p, bot), "");
    }
    for (v, _) in &y.ticks {
        ln(s, (ML, y.at(*v)), (right, y.at(*v)), "");
    }
    s.push_str(r#"</g><g class="ax">"#);
    ln(s, (ML, MT), (ML, bot), "");
    ln(s, (ML, bot), (right, bot), "");
    s.push_str(r#"</g><g class="m">"#);
    for (p, l) in xt {
        txt(s, (*p, bot + 15.0), "", l);
    }
    txt(s, ((ML + right) / 2.0, H - 8.0), "", xlabel);
    let rotate = format!(r#" transform="rotate(-90 14 {})""#, f1(mid));
    txt(s, (14.0, mid), &rotate, ylabel);
    s.push_str(r#"</g><g class="e">"#);
    for (v, l) in &y.ticks {
        txt(s, (ML - 5.0, y.at(*v) + 4.0), "", l);
    }
    s.push_str("</g>");
}

/// The marks at the times `keep` keeps, sorted by time.
fn sorted_marks(marks: &[Mark], keep: impl Fn(f64) -> bool) -> Vec<&Mark> {
    let mut m: Vec<&Mark> = marks.iter().filter(|m| keep(m.t_s)).collect();
    m.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    m
}

/// Partitioned intervals: each `partition…` mark to the next `heal…` mark.
fn partitions(marks: &[Mark]) -> Vec<(f64, f64)> {
    let (mut open, mut out) = (None, Vec::new());
    for m in sorted_marks(marks, f64::is_finite) {
        if m.label.starts_with("partition") {
            open = open.or(Some(m.t_s));
        } else if m.label.starts_with("heal")
            && let Some(a) = open.take()
        {
            out.push((a, m.t_s));
        }
    }
    out
}

/// Shades the partitioned intervals from `top` to `bottom`, labelled at `label_y`.
fn bands(s: &mut String, x: &Axis, marks: &[Mark], (top, bottom): (f64, f64), label_y: f64) {
    for (a, b) in partitions(marks) {
        let (a, b) = (x.at(x.clamp(a)), x.at(x.clamp(b)));
        rect(s, (a, top), (b - a, bottom - top), r#" class="band""#);
        let at = ((a + b) / 2.0, label_y);
        txt(s, at, r#" class="lbl m bt""#, "partitioned");
    }
}

/// Marks as dashed vertical lines over `span` (top, bottom), their labels packed into rows
/// (`rows`: how many, y of the first, y step) so that labels in a row don't overlap.
fn marks(s: &mut String, x: &Axis, marks: &[Mark], span: (f64, f64), rows: (usize, f64, f64)) {
    let mut ends = vec![f64::NEG_INFINITY; rows.0.max(1)];
    for m in sorted_marks(marks, |t| x.contains(t)) {
        let p = x.at(m.t_s);
        let w = m.label.chars().count() as f64 * 6.2 + 6.0;
        let right = p + w > W - 2.0;
        let start = if right { p - w } else { p };
        let free = ends.iter().position(|e| *e < start);
        let least = (0..ends.len()).min_by(|a, b| ends[*a].total_cmp(&ends[*b]));
        let r = free.or(least).unwrap_or(0);
        ends[r] = start + w;
        ln(s, (p, span.0), (p, span.1), r#" class="mk""#);
        let class = [r#" class="lbl""#, r#" class="lbl e""#][usize::from(right)];
        let lx = p + if right { -3.0 } else { 3.0 };
        txt(s, (lx, rows.1 + rows.2 * r as f64), class, &m.label);
    }
}

fn no_data(s: &mut String, what: &str) {
    let _ = write!(s, r#"<p class="nodata">{}</p>"#, esc(what));
}

/// Finite points, sorted by x.
fn clean(points: &[Point]) -> Vec<Point> {
    let mut p = points.to_vec();
    p.retain(|(x, y)| x.is_finite() && y.is_finite());
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    p
}

fn curve(s: &mut String, x: &Axis, y: &Axis, pts: &[Point]) {
    s.push_str(r#"<polyline class="curve" points=""#);
    for (a, b) in pts {
        let _ = write!(s, "{},{} ", f1(x.at(*a)), f1(y.at(y.clamp(*b))));
    }
    s.push_str(r#""/>"#);
}

fn latency_cdf(s: &mut String, r: &Report) {
    let pts = clean(&r.latency_cdf);
    let min_pos = pts.iter().map(|p| p.0).find(|v| *v > 0.0);
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
        return no_data(s, "no data");
    };
    let log = min_pos.is_some_and(|lo| last.0 / lo > 100.0);
    let lo = min_pos.filter(|_| log).unwrap_or(first.0.min(0.0));
    let x = Axis::new(lo, last.0, (ML, W - MR), log, (1.0, ""));
    let pts: Vec<Point> = pts.iter().copied().filter(|p| x.contains(p.0)).collect();
    let y = Axis::new(0.0, 1.0, (H - MB, MT), false, (1.0, ""));
    svg_open(s, H);
    let xlabel = ["latency (ms)", "latency (ms, log scale)"][usize::from(log)];
    frame(s, &x.placed(), &y, xlabel, "share of delivered pairs ≤ x");
    curve(s, &x, &y, &pts);
    let p = &r.latency_ms;
    for (i, (name, v)) in [("p50", p.p50), ("p99", p.p99)].into_iter().enumerate() {
        if x.contains(v) {
            ln(s, (x.at(v), MT), (x.at(v), H - MB), r#" class="pc""#);
            let at = (x.at(v) + 4.0, MT + 14.0 + 14.0 * i as f64);
            txt(s, at, r#" class="lbl pct""#, &format!("{name} {v:.0} ms"));
        }
    }
    s.push_str("</svg>");
}

/// End of the time axis: workload + settle, or the last time seen if later.
fn run_end(r: &Report, times: impl Iterator<Item = f64>) -> f64 {
    let all = times.chain([r.duration_s + r.settle_s]);
    let all = all.chain(r.timeline.iter().map(|m| m.t_s));
    all.filter(|v| v.is_finite()).fold(0.0, f64::max)
}

fn delivery(s: &mut String, r: &Report) {
    let pts = clean(&r.delivery_over_time);
    let Some(first) = pts.first() else {
        return no_data(s, "no data");
    };
    let end = run_end(r, pts.iter().map(|p| p.0));
    let x = Axis::new(first.0.min(0.0), end, (ML, W - MR), false, (1.0, ""));
    let y = Axis::new(0.0, 1.0, (H - MB, MT), false, (1.0, ""));
    svg_open(s, H);
    bands(s, &x, &r.timeline, (MT, H - MB), MT + 30.0);
    frame(s, &x.placed(), &y, "seconds since start", "delivery ratio");
    marks(s, &x, &r.timeline, (MT, H - MB), (3, H - MB - 6.0, -13.0));
    curve(s, &x, &y, &pts);
    s.push_str("</svg>");
}

fn bytes_per_node(s: &mut String, r: &Report) {
    let mut nodes: Vec<&NodeBytes> = r.per_node.iter().collect();
    if nodes.is_empty() {
        return no_data(s, "no data");
    }
    nodes.sort_by_key(|n| n.node);
    let max = nodes.iter().fold(0, |m, n| m.max(n.sent).max(n.received)) as f64;
    let k = (max.max(1.0).log2() / 10.0).floor().min(3.0) as usize;
    let unit = (1024f64.powi(k as i32), [" B", " KiB", " MiB", " GiB"][k]);
    let y = Axis::new(0.0, max, (H - MB, MT), false, unit);
    let gw = (W - MR - ML) / nodes.len() as f64;
    let every = nice_step(nodes.len() as f64, 15).max(1.0) as usize;
    let mut xt = Vec::new();
    for (i, n) in nodes.iter().enumerate().step_by(every) {
        xt.push((ML + (i as f64 + 0.5) * gw, n.node.to_string()));
    }
    svg_open(s, H);
    frame(s, &xt, &y, "node", "bytes");
    for (k, class) in [(0.0, "sent"), (1.0, "recv")] {
        let _ = write!(s, r#"<g class="{class}">"#);
        for (i, n) in nodes.iter().enumerate() {
            let top = y.at(if k == 0.0 { n.sent } else { n.received } as f64);
            let x0 = ML + (i as f64 + 0.1 + 0.4 * k) * gw;
            rect(s, (x0, top), (gw * 0.4, y.at(0.0) - top), "");
        }
        s.push_str("</g>");
    }
    for (i, name) in ["sent", "received"].into_iter().enumerate() {
        let (lx, class) = (W - MR - 150.0 + 75.0 * i as f64, ["sent", "recv"][i]);
        let class = format!(r#" class="{class}""#);
        rect(s, (lx, 6.0), (10.0, 10.0), &class);
        txt(s, (lx + 14.0, 15.0), "", name);
    }
    s.push_str("</svg>");
    let mut links: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.link != "lan") {
        links.entry(&n.link).or_default().push(n.node.to_string());
    }
    if !links.is_empty() {
        s.push_str("<ul>");
        for (link, ids) in links {
            let more = match ids.len() {
                n if n > 40 => format!(" (+{} more)", n - 40),
                _ => String::new(),
            };
            let shown = ids[..ids.len().min(40)].join(", ");
            let _ = write!(s, "<li>{}: nodes {shown}{more}</li>", esc(link));
        }
        s.push_str("</ul>");
    }
}

fn timeline(s: &mut String, r: &Report) {
    if r.timeline.iter().all(|m| !m.t_s.is_finite()) {
        return no_data(s, "no faults in this scenario");
    }
    let end = run_end(r, std::iter::empty());
    let x = Axis::new(0.0, end, (ML, W - MR), false, (1.0, ""));
    svg_open(s, TH);
    bands(s, &x, &r.timeline, (6.0, TAXIS), TAXIS - 6.0);
    ln(s, (ML, TAXIS), (W - MR, TAXIS), r#" class="ax""#);
    s.push_str(r#"<g class="m">"#);
    for (p, l) in x.placed() {
        ln(s, (p, TAXIS), (p, TAXIS + 5.0), r#" class="ax""#);
        txt(s, (p, TAXIS + 17.0), "", &l);
    }
    let at = ((ML + W - MR) / 2.0, TH - 6.0);
    txt(s, at, "", "seconds since start");
    s.push_str("</g>");
    marks(s, &x, &r.timeline, (6.0, TAXIS), (7, 18.0, 14.0));
    s.push_str("</svg>");
}

/// The report as one self-contained HTML page with SVG plots.
pub fn render(report: &Report) -> String {
    let r = report;
    let (scenario, nodes, seed) = (&r.scenario, r.nodes, r.seed);
    let title = format!("fieldmesh simulation — {scenario}, {nodes} nodes, seed {seed}");
    let title = esc(&title);
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{CSS}</style></head><body>\n<h1>{title}</h1>\n<table>"
    );
    for line in r.summary().lines() {
        let (k, v) = line.split_once("  ").unwrap_or((line, ""));
        let (k, v) = (esc(k.trim()), esc(v.trim()));
        let _ = write!(s, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    s.push_str("</table>\n");
    type Plot = fn(&mut String, &Report);
    let plots: [(&str, Plot); 4] = [
        ("Latency CDF", latency_cdf),
        ("Delivery over time", delivery),
        ("Bytes per node", bytes_per_node),
        ("Partition / heal timeline", timeline),
    ];
    for (name, draw) in plots {
        let _ = writeln!(s, "<h2>{name}</h2>");
        draw(&mut s, r);
        s.push('\n');
    }
    if !r.islands.is_empty() {
        s.push_str("<h2>Island nodes</h2>\n<table><tr><th>node</th><th>budget kbit/s</th>");
        s.push_str("<th>used kbit/s</th><th>delivered</th></tr>");
        for i in &r.islands {
            let (n, b, u, d) = (i.node, i.budget_kbps, i.used_kbps, i.delivered);
            let row = format!("{n}</td><td>{b:.1}</td><td>{u:.2}</td><td>{d:.3}");
            let _ = write!(s, "<tr><td>{row}</td></tr>");
        }
        s.push_str("</table>\n");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests;
