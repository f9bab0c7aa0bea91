//! Drawing: `view(&State, &mut Frame)` and one module per screen region.
//!
//! Nothing here changes state or reads a clock; everything shown comes from [`State`].

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
pub mod time;

use promdash_queries::dashboard::{Color as DashColor, Panel, PanelKind};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;

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
        alerts_view::render(buf, grid_area, state);
    }
    picker::render(buf, grid_area, state);
    prompt::render(buf, grid_area, state);
    if state.help {
        help::render(buf, area, state);
    }
}

/// The inside of a panel's border.
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
