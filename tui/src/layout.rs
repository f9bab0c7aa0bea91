//! The 12-column flow: panels fill rows left to right, a panel that does not fit in what
//! is left of a row starts the next one. Rows share the height of the grid; when the
//! terminal is too small for every row, rows keep their minimum height and the grid
//! scrolls so the focused panel stays visible.

use ratatui::layout::Rect;

/// What the layout needs to know about a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Columns of 12, clamped to 1..=12.
    pub width: u8,
    /// Graphs and tables want more height than single values.
    pub tall: bool,
    /// Preferred height in rows, from the dashboard file.
    pub height: Option<u16>,
    /// Starts a new line even if it would fit beside the panel before it (the copies of
    /// a repeated panel, and what follows them).
    pub newline: bool,
}

/// Smallest height that still shows the title and one line of content.
pub const MIN_PANEL_HEIGHT: u16 = 3;

/// Assigns `slots` to rows (indices into `slots`).
pub fn rows(slots: &[Slot]) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 12u8;
    for (i, s) in slots.iter().enumerate() {
        let w = s.width.clamp(1, 12);
        if used + w > 12 || (s.newline && used > 0) {
            rows.push(Vec::new());
            used = 0;
        }
        used += w;
        if let Some(row) = rows.last_mut() {
            row.push(i);
        }
    }
    rows
}

/// The rectangle of every panel in `area`; `None` for panels scrolled out of view.
pub fn grid(area: Rect, slots: &[Slot], focus: usize) -> Vec<Option<Rect>> {
    let mut out = vec![None; slots.len()];
    let rows = rows(slots);
    if rows.is_empty() || area.width == 0 || area.height == 0 {
        return out;
    }
    // Comfortable and minimum height of each row.
    let want: Vec<(u16, u16, u16)> = rows
        .iter()
        .map(|r| {
            let tall = r.iter().any(|&i| slots[i].tall);
            let hint = r.iter().filter_map(|&i| slots[i].height).max();
            let min = if tall { 6 } else { 4 };
            let weight = if tall { 3 } else { 1 };
            (hint.unwrap_or(min).max(MIN_PANEL_HEIGHT), weight, min)
        })
        .collect();
    let total_pref: u16 = want.iter().map(|w| w.0).sum();
    let mut heights: Vec<u16> = Vec::with_capacity(rows.len());
    if total_pref <= area.height {
        // Hand out the spare rows by weight to rows without an explicit height.
        let spare = area.height - total_pref;
        let flexible: Vec<bool> = rows
            .iter()
            .map(|r| r.iter().all(|&i| slots[i].height.is_none()))
            .collect();
        let weight_sum: u16 = want
            .iter()
            .zip(&flexible)
            .filter(|(_, f)| **f)
            .map(|(w, _)| w.1)
            .sum();
        let mut given = 0;
        for (k, w) in want.iter().enumerate() {
            let extra = if flexible[k] && weight_sum > 0 {
                spare * w.1 / weight_sum
            } else {
                0
            };
            given += extra;
            heights.push(w.0 + extra);
        }
        // Rounding leftovers go to the last flexible row.
        if let Some(k) = flexible.iter().rposition(|f| *f) {
            heights[k] += spare.saturating_sub(given);
        }
    } else {
        let total_min: u16 = want.iter().map(|w| w.2.min(w.0)).sum();
        if total_min <= area.height {
            // Shrink rows from their preferred height toward the minimum, evenly.
            heights = want.iter().map(|w| w.2.min(w.0)).collect();
            let mut spare = area.height - total_min;
            'outer: loop {
                let mut grew = false;
                for (k, w) in want.iter().enumerate() {
                    if spare == 0 {
                        break 'outer;
                    }
                    if heights[k] < w.0 {
                        heights[k] += 1;
                        spare -= 1;
                        grew = true;
                    }
                }
                if !grew {
                    break;
                }
            }
        } else {
            heights = vec![MIN_PANEL_HEIGHT.max(area.height.min(4)); rows.len()];
            let fit = (area.height / heights[0]).max(1);
            if fit < rows.len() as u16 {
                // Not everything fits: give the visible rows the whole height.
                let each = area.height / fit;
                heights = vec![each; rows.len()];
            }
        }
    }
    // First row shown: scroll so the focused panel's row is visible.
    let focus_row = rows.iter().position(|r| r.contains(&focus)).unwrap_or(0);
    let mut first = 0;
    while first < focus_row
        && heights[first..=focus_row]
            .iter()
            .map(|h| u32::from(*h))
            .sum::<u32>()
            > u32::from(area.height)
    {
        first += 1;
    }
    let mut y = area.y;
    let bottom = area.y + area.height;
    for (k, row) in rows.iter().enumerate().skip(first) {
        let h = heights[k];
        if y >= bottom {
            break;
        }
        let h = h.min(bottom - y);
        let mut col = 0u16;
        for &i in row {
            let w = u16::from(slots[i].width.clamp(1, 12));
            let x0 = area.x + col * area.width / 12;
            let x1 = area.x + (col + w) * area.width / 12;
            col += w;
            out[i] = Some(Rect::new(x0, y, x1 - x0, h));
        }
        y += h;
    }
    out
}

/// One line of a dashboard with rows (a Grafana import): a row's title bar, or a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// The title bar of row `n` (one line high).
    Header(usize),
    /// Panel `index` with its slot.
    Panel(usize, Slot),
}

/// Where everything of a dashboard with rows lands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsLayout {
    /// Per panel; `None`: in a collapsed row or scrolled away.
    pub panels: Vec<Option<Rect>>,
    /// Per row title bar; `None`: scrolled away.
    pub headers: Vec<Option<Rect>>,
    /// Lines above the first one shown (for a scroll hint).
    pub above: bool,
    /// Lines below the last one shown.
    pub below: bool,
}

/// The height a panel keeps in a dashboard with rows: its own (Grafana's grid rows, one
/// terminal row each, so proportions hold), else 8 for graphs and tables, 4 otherwise.
fn item_height(slot: &Slot) -> u16 {
    slot.height
        .unwrap_or(if slot.tall { 8 } else { 4 })
        .max(MIN_PANEL_HEIGHT)
}

/// Lays out `items` (in order) at their own heights: title bars take a line, panels flow
/// left to right in 12 columns. The view scrolls so that item `focus` is on screen.
pub fn rows_grid(
    area: Rect,
    items: &[Item],
    panels: usize,
    rows: usize,
    focus: usize,
) -> RowsLayout {
    let mut out = RowsLayout {
        panels: vec![None; panels],
        headers: vec![None; rows],
        above: false,
        below: false,
    };
    if area.width == 0 || area.height == 0 || items.is_empty() {
        return out;
    }
    // Lines: (items, height).
    let mut lines: Vec<(Vec<usize>, u16)> = Vec::new();
    let mut used = 12u8;
    for (k, item) in items.iter().enumerate() {
        match item {
            Item::Header(_) => {
                lines.push((vec![k], 1));
                used = 12;
            }
            Item::Panel(_, slot) => {
                let w = slot.width.clamp(1, 12);
                if used + w > 12 || (slot.newline && used > 0) {
                    lines.push((Vec::new(), 0));
                    used = 0;
                }
                used += w;
                if let Some(line) = lines.last_mut() {
                    line.0.push(k);
                    line.1 = line.1.max(item_height(slot));
                }
            }
        }
    }
    let focus_line = lines
        .iter()
        .position(|(l, _)| l.contains(&focus))
        .unwrap_or(0);
    // A focused title bar is shown with the first line of its panels when they fit (an
    // unfolded row shows what it holds).
    let show_to = match items.get(focus) {
        Some(Item::Header(_))
            if lines.get(focus_line + 1).is_some_and(|(l, _)| {
                matches!(l.first().map(|&k| items[k]), Some(Item::Panel(..)))
            }) =>
        {
            focus_line + 1
        }
        _ => focus_line,
    };
    let mut first = 0;
    while first < focus_line
        && lines[first..=show_to]
            .iter()
            .map(|(_, h)| u32::from(*h))
            .sum::<u32>()
            > u32::from(area.height)
    {
        first += 1;
    }
    out.above = first > 0;
    let bottom = area.y + area.height;
    let mut y = area.y;
    for (line, h) in lines.iter().skip(first) {
        if y >= bottom {
            out.below = true;
            break;
        }
        let h = (*h).min(bottom - y);
        let mut col = 0u16;
        for &k in line {
            match items[k] {
                Item::Header(r) => {
                    if let Some(slot) = out.headers.get_mut(r) {
                        *slot = Some(Rect::new(area.x, y, area.width, 1));
                    }
                }
                Item::Panel(i, slot) => {
                    let w = u16::from(slot.width.clamp(1, 12));
                    let x0 = area.x + col * area.width / 12;
                    let x1 = area.x + (col + w) * area.width / 12;
                    col += w;
                    // A panel cut by the bottom edge is shown only if its title and a
                    // line of content fit.
                    if h >= MIN_PANEL_HEIGHT
                        && let Some(p) = out.panels.get_mut(i)
                    {
                        *p = Some(Rect::new(x0, y, x1 - x0, h));
                    }
                }
            }
        }
        y += h;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(w: u8) -> Slot {
        Slot {
            width: w,
            tall: false,
            height: None,
            newline: false,
        }
    }
    fn graph(w: u8) -> Slot {
        Slot {
            width: w,
            tall: true,
            height: None,
            newline: false,
        }
    }

    #[test]
    fn flows_left_to_right() {
        let slots = [stat(4), stat(4), stat(4), graph(6), graph(6), graph(12)];
        assert_eq!(rows(&slots), vec![vec![0, 1, 2], vec![3, 4], vec![5]]);
        let r = grid(Rect::new(0, 0, 120, 38), &slots, 0);
        let r: Vec<Rect> = r.into_iter().map(|r| r.expect("all visible")).collect();
        assert_eq!(r[0].x, 0);
        assert_eq!(r[1].x, 40);
        assert_eq!(r[2].x + r[2].width, 120);
        assert_eq!(r[3].y, r[0].height);
        let used: u16 = r[0].height + r[3].height + r[5].height;
        assert_eq!(used, 38, "rows fill the height");
        assert!(r[3].height > r[0].height, "graph rows get more height");
    }

    #[test]
    fn tiny_terminal_scrolls_to_focus() {
        let slots = [stat(12), graph(12), graph(12), graph(12)];
        let r = grid(Rect::new(0, 0, 40, 8), &slots, 3);
        assert!(r[3].is_some(), "focused panel visible");
        assert!(r[0].is_none());
        for rect in r.iter().flatten() {
            assert!(rect.height >= MIN_PANEL_HEIGHT);
            assert!(rect.y + rect.height <= 8);
        }
    }

    #[test]
    fn rows_keep_their_heights_and_scroll_to_the_focus() {
        let p = |i, w, h| {
            Item::Panel(
                i,
                Slot {
                    width: w,
                    tall: true,
                    height: Some(h),
                    newline: false,
                },
            )
        };
        // Row 0 open with three panels (two lines), row 1 collapsed, row 2 open.
        let items = [
            Item::Header(0),
            p(0, 6, 8),
            p(1, 6, 10),
            p(2, 12, 8),
            Item::Header(1),
            Item::Header(2),
            p(5, 12, 8),
        ];
        let l = rows_grid(Rect::new(0, 1, 120, 30), &items, 6, 3, 0);
        assert_eq!(l.headers[0], Some(Rect::new(0, 1, 120, 1)));
        assert_eq!(
            l.panels[0],
            Some(Rect::new(0, 2, 60, 10)),
            "a line takes its tallest"
        );
        assert_eq!(l.panels[1], Some(Rect::new(60, 2, 60, 10)));
        assert_eq!(l.panels[2], Some(Rect::new(0, 12, 120, 8)));
        assert_eq!(l.headers[1], Some(Rect::new(0, 20, 120, 1)));
        assert_eq!(l.headers[2], Some(Rect::new(0, 21, 120, 1)));
        // The last panel is cut by the edge (9 lines left of 8 + header): shown clipped.
        assert_eq!(l.panels[5], Some(Rect::new(0, 22, 120, 8)));
        assert_eq!(
            (l.panels[3], l.panels[4]),
            (None, None),
            "collapsed: not laid out"
        );
        assert!(!l.above && !l.below);
        // A short screen: focus on the last panel scrolls the first lines away.
        let l = rows_grid(Rect::new(0, 0, 120, 12), &items, 6, 3, 6);
        assert_eq!(l.panels[5], Some(Rect::new(0, 2, 120, 8)));
        assert_eq!(l.headers[2], Some(Rect::new(0, 1, 120, 1)));
        assert_eq!(l.panels[0], None);
        assert!(l.above);
    }

    #[test]
    fn a_newline_starts_a_line_in_both_layouts() {
        let nl = |w| Slot {
            newline: true,
            ..stat(w)
        };
        // Repeated copies: a 4-wide panel, then three copies starting a line, then one
        // after them starting the next.
        let slots = [stat(4), nl(4), stat(4), stat(4), nl(4)];
        assert_eq!(rows(&slots), vec![vec![0], vec![1, 2, 3], vec![4]]);
        // A newline at the start of a line changes nothing.
        assert_eq!(rows(&[nl(6), stat(6)]), vec![vec![0, 1]]);
        let items: Vec<Item> = slots
            .iter()
            .enumerate()
            .map(|(i, s)| Item::Panel(i, *s))
            .collect();
        let l = rows_grid(Rect::new(0, 0, 120, 40), &items, 5, 0, 0);
        let ys: Vec<u16> = l.panels.iter().map(|r| r.expect("shown").y).collect();
        assert_eq!(ys, [0, 4, 4, 4, 8]);
        let xs: Vec<u16> = l.panels.iter().map(|r| r.expect("shown").x).collect();
        assert_eq!(xs, [0, 0, 40, 80, 0]);
    }
}
