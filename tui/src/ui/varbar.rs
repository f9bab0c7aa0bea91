//! The variable bar under the banner: each dashboard variable with its current value(s),
//! `V` to change them. A variable still loading, failing or without values says so.

use promdash_queries::dashboard::VariableSource;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let right = area.right();
    let mut x = area.x;
    let mut put = |x: &mut u16, text: &str, style: Style| {
        if *x < right {
            *x = buf
                .set_stringn(*x, area.y, text, usize::from(right - *x), style)
                .0;
        }
    };
    for v in &state.vars.vars {
        put(&mut x, " $", Style::new().fg(Color::DarkGray));
        put(&mut x, &v.def.name, Style::new().fg(Color::Cyan));
        put(&mut x, " ", Style::new());
        let (text, style) = if let Some(e) = &v.error {
            (format!("error: {e}"), Style::new().fg(Color::Red))
        } else if v.options.as_ref().is_some_and(Vec::is_empty) {
            let query = match &v.def.source {
                VariableSource::LabelValues { label, matcher } => match matcher {
                    Some(m) => format!("label_values({m}, {label})"),
                    None => format!("label_values({label})"),
                },
                VariableSource::Values(_) => "values".to_owned(),
                VariableSource::QueryResult(e) => format!("query_result({e})"),
                VariableSource::Metrics(r) => format!("metrics({r})"),
            };
            (
                format!("no values ({query} returned nothing)"),
                Style::new().fg(Color::Yellow),
            )
        } else if v.options.is_none() {
            ("loading…".to_owned(), Style::new().fg(Color::DarkGray))
        } else {
            (
                state.vars.shown(v),
                Style::new().add_modifier(Modifier::BOLD),
            )
        };
        put(&mut x, &text, style);
        put(&mut x, " ", Style::new());
    }
    let hint = " V change ";
    let w = hint.chars().count() as u16;
    if x + w < right {
        buf.set_string(right - w, area.y, hint, Style::new().fg(Color::DarkGray));
    }
}
