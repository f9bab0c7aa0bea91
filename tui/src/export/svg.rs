//! Panels and dashboards as SVG pictures drawn for a page: a title, a time axis with
//! dates, a value axis in the panel's unit, the legend with the TUI's names and colours
//! (a table of the legend calculations, with the TUI's strings, when the panel has them),
//! threshold lines and bands, and a footer with the time range and the server (its URL
//! without credentials, as the status bar shows it).
//!
//! Graph lines are drawn from the raw answers (every sample), not the terminal's
//! downsampled columns. Output is deterministic: coordinates are rounded to 1/100 px and
//! nothing depends on the clock or the machine. Every text that came from a file or a
//! server is escaped twice: control characters made visible (as the TUI does) and XML
//! special characters replaced.
//!
//! The elements carry classes and `data-` attributes (`class="series"` with
//! `data-name`, `class="threshold"` with `data-value`, `class="plot"` with the axis
//! bounds in `data-lo`/`data-hi`/`data-start`/`data-end`, and `data-right-lo`/
//! `data-right-hi` for a right-hand axis) so tests and scripts can read a picture back.

use std::fmt::Write as _;

use promdash_queries::dashboard::{Color as DashColor, PanelKind, Unit};
use promdash_queries::grafana::fields::ThresholdsMode;
use promdash_queries::model::Sample;
use promdash_queries::text::escaped;
use ratatui::layout::Rect;
use ratatui::style::Color;

use super::png::{Canvas, parse_hex};
use super::{PageSize, Target};
use crate::app::State;
use crate::panel::PanelState;
use crate::ticks::nice_scale;
use crate::units::Format;

/// The font every text is set in (bundled for PNGs, see [`super::png`]).
pub const FONT: &str = "DejaVu Sans";

/// Average advance of a DejaVu Sans character, in em: for fitting text, not drawing it.
const CHAR_EM: f64 = 0.6;

/// Height of the time axis under a plot: tick labels and dates.
const AXIS_H: f64 = 40.0;

const INK: &str = "#222222";
const DIM: &str = "#666666";
const GRID: &str = "#e6e6e6";
const BORDER: &str = "#cccccc";
const ERROR: &str = "#c62828";
const STALE: &str = "#b26a00";

/// A terminal colour as drawn on a white page: the same hue, dark enough to read.
pub fn page_color(c: Color) -> String {
    let hex = match c {
        Color::Green => "#2ca02c",
        Color::Yellow => "#c9a100",
        Color::Cyan => "#1796a8",
        Color::Magenta => "#b8379b",
        Color::LightBlue => "#3b78d8",
        Color::LightRed => "#e0533d",
        Color::LightGreen => "#6bbf3f",
        Color::LightYellow => "#a89a00",
        Color::LightCyan => "#20b8c9",
        Color::LightMagenta => "#d162d1",
        Color::Red => "#d62728",
        Color::Blue => "#1f5fd1",
        Color::Gray => "#8a8a8a",
        Color::DarkGray => "#555555",
        Color::White => "#bdbdbd",
        Color::Black | Color::Reset => INK,
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(_) => INK,
    };
    hex.to_owned()
}

/// A dashboard colour (thresholds) on a page.
pub fn dash_color(c: DashColor) -> String {
    match c {
        DashColor::Red => "#d62728".to_owned(),
        DashColor::Orange => "#f08c00".to_owned(),
        DashColor::Yellow => "#e0b400".to_owned(),
        other => page_color(crate::ui::color(other)),
    }
}

/// The colour of series colour index `c` (1-based, as [`crate::panel::SeriesView`]).
pub fn series_color(c: u8) -> String {
    page_color(crate::ui::RASTER_PALETTE[usize::from(c).min(crate::ui::PALETTE_LEN)])
}

/// A number for an attribute: at most two decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let mut s = format!("{r:.2}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// Text for XML: control characters made visible first, then `& < > " '` replaced.
pub fn xml(s: &str) -> String {
    let visible = escaped(s);
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to about `width` px at `size` px per em, with `…` when cut.
pub fn fit(s: &str, width: f64, size: f64) -> String {
    let max = (width / (size * CHAR_EM)).floor().max(0.0) as usize;
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Width of `s` in bold, in em: the bundled font's own advances, so a large value fits
/// its panel (bold digits run wider than [`CHAR_EM`]).
fn bold_em(s: &str) -> f64 {
    f64::from(super::font::width(s, 1.0, true)).max(CHAR_EM)
}

fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * CHAR_EM
}

/// A box on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Area {
    fn right(&self) -> f64 {
        self.x + self.w
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// Appends a rectangle's geometry: ` x=".." y=".." width=".." height=".."` (a negative
/// size drawn as empty).
fn put_box(out: &mut String, a: Area) {
    for (name, v) in [
        (" x=\"", a.x),
        ("\" y=\"", a.y),
        ("\" width=\"", a.w.max(0.0)),
        ("\" height=\"", a.h.max(0.0)),
    ] {
        out.push_str(name);
        put_num(out, v);
    }
    out.push('"');
}

/// Appends `v` with at most two decimals and no trailing zeros (as [`num`], without
/// allocating: path data is most of a picture's text).
pub fn put_num(out: &mut String, v: f64) {
    let r = (v * 100.0).round();
    if !r.is_finite() || r.abs() >= 9.0e15 {
        out.push_str(&num(v));
        return;
    }
    let r = r as i64;
    if r < 0 {
        out.push('-');
    }
    let a = r.unsigned_abs();
    let (int, frac) = (a / 100, a % 100);
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut i = int;
    loop {
        digits[n] = b'0' + (i % 10) as u8;
        n += 1;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    for d in digits[..n].iter().rev() {
        out.push(char::from(*d));
    }
    if frac != 0 {
        out.push('.');
        out.push(char::from(b'0' + (frac / 10) as u8));
        if frac % 10 != 0 {
            out.push(char::from(b'0' + (frac % 10) as u8));
        }
    }
}

/// How a rectangle is painted besides its fill.
#[derive(Debug, Clone, Copy, Default)]
struct Look<'a> {
    /// Corner radius.
    rx: f64,
    /// Outline: colour, width, opacity.
    stroke: Option<(&'a str, f64, f64)>,
    fill_opacity: Option<f64>,
    class: &'a str,
}

/// A stroked line or path.
#[derive(Debug, Clone, Copy)]
struct Pen<'a> {
    color: &'a str,
    width: f64,
    opacity: f64,
    class: &'a str,
}

/// Where a picture goes.
enum Sink {
    /// SVG text.
    Svg(String),
    /// Pixels, for a PNG.
    Png(Box<Canvas>),
}

/// A picture being drawn: the same calls write SVG elements or paint pixels, so a PNG
/// shows exactly what its SVG says. Classes, `data-` attributes and groups exist only in
/// the SVG.
struct Doc {
    sink: Sink,
    clip: usize,
}

impl Doc {
    fn svg(w: f64, h: f64) -> Self {
        let mut out = String::with_capacity(256 * 1024);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\">\n\
             <rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n",
            w = num(w),
            h = num(h),
        );
        Self {
            sink: Sink::Svg(out),
            clip: 0,
        }
    }

    fn png(w: u32, h: u32) -> Result<Self, String> {
        Ok(Self {
            sink: Sink::Png(Box::new(Canvas::new(w, h)?)),
            clip: 0,
        })
    }

    /// The SVG text, when writing one.
    fn out(&mut self) -> Option<&mut String> {
        match &mut self.sink {
            Sink::Svg(s) => Some(s),
            Sink::Png(_) => None,
        }
    }

    /// Starts a group for readers of the SVG (`attrs` is only made for one); close it
    /// with [`Self::end_group`].
    fn group(&mut self, attrs: impl FnOnce() -> String) {
        if let Some(out) = self.out() {
            let _ = writeln!(out, "<g {}>", attrs());
        }
    }

    fn end_group(&mut self) {
        if let Some(out) = self.out() {
            out.push_str("</g>\n");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        x: f64,
        y: f64,
        size: f64,
        anchor: &str,
        weight: &str,
        fill: &str,
        class: &str,
        content: &str,
    ) {
        match &mut self.sink {
            Sink::Svg(out) => {
                out.push_str("<text x=\"");
                put_num(out, x);
                out.push_str("\" y=\"");
                put_num(out, y);
                out.push_str("\" font-size=\"");
                put_num(out, size);
                let _ = write!(out, "\" fill=\"{fill}\"");
                if anchor != "start" {
                    let _ = write!(out, " text-anchor=\"{anchor}\"");
                }
                if weight != "normal" {
                    let _ = write!(out, " font-weight=\"{weight}\"");
                }
                if !class.is_empty() {
                    let _ = write!(out, " class=\"{class}\"");
                }
                let _ = writeln!(out, ">{}</text>", xml(content));
            }
            Sink::Png(c) => {
                c.text(
                    x,
                    y,
                    size,
                    anchor,
                    weight == "bold",
                    parse_hex(fill),
                    &escaped(content),
                );
            }
        }
    }

    /// A legend entry's text: the series name, then its last value in bold.
    fn legend_text(&mut self, x: f64, y: f64, size: f64, name: &str, last: &str) {
        match &mut self.sink {
            Sink::Svg(out) => {
                out.push_str("<text class=\"legend\" x=\"");
                put_num(out, x);
                out.push_str("\" y=\"");
                put_num(out, y);
                out.push_str("\" font-size=\"");
                put_num(out, size);
                let _ = writeln!(
                    out,
                    "\" fill=\"{INK}\">{} <tspan font-weight=\"bold\">{}</tspan></text>",
                    xml(name),
                    xml(last)
                );
            }
            Sink::Png(c) => {
                let ink = parse_hex(INK);
                let end = c.text(
                    x,
                    y,
                    size,
                    "start",
                    false,
                    ink,
                    &escaped(&format!("{name} ")),
                );
                c.text(end, y, size, "start", true, ink, &escaped(last));
            }
        }
    }

    fn rect(&mut self, a: Area, fill: &str, look: Look<'_>) {
        match &mut self.sink {
            Sink::Svg(out) => {
                out.push_str("<rect");
                put_box(out, a);
                let _ = write!(out, " fill=\"{fill}\"");
                if let Some(o) = look.fill_opacity {
                    out.push_str(" fill-opacity=\"");
                    put_num(out, o);
                    out.push('"');
                }
                if look.rx > 0.0 {
                    out.push_str(" rx=\"");
                    put_num(out, look.rx);
                    out.push('"');
                }
                if let Some((color, width, opacity)) = look.stroke {
                    let _ = write!(out, " stroke=\"{color}\"");
                    if width != 1.0 {
                        out.push_str(" stroke-width=\"");
                        put_num(out, width);
                        out.push('"');
                    }
                    if opacity != 1.0 {
                        out.push_str(" stroke-opacity=\"");
                        put_num(out, opacity);
                        out.push('"');
                    }
                }
                if !look.class.is_empty() {
                    let _ = write!(out, " class=\"{}\"", look.class);
                }
                out.push_str("/>\n");
            }
            Sink::Png(c) => c.rect(
                a,
                parse_hex(fill),
                look.fill_opacity.unwrap_or(1.0),
                look.rx,
                look.stroke.map(|(s, w, o)| (parse_hex(s), w, o)),
            ),
        }
    }

    /// A plain 1 px line.
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) {
        match &mut self.sink {
            Sink::Svg(out) => {
                out.push_str("<line x1=\"");
                put_num(out, x1);
                out.push_str("\" y1=\"");
                put_num(out, y1);
                out.push_str("\" x2=\"");
                put_num(out, x2);
                out.push_str("\" y2=\"");
                put_num(out, y2);
                let _ = writeln!(out, "\" stroke=\"{stroke}\"/>");
            }
            Sink::Png(c) => c.line((x1, y1), (x2, y2), parse_hex(stroke), 1.0, None),
        }
    }

    /// A threshold's line at `value`: `width` wide, dashed or not.
    fn threshold(
        &mut self,
        value: f64,
        from: (f64, f64),
        to: (f64, f64),
        pen: Pen<'_>,
        dashed: bool,
    ) {
        match &mut self.sink {
            Sink::Svg(out) => {
                let _ = write!(
                    out,
                    "<line class=\"threshold\" data-value=\"{value}\" x1=\""
                );
                put_num(out, from.0);
                out.push_str("\" y1=\"");
                put_num(out, from.1);
                out.push_str("\" x2=\"");
                put_num(out, to.0);
                out.push_str("\" y2=\"");
                put_num(out, to.1);
                let _ = write!(out, "\" stroke=\"{}\" stroke-width=\"", pen.color);
                put_num(out, pen.width);
                out.push('"');
                if dashed {
                    out.push_str(" stroke-dasharray=\"6 4\"");
                }
                out.push_str("/>\n");
            }
            Sink::Png(c) => c.line(
                from,
                to,
                parse_hex(pen.color),
                pen.width,
                dashed.then_some((6.0, 4.0)),
            ),
        }
    }

    /// Polylines, one per run of points (runs of one point are not drawn), with round
    /// joins; `name` becomes the path's `data-name`.
    fn polylines(&mut self, runs: &[Vec<(f64, f64)>], pen: Pen<'_>, name: Option<&str>) {
        if runs.iter().all(|r| r.len() < 2) {
            return;
        }
        match &mut self.sink {
            Sink::Svg(out) => {
                let _ = write!(out, "<path class=\"{}\"", pen.class);
                if let Some(name) = name {
                    let _ = write!(out, " data-name=\"{}\"", xml(name));
                }
                out.push_str(" d=\"");
                let mut first = true;
                for run in runs.iter().filter(|r| r.len() > 1) {
                    for (k, (x, y)) in run.iter().enumerate() {
                        if !first {
                            out.push(' ');
                        }
                        first = false;
                        out.push(if k == 0 { 'M' } else { 'L' });
                        put_num(out, *x);
                        out.push(' ');
                        put_num(out, *y);
                    }
                }
                let _ = write!(out, "\" fill=\"none\" stroke=\"{}\"", pen.color);
                if pen.opacity != 1.0 {
                    out.push_str(" stroke-opacity=\"");
                    put_num(out, pen.opacity);
                    out.push('"');
                }
                out.push_str(" stroke-width=\"");
                put_num(out, pen.width);
                out.push_str("\" stroke-linejoin=\"round\"/>\n");
            }
            Sink::Png(c) => c.polylines(runs, parse_hex(pen.color), pen.width, pen.opacity),
        }
    }

    /// A single sample drawn as a dot.
    fn dot(&mut self, name: &str, x: f64, y: f64, color: &str) {
        match &mut self.sink {
            Sink::Svg(out) => {
                let _ = write!(
                    out,
                    "<circle class=\"dot\" data-name=\"{}\" cx=\"",
                    xml(name)
                );
                put_num(out, x);
                out.push_str("\" cy=\"");
                put_num(out, y);
                let _ = writeln!(out, "\" r=\"2\" fill=\"{color}\"/>");
            }
            Sink::Png(c) => c.circle(x, y, 2.0, parse_hex(color)),
        }
    }

    /// A half-circle arc of radius `r` around (`cx`, `cy`) from ratio `from` to `to`
    /// (0 = left, 1 = right, over the top); `ratio` becomes `data-ratio`.
    #[allow(clippy::too_many_arguments)]
    fn arc(
        &mut self,
        cx: f64,
        cy: f64,
        r: f64,
        from: f64,
        to: f64,
        pen: Pen<'_>,
        ratio: Option<f64>,
    ) {
        match &mut self.sink {
            Sink::Svg(out) => {
                let _ = write!(out, "<path class=\"{}\"", pen.class);
                if let Some(ratio) = ratio {
                    let _ = write!(out, " data-ratio=\"{ratio}\"");
                }
                let _ = write!(
                    out,
                    " d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"",
                    arc_path(cx, cy, r, from, to),
                    pen.color
                );
                put_num(out, pen.width);
                out.push_str("\"/>\n");
            }
            Sink::Png(c) => {
                // About one point every 2 px along the arc.
                let n = ((to - from).abs() * std::f64::consts::PI * r / 2.0)
                    .ceil()
                    .max(2.0) as usize;
                let run: Vec<(f64, f64)> = (0..=n)
                    .map(|k| arc_point(cx, cy, r, from + (to - from) * k as f64 / n as f64))
                    .collect();
                c.polylines(&[run], parse_hex(pen.color), pen.width, pen.opacity);
            }
        }
    }

    /// Starts a group clipped to `a`; close it with [`Self::end_clip`].
    fn clipped(&mut self, a: Area) {
        self.clip += 1;
        let id = self.clip;
        match &mut self.sink {
            Sink::Svg(out) => {
                let _ = write!(out, "<clipPath id=\"c{id}\"><rect");
                put_box(out, a);
                let _ = writeln!(out, "/></clipPath>\n<g clip-path=\"url(#c{id})\">");
            }
            Sink::Png(c) => c.clip(a),
        }
    }

    fn end_clip(&mut self) {
        match &mut self.sink {
            Sink::Svg(out) => out.push_str("</g>\n"),
            Sink::Png(c) => c.unclip(),
        }
    }
}

/// The whole picture of `target` at `size`.
pub fn render(state: &State, target: Target, size: PageSize) -> String {
    let mut doc = Doc::svg(f64::from(size.width), f64::from(size.height));
    draw(&mut doc, state, target, size);
    match doc.sink {
        Sink::Svg(mut out) => {
            out.push_str("</svg>\n");
            out
        }
        Sink::Png(_) => unreachable!("made as SVG above"),
    }
}

/// The same picture painted as PNG bytes (see [`super::png`]).
pub fn paint(state: &State, target: Target, size: PageSize) -> Result<Vec<u8>, String> {
    let mut doc = Doc::png(size.width, size.height)?;
    draw(&mut doc, state, target, size);
    match doc.sink {
        Sink::Png(c) => c.finish(),
        Sink::Svg(_) => unreachable!("made as PNG above"),
    }
}

fn draw(doc: &mut Doc, state: &State, target: Target, size: PageSize) {
    let (w, h) = (f64::from(size.width), f64::from(size.height));
    let footer_h = 28.0;
    match target {
        Target::Panel(i) => {
            let a = Area {
                x: 8.0,
                y: 8.0,
                w: w - 16.0,
                h: h - 16.0 - footer_h,
            };
            draw_panel(doc, state, i, a);
        }
        Target::Dashboard => {
            let header_h = 44.0;
            doc.text(
                16.0,
                30.0,
                20.0,
                "start",
                "bold",
                INK,
                "dashboard-title",
                &fit(&state.dashboard.title, w * 0.6, 20.0),
            );
            alert_badges(doc, state, w);
            let grid = Area {
                x: 8.0,
                y: header_h,
                w: w - 16.0,
                h: h - header_h - footer_h,
            };
            for (i, a) in dashboard_layout(state, grid).into_iter().enumerate() {
                if let Some(a) = a {
                    draw_panel(doc, state, i, a);
                }
            }
        }
    }
    footer(doc, state, w, h - footer_h);
}

/// How much wider bold text runs than [`text_width`]'s estimate.
const BOLD_EM: f64 = 1.15;

/// The banner's firing and pending alerts, right-aligned in the page header, as the
/// TUI words them (silenced ones left out, as there).
fn alert_badges(doc: &mut Doc, state: &State, w: f64) {
    use promdash_queries::alert::AlertState;
    let loud = |i: &&promdash_queries::alert::AlertInstance| {
        !state.explore.is_silenced(&i.rule, &i.labels, state.now)
    };
    let mut x = w - 16.0;
    let size = 13.0;
    for wanted in [AlertState::Firing, AlertState::Pending] {
        for inst in state
            .alerts
            .instances()
            .filter(|i| i.state == wanted)
            .filter(loud)
        {
            let (text, style) = crate::ui::banner::segment(state, inst);
            let text = text.trim();
            // Bold capitals run wider than the average glyph `text_width` assumes.
            let bw = text_width(text, size) * BOLD_EM + 16.0;
            if x - bw < w * 0.45 {
                return;
            }
            x -= bw;
            let fill = style.bg.map_or("#ffffff".to_owned(), page_color);
            let ink = match style.fg {
                Some(Color::White) => "#ffffff".to_owned(),
                Some(c) => page_color(c),
                None => INK.to_owned(),
            };
            doc.rect(
                Area {
                    x,
                    y: 12.0,
                    w: bw,
                    h: 24.0,
                },
                &fill,
                Look {
                    rx: 4.0,
                    stroke: Some((&ink, 1.0, 0.4)),
                    class: "alert",
                    ..Look::default()
                },
            );
            doc.text(
                x + 8.0,
                29.0,
                size,
                "start",
                "bold",
                &ink,
                "alert-text",
                text,
            );
            x -= 8.0;
        }
    }
}

/// The footer: time range, server, and what drew it.
fn footer(doc: &mut Doc, state: &State, w: f64, y: f64) {
    let (start, end) = super::shown_window(state);
    let range = super::range_text(start, end, state.opts.utc_offset);
    let server = if state.opts.url.is_empty() {
        String::new()
    } else {
        format!("  ·  {}", state.opts.url)
    };
    doc.line(8.0, y + 4.0, w - 8.0, y + 4.0, BORDER);
    doc.text(
        12.0,
        y + 20.0,
        12.0,
        "start",
        "normal",
        DIM,
        "footer",
        &fit(&format!("{range}{server}"), w - 140.0, 12.0),
    );
    doc.text(
        w - 12.0,
        y + 20.0,
        12.0,
        "end",
        "normal",
        DIM,
        "",
        "promdash",
    );
}

/// The panels' boxes on a dashboard page: the TUI's 12-column flow, on a grid of cells
/// as tall as needed for every panel to have its comfortable height, scaled to the page.
pub fn dashboard_layout(state: &State, grid: Area) -> Vec<Option<Area>> {
    let slots: Vec<crate::layout::Slot> = state
        .dashboard
        .panels
        .iter()
        .enumerate()
        .map(|(i, p)| crate::layout::Slot {
            width: p.width,
            tall: matches!(
                p.kind,
                PanelKind::Graph | PanelKind::Table | PanelKind::Heatmap
            ),
            height: p.height,
            newline: state.vars.newline(i),
        })
        .collect();
    // Cells of about 10×20 px, more rows when the page is too short for every panel.
    let cols: u16 = 120;
    let mut rows = ((grid.h / 20.0).floor() as u16).max(8);
    let mut rects = crate::layout::grid(Rect::new(0, 0, cols, rows), &slots, 0);
    while rects.iter().any(Option::is_none) && rows < 2000 {
        rows += 8;
        rects = crate::layout::grid(Rect::new(0, 0, cols, rows), &slots, 0);
    }
    let (sx, sy) = (grid.w / f64::from(cols), grid.h / f64::from(rows));
    let gap = 4.0;
    rects
        .into_iter()
        .map(|r| {
            r.map(|r| Area {
                x: grid.x + f64::from(r.x) * sx + gap,
                y: grid.y + f64::from(r.y) * sy + gap,
                w: f64::from(r.width) * sx - 2.0 * gap,
                h: f64::from(r.height) * sy - 2.0 * gap,
            })
        })
        .collect()
}

/// One panel in `a`: its frame and title, then what its kind draws.
fn draw_panel(doc: &mut Doc, state: &State, i: usize, a: Area) {
    let (Some(panel), Some(ps)) = (state.dashboard.panels.get(i), state.panels.get(i)) else {
        return;
    };
    let firing = state.firing_panels().get(i).copied().unwrap_or(false);
    let border = if firing { "#d62728" } else { BORDER };
    let width = if firing { 2.5 } else { 1.0 };
    doc.group(|| {
        format!(
            "class=\"panel\" data-kind=\"{}\" data-title=\"{}\"",
            super::data::kind_str(panel.kind),
            xml(&panel.title)
        )
    });
    doc.rect(
        a,
        "#ffffff",
        Look {
            rx: 4.0,
            stroke: Some((border, width, 1.0)),
            ..Look::default()
        },
    );
    let title_size = 14.0;
    let stale = state.panel_is_stale(i);
    let title = fit(
        &panel.title,
        a.w - 24.0 - if stale { 50.0 } else { 0.0 },
        14.0,
    );
    doc.text(
        a.x + 10.0,
        a.y + 20.0,
        title_size,
        "start",
        "bold",
        INK,
        "title",
        &title,
    );
    if stale {
        doc.text(
            a.x + 16.0 + text_width(&title, title_size),
            a.y + 20.0,
            11.0,
            "start",
            "normal",
            STALE,
            "stale",
            "stale",
        );
    }
    let inner = Area {
        x: a.x + 10.0,
        y: a.y + 30.0,
        w: (a.w - 20.0).max(0.0),
        h: (a.h - 38.0).max(0.0),
    };
    match panel.kind {
        PanelKind::Graph => graph(doc, state, i, inner),
        PanelKind::Stat => stat(doc, state, i, inner, false),
        PanelKind::Gauge => stat(doc, state, i, inner, true),
        PanelKind::Table => table(doc, state, i, inner),
        PanelKind::Heatmap => heatmap(doc, state, i, inner),
        PanelKind::Text => {
            let text = panel.text.as_deref().unwrap_or("");
            note(doc, inner, &state.vars.title(text));
        }
    }
    if let Some(e) = ps.visible_error() {
        error_text(doc, inner, e);
    } else if !ps.loaded && panel.kind != PanelKind::Text {
        doc.text(
            inner.x + inner.w / 2.0,
            inner.y + inner.h / 2.0,
            13.0,
            "middle",
            "normal",
            DIM,
            "nodata",
            "no data",
        );
    }
    doc.end_group();
}

/// A text panel: its lines, each cut to the panel's width, as many as fit.
fn note(doc: &mut Doc, inner: Area, text: &str) {
    let size = 13.0;
    let rows = (inner.h / 18.0).floor().max(0.0) as usize;
    for (k, line) in text.lines().take(rows).enumerate() {
        doc.text(
            inner.x,
            inner.y + 14.0 + k as f64 * 18.0,
            size,
            "start",
            "normal",
            INK,
            "note",
            &fit(line, inner.w, size),
        );
    }
}

/// A query's error in red over the panel, wrapped to its width (at most four lines).
fn error_text(doc: &mut Doc, inner: Area, e: &str) {
    let size = 12.0;
    let per_line = ((inner.w - 16.0) / (size * CHAR_EM)).floor().max(8.0) as usize;
    let msg: Vec<char> = format!("error: {}", escaped(e)).chars().collect();
    let lines: Vec<String> = msg
        .chunks(per_line)
        .take(4)
        .map(|c| c.iter().collect())
        .collect();
    let h = lines.len() as f64 * 16.0 + 8.0;
    doc.rect(
        Area {
            x: inner.x,
            y: inner.y,
            w: inner.w,
            h,
        },
        "#fdecea",
        Look {
            rx: 3.0,
            ..Look::default()
        },
    );
    for (k, line) in lines.iter().enumerate() {
        // Already escaped for display: only XML escaping is left, which `text` does.
        doc.text(
            inner.x + 8.0,
            inner.y + 17.0 + k as f64 * 16.0,
            size,
            "start",
            "normal",
            ERROR,
            "error",
            line,
        );
    }
}

/// A series to draw: its name, colour and points.
struct Line {
    name: String,
    color: String,
    /// The points as the TUI draws them (negated for negative-Y, stacked), every one.
    samples: Vec<Sample>,
    step: f64,
    /// Against the right-hand axis.
    right: bool,
    /// Hidden by an override: in the legend, not on the plot.
    invisible: bool,
}

/// The colour of a shown series on a page: its fixed colour from the field config, else
/// the palette's (as the TUI picks it).
pub fn view_color(s: &crate::panel::SeriesView) -> String {
    s.fixed.map_or_else(|| series_color(s.color), dash_color)
}

/// The series a graph shows, in the TUI's order, named and coloured as the TUI names
/// and colours them, with every point the TUI draws (the model's own
/// [`PanelState::drawn`]: tails, negative-Y, stacking; the series past its cap left
/// out).
fn graph_lines(state: &State, i: usize, ps: &PanelState) -> (Vec<Line>, bool, Option<Unit>) {
    let panel = &state.dashboard.panels[i];
    let drawn = ps.drawn(panel);
    let lines = ps
        .series
        .iter()
        .zip(drawn.points)
        .map(|(s, (samples, step))| Line {
            name: s.name.clone(),
            color: view_color(s),
            samples,
            step,
            right: s.right,
            invisible: s.invisible,
        })
        .collect();
    (lines, drawn.percent, drawn.right_unit)
}

/// A value axis over the visible series on one side (`right`): the samples' range
/// (from zero for non-negative data), stretched on the left to an absolute threshold
/// just above the data, as the TUI does.
fn value_scale(
    lines: &[Line],
    right: bool,
    thresholds: &[promdash_queries::dashboard::Threshold],
    ticks: usize,
) -> crate::ticks::Scale {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for l in lines.iter().filter(|l| l.right == right && !l.invisible) {
        for p in &l.samples {
            if p.v.is_finite() {
                lo = lo.min(p.v);
                hi = hi.max(p.v);
            }
        }
    }
    for t in thresholds {
        if hi.is_finite() && t.value > hi && t.value <= hi * 1.5 {
            hi = t.value;
        }
    }
    nice_scale(lo, hi, ticks)
}

/// Maps data to the plot: x from the window, y from the value scale.
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    pub plot: Area,
    pub start: f64,
    pub end: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Mapping {
    pub fn x(&self, t: f64) -> f64 {
        let span = self.end - self.start;
        if span > 0.0 {
            self.plot.x + (t - self.start) / span * self.plot.w
        } else {
            self.plot.x + self.plot.w / 2.0
        }
    }

    pub fn y(&self, v: f64) -> f64 {
        let span = self.hi - self.lo;
        if span > 0.0 {
            self.plot.y + (self.hi - v) / span * self.plot.h
        } else {
            self.plot.y + self.plot.h / 2.0
        }
    }
}

/// The points of one pixel column of a run: the first, the lowest, the highest and the
/// last sample in it, each with its place in the series.
#[derive(Clone, Copy)]
struct Column {
    x: i64,
    first: (usize, (f64, f64)),
    low: (usize, (f64, f64)),
    high: (usize, (f64, f64)),
    last: (usize, (f64, f64)),
}

impl Column {
    fn new(k: usize, p: (f64, f64)) -> Self {
        Self {
            x: p.0.floor() as i64,
            first: (k, p),
            low: (k, p),
            high: (k, p),
            last: (k, p),
        }
    }

    fn add(&mut self, k: usize, p: (f64, f64)) {
        // Page y grows downwards: the lowest value has the largest y.
        if p.1 > self.low.1.1 {
            self.low = (k, p);
        }
        if p.1 < self.high.1.1 {
            self.high = (k, p);
        }
        self.last = (k, p);
    }

    /// Its points in time order, each once.
    fn push_to(&self, run: &mut Vec<(f64, f64)>) {
        let mut pts = [self.first, self.low, self.high, self.last];
        pts.sort_by_key(|(k, _)| *k);
        let mut prev = None;
        for (k, p) in pts {
            if prev != Some(k) {
                run.push(p);
                prev = Some(k);
            }
        }
    }
}

/// Points on the page, in drawing order.
type Run = Vec<(f64, f64)>;

/// The runs of `samples` mapped to the plot, in time order: a new run after a gap
/// longer than 1.5 steps or a value that is not finite. Within a run, the samples that
/// fall in one pixel column are cut to the first, the lowest, the highest and the last
/// of them: the line through those reaches the same top and bottom in every column and
/// joins its neighbours at the same points as the line through all of them, with at
/// most four points per column however dense the data. Runs of one point are the
/// second list: drawn as dots.
fn series_runs(m: &Mapping, samples: &[Sample], step: f64) -> (Vec<Run>, Run) {
    let mut runs = Vec::new();
    let mut dots = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut col: Option<Column> = None;
    let mut flush = |run: &mut Vec<(f64, f64)>, col: &mut Option<Column>| {
        if let Some(c) = col.take() {
            c.push_to(run);
        }
        match run.len() {
            0 => {}
            1 => dots.push(run[0]),
            _ => runs.push(std::mem::take(run)),
        }
        run.clear();
    };
    let mut last_t = f64::NEG_INFINITY;
    for (k, s) in samples.iter().enumerate() {
        if !s.v.is_finite() || (step > 0.0 && s.t - last_t > step * 1.5) {
            flush(&mut run, &mut col);
        }
        last_t = s.t;
        if !s.v.is_finite() {
            continue;
        }
        let p = (m.x(s.t), m.y(s.v));
        match &mut col {
            Some(c) if c.x == p.0.floor() as i64 => c.add(k, p),
            _ => {
                if let Some(c) = col.replace(Column::new(k, p)) {
                    c.push_to(&mut run);
                }
            }
        }
    }
    flush(&mut run, &mut col);
    (runs, dots)
}

fn graph(doc: &mut Doc, state: &State, i: usize, inner: Area) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    let (lines, percent, right_unit) = graph_lines(state, i, ps);
    // The left axis in the panel's unit (fractions for a percent stack), the right one
    // in its series' unit.
    let percent_format = Format::PercentUnit;
    let format = if percent { &percent_format } else { &ps.format };
    let right_format = right_unit.as_ref().map(Format::from_unit);
    let right_format = right_format.as_ref().unwrap_or(&ps.format);
    // Legend rows below the plot: every entry if it fits in a third of the panel.
    let legend_size = 12.0;
    let entries: Vec<(String, String, String)> = ps
        .series
        .iter()
        .map(|s| (s.name.clone(), s.last_text.clone(), view_color(s)))
        .collect();
    let max_rows = ((inner.h / 3.0) / 18.0).floor().max(1.0) as usize;
    // With legend calculations, a table legend (as the TUI draws one) when it fits in
    // half the panel; else the plain legend.
    let table = if panel.legend_calcs.is_empty() || ps.series.is_empty() {
        None
    } else {
        let headers: Vec<&str> = panel.legend_calcs.iter().map(|c| c.header()).collect();
        let rows: Vec<(&str, &[String])> = ps
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.calcs.as_slice()))
            .collect();
        let max_rows = ((inner.h / 2.0) / LEGEND_ROW_H).floor() as usize;
        table_legend_layout(&headers, &rows, ps.hidden, inner.w, max_rows, legend_size)
    };
    let layout = if table.is_some() {
        LegendLayout {
            placed: Vec::new(),
            rows: 0,
        }
    } else {
        legend_layout(&entries, inner.w, legend_size, max_rows)
    };
    let legend_h = table.as_ref().map_or(layout.rows, |t| t.rows) as f64 * LEGEND_ROW_H;
    let ticks = ((inner.h - legend_h - 24.0) / 40.0).floor().clamp(2.0, 8.0) as usize;
    let percentage = panel.field.thresholds_mode == ThresholdsMode::Percentage;
    let stretch: &[promdash_queries::dashboard::Threshold] =
        if percentage { &[] } else { &panel.thresholds };
    let scale = value_scale(&lines, false, stretch, ticks);
    let labels: Vec<(f64, String)> = if ps.left_labels_hidden {
        Vec::new()
    } else {
        scale.ticks().map(|v| (v, format.format(v, None))).collect()
    };
    let label_w = labels
        .iter()
        .map(|(_, l)| text_width(l, 11.0))
        .fold(0.0, f64::max)
        + 8.0;
    // The right-hand axis, when some series are placed there.
    let right_scale = lines
        .iter()
        .any(|l| l.right)
        .then(|| value_scale(&lines, true, &[], ticks));
    let right_labels: Vec<(f64, String)> = right_scale
        .iter()
        .flat_map(|r| r.ticks().map(|v| (v, right_format.format(v, None))))
        .collect();
    let right_w = right_labels
        .iter()
        .map(|(_, l)| text_width(l, 11.0) + 8.0)
        .fold(8.0, f64::max);
    let plot = Area {
        x: inner.x + label_w,
        y: inner.y + 6.0,
        w: (inner.w - label_w - right_w).max(1.0),
        h: (inner.h - legend_h - 6.0 - AXIS_H).max(1.0),
    };
    let (start, end) = match ps.window {
        Some(w) => (w.start, w.end),
        None => super::shown_window(state),
    };
    let m = Mapping {
        plot,
        start,
        end,
        lo: scale.lo,
        hi: scale.hi,
    };
    doc.group(|| {
        let mut attrs = format!(
            "class=\"plot\" data-x=\"{}\" data-y=\"{}\" data-w=\"{}\" data-h=\"{}\" \
             data-start=\"{}\" data-end=\"{}\" data-lo=\"{}\" data-hi=\"{}\"",
            num(plot.x),
            num(plot.y),
            num(plot.w),
            num(plot.h),
            start,
            end,
            scale.lo,
            scale.hi
        );
        if let Some(r) = right_scale {
            let _ = write!(
                attrs,
                " data-right-lo=\"{}\" data-right-hi=\"{}\"",
                r.lo, r.hi
            );
        }
        attrs
    });
    // A threshold's place on the axis: percentage ones between the axis's ends, as the
    // TUI places them.
    let at = |v: f64| {
        if percentage {
            scale.lo + (scale.hi - scale.lo) * v / 100.0
        } else {
            v
        }
    };
    // Threshold bands under everything: from each threshold up to the next (or the top).
    doc.clipped(plot);
    for (k, t) in panel.thresholds.iter().enumerate() {
        let value = at(t.value);
        let top = panel
            .thresholds
            .get(k + 1)
            .map_or(scale.hi, |n| at(n.value))
            .min(scale.hi);
        if value >= scale.hi || top <= value {
            continue;
        }
        let y1 = m.y(top);
        let y2 = m.y(value.max(scale.lo));
        doc.rect(
            Area {
                x: plot.x,
                y: y1,
                w: plot.w,
                h: y2 - y1,
            },
            &dash_color(t.color),
            Look {
                fill_opacity: Some(0.08),
                class: "band",
                ..Look::default()
            },
        );
    }
    doc.end_clip();
    // Value axis: grid lines and labels.
    for (v, label) in &labels {
        let y = m.y(*v);
        doc.line(plot.x, y, plot.right(), y, GRID);
        doc.text(
            plot.x - 6.0,
            y + 4.0,
            11.0,
            "end",
            "normal",
            DIM,
            "ylabel",
            label,
        );
    }
    // The right-hand axis's labels, against the plot.
    let right_m = right_scale.map(|r| Mapping {
        lo: r.lo,
        hi: r.hi,
        ..m
    });
    if let Some(rm) = &right_m {
        for (v, label) in &right_labels {
            doc.text(
                plot.right() + 6.0,
                rm.y(*v) + 4.0,
                11.0,
                "start",
                "normal",
                DIM,
                "ylabel-right",
                label,
            );
        }
    }
    doc.line(plot.x, plot.bottom(), plot.right(), plot.bottom(), BORDER);
    time_axis(doc, &m, state.opts.utc_offset);
    // Series, the highest-ranked last so it stays on top (as the TUI draws them); those
    // hidden by an override not at all.
    doc.clipped(plot);
    for l in lines.iter().rev().filter(|l| !l.invisible) {
        let lm = match (&right_m, l.right) {
            (Some(rm), true) => rm,
            _ => &m,
        };
        let (runs, dots) = series_runs(lm, &l.samples, l.step);
        let pen = Pen {
            color: &l.color,
            width: 1.6,
            opacity: 1.0,
            class: "series",
        };
        doc.polylines(&runs, pen, Some(&l.name));
        for (x, y) in dots {
            doc.dot(&l.name, x, y, &l.color);
        }
    }
    // Threshold lines over the series.
    for t in &panel.thresholds {
        let value = at(t.value);
        if value < scale.lo || value > scale.hi {
            continue;
        }
        let y = m.y(value);
        let color = dash_color(t.color);
        let pen = Pen {
            color: &color,
            width: 1.5,
            opacity: 1.0,
            class: "threshold",
        };
        doc.threshold(t.value, (plot.x, y), (plot.right(), y), pen, true);
    }
    doc.end_clip();
    doc.end_group();
    // Legend.
    let y0 = plot.bottom() + AXIS_H + 4.0;
    if let Some(t) = &table {
        table_legend(doc, panel, ps, t, inner, y0, legend_size);
        return;
    }
    for e in &layout.placed {
        let (name, last, color) = &entries[e.index];
        let y = y0 + e.row as f64 * 18.0;
        let x = inner.x + e.x;
        doc.rect(
            Area {
                x,
                y: y - 6.0,
                w: 12.0,
                h: 4.0,
            },
            color,
            Look {
                class: "swatch",
                ..Look::default()
            },
        );
        let name_fit = fit(
            name,
            e.w - 22.0 - text_width(last, legend_size),
            legend_size,
        );
        doc.legend_text(x + 16.0, y, legend_size, &name_fit, last);
    }
    let more = entries.len() - layout.placed.len() + ps.hidden;
    if more > 0 {
        doc.text(
            inner.right(),
            y0 + (layout.rows.max(1) - 1) as f64 * 18.0,
            legend_size,
            "end",
            "normal",
            DIM,
            "legend-more",
            &format!("+{more} more series"),
        );
    }
}

/// Height of a legend row.
const LEGEND_ROW_H: f64 = 18.0;

/// Where a table legend's cells go: a header row naming the calculations, a row per
/// series shown, and a "+N more series" row when some are not.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLegend {
    /// Width of the first column: the swatch and the name.
    pub name_w: f64,
    /// The widths of the calculation columns shown, from the left (those that do not
    /// fit are left out from the right, as the TUI does).
    pub widths: Vec<f64>,
    /// Series rows shown (the first ones, in the TUI's order).
    pub shown: usize,
    /// Series counted on the last row instead (with those the TUI hides past its cap).
    pub more: usize,
    /// Rows in all: the header, the series and the "+N more series" row.
    pub rows: usize,
}

/// Lays out a table legend of `rows` (name and formatted calculations per series, as
/// [`crate::panel::SeriesView`] holds them) under `headers`, `width` px wide, in at
/// most `max_rows` rows of text at `size` px; `hidden` series are counted, not shown.
/// `None` (the plain legend instead) when the header and every series do not fit and
/// there is no room for two series and the "+N more" row — the TUI's rule.
pub fn table_legend_layout(
    headers: &[&str],
    rows: &[(&str, &[String])],
    hidden: usize,
    width: f64,
    max_rows: usize,
    size: f64,
) -> Option<TableLegend> {
    let total = rows.len() + hidden;
    if rows.is_empty() || (total + 1 > max_rows && max_rows < 4) {
        return None;
    }
    let body = max_rows - 1;
    let shown = if total <= body {
        rows.len()
    } else {
        rows.len().min(body - 1)
    };
    let mut widths: Vec<f64> = headers
        .iter()
        .enumerate()
        .map(|(k, h)| {
            rows[..shown]
                .iter()
                .filter_map(|(_, calcs)| calcs.get(k))
                .map(|t| text_width(t, size))
                .fold(bold_em(h) * size, f64::max)
                + 16.0
        })
        .collect();
    // Leave the name column room for the longest name, or at least 150 px of it.
    let longest = rows[..shown]
        .iter()
        .map(|(name, _)| 22.0 + text_width(name, size))
        .fold(0.0, f64::max);
    while !widths.is_empty() && width - widths.iter().sum::<f64>() < longest.min(150.0) {
        widths.pop();
    }
    let more = total - shown;
    Some(TableLegend {
        name_w: width - widths.iter().sum::<f64>(),
        widths,
        shown,
        more,
        rows: 1 + shown + usize::from(more > 0),
    })
}

/// Draws the table legend `t` of graph `panel` (state `ps`) with its header's
/// baseline at `y0`: the headers, then per series its colour, name and calculations
/// right-aligned in their columns — the strings the TUI's table legend shows.
fn table_legend(
    doc: &mut Doc,
    panel: &promdash_queries::dashboard::Panel,
    ps: &PanelState,
    t: &TableLegend,
    inner: Area,
    y0: f64,
    size: f64,
) {
    doc.group(|| "class=\"legend-table\"".to_owned());
    let mut x = inner.x + t.name_w;
    for (calc, w) in panel.legend_calcs.iter().zip(&t.widths) {
        x += w;
        doc.text(
            x - 6.0,
            y0,
            size,
            "end",
            "bold",
            DIM,
            "legend-th",
            calc.header(),
        );
    }
    doc.line(inner.x, y0 + 5.5, inner.right(), y0 + 5.5, GRID);
    for (r, s) in ps.series[..t.shown].iter().enumerate() {
        let y = y0 + (r + 1) as f64 * LEGEND_ROW_H;
        doc.group(|| format!("class=\"legend-row\" data-name=\"{}\"", xml(&s.name)));
        doc.rect(
            Area {
                x: inner.x,
                y: y - 6.0,
                w: 12.0,
                h: 4.0,
            },
            &view_color(s),
            Look {
                class: "swatch",
                ..Look::default()
            },
        );
        doc.text(
            inner.x + 16.0,
            y,
            size,
            "start",
            "normal",
            INK,
            "legend-name",
            &fit(&s.name, t.name_w - 26.0, size),
        );
        let mut x = inner.x + t.name_w;
        for (k, w) in t.widths.iter().enumerate() {
            x += w;
            let text = s.calcs.get(k).map_or("-", String::as_str);
            doc.text(
                x - 6.0,
                y,
                size,
                "end",
                "normal",
                INK,
                "legend-value",
                &fit(text, w - 8.0, size),
            );
        }
        doc.end_group();
    }
    if t.more > 0 {
        doc.text(
            inner.x,
            y0 + (t.shown + 1) as f64 * LEGEND_ROW_H,
            size,
            "start",
            "normal",
            DIM,
            "legend-more",
            &format!("+{} more series", t.more),
        );
    }
    doc.end_group();
}

/// Where legend entries go.
struct LegendLayout {
    placed: Vec<Placed>,
    rows: usize,
}

struct Placed {
    index: usize,
    row: usize,
    x: f64,
    w: f64,
}

fn legend_layout(
    entries: &[(String, String, String)],
    width: f64,
    size: f64,
    max_rows: usize,
) -> LegendLayout {
    let mut placed = Vec::new();
    let (mut x, mut row) = (0.0, 0);
    for (index, (name, last, _)) in entries.iter().enumerate() {
        let w = (16.0 + text_width(name, size) + 6.0 + text_width(last, size) + 18.0).min(width);
        if x > 0.0 && x + w > width {
            row += 1;
            x = 0.0;
        }
        if row >= max_rows {
            break;
        }
        placed.push(Placed { index, row, x, w });
        x += w;
    }
    let rows = if entries.is_empty() {
        0
    } else {
        (row + 1).min(max_rows)
    };
    LegendLayout { placed, rows }
}

/// Time ticks under the plot: `HH:MM` (with seconds for short intervals), and the date
/// under the first label and wherever the day changes.
fn time_axis(doc: &mut Doc, m: &Mapping, offset: i32) {
    let span = m.end - m.start;
    if span <= 0.0 {
        return;
    }
    let max_labels = (m.plot.w / 90.0).floor().max(1.0) as usize;
    let interval = crate::ui::time::interval_for(span, max_labels);
    let off = f64::from(offset);
    let step = interval as f64;
    let mut t = ((m.start + off) / step).ceil() * step - off;
    let mut label = String::new();
    let mut last_day = None;
    let y = m.plot.bottom();
    while t <= m.end + 1e-9 {
        let x = m.x(t);
        doc.line(x, y, x, y + 4.0, BORDER);
        crate::ui::time::axis_label(&mut label, t, offset, interval.min(3600));
        doc.text(x, y + 16.0, 11.0, "middle", "normal", DIM, "xlabel", &label);
        let day = super::ymd(t, offset);
        if last_day != Some(day) {
            let (yy, mo, d) = day;
            doc.text(
                x,
                y + 29.0,
                10.0,
                "middle",
                "normal",
                DIM,
                "xdate",
                &format!("{yy:04}-{mo:02}-{d:02}"),
            );
            last_day = Some(day);
        }
        t += step;
    }
}

/// Stat and gauge panels: the value large, coloured by thresholds (a gauge adds an arc
/// between its bounds with the thresholds marked); several series are drawn as a grid
/// of values with their names.
fn stat(doc: &mut Doc, state: &State, i: usize, inner: Area, gauge: bool) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    // Names, texts and colours as the model gives them to the TUI: display names,
    // reducers, value mappings, no-value text, fixed and threshold colours.
    let values: Vec<(&str, Option<DashColor>, &str)> = ps
        .stat_values()
        .map(|v| (v.name.as_str(), v.color, v.text.as_str()))
        .collect();
    if values.len() > 1 {
        let n = values.len().min(24);
        let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
        let rows = n.div_ceil(cols);
        let cw = inner.w / cols as f64;
        let ch = inner.h / rows as f64;
        for (k, (name, color, text)) in values.iter().take(n).enumerate() {
            let a = Area {
                x: inner.x + (k % cols) as f64 * cw,
                y: inner.y + (k / cols) as f64 * ch,
                w: cw,
                h: ch,
            };
            let color = color.map_or(INK.to_owned(), dash_color);
            let size = (a.h * 0.4).min(a.w * 0.9 / bold_em(text));
            doc.text(
                a.x + a.w / 2.0,
                a.y + a.h * 0.55,
                size.max(8.0),
                "middle",
                "bold",
                &color,
                "value",
                text,
            );
            doc.text(
                a.x + a.w / 2.0,
                a.y + a.h * 0.55 + 16.0,
                11.0,
                "middle",
                "normal",
                DIM,
                "value-name",
                &fit(name, a.w - 8.0, 11.0),
            );
        }
        if values.len() > n {
            doc.text(
                inner.right(),
                inner.bottom(),
                11.0,
                "end",
                "normal",
                DIM,
                "",
                &format!("+{} more", values.len() - n),
            );
        }
        return;
    }
    let value = ps.value.unwrap_or(f64::NAN);
    let text = if ps.loaded {
        ps.value_text.as_str()
    } else {
        ""
    };
    let default = if gauge { "#2ca02c" } else { INK };
    let color = values
        .first()
        .and_then(|v| v.1)
        .map_or(default.to_owned(), dash_color);
    if gauge {
        gauge_arc(doc, state, i, inner, value, &color);
        let r = gauge_radius(inner);
        let size = (r * 0.35).min(inner.w * 0.95 / bold_em(text));
        doc.text(
            inner.x + inner.w / 2.0,
            inner.y + 8.0 + r,
            size.max(8.0),
            "middle",
            "bold",
            &color,
            "value",
            text,
        );
        return;
    }
    // A sparkline of the range answer under the value: the series the TUI draws.
    if let Some(w) = ps.window
        && let Some((samples, step)) = ps.drawn(panel).points.into_iter().next()
    {
        let spark = Area {
            x: inner.x,
            y: inner.y + inner.h * 0.6,
            w: inner.w,
            h: inner.h * 0.4,
        };
        let lines = [Line {
            name: String::new(),
            color: String::new(),
            samples,
            step,
            right: false,
            invisible: false,
        }];
        let scale = value_scale(&lines, false, &[], 2);
        let m = Mapping {
            plot: spark,
            start: w.start,
            end: w.end,
            lo: scale.lo,
            hi: scale.hi,
        };
        let (runs, _) = series_runs(&m, &lines[0].samples, step);
        let pen = Pen {
            color: &color,
            width: 1.5,
            opacity: 0.5,
            class: "sparkline",
        };
        doc.polylines(&runs, pen, None);
    }
    let size = (inner.h * 0.45).min(inner.w * 0.95 / bold_em(text));
    doc.text(
        inner.x + inner.w / 2.0,
        inner.y + inner.h * 0.5,
        size.max(8.0),
        "middle",
        "bold",
        &color,
        "value",
        text,
    );
}

fn gauge_radius(inner: Area) -> f64 {
    (inner.w / 2.0 - 8.0).min(inner.h - 28.0).max(4.0)
}

/// The point at `ratio` (0 = left, 1 = right) along a half circle of radius `r` at `c`.
fn arc_point(cx: f64, cy: f64, r: f64, ratio: f64) -> (f64, f64) {
    let a = std::f64::consts::PI * (1.0 - ratio.clamp(0.0, 1.0));
    (cx + r * a.cos(), cy - r * a.sin())
}

fn arc_path(cx: f64, cy: f64, r: f64, from: f64, to: f64) -> String {
    let (x1, y1) = arc_point(cx, cy, r, from);
    let (x2, y2) = arc_point(cx, cy, r, to);
    format!(
        "M{} {} A{} {} 0 0 1 {} {}",
        num(x1),
        num(y1),
        num(r),
        num(r),
        num(x2),
        num(y2)
    )
}

fn gauge_arc(doc: &mut Doc, state: &State, i: usize, inner: Area, value: f64, color: &str) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    let (min, max) = panel.gauge_bounds();
    let ratio = |v: f64| {
        if max > min {
            ((v - min) / (max - min)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let r = gauge_radius(inner);
    let (cx, cy) = (inner.x + inner.w / 2.0, inner.y + 8.0 + r);
    let thick = (r * 0.18).max(4.0);
    let pen = |color, class| Pen {
        color,
        width: thick,
        opacity: 1.0,
        class,
    };
    doc.arc(cx, cy, r, 0.0, 1.0, pen(GRID, "gauge-track"), None);
    if value.is_finite() && ratio(value) > 0.0 {
        let to = ratio(value);
        doc.arc(cx, cy, r, 0.0, to, pen(color, "gauge-value"), Some(to));
    }
    // Threshold marks just outside the arc (percentage ones between the bounds).
    let percentage = panel.field.thresholds_mode == ThresholdsMode::Percentage;
    for t in &panel.thresholds {
        let v = if percentage {
            min + (max - min) * t.value / 100.0
        } else {
            t.value
        };
        if v < min || v > max {
            continue;
        }
        let (x1, y1) = arc_point(cx, cy, r + thick / 2.0 + 1.0, ratio(v));
        let (x2, y2) = arc_point(cx, cy, r + thick / 2.0 + 7.0, ratio(v));
        let color = dash_color(t.color);
        let pen = Pen {
            color: &color,
            width: 3.0,
            opacity: 1.0,
            class: "threshold",
        };
        doc.threshold(t.value, (x1, y1), (x2, y2), pen, false);
    }
    let lo = ps.format.format(min, panel.decimals);
    let hi = ps.format.format(max, panel.decimals);
    doc.text(
        cx - r,
        cy + 16.0,
        11.0,
        "middle",
        "normal",
        DIM,
        "gauge-min",
        &lo,
    );
    doc.text(
        cx + r,
        cy + 16.0,
        11.0,
        "middle",
        "normal",
        DIM,
        "gauge-max",
        &hi,
    );
}

/// Table panels: a header of label names and `value`, one row per series (highest
/// first, as the TUI sorts them), values coloured by thresholds.
fn table(doc: &mut Doc, state: &State, i: usize, inner: Area) {
    let ps = &state.panels[i];
    if ps.rows.is_empty() {
        return;
    }
    let size = 12.0;
    let row_h = 20.0;
    let ncols = ps.columns.len() + 1;
    // Column widths: by the widest cell, shrunk together to fit.
    let mut widths: Vec<f64> = (0..ncols)
        .map(|c| {
            let head = if c < ps.columns.len() {
                text_width(&ps.columns[c], size)
            } else {
                text_width("value", size)
            };
            ps.rows
                .iter()
                .take(200)
                .map(|r| {
                    if c < ps.columns.len() {
                        text_width(&r.labels[c], size)
                    } else {
                        text_width(&r.text, size)
                    }
                })
                .fold(head, f64::max)
                + 16.0
        })
        .collect();
    let total: f64 = widths.iter().sum();
    if total > inner.w {
        let k = inner.w / total;
        for w in &mut widths {
            *w *= k;
        }
    }
    let max_rows = ((inner.h - row_h) / row_h).floor().max(0.0) as usize;
    let shown = ps.rows.len().min(max_rows);
    let more = ps.rows.len() - shown;
    let shown = if more > 0 {
        shown.saturating_sub(1)
    } else {
        shown
    };
    let mut x = inner.x;
    for (c, w) in widths.iter().enumerate() {
        let head = ps.columns.get(c).map_or("value", String::as_str);
        let last = c + 1 == ncols;
        let (tx, anchor) = if last {
            (x + w - 8.0, "end")
        } else {
            (x + 4.0, "start")
        };
        doc.text(
            tx,
            inner.y + 14.0,
            size,
            anchor,
            "bold",
            INK,
            "th",
            &fit(head, w - 8.0, size),
        );
        for (k, r) in ps.rows.iter().take(shown).enumerate() {
            let y = inner.y + row_h * (k as f64 + 1.0) + 14.0;
            let (cell, fill, weight) = if last {
                let color = r.color.map_or(INK.to_owned(), dash_color);
                (r.text.as_str(), color, "bold")
            } else {
                (r.labels[c].as_str(), INK.to_owned(), "normal")
            };
            doc.text(
                tx,
                y,
                size,
                anchor,
                weight,
                &fill,
                "td",
                &fit(cell, w - 8.0, size),
            );
        }
        x += w;
    }
    for k in 1..=shown {
        let y = inner.y + row_h * k as f64 + 0.5;
        doc.line(inner.x, y, inner.right(), y, GRID);
    }
    if more > 0 {
        doc.text(
            inner.x + 4.0,
            inner.y + row_h * (shown as f64 + 1.0) + 14.0,
            size,
            "start",
            "normal",
            DIM,
            "more-rows",
            &format!(
                "+{} more rows",
                more + usize::from(max_rows > 0 && more > 0)
            ),
        );
    }
}

/// Heatmap panels: the TUI's bucket grid as shaded cells, bucket bounds on the left.
fn heatmap(doc: &mut Doc, state: &State, i: usize, inner: Area) {
    let ps = &state.panels[i];
    let Some(h) = ps.heatmap.as_ref() else {
        return;
    };
    if h.cols == 0 || h.rows == 0 {
        return;
    }
    let label_w = 60.0;
    let plot = Area {
        x: inner.x + label_w,
        y: inner.y + 4.0,
        w: (inner.w - label_w - 8.0).max(1.0),
        h: (inner.h - 40.0).max(1.0),
    };
    let (cw, ch) = (plot.w / h.cols as f64, plot.h / h.rows as f64);
    doc.group(|| {
        format!(
            "class=\"heatmap\" data-cols=\"{}\" data-rows=\"{}\"",
            h.cols, h.rows
        )
    });
    for r in 0..h.rows {
        for c in 0..h.cols {
            let v = h.cells[r * h.cols + c];
            if v <= 0.0 || h.max <= 0.0 {
                continue;
            }
            let shade = f64::from(v / h.max).clamp(0.05, 1.0);
            doc.rect(
                Area {
                    x: plot.x + c as f64 * cw,
                    y: plot.y + r as f64 * ch,
                    w: cw + 0.3,
                    h: ch + 0.3,
                },
                "#d9480f",
                Look {
                    fill_opacity: Some(shade),
                    ..Look::default()
                },
            );
        }
    }
    doc.end_group();
    for (r, b) in h.row_bounds.iter().enumerate() {
        if h.rows > 12 && r % (h.rows / 8).max(1) != 0 {
            continue;
        }
        let label = if b.is_infinite() {
            "+Inf".to_owned()
        } else {
            ps.format.format(*b, None)
        };
        doc.text(
            plot.x - 6.0,
            plot.y + r as f64 * ch + ch / 2.0 + 4.0,
            10.0,
            "end",
            "normal",
            DIM,
            "ylabel",
            &label,
        );
    }
    if let Some(w) = ps.window {
        let m = Mapping {
            plot,
            start: w.start,
            end: w.end,
            lo: 0.0,
            hi: 1.0,
        };
        time_axis(doc, &m, state.opts.utc_offset);
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn table_legend_layout_fits_rows_and_columns_as_the_tui_does() {
        let calcs = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let a = calcs(&["1.5 MB/s", "2 MB/s", "12.25 MB/s", "3 MB/s"]);
        let b = calcs(&["0 B/s", "1 B/s", "2 B/s", "-"]);
        let headers = ["Min", "Mean", "Max", "Last"];
        let rows: Vec<(&str, &[String])> = vec![("eth0 receive", &a), ("lo", &b)];
        // Everything fits: header and both rows, every column.
        let t = table_legend_layout(&headers, &rows, 0, 800.0, 6, 12.0).expect("a table");
        assert_eq!((t.shown, t.more, t.rows, t.widths.len()), (2, 0, 3, 4));
        assert_eq!(t.name_w + t.widths.iter().sum::<f64>(), 800.0);
        // A column is as wide as its widest cell (or bold header) plus its gap.
        assert_eq!(t.widths[2], text_width("12.25 MB/s", 12.0) + 16.0);
        assert!(t.widths[0] >= bold_em("Min") * 12.0 + 16.0);
        // Three rows exactly: still all of it.
        let t = table_legend_layout(&headers, &rows, 0, 800.0, 3, 12.0).expect("a table");
        assert_eq!((t.shown, t.more, t.rows), (2, 0, 3));
        // Series hidden past the cap count on a "+N more" row.
        let t = table_legend_layout(&headers, &rows, 5, 800.0, 4, 12.0).expect("a table");
        assert_eq!((t.shown, t.more, t.rows), (2, 5, 4));
        let t = table_legend_layout(&headers, &rows, 5, 800.0, 3, 12.0);
        assert_eq!(
            t, None,
            "no room for two rows and the count: the plain legend"
        );
        let many: Vec<(&str, &[String])> = (0..10).map(|_| ("s", a.as_slice())).collect();
        let t = table_legend_layout(&headers, &many, 0, 800.0, 5, 12.0).expect("a table");
        assert_eq!((t.shown, t.more, t.rows), (3, 7, 5));
        // Too small or nothing to show: the plain legend.
        assert_eq!(
            table_legend_layout(&headers, &rows, 0, 800.0, 2, 12.0),
            None
        );
        assert_eq!(table_legend_layout(&headers, &[], 0, 800.0, 9, 12.0), None);
        // Narrow: columns are left out from the right until the longest name fits
        // (or 150 px of it).
        let t = table_legend_layout(&headers, &rows, 0, 360.0, 6, 12.0).expect("a table");
        assert_eq!(t.widths.len(), 3, "{t:?}");
        let name = 22.0 + text_width("eth0 receive", 12.0);
        assert!(t.name_w >= name && t.name_w - name < 73.6, "{t:?}");
        let long = "x".repeat(60);
        let rows: Vec<(&str, &[String])> = vec![(&long, &a)];
        let t = table_legend_layout(&headers, &rows, 0, 400.0, 6, 12.0).expect("a table");
        assert!(t.name_w >= 150.0 && t.widths.len() < 4, "{t:?}");
        let t = table_legend_layout(&headers, &rows, 0, 100.0, 6, 12.0).expect("a table");
        assert!(t.widths.is_empty() && t.name_w == 100.0, "{t:?}");
    }

    #[test]
    fn put_num_writes_what_num_writes() {
        let mut vals = vec![
            0.0,
            -0.0,
            0.004,
            -0.004,
            0.005,
            0.1,
            0.14,
            0.145,
            1.0,
            1.5,
            10.25,
            -3.07,
            99.999,
            123_456.789,
            -0.5,
            1e12,
            1e20,
            f64::NAN,
            f64::INFINITY,
        ];
        // And a sweep of page coordinates.
        vals.extend((0..20_000).map(|k| f64::from(k) * 0.0137 - 40.0));
        for v in vals {
            let mut s = String::new();
            put_num(&mut s, v);
            assert_eq!(s, num(v), "{v}");
        }
    }

    /// Samples of a noisy series, `n` of them over a window drawn `width` px wide.
    fn dense(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|k| Sample {
                t: k as f64,
                v: if k % 997 == 500 {
                    f64::NAN
                } else {
                    ((k as f64) * 0.37).sin() * 10.0 + ((k * 7919) % 13) as f64
                },
            })
            .collect()
    }

    #[test]
    fn dense_series_keep_every_columns_extremes_and_only_data_points() {
        let samples = dense(20_000);
        let m = Mapping {
            plot: Area {
                x: 40.3,
                y: 10.0,
                w: 700.0,
                h: 300.0,
            },
            start: 0.0,
            end: 19_999.0,
            lo: -15.0,
            hi: 25.0,
        };
        let (runs, dots) = series_runs(&m, &samples, 1.0);
        assert!(dots.is_empty());
        // NaNs split the series: one run between each pair.
        let nans = samples.iter().filter(|s| s.v.is_nan()).count();
        assert_eq!(runs.len(), nans + 1);
        let mapped: Vec<Option<(f64, f64)>> = samples
            .iter()
            .map(|s| s.v.is_finite().then(|| (m.x(s.t), m.y(s.v))))
            .collect();
        // Every drawn point is a sample, in time order.
        let mut k = 0;
        for run in &runs {
            for p in run {
                while mapped[k] != Some(*p) {
                    k += 1;
                    assert!(k < mapped.len(), "{p:?} is not a sample after the last one");
                }
                k += 1;
            }
        }
        // In every run and pixel column, the highest and lowest samples are drawn.
        let mut start = 0;
        for run in &runs {
            let end = start
                + mapped[start..]
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(mapped.len() - start);
            let pts: Vec<(f64, f64)> = mapped[start..end].iter().flatten().copied().collect();
            let mut cols: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
            for (x, y) in &pts {
                let e = cols.entry(x.floor() as i64).or_insert((*y, *y));
                e.0 = e.0.min(*y);
                e.1 = e.1.max(*y);
            }
            for (col, (top, bottom)) in &cols {
                for want in [top, bottom] {
                    assert!(
                        run.iter()
                            .any(|(x, y)| x.floor() as i64 == *col && y == want),
                        "column {col}: y {want} missing"
                    );
                }
            }
            // At most four points a column (here 20,000 samples over 700 px).
            assert!(
                run.len() <= 4 * cols.len(),
                "{} > 4 × {}",
                run.len(),
                cols.len()
            );
            assert!(
                run.len() < pts.len() / 5,
                "cut down: {} of {}",
                run.len(),
                pts.len()
            );
            start = end + 1;
        }
    }

    #[test]
    fn sparse_series_are_drawn_point_for_point() {
        let samples = dense(300);
        let m = Mapping {
            plot: Area {
                x: 0.0,
                y: 0.0,
                w: 1200.0,
                h: 300.0,
            },
            start: 0.0,
            end: 299.0,
            lo: -15.0,
            hi: 25.0,
        };
        let (runs, _) = series_runs(&m, &samples, 1.0);
        let want: Vec<(f64, f64)> = samples.iter().map(|s| (m.x(s.t), m.y(s.v))).collect();
        assert_eq!(runs, [want]);
    }
}
