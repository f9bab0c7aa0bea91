//! The graph cursor (`v`): a highlighted column with the time and each series' value.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::app::State;

/// The plot of graph panel `i` drawn in `rect` (as `graph::render` lays it out).
pub fn plot_rect(state: &State, i: usize, rect: Rect) -> Option<Rect> {
    let ps = state.panels.get(i)?;
    let inner = super::inner(rect);
    if inner.width == 0 || inner.height == 0 {
        return None;
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
    let legend = super::graph::legend_rows_of(state.dashboard.panels.get(i)?, ps, inner.height);
    let mut plot = super::graph::plot_area(inner, ylw, legend);
    // Labels of a right-hand axis take the right edge, as `graph::render` leaves them.
    let yrw = ps
        .right_labels
        .iter()
        .map(|l| l.chars().count() as u16 + 1)
        .max()
        .unwrap_or(0);
    if plot.width > yrw + 10 {
        plot.width -= yrw;
    }
    (plot.width > 0 && plot.height > 0).then_some(plot)
}

/// Time and per-series values at cursor column `col` of panel `i` (plot `width` cells).
pub fn values_at(
    state: &State,
    i: usize,
    col: u16,
    width: u16,
) -> Option<(f64, Vec<(usize, f64)>)> {
    let ps = state.panels.get(i)?;
    let w = ps.window?;
    let dots = usize::from(width) * 2;
    let mut out = Vec::with_capacity(ps.series.len());
    let mut t = f64::NAN;
    for (k, s) in ps.series.iter().enumerate() {
        let n = s.cols.len();
        if n == 0 || dots == 0 {
            continue;
        }
        let dot = ((usize::from(col) * 2 + 1) * n / dots).min(n - 1);
        if t.is_nan() {
            t = w.start + (dot as f64 + 1.0) / n as f64 * (w.end - w.start);
        }
        // A sample lands in one braille column; the line joins it to the next. The value
        // at the cursor is the last sample at or before it, within one and a half steps.
        let per_step = (n as f64 * w.step.as_secs_f64() / (w.end - w.start).max(1e-9)).ceil();
        let back = (per_step * 1.5).ceil().max(1.0) as usize;
        let v = (0..=back.min(dot))
            .map(|k| &s.cols[dot - k])
            .find(|c| !c.is_empty())
            .map_or(f64::NAN, |c| f64::from(c.last));
        out.push((k, v));
    }
    if t.is_nan() {
        t = w.start + (f64::from(col) + 1.0) / f64::from(width.max(1)) * (w.end - w.start);
    }
    Some((t, out))
}

pub fn render(buf: &mut Buffer, state: &State) {
    let Some(col) = state.explore.cursor else {
        return;
    };
    let i = state.focus;
    let Some(Some(rect)) = state.panel_rects().get(i).copied() else {
        return;
    };
    let Some(plot) = plot_rect(state, i, rect) else {
        return;
    };
    let col = col.min(plot.width - 1);
    let x = plot.x + col;
    for y in plot.y..plot.bottom() {
        buf[(x, y)].set_bg(Color::DarkGray);
    }
    let Some((t, values)) = values_at(state, i, col, plot.width) else {
        return;
    };
    let ps = &state.panels[i];
    let panel = &state.dashboard.panels[i];
    let rows = values.len().min(usize::from(plot.height.saturating_sub(3)));
    let mut lines: Vec<(String, Style)> = Vec::with_capacity(rows + 1);
    lines.push((
        super::time::clock(t, state.opts.utc_offset),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for &(k, v) in values.iter().take(rows) {
        let s = &ps.series[k];
        let text = if v.is_nan() {
            "–".to_owned()
        } else {
            ps.format.format(v, panel.decimals)
        };
        let color = super::series_color(s);
        lines.push((format!("{text:>9} {}", s.name), Style::new().fg(color)));
    }
    let w = lines
        .iter()
        .map(|(l, _)| l.chars().count() as u16)
        .max()
        .unwrap_or(8)
        .saturating_add(2)
        .min(plot.width / 2)
        .max(3);
    let h = (lines.len() as u16 + 2).min(plot.height);
    // On the side away from the cursor.
    let bx = if col < plot.width / 2 {
        plot.right().saturating_sub(w)
    } else {
        plot.x
    };
    let area = Rect::new(bx, plot.y, w, h);
    Clear.render(area, buf);
    Block::bordered()
        .border_style(Style::new().fg(Color::DarkGray))
        .render(area, buf);
    for (row, (text, style)) in lines
        .iter()
        .enumerate()
        .take(usize::from(h.saturating_sub(2)))
    {
        buf.set_stringn(
            area.x + 1,
            area.y + 1 + row as u16,
            text,
            usize::from(w - 2),
            *style,
        );
    }
}
