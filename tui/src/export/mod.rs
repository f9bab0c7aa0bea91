//! Exports of what the dashboard shows: panels and whole dashboards as SVG and PNG
//! pictures drawn for a page (not a copy of the terminal), the data behind them as CSV
//! and JSON (the raw answers, not the downsampled columns), and the terminal rendering
//! as plain or coloured text.
//!
//! Everything here reads [`State`] and nothing else, like the view: the TUI's export keys
//! and `promdash snapshot` both fill a `State` the usual way and hand it over.
//!
//! Kept in the `promdash` crate rather than a crate of its own: the drawing needs the
//! TUI's panel state, units, legend names and colours, and the drawing dependencies
//! (tiny-skia, skrifa for the bundled font) are the same wherever they live.

pub mod data;
pub mod font;
pub mod png;
pub mod svg;
pub mod text;

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::app::State;

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ExportFormat {
    /// A picture drawn for a page: axes with units and dates, legend, thresholds.
    Svg,
    /// The same picture as the SVG, painted with the bundled font.
    Png,
    /// The data: one CSV per panel, the columns of `promdash query -o csv`.
    Csv,
    /// The data of every panel exported, with windows and errors, as one document.
    Json,
    /// The terminal rendering as plain text.
    Txt,
    /// The terminal rendering with ANSI colours.
    Ansi,
}

impl ExportFormat {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Txt => "txt",
            Self::Ansi => "ans",
        }
    }

    /// What the TUI's export keys write.
    pub const TUI: [Self; 4] = [Self::Png, Self::Svg, Self::Csv, Self::Json];
}

/// What is exported: one panel, or the whole dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Dashboard,
    Panel(usize),
}

/// Page size of pictures, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    pub width: u32,
    pub height: u32,
}

impl PageSize {
    /// The default size for `target`: 1600×1000 for a dashboard, 1200×600 for a panel.
    pub fn default_for(target: Target) -> Self {
        match target {
            Target::Dashboard => Self {
                width: 1600,
                height: 1000,
            },
            Target::Panel(_) => Self {
                width: 1200,
                height: 600,
            },
        }
    }
}

/// One file to write: its name without extension and directory, and its bytes.
#[derive(Debug, Clone)]
pub struct Output {
    pub stem: String,
    pub extension: &'static str,
    pub bytes: Vec<u8>,
}

/// Everything `format` writes for `target` (several CSV files for a dashboard: one per
/// panel). `at` is the time in the names (Unix seconds, written in UTC).
pub fn render(
    state: &State,
    target: Target,
    format: ExportFormat,
    size: Option<PageSize>,
    at: f64,
) -> Result<Vec<Output>, String> {
    let stem = stem(state, target, at);
    let size = size.unwrap_or_else(|| PageSize::default_for(target));
    let one = |bytes: Vec<u8>| {
        vec![Output {
            stem: stem.clone(),
            extension: format.extension(),
            bytes,
        }]
    };
    Ok(match format {
        ExportFormat::Svg => one(svg::render(state, target, size).into_bytes()),
        ExportFormat::Png => one(png::render(state, target, size)?),
        ExportFormat::Json => one(data::json(state, target).into_bytes()),
        ExportFormat::Txt => one(text::render(state, target, false).into_bytes()),
        ExportFormat::Ansi => one(text::render(state, target, true).into_bytes()),
        ExportFormat::Csv => {
            let panels: Vec<usize> = match target {
                Target::Panel(i) => vec![i],
                Target::Dashboard => (0..state.dashboard.panels.len()).collect(),
            };
            panels
                .into_iter()
                .map(|i| Output {
                    stem: self::stem(state, Target::Panel(i), at),
                    extension: "csv",
                    bytes: data::csv(state, i),
                })
                .collect()
        }
    })
}

/// Writes `outputs` into `dir`, never overwriting: a name already taken gets `-2`, `-3`, …
/// (created exclusively, so two exports in the same second cannot collide either).
pub fn write_all(dir: &Path, outputs: &[Output]) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::with_capacity(outputs.len());
    for o in outputs {
        let (path, mut file) = create_new(dir, &o.stem, o.extension)?;
        file.write_all(&o.bytes)?;
        file.flush()?;
        paths.push(path);
    }
    Ok(paths)
}

/// Creates `dir/stem.ext`, or `dir/stem-N.ext` with the first free N.
pub fn create_new(dir: &Path, stem: &str, ext: &str) -> io::Result<(PathBuf, File)> {
    for n in 1..10_000u32 {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", path.display()),
                ));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: every name for {stem}.{ext} is taken", dir.display()),
    ))
}

/// The file name of an export without extension: the dashboard title, the panel title
/// for a panel, and the time in UTC, e.g. `reference-service-latency-20261202T041500Z`.
pub fn stem(state: &State, target: Target, at: f64) -> String {
    let mut s = slug(&state.dashboard.title, "dashboard");
    if let Target::Panel(i) = target {
        let title = state
            .dashboard
            .panels
            .get(i)
            .map_or("", |p| p.title.as_str());
        s.push('-');
        s.push_str(&slug(title, &format!("panel{}", i + 1)));
    }
    s.push('-');
    s.push_str(&utc_stamp(at));
    s
}

/// Lower-case ASCII letters and digits of `title`, anything else one `-`, at most 40
/// characters; `fallback` when nothing is left.
pub fn slug(title: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out.to_owned()
    }
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn utc_stamp(t: f64) -> String {
    let (y, mo, d) = ymd(t, 0);
    let (h, mi, s) = crate::ui::time::hms(t, 0);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Year, month and day of Unix time `t` shifted by `offset` seconds.
pub fn ymd(t: f64, offset: i32) -> (i64, u32, u32) {
    let days = (t.floor() as i64 + i64::from(offset)).div_euclid(86400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// `2026-12-02 04:15:00`, local to `offset`.
pub fn date_time(t: f64, offset: i32) -> String {
    let (y, mo, d) = ymd(t, offset);
    let (h, mi, s) = crate::ui::time::hms(t, offset);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `UTC`, `UTC+01:00`, `UTC-05:30`.
pub fn zone(offset: i32) -> String {
    if offset == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// The time range shown, for footers: `2026-12-02 03:15:00 – 04:15:00 UTC` (the date
/// written again at the end only when it changes).
pub fn range_text(start: f64, end: f64, offset: i32) -> String {
    let a = date_time(start, offset);
    let b = date_time(end, offset);
    let b = if a[..10] == b[..10] { &b[11..] } else { &b[..] };
    format!("{a} – {b} {}", zone(offset))
}

/// The window the dashboard shows: from the range queries' windows when there are any,
/// else the range before the window end.
pub fn shown_window(state: &State) -> (f64, f64) {
    if let Some(w) = state.panels.iter().find_map(|p| p.window) {
        return (w.start, w.end);
    }
    let end = state.window_end();
    (end - state.range.as_secs_f64(), end)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn slugs_and_stamps() {
        assert_eq!(slug("Latency p95 / p50", "x"), "latency-p95-p50");
        assert_eq!(slug("  ..Ünïcode!! ", "x"), "n-code");
        assert_eq!(slug("", "panel3"), "panel3");
        assert_eq!(slug("€€€", "panel3"), "panel3");
        assert!(slug(&"a".repeat(100), "x").len() <= 40);
        // 2026-12-02T04:15:00Z
        assert_eq!(utc_stamp(1_796_184_900.0), "20261202T041500Z");
        assert_eq!(ymd(0.0, 0), (1970, 1, 1));
        assert_eq!(ymd(951_782_400.0, 0), (2000, 2, 29));
        assert_eq!(zone(3600), "UTC+01:00");
        assert_eq!(zone(-19_800), "UTC-05:30");
        assert_eq!(
            range_text(1_796_181_300.0, 1_796_184_900.0, 0),
            "2026-12-02 03:15:00 – 04:15:00 UTC"
        );
        assert_eq!(
            range_text(1_796_169_600.0 - 60.0, 1_796_169_600.0, 0),
            "2026-12-01 23:59:00 – 2026-12-02 00:00:00 UTC"
        );
    }

    #[test]
    fn names_are_never_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Output {
            stem: "d-p-20261202T041500Z".into(),
            extension: "csv",
            bytes: b"a\n".to_vec(),
        };
        let a = write_all(dir.path(), std::slice::from_ref(&out)).expect("writes");
        let b = write_all(dir.path(), &[out.clone(), out]).expect("writes");
        let names: Vec<String> = a
            .iter()
            .chain(&b)
            .map(|p| {
                p.file_name()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "d-p-20261202T041500Z.csv",
                "d-p-20261202T041500Z-2.csv",
                "d-p-20261202T041500Z-3.csv"
            ]
        );
    }
}
