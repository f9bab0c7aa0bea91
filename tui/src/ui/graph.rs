//! Graph panels: braille lines per series, y ticks, wall-clock x axis, thresholds, legend.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::time;
use crate::app::State;
use crate::panel::PanelState;
use crate::plot::Raster;

/// Legend rows for a panel whose inside is `height` rows tall.
pub fn legend_rows(height: u16) -> u16 {
    match height {
        0..=4 => 0,
        5..=11 => 1,
        12..=19 => 2,
        _ => 3,
    }
}

/// The plot inside `inner`, after `ylw` columns of y labels, `legend` rows of legend
/// and a row of x axis labels.
pub fn plot_area(inner: Rect, ylw: u16, legend: u16) -> Rect {
    let axis = u16::from(inner.height >= 4);
    let ylw = if inner.width >= 20 { ylw } else { 0 };
    let h = inner.height.saturating_sub(axis + legend);
    Rect::new(
        inner.x + ylw.min(inner.width),
        inner.y,
        inner.width.saturating_sub(ylw),
        h,
    )
}

pub fn render(buf: &mut Buffer, inner: Rect, state: &State, i: usize) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let ylw = if ps.left_labels_hidden {
        0
    } else {
        ps.y_labels
            .iter()
            .map(|l| l.chars().count() as u16)
            .max()
            .unwrap_or(1)
            + 1
    };
    // The right-hand axis's labels, when some series are placed there.
    let yrw = ps
        .right_labels
        .iter()
        .map(|l| l.chars().count() as u16 + 1)
        .max()
        .unwrap_or(0);
    let table =
        !panel.legend_calcs.is_empty() && table_legend_rows(inner.height, ps.series.len()) > 0;
    let legend = legend_rows_of(panel, ps, inner.height);
    let mut plot = plot_area(inner, ylw, legend);
    if plot.width > yrw + 10 {
        plot.width -= yrw;
    }
    if plot.width == 0 || plot.height == 0 {
        return;
    }
    if ps.series.is_empty() {
        // An answer with no series: say so rather than draw empty axes.
        let text = "no data";
        let x = plot.x + plot.width.saturating_sub(text.len() as u16) / 2;
        buf.set_stringn(
            x,
            plot.y + plot.height / 2,
            text,
            usize::from(plot.right() - x),
            Style::new().fg(Color::DarkGray),
        );
        return;
    }
    let (lo, hi) = (ps.scale.lo, ps.scale.hi);

    // Series, the highest-ranked drawn last so it stays on top; fixed colours after the
    // palette's; hidden ones not at all.
    let mut palette = super::RASTER_PALETTE.to_vec();
    let mut raster = Raster::new(plot.width, plot.height);
    for s in ps.series.iter().rev().filter(|s| !s.invisible) {
        let index = match s.fixed {
            Some(c) if palette.len() < 255 => {
                palette.push(super::color(c));
                (palette.len() - 1) as u8
            }
            _ => s.color,
        };
        match (s.right, ps.right_scale) {
            (true, Some(r)) => raster.series(&s.cols, r.lo, r.hi, index),
            _ => raster.series(&s.cols, lo, hi, index),
        }
    }
    raster.flush(buf, plot, &palette);

    // Threshold lines, where no series is drawn (percentage ones placed between the
    // axis's ends).
    let percentage = panel.field.thresholds_mode
        == promdash_queries::grafana::fields::ThresholdsMode::Percentage;
    for t in &panel.thresholds {
        let value = if percentage {
            lo + (hi - lo) * t.value / 100.0
        } else {
            t.value
        };
        if let Some(row) = raster.threshold_row(value, lo, hi) {
            let y = plot.y + row as u16;
            let style = Style::new().fg(super::color(t.color));
            for cx in 0..plot.width {
                if !raster.is_set(usize::from(cx), row) {
                    buf[(plot.x + cx, y)].set_char('╌').set_style(style);
                }
            }
        }
    }

    // Y labels, right-aligned against the plot.
    if plot.x > inner.x {
        let h = plot.height * 4;
        let mut last_row = u16::MAX;
        let label_style = Style::new().fg(Color::DarkGray);
        for (k, v) in ps.scale.ticks().enumerate() {
            let Some(label) = ps.y_labels.get(k) else {
                break;
            };
            if hi <= lo {
                break;
            }
            let dot = ((hi - v) / (hi - lo) * f64::from(h - 1)).round() as u16;
            let row = (dot / 4).min(plot.height - 1);
            if row == last_row {
                continue;
            }
            last_row = row;
            let w = label.chars().count() as u16;
            let x = plot.x.saturating_sub(w + 1).max(inner.x);
            buf.set_stringn(x, plot.y + row, label, usize::from(plot.x - x), label_style);
        }
    }

    // Right-hand labels, left-aligned against the plot.
    if let Some(r) = ps.right_scale
        && yrw > 0
        && plot.right() + yrw <= inner.right()
        && r.hi > r.lo
    {
        let h = plot.height * 4;
        let mut last_row = u16::MAX;
        let label_style = Style::new().fg(Color::DarkGray);
        for (k, v) in r.ticks().enumerate() {
            let Some(label) = ps.right_labels.get(k) else {
                break;
            };
            let dot = ((r.hi - v) / (r.hi - r.lo) * f64::from(h - 1)).round() as u16;
            let row = (dot / 4).min(plot.height - 1);
            if row == last_row {
                continue;
            }
            last_row = row;
            buf.set_stringn(
                plot.right() + 1,
                plot.y + row,
                label,
                usize::from(yrw - 1),
                label_style,
            );
        }
    }

    // X axis: wall-clock ticks.
    let axis_y = plot.bottom();
    if inner.height >= 4
        && let Some(w) = ps.window
    {
        let span = w.end - w.start;
        if span > 0.0 {
            let label_w = 9.0;
            let max_labels = (f64::from(plot.width) / label_w).floor().max(1.0) as usize;
            let interval = time::interval_for(span, max_labels);
            let off = f64::from(state.opts.utc_offset);
            let first = (((w.start + off) / interval as f64).ceil() * interval as f64) - off;
            let mut label = String::with_capacity(8);
            let mut next_free = plot.x;
            let style = Style::new().fg(Color::DarkGray);
            let mut t = first;
            while t <= w.end {
                let x = plot.x + ((t - w.start) / span * f64::from(plot.width)) as u16;
                time::axis_label(&mut label, t, state.opts.utc_offset, interval);
                let lw = label.len() as u16;
                let x = x.saturating_sub(lw / 2).max(plot.x);
                if x >= next_free && x + lw <= plot.right() {
                    buf.set_string(x, axis_y, &label, style);
                    next_free = x + lw + 1;
                }
                t += interval as f64;
            }
        }
    }

    let legend_y = axis_y + u16::from(inner.height >= 4);
    if table {
        render_table_legend(buf, inner, legend_y, legend, panel, ps);
    } else {
        render_legend(buf, inner, legend_y, legend, ps);
    }
}

/// The legend rows of panel `panel` (its state `ps`) whose inside is `height` rows tall:
/// a table legend's when it has legend calculations.
pub fn legend_rows_of(
    panel: &promdash_queries::dashboard::Panel,
    ps: &PanelState,
    height: u16,
) -> u16 {
    match table_legend_rows(height, ps.series.len()) {
        rows if rows > 0 && !panel.legend_calcs.is_empty() => rows,
        _ => legend_rows(height),
    }
}

/// Rows of a table legend (a header and a row per series) for a panel whose inside is
/// `height` rows tall and draws `series` series: at most half the inside, leaving the
/// plot at least three rows; none (the plain legend instead) when the header and every
/// series do not fit and there is no room for two series and a "+N more" line.
pub fn table_legend_rows(height: u16, series: usize) -> u16 {
    let room = height.saturating_sub(4).min(height / 2);
    let want = u16::try_from(series.max(1) + 1).unwrap_or(u16::MAX);
    if want <= room || room >= 4 {
        want.min(room)
    } else {
        0
    }
}

/// A table legend (Grafana's `displayMode: table` with `calcs`): a header naming the
/// calculations, then per series its colour, name and each calculation in the panel's
/// unit, right-aligned in columns; the columns that do not fit are left out from the
/// right, and the series that do not fit are counted on the last row.
fn render_table_legend(
    buf: &mut Buffer,
    inner: Rect,
    y0: u16,
    rows: u16,
    panel: &promdash_queries::dashboard::Panel,
    ps: &PanelState,
) {
    let bottom = (y0 + rows).min(inner.bottom());
    if rows < 2 || y0 + 1 >= bottom {
        return;
    }
    let body = usize::from(bottom - y0 - 1);
    let total = ps.series.len() + ps.hidden;
    // Room for every series, or one row less and a "+N more series" line.
    let shown = if total <= body {
        ps.series.len()
    } else {
        ps.series.len().min(body - 1)
    };
    let mut widths: Vec<usize> = panel
        .legend_calcs
        .iter()
        .enumerate()
        .map(|(k, c)| {
            ps.series[..shown]
                .iter()
                .filter_map(|s| s.calcs.get(k))
                .map(|t| t.chars().count())
                .fold(c.header().chars().count(), usize::max)
        })
        .collect();
    // Leave the name column at least 10 cells (or what the longest name needs).
    let longest = ps.series[..shown]
        .iter()
        .map(|s| s.name.chars().count() + 2)
        .max()
        .unwrap_or(0);
    let width = usize::from(inner.width);
    while !widths.is_empty()
        && width.saturating_sub(widths.iter().map(|w| w + 2).sum::<usize>()) < longest.min(10)
    {
        widths.pop();
    }
    let name_w = width.saturating_sub(widths.iter().map(|w| w + 2).sum::<usize>());
    let dim = Style::new().fg(Color::DarkGray);
    // Header.
    let mut x = inner.x + name_w as u16;
    for (k, w) in widths.iter().enumerate() {
        let h = panel.legend_calcs[k].header();
        let pad = w + 2 - h.chars().count();
        buf.set_stringn(x + pad as u16, y0, h, *w, dim.add_modifier(Modifier::BOLD));
        x += (w + 2) as u16;
    }
    for (r, s) in ps.series[..shown].iter().enumerate() {
        let y = y0 + 1 + r as u16;
        let color = super::series_color(s);
        let (nx, _) = buf.set_stringn(inner.x, y, "● ", name_w, Style::new().fg(color));
        let room = name_w.saturating_sub(usize::from(nx - inner.x) + 1);
        buf.set_stringn(nx, y, shorten(&s.name, room), room, Style::new());
        let mut x = inner.x + name_w as u16;
        for (k, w) in widths.iter().enumerate() {
            let text = s.calcs.get(k).map_or("-", String::as_str);
            let pad = w + 2 - text.chars().count().min(*w);
            buf.set_stringn(x + pad as u16, y, text, *w, Style::new());
            x += (w + 2) as u16;
        }
    }
    let more = total - shown;
    if more > 0 {
        let y = y0 + 1 + shown as u16;
        if y < bottom {
            let text = format!("+{more} more series");
            buf.set_stringn(inner.x, y, &text, width, dim);
        }
    }
}

fn render_legend(buf: &mut Buffer, inner: Rect, y0: u16, rows: u16, ps: &PanelState) {
    let bottom = (y0 + rows).min(inner.bottom());
    if rows == 0 || y0 >= bottom {
        return;
    }
    // Everything fits: no "+N more series" needed. Otherwise keep room for it at the end
    // ("+N more" in a narrow panel).
    let all_fit =
        ps.hidden == 0 && legend_pass(None, inner, y0, bottom, ps, 0).0 == ps.series.len();
    // The longest of "+N more series", "+N more", "+N" that leaves the first entry its
    // value and at least a few letters of its name on a one-row legend.
    let total = ps.series.len() + ps.hidden;
    let first_w = ps.series.first().map_or(0, |s| {
        3 + s.name.chars().count().min(5) + s.last_text.chars().count()
    });
    let words = [" more series", " more", ""]
        .into_iter()
        .find(|w| {
            rows > 1 || first_w + 2 + format!("+{total}{w}").len() <= usize::from(inner.width)
        })
        .unwrap_or("");
    let reserve = if all_fit {
        0
    } else {
        format!("+{total}{words}").len() as u16 + 1
    };
    let (drawn, y) = legend_pass(Some(buf), inner, y0, bottom, ps, reserve);
    let more = ps.series.len() - drawn + ps.hidden;
    if more > 0 {
        let right = inner.right();
        let text = format!("+{more}{words}");
        let x = right.saturating_sub(text.len() as u16).max(inner.x);
        buf.set_stringn(
            x,
            y,
            &text,
            usize::from(right - x),
            Style::new().fg(Color::DarkGray),
        );
    }
}

/// Lays legend entries out in rows (drawing them when `buf` is given), leaving `reserve`
/// cells free at the end of the last row. Returns how many fit and the last row used.
fn legend_pass(
    mut buf: Option<&mut Buffer>,
    inner: Rect,
    y0: u16,
    bottom: u16,
    ps: &PanelState,
    reserve: u16,
) -> (usize, u16) {
    let right = inner.right();
    let (mut x, mut y) = (inner.x, y0);
    let mut drawn = 0;
    for s in &ps.series {
        let width = 3 + (s.name.chars().count() + s.last_text.chars().count()) as u16;
        let limit = |y: u16| {
            if y + 1 >= bottom {
                right.saturating_sub(reserve)
            } else {
                right
            }
        };
        // The name is shortened (with "…") only for the first entry, so that a narrow
        // panel shows at least one series with its value.
        let mut name_room = usize::MAX;
        if x + width > limit(y) {
            if x > inner.x {
                // On to the next row, if there is one.
                if y + 1 >= bottom {
                    break;
                }
                x = inner.x;
                y += 1;
            }
            if x + width > limit(y) {
                // Wider than a whole row: on the last row, leave the room to "+N more"
                // once an entry is shown; else shorten the name, keep the value.
                if y + 1 >= bottom && reserve > 0 && drawn > 0 {
                    break;
                }
                let value_w = s.last_text.chars().count() as u16;
                name_room = usize::from(limit(y).saturating_sub(x + 3 + value_w));
            }
        }
        let name = shorten(&s.name, name_room);
        if let Some(buf) = buf.as_deref_mut() {
            let color = super::series_color(s);
            let room = |from: u16| usize::from(right.saturating_sub(from));
            let (nx, _) = buf.set_stringn(x, y, "● ", room(x), Style::new().fg(color));
            let (nx, _) = buf.set_stringn(nx, y, &name, room(nx), Style::new());
            buf.set_stringn(
                nx + 1,
                y,
                &s.last_text,
                room(nx + 1),
                Style::new().add_modifier(Modifier::BOLD),
            );
        }
        x += 3 + (name.chars().count() + s.last_text.chars().count()) as u16 + 2;
        drawn += 1;
    }
    (drawn, y)
}

/// `name` in at most `room` cells: cut with "…" when longer (nothing when `room` is 0).
fn shorten(name: &str, room: usize) -> String {
    if name.chars().count() <= room {
        return name.to_owned();
    }
    if room == 0 {
        return String::new();
    }
    let mut out: String = name.chars().take(room - 1).collect();
    out.push('…');
    out
}
