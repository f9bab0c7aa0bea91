//! Fast paths for the hot loop of decoding: a matrix's `values` arrays and the numbers in
//! them. Anything unusual falls back to the standard library or to serde, so the fast
//! path only has to be right for what it accepts.

use std::ops::Range;

use crate::decode::{RawData, RawEnvelope, RawResult, RawSeries};
use crate::labels::LabelSets;
use crate::model::{Labels, Sample};

/// Powers of ten exactly representable as f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a decimal number (`-12.5`, `2e-07`, `1.25E+3`) filling all of `b`.
/// See [`number_at`] for the precision.
pub(crate) fn parse_f64(b: &[u8]) -> Option<f64> {
    let mut i = 0;
    let v = number_at(b, &mut i)?;
    (i == b.len()).then_some(v)
}

/// Parses the decimal number starting at `b[*i]` and moves `*i` past it. Digits are
/// read eight at a time (the bytes after the number are read too, but only counted up
/// to the first non-digit). When the significand fits in 53 bits and the power of ten
/// is within ±22 the value is computed directly with one correctly rounded operation;
/// anything else (e.g. 17-digit values such as `0.30000000000000004`) goes to the
/// standard library, so every value is correctly rounded. `None` if there is no number
/// at `*i`.
#[inline]
pub(crate) fn number_at(b: &[u8], i: &mut usize) -> Option<f64> {
    let (x, e) = number_parts(b, i)?;
    Some(scale(x, e))
}

/// `x × 10^e` for the parts returned by [`number_parts`].
#[inline]
fn scale(x: f64, e: i8) -> f64 {
    if e >= 0 {
        x * POW10[e as usize]
    } else {
        x / POW10[e.unsigned_abs() as usize]
    }
}

/// Like [`number_at`], but returns the value as parts `(x, e)` meaning `x × 10^e`, with
/// `e` in -22..=22, so that callers can do the (slow) divisions later in a batch where
/// they do not wait on each other.
#[inline]
fn number_parts(b: &[u8], i: &mut usize) -> Option<(f64, i8)> {
    let start = *i;
    let mut j = start;
    let neg = match b.get(j) {
        Some(b'-') => {
            j += 1;
            true
        }
        Some(b'+') => {
            j += 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut n = 0u32;
    let int_digits = take_digits(b, &mut j, &mut mant, &mut n);
    let mut exp: i32 = 0;
    let mut frac_digits = 0;
    if b.get(j) == Some(&b'.') {
        j += 1;
        frac_digits = take_digits(b, &mut j, &mut mant, &mut n);
        exp = -(frac_digits as i32);
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        let eneg = match b.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let estart = j;
        let mut e: i32 = 0;
        while let Some(&c) = b.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            e = e.saturating_mul(10).saturating_add(i32::from(c - b'0'));
            j += 1;
        }
        if j == estart {
            return None;
        }
        exp = exp.saturating_add(if eneg { -e } else { e });
    }
    *i = j;
    // Exact (one correctly rounded operation) while the significand fits in 53 bits.
    // Beyond, scaling would round twice, and a value printed back (`promdash query`)
    // must equal what the server sent: `wide` rounds those correctly, or the standard
    // library does.
    if n > 19 || !(-22..=22).contains(&exp) {
        return slow(&b[start..j]).map(|v| (v, 0));
    }
    if mant >> 53 != 0 {
        let v = match wide(mant, exp) {
            Some(v) => v,
            None => return slow(&b[start..j]).map(|v| (v, 0)),
        };
        return Some((if neg { -v } else { v }, 0));
    }
    let m = mant as f64;
    // In range by the check above.
    Some((if neg { -m } else { m }, exp as i8))
}

/// `mant × 10^exp`, correctly rounded, for 2^53 ≤ mant < 2^64 and -22 ≤ exp ≤ 19.
///
/// For exp ≥ 0 the exact product fits in a u128, whose conversion rounds correctly.
/// For exp < 0, `mant / 10^k = (mant / 5^k) × 2^-k` and the power of two is exact, so
/// only `mant / 5^k` needs rounding: a float estimate is within one unit in the last
/// place, and exact integer comparisons with the midpoints on either side of it pick
/// the correctly rounded neighbour (ties to even).
fn wide(mant: u64, exp: i32) -> Option<f64> {
    if exp >= 0 {
        let p = 10u128.checked_pow(exp.unsigned_abs())?;
        return Some(u128::from(mant).checked_mul(p)? as f64);
    }
    let k = exp.unsigned_abs();
    let f = 5u64.pow(k); // < 2^52 for k <= 22: exact as f64
    let c = (mant as f64) / (f as f64);
    // c = m × 2^e with m in [2^52, 2^53).
    let bits = c.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let m = (bits & ((1 << 52) - 1)) | (1 << 52);
    // Compares mant / f with k2 × 2^g: the sign of mant × 2^-g − f × k2.
    let cmp = |k2: u128, g: i32| -> std::cmp::Ordering {
        let n = u128::from(mant);
        let rhs = u128::from(f) * k2;
        if g <= 0 {
            (n << g.unsigned_abs()).cmp(&rhs)
        } else {
            n.cmp(&(rhs << g.unsigned_abs()))
        }
    };
    let m2 = u128::from(m);
    let up = f64::from_bits(bits + 1);
    let down = f64::from_bits(bits - 1);
    let even = m.is_multiple_of(2);
    let hi = cmp(2 * m2 + 1, e - 1);
    let lo = if m == 1 << 52 {
        cmp(4 * m2 - 1, e - 2)
    } else {
        cmp(2 * m2 - 1, e - 1)
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    let q = match (lo, hi) {
        (_, Greater) => up,
        (_, Equal) => {
            if even {
                c
            } else {
                up
            }
        }
        (Less, _) => down,
        (Equal, _) => {
            if even {
                c
            } else {
                down
            }
        }
        _ => c,
    };
    // × 2^-k, exact: q ≥ 2^53 / 5^22 is far from the subnormal range.
    Some(q * f64::from_bits(((1023 - k as u64) & 0x7ff) << 52))
}

const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Takes the digits at `b[*i..]` into `mant` (while `*n`, the digits taken, stays at
/// most 19: beyond, `*n` keeps counting and `mant` is no longer used). Returns how
/// many digits there were.
#[inline]
fn take_digits(b: &[u8], i: &mut usize, mant: &mut u64, n: &mut u32) -> usize {
    let start = *i;
    while let Some(chunk) = b.get(*i..*i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let v = u64::from_le_bytes(bytes);
        // High bit set in each byte that is not an ASCII digit. Carries and borrows only
        // travel upwards from a byte that is itself flagged, so the lowest flag is exact.
        let flags = (v.wrapping_sub(0x3030_3030_3030_3030) | v.wrapping_add(0x4646_4646_4646_4646))
            & 0x8080_8080_8080_8080;
        let len = if flags == 0 {
            8
        } else {
            (flags.trailing_zeros() / 8) as usize
        };
        if len > 0 {
            if *n + len as u32 <= 19 {
                // Shift the digits to the top and pad the bottom with '0's.
                let padded = if len == 8 {
                    v
                } else {
                    (v << (8 * (8 - len))) | (0x3030_3030_3030_3030 >> (8 * len))
                };
                *mant = *mant * POW10_U64[len] + parse_eight(padded);
            }
            *n += len as u32;
            *i += len;
        }
        if len < 8 {
            return *i - start;
        }
    }
    // Fewer than eight bytes left: one at a time.
    while let Some(&c) = b.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        if *n < 19 {
            *mant = *mant * 10 + u64::from(c - b'0');
        }
        *n += 1;
        *i += 1;
    }
    *i - start
}

/// The value of eight ASCII digits (first digit in the lowest byte).
#[inline]
fn parse_eight(v: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let v = v - 0x3030_3030_3030_3030;
    let v = v.wrapping_mul(10) + (v >> 8);
    ((v & MASK).wrapping_mul(MUL1) + ((v >> 16) & MASK).wrapping_mul(MUL2)) >> 32
}

#[cold]
fn slow(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A sample value string's content: `NaN`, `+Inf`, `-Inf` or a decimal number.
pub(crate) fn parse_value_bytes(b: &[u8]) -> Option<f64> {
    match b {
        b"NaN" => Some(f64::NAN),
        b"+Inf" | b"Inf" => Some(f64::INFINITY),
        b"-Inf" => Some(f64::NEG_INFINITY),
        _ => parse_f64(b),
    }
}

/// Parses the text of a `values` array, `[[t,"v"],...]`, appending to `out`. Returns
/// `None` on anything unexpected (escapes, odd numbers, bad syntax); the caller then
/// decodes the same text with serde for a precise error.
pub(crate) fn parse_samples(text: &[u8], out: &mut Vec<Sample>) -> Option<()> {
    let mut c = Cursor { b: text, i: 0 };
    c.ws();
    c.eat(b'[')?;
    c.ws();
    if c.peek() == Some(b']') {
        c.i += 1;
        c.ws();
        return c.done();
    }
    loop {
        c.eat(b'[')?;
        c.ws();
        let t_start = c.i;
        while matches!(
            c.peek(),
            Some(b'0'..=b'9' | b'.' | b'-' | b'+' | b'e' | b'E')
        ) {
            c.i += 1;
        }
        let t = parse_f64(&c.b[t_start..c.i])?;
        c.ws();
        c.eat(b',')?;
        c.ws();
        c.eat(b'"')?;
        let v_start = c.i;
        loop {
            match c.peek()? {
                b'"' => break,
                b'\\' => return None,
                _ => c.i += 1,
            }
        }
        let v = parse_value_bytes(&c.b[v_start..c.i])?;
        c.i += 1;
        c.ws();
        c.eat(b']')?;
        out.push(Sample { t, v });
        c.ws();
        match c.peek()? {
            b',' => {
                c.i += 1;
                c.ws();
            }
            b']' => {
                c.i += 1;
                c.ws();
                return c.done();
            }
            _ => return None,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, want: u8) -> Option<()> {
        if self.peek() == Some(want) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn done(&self) -> Option<()> {
        (self.i == self.b.len()).then_some(())
    }
}

// ---------------------------------------------------------------------------------------
// A single-pass reader of the query envelope, for the common case. It returns `None` on
// anything it does not expect (including every malformed body), and the caller then
// decodes with serde, which also produces the precise error message.

/// Reads a query answer in one pass. `None`: use the serde decoder instead.
pub(crate) fn read_envelope(body: &[u8]) -> Option<RawEnvelope> {
    let mut r = Reader {
        b: body,
        i: 0,
        last_len: 0,
        exps: Vec::new(),
        sets: LabelSets::default(),
        label_at: Vec::new(),
    };
    r.ws();
    let mut env = RawEnvelope::default();
    r.object(|r, key| {
        match key {
            b"status" => env.status = Some(r.string()?),
            b"data" => env.data = Some(r.data()?),
            b"errorType" => env.error_type = Some(r.string()?),
            b"error" => env.error = Some(r.string()?),
            b"warnings" => env.notes.warnings = r.strings()?,
            b"infos" => env.notes.infos = r.strings()?,
            b"isPartial" => env.notes.is_partial = r.boolean()?,
            _ => r.skip()?,
        }
        Some(())
    })?;
    r.ws();
    (r.i == r.b.len()).then_some(env)
}

/// Index of the first `"`, `\\` or control character at or after `i`: where a string
/// that starts at `i` ends or needs more than copying. Eight bytes at a time.
#[inline]
fn string_stop(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let v = u64::from_le_bytes(bytes);
        // High bit set in each byte that is a zero (after the xor) or below 0x20. As in
        // `take_digits`, only bytes above a flagged one can be flagged wrongly.
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | v.wrapping_sub(ONES * 0x20) & !v)
            & HIGH;
        if flags != 0 {
            return Some(i + (flags.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|n| i + n)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// Samples in the previous series: the series of one range answer are usually about
    /// as long as each other, so this sizes the next `values` without regrowing.
    last_len: usize,
    /// Exponents of the samples being read, reused across series.
    exps: Vec<[i8; 2]>,
    /// The label sets of the series read so far.
    sets: LabelSets,
    /// Where the names and values of a `metric` object are, reused across series.
    label_at: Vec<[Range<usize>; 2]>,
}

impl<'a> Reader<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// `{ "key": value, ... }`, calling `f` with each key and the reader placed before
    /// the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.raw_string()?;
            self.eat(b':')?;
            self.ws();
            f(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[ elem, ... ]`, calling `f` with the reader placed before each element.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            f(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The bytes of a string without escapes; `None` when it has any.
    #[inline(always)]
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.raw_string_at().map(|r| &self.b[r])
    }

    /// Where the content of a string without escapes is; `None` when it has any.
    #[inline(always)]
    fn raw_string_at(&mut self) -> Option<Range<usize>> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        let end = string_stop(self.b, start)?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some(start..end)
    }

    /// A string, escapes decoded by serde_json when there are any.
    fn string(&mut self) -> Option<String> {
        self.ws();
        let save = self.i;
        if let Some(raw) = self.raw_string() {
            return std::str::from_utf8(raw).ok().map(str::to_owned);
        }
        self.i = save;
        let start = self.i;
        self.skip_string()?;
        serde_json::from_slice(&self.b[start..self.i]).ok()
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        self.ws();
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        self.array(|r| {
            out.push(r.string()?);
            Some(())
        })?;
        Some(out)
    }

    fn boolean(&mut self) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            b'n' => self.literal(b"null").map(|()| false),
            _ => None,
        }
    }

    #[inline]
    fn number(&mut self) -> Option<f64> {
        self.ws();
        // JSON numbers start with a digit or '-'.
        if !matches!(self.peek(), Some(b'0'..=b'9' | b'-')) {
            return None;
        }
        number_at(self.b, &mut self.i)
    }

    /// `[t, "v"]` with both numbers still as parts (see [`number_parts`]): the sample
    /// holds the `x`s, the exponents are returned.
    #[inline]
    fn sample_parts(&mut self) -> Option<(Sample, [i8; 2])> {
        self.eat(b'[')?;
        self.ws();
        if !matches!(self.peek(), Some(b'0'..=b'9' | b'-')) {
            return None;
        }
        let (t, te) = number_parts(self.b, &mut self.i)?;
        self.eat(b',')?;
        self.ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut j = self.i + 1;
        let (v, ve) = match number_parts(self.b, &mut j) {
            Some(p) if self.b.get(j) == Some(&b'"') => {
                self.i = j + 1;
                p
            }
            _ => (parse_value_bytes(self.raw_string()?)?, 0),
        };
        self.eat(b']')?;
        Some((Sample { t, v }, [te, ve]))
    }

    /// `[t, "v"]`
    #[inline]
    fn sample(&mut self) -> Option<Sample> {
        self.eat(b'[')?;
        self.ws();
        if !matches!(self.peek(), Some(b'0'..=b'9' | b'-')) {
            return None;
        }
        let t = number_at(self.b, &mut self.i)?;
        self.eat(b',')?;
        self.ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        // The value in place when it is a plain number, else via the string.
        let mut j = self.i + 1;
        let v = match number_at(self.b, &mut j) {
            Some(v) if self.b.get(j) == Some(&b'"') => {
                self.i = j + 1;
                v
            }
            _ => parse_value_bytes(self.raw_string()?)?,
        };
        self.eat(b']')?;
        Some(Sample { t, v })
    }

    fn data(&mut self) -> Option<RawData> {
        let mut data = RawData {
            result_type: None,
            result: None,
        };
        self.object(|r, key| {
            match key {
                b"resultType" => data.result_type = Some(r.string()?),
                b"result" => data.result = Some(r.result()?),
                _ => r.skip()?,
            }
            Some(())
        })?;
        Some(data)
    }

    fn result(&mut self) -> Option<RawResult> {
        self.ws();
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Some(RawResult::Empty);
        }
        self.eat(b'[')?;
        self.ws();
        match self.peek()? {
            b']' => {
                self.i += 1;
                Some(RawResult::Empty)
            }
            b'{' => {
                self.i -= 1; // back to '[' for `array`
                let start = self.i;
                let mut all = Vec::new();
                let mut sets = Vec::new();
                self.array(|r| {
                    let (series, set) = r.series()?;
                    all.push(series);
                    sets.push(set);
                    if all.len() == 1 {
                        // The series of one answer are usually of a size: room for as
                        // many as the rest of the body would hold, so that the vectors
                        // are not copied over and over as they grow (but not for one
                        // per two bytes after a first series `{}`).
                        let more = (r.b.len() - r.i) / (r.i - start).max(32);
                        all.reserve(more);
                        sets.reserve(more);
                        r.sets.reserve_like(1, more);
                    }
                    Some(())
                })?;
                // The guess above may have been too large.
                all.shrink_to_fit();
                let block = std::mem::take(&mut self.sets).finish()?;
                for (series, set) in all.iter_mut().zip(sets) {
                    series.labels = block.labels(set);
                }
                Some(RawResult::Series(all))
            }
            _ => {
                let t = self.number()?;
                self.eat(b',')?;
                let v = self.string()?;
                self.eat(b']')?;
                Some(RawResult::Pair(t, v))
            }
        }
    }

    /// A series, its labels (filled in by the caller) as a set of `self.sets`.
    fn series(&mut self) -> Option<(RawSeries, Range<usize>)> {
        let mut s = RawSeries {
            labels: Labels::new(),
            value: None,
            values: None,
            native_histogram: false,
        };
        self.object(|r, key| {
            match key {
                b"metric" => r.labels()?,
                b"value" => s.value = Some(r.sample()?),
                b"values" => {
                    let mut out = Vec::with_capacity(r.last_len.clamp(16, 11_001));
                    let mut exps = std::mem::take(&mut r.exps);
                    exps.clear();
                    r.array(|r| {
                        let (sample, e) = r.sample_parts()?;
                        out.push(sample);
                        exps.push(e);
                        Some(())
                    })?;
                    // The divisions, in a loop whose steps do not depend on each other.
                    for (s, [te, ve]) in out.iter_mut().zip(&exps) {
                        s.t = scale(s.t, *te);
                        s.v = scale(s.v, *ve);
                    }
                    r.exps = exps;
                    r.last_len = out.len();
                    s.values = Some(out);
                }
                b"histogram" | b"histograms" => {
                    s.native_histogram = true;
                    r.skip()?
                }
                _ => r.skip()?,
            }
            Some(())
        })?;
        Some((s, self.sets.close()))
    }

    /// A series' `metric`, pushed as the open set of `self.sets`; a repeated `metric`
    /// replaces the earlier one.
    fn labels(&mut self) -> Option<()> {
        self.sets.clear_open();
        self.ws();
        if self.peek() == Some(b'n') {
            return self.literal(b"null");
        }
        let start = self.i;
        let mut at = std::mem::take(&mut self.label_at);
        at.clear();
        if self.raw_labels(&mut at).is_some() {
            self.sets.push_all(&self.b[start..self.i], &at);
            self.label_at = at;
            return Some(());
        }
        self.label_at = at;
        // Escapes (or an error): pair by pair, strings with escapes decoded by serde_json.
        self.i = start;
        self.object(|r, name| {
            r.ws();
            let save = r.i;
            match r.raw_string() {
                Some(value) => r.sets.push(name, value),
                None => {
                    r.i = save;
                    let value = r.string()?;
                    r.sets.push(name, value.as_bytes());
                }
            }
            Some(())
        })
    }

    /// A `metric` object whose strings have no escapes: where each name and value is,
    /// counted from the `{`, into `at`. `None` on anything else.
    #[inline]
    fn raw_labels(&mut self, at: &mut Vec<[Range<usize>; 2]>) -> Option<()> {
        let start = self.i;
        let from_start = |r: Range<usize>| r.start - start..r.end - start;
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let name = self.raw_string_at()?;
            self.eat(b':')?;
            self.ws();
            let value = self.raw_string_at()?;
            at.push([from_start(name), from_start(value)]);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => self.i += 2,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
    }

    /// Skips any JSON value (nesting bounded so hostile input cannot overflow the stack).
    fn skip(&mut self) -> Option<()> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => self.object(|r, _| r.skip_depth(depth + 1)),
            b'[' => self.array(|r| r.skip_depth(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_agree_with_std() {
        let cases = [
            "0",
            "1",
            "-1",
            "1.5",
            "0.1",
            "0.123",
            "1379246.5",
            "1700000000.123",
            "2e-07",
            "1.25E+3",
            "1e22",
            "1e23",
            "1e-22",
            "1e-300",
            "123456789012345678901234",
            "9007199254740993",
            "0.000000000000000000000001",
            "+3",
            "-0.0",
            "3.",
            "5e0",
            "17976931348623157e292",
            "4.9e-324",
            "1.7976931348623157e308",
            "1e400",
            "920.0864349327219",
            "0.30000000000000004",
            "1379246.5000000002",
            "0.49559999999999993",
            "-12345678901234567.5",
        ];
        for s in cases {
            let want: f64 = s.parse().expect(s);
            let got = parse_f64(s.as_bytes()).expect(s);
            assert_eq!(got.to_bits(), want.to_bits(), "{s}: {got} vs {want}");
        }
        for s in [
            "12345678",
            "1234567812345678",
            "0.0000000012345678",
            "9999999.99999999",
            "1700000000.123",
        ] {
            let want: f64 = s.parse().expect(s);
            assert_eq!(parse_f64(s.as_bytes()), Some(want), "{s}");
        }
        for bad in ["", ".", "-", "e5", "1e", "1.2.3", "1x", "--1", "0x10"] {
            assert_eq!(
                parse_f64(bad.as_bytes()),
                bad.parse::<f64>().ok(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn string_stop_finds_the_first_quote_backslash_or_control() {
        let naive = |b: &[u8], i: usize| {
            b[i..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|n| i + n)
        };
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec()];
        for stop in [b'"', b'\\', b'\n', 0, 0x1f] {
            for at in 0..20 {
                for filler in [b'a', b' ', b'!', 0x7f, 0x80, 0xc3, 0xff, b'#', b']'] {
                    let mut v = vec![filler; 20];
                    v[at] = stop;
                    cases.push(v.clone());
                    // A second stop after the first, and a byte just above it.
                    if at + 1 < 20 {
                        v[at + 1] = b'"';
                    }
                    if at > 0 {
                        v[at - 1] = 0x21;
                    }
                    cases.push(v);
                }
            }
        }
        for b in &cases {
            for i in 0..=b.len() {
                assert_eq!(string_stop(b, i), naive(b, i), "{b:?} from {i}");
            }
        }
    }

    #[test]
    fn special_values() {
        assert!(parse_value_bytes(b"NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value_bytes(b"+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value_bytes(b"-Inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn samples() {
        let mut out = Vec::new();
        parse_samples(b" [ [1, \"2\"] ,[1.5,\"NaN\"]\n] ", &mut out).expect("valid");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Sample { t: 1.0, v: 2.0 });
        assert!(out[1].v.is_nan());
        let mut out = Vec::new();
        assert!(parse_samples(b"[]", &mut out).is_some() && out.is_empty());
        for bad in [
            &b"[[1,\"2\"]"[..],
            b"[[1,\"2\\n\"]]",
            b"[[1,2]]",
            b"[[1,\"2\"],]",
            b"[[\"1\",\"2\"]]",
            b"{}",
        ] {
            assert!(
                parse_samples(bad, &mut Vec::new()).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

#[cfg(test)]
mod wide_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Significands above 2^53 with every power of ten the fast path takes: bit
        /// equal to the standard library.
        #[test]
        fn wide_significands_round_like_std(mant in (1u64 << 53)..u64::MAX, exp in -22i32..=19) {
            let text = format!("{mant}e{exp}");
            let want: f64 = text.parse().expect("valid");
            prop_assert_eq!(parse_f64(text.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{}", text);
        }

        /// Decimal forms as servers write them (shortest round-trip of a random double).
        #[test]
        fn shortest_forms_round_trip(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let text = format!("{v}");
            prop_assert_eq!(parse_f64(text.as_bytes()).map(f64::to_bits), Some(v.to_bits()), "{}", text);
        }
    }

    #[test]
    fn halfway_cases_go_to_even() {
        // 2^53 + 1 is halfway between 2^53 and 2^53 + 2: even is 2^53.
        for s in [
            "9007199254740993",
            "9007199254740995",
            "18014398509481985e-1",
            "90071992547409930e-1",
        ] {
            let want: f64 = s.parse().expect(s);
            assert_eq!(
                parse_f64(s.as_bytes()).map(f64::to_bits),
                Some(want.to_bits()),
                "{s}"
            );
        }
    }
}
