//! Drawing: `view(&State, &mut Frame)` and one module per screen region.
//!
//! Nothing here changes state or reads a clock; everything shown comes from [`State`].

pub mod alertmanager;
pub mod alerts_view;
pub mod banner;
pub mod cursor;
pub mod gauge;
pub mod graph;
pub mod grid;
pub mod heatmap;
pub mod help;
pub mod inspector;
pub mod picker;
pub mod prompt;
pub mod stat;
pub mod status;
pub mod table;
pub mod targets;
pub mod time;
pub mod varbar;

use promdash_queries::dashboard::{Color as DashColor, Panel, PanelKind};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;

use crate::app::State;

/// Series colours, in order; index 0 of the raster palette is "none".
pub const SERIES_COLORS: [Color; 10] = [
    Color::Green,
    Color::Yellow,
    Color::Cyan,
    Color::Magenta,
    Color::LightBlue,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightCyan,
    Color::LightMagenta,
];

pub const PALETTE_LEN: usize = SERIES_COLORS.len();

/// The raster palette: "none" followed by the series colours.
pub const RASTER_PALETTE: [Color; PALETTE_LEN + 1] = [
    Color::Reset,
    SERIES_COLORS[0],
    SERIES_COLORS[1],
    SERIES_COLORS[2],
    SERIES_COLORS[3],
    SERIES_COLORS[4],
    SERIES_COLORS[5],
    SERIES_COLORS[6],
    SERIES_COLORS[7],
    SERIES_COLORS[8],
    SERIES_COLORS[9],
];

/// A dashboard colour on the terminal.
/// A series' colour: its fixed one, else the palette's.
pub fn series_color(s: &crate::panel::SeriesView) -> Color {
    s.fixed.map_or(
        RASTER_PALETTE[usize::from(s.color) % RASTER_PALETTE.len()],
        color,
    )
}

pub fn color(c: DashColor) -> Color {
    match c {
        DashColor::Green => Color::Green,
        DashColor::Yellow => Color::Yellow,
        DashColor::Orange => Color::Rgb(255, 165, 0),
        DashColor::Red => Color::Red,
        DashColor::Blue => Color::Blue,
        DashColor::Purple => Color::Magenta,
        DashColor::Cyan => Color::Cyan,
        DashColor::Gray => Color::Gray,
        DashColor::White => Color::White,
        DashColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// Draws the whole screen.
pub fn view(state: &State, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.height == 0 || area.width == 0 {
        return;
    }
    let buf = frame.buffer_mut();
    banner::render(buf, Rect::new(area.x, area.y, area.width, 1), state);
    if state.top_rows() > 1 && area.height >= 3 {
        varbar::render(buf, Rect::new(area.x, area.y + 1, area.width, 1), state);
    }
    if area.height >= 2 {
        status::render(
            buf,
            Rect::new(area.x, area.bottom() - 1, area.width, 1),
            state,
        );
    }
    let grid_area = state.grid_area().intersection(area);
    grid::render(buf, grid_area, state);
    cursor::render(buf, state);
    if state.explore.inspector {
        inspector::render(buf, grid_area, state);
    }
    if state.explore.alerts_view {
        let (view, am_panel) = alertmanager::split(grid_area, state);
        alerts_view::render(buf, view, state);
        if let Some(panel) = am_panel {
            alertmanager::render_panel(buf, panel, state);
        }
        if state.explore.am.silences_view {
            alertmanager::render_silences(buf, grid_area, &state.explore.am, state.now);
        }
        alertmanager::render_dialog(buf, grid_area, &state.explore.am);
    }
    if state.embedded.as_ref().is_some_and(|e| e.view) {
        targets::render(buf, grid_area, state);
    }
    if state.server_targets.view {
        targets::render_server(buf, grid_area, state);
    }
    picker::render(buf, grid_area, state);
    prompt::render(buf, grid_area, state);
    if state.help {
        help::render(buf, area, state);
    }
}

/// The inside of a panel's border.
/// A panel's border with `title` at the top left: the same cells as a bordered
/// [`ratatui::widgets::Block`], drawn without the Block's pass over every cell inside
/// (a frame of the whole grid is then a few hundred cells of borders, not the screen).
pub fn frame(buf: &mut Buffer, rect: Rect, title: &Line<'_>, style: Style, thick: bool) {
    let rect = rect.intersection(buf.area);
    if rect.width < 2 || rect.height < 2 {
        return;
    }
    let set = if thick {
        ratatui::symbols::border::THICK
    } else {
        ratatui::symbols::border::PLAIN
    };
    let (left, right) = (rect.left(), rect.right() - 1);
    let (top, bottom) = (rect.top(), rect.bottom() - 1);
    for x in left + 1..right {
        buf[(x, top)]
            .set_symbol(set.horizontal_top)
            .set_style(style);
        buf[(x, bottom)]
            .set_symbol(set.horizontal_bottom)
            .set_style(style);
    }
    for y in top + 1..bottom {
        buf[(left, y)]
            .set_symbol(set.vertical_left)
            .set_style(style);
        buf[(right, y)]
            .set_symbol(set.vertical_right)
            .set_style(style);
    }
    buf[(left, top)].set_symbol(set.top_left).set_style(style);
    buf[(right, top)].set_symbol(set.top_right).set_style(style);
    buf[(left, bottom)]
        .set_symbol(set.bottom_left)
        .set_style(style);
    buf[(right, bottom)]
        .set_symbol(set.bottom_right)
        .set_style(style);
    buf.set_line(left + 1, top, title, rect.width - 2);
}

pub fn inner(rect: Rect) -> Rect {
    if rect.width < 2 || rect.height < 2 {
        return Rect::new(rect.x, rect.y, 0, 0);
    }
    Rect::new(rect.x + 1, rect.y + 1, rect.width - 2, rect.height - 2)
}

/// The plot size (cells wide, rows high) a panel in `rect` will draw, before its data is
/// known (the y labels are assumed 7 cells wide). Used to pick the range query's step.
pub fn plot_estimate(panel: &Panel, rect: Rect) -> (u16, u16) {
    let inner = inner(rect);
    match panel.kind {
        PanelKind::Stat => {
            let g = stat::spark_area(inner);
            (g.width.max(1), g.height.max(1))
        }
        _ => {
            let legend = graph::legend_rows(inner.height);
            let plot = graph::plot_area(inner, 7, legend);
            (plot.width.max(1), plot.height.max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;
    use ratatui::text::Span;
    use ratatui::widgets::{Block, BorderType, Widget as _};

    use super::*;

    /// `frame` draws exactly what a bordered Block with the same title and border style
    /// draws, styles included, over a buffer that already holds other content.
    #[test]
    fn frame_matches_a_bordered_block() {
        let title = Line::from(vec![
            Span::styled(
                " Latency p50 / p95 / p99 ",
                Style::new().add_modifier(Modifier::BOLD).fg(Color::Reset),
            ),
            Span::styled("stale ", Style::new().fg(Color::Yellow)),
        ]);
        let styles = [
            Style::new().fg(Color::DarkGray),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ];
        for (w, h) in [(40, 8), (12, 3), (3, 2), (2, 2), (30, 1), (1, 5)] {
            for style in styles {
                for thick in [false, true] {
                    let area = Rect::new(2, 1, w, h);
                    let mut expected =
                        Buffer::filled(Rect::new(0, 0, 44, 10), ratatui::buffer::Cell::new("x"));
                    let mut got = expected.clone();
                    if w >= 2 && h >= 2 {
                        Block::bordered()
                            .border_type(if thick {
                                BorderType::Thick
                            } else {
                                BorderType::Plain
                            })
                            .border_style(style)
                            .title(title.clone())
                            .render(area, &mut expected);
                    }
                    frame(&mut got, area, &title, style, thick);
                    assert_eq!(got, expected, "{w}x{h} thick={thick} {style:?}");
                }
            }
        }
    }
}
