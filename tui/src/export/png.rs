//! PNG pictures: the SVG of [`super::svg`] rasterised by resvg with the bundled DejaVu
//! Sans (regular and bold, under the Bitstream Vera licence, see
//! `tui/assets/fonts/LICENSE-DejaVu.txt`). No system font is ever looked up, so a PNG
//! has the same pixels on every machine.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use super::{PageSize, Target};
use crate::app::State;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The bundled fonts, parsed once.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(REGULAR)));
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(BOLD)));
        db.set_sans_serif_family(super::svg::FONT);
        db.set_serif_family(super::svg::FONT);
        db.set_monospace_family(super::svg::FONT);
        Arc::new(db)
    })
    .clone()
}

/// `svg` as PNG bytes at its own size.
pub fn rasterise(svg: &str) -> Result<Vec<u8>, String> {
    let opt = usvg::Options {
        font_family: super::svg::FONT.to_owned(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("cannot read the SVG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("cannot draw a {}×{} picture", size.width(), size.height()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    encode(&pixmap).map_err(|e| format!("cannot encode the PNG: {e}"))
}

/// The pixmap as an 8-bit RGBA PNG, compressed with `png`'s fast mode: the default
/// (`Pixmap::encode_png`) spent most of an export in deflate for files about as small.
fn encode(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    // tiny-skia keeps premultiplied alpha; PNG wants it straight.
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgba)?;
    writer.finish()?;
    Ok(out)
}

/// The picture of `target` as a PNG of `size` pixels.
pub fn render(state: &State, target: Target, size: PageSize) -> Result<Vec<u8>, String> {
    rasterise(&super::svg::render(state, target, size))
}
