//! Closed chunks compressed like Prometheus's XOR chunk (`tsdb/chunkenc/xor.go`), after
//! Facebook's Gorilla paper: timestamps as delta-of-delta in variable-width buckets, values
//! as the XOR with the previous value's bits, stored as its meaningful bits only.
//!
//! Values round-trip bit for bit: every `f64`, including the stale marker and NaNs with
//! other payloads, decodes to exactly the bits that were appended.

use crate::value::Point;

/// Samples per closed chunk, as Prometheus's head cuts them.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// Appends bits to a byte vector, most significant bit first.
#[derive(Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 when a new byte is needed).
    free: u8,
}

impl BitWriter {
    fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n <= 64), most significant first.
    fn write_bits(&mut self, v: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }
}

/// Reads bits written by [`BitWriter`], through a 64-bit buffer refilled a word at a time.
#[derive(Debug, Clone)]
struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte not yet loaded into `buf`.
    next: usize,
    /// The bits not yet read, most significant first: the top `avail` bits are valid, the
    /// bits below them are zeros or already the bits that follow (the same ones a later
    /// refill loads again).
    buf: u64,
    avail: u32,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            next: 0,
            buf: 0,
            avail: 0,
        }
    }

    /// Loads whole bytes into `buf`: at least 57 valid bits unless the data ends first.
    #[inline]
    fn refill(&mut self) {
        if let Some(b) = self.bytes.get(self.next..self.next + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(b);
            // `avail` <= 63 here (callers refill only when short of a read of <= 56 bits).
            self.buf |= u64::from_be_bytes(word) >> self.avail;
            let take = (63 - self.avail) / 8;
            self.next += take as usize;
            self.avail += take * 8;
        } else {
            while self.avail <= 56 && self.next < self.bytes.len() {
                self.buf |= u64::from(self.bytes[self.next]) << (56 - self.avail);
                self.next += 1;
                self.avail += 8;
            }
        }
    }

    /// Makes at least `n` (<= 56) bits available; `None` if the data ends first.
    #[inline]
    fn ensure(&mut self, n: u32) -> Option<()> {
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return None;
            }
        }
        Some(())
    }

    /// Drops `n` (< 64, at most `avail`) bits.
    #[inline]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.avail -= n;
    }

    /// Takes `n` bits (1..=56) already made available.
    #[inline]
    fn take(&mut self, n: u32) -> u64 {
        let v = self.buf >> (64 - n);
        self.consume(n);
        v
    }

    /// Reads `n` bits (n <= 64), most significant first; `None` past the end.
    #[inline]
    fn read_bits(&mut self, n: u32) -> Option<u64> {
        match n {
            0 => Some(0),
            1..=56 => {
                self.ensure(n)?;
                Some(self.take(n))
            }
            _ => {
                // More than a refill guarantees: two halves.
                let hi = self.read_bits(n - 32)?;
                let lo = self.read_bits(32)?;
                Some((hi << 32) | lo)
            }
        }
    }
}

/// The delta-of-delta buckets: a prefix of ones ended by a zero, then this many bits.
/// Prometheus uses the same widths (14, 17, 20, then 64).
const DOD_WIDTHS: [u8; 3] = [14, 17, 20];

fn fits(dod: i64, bits: u8) -> bool {
    let half = 1i64 << (bits - 1);
    -half < dod && dod <= half
}

fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &bits) in DOD_WIDTHS.iter().enumerate() {
        if fits(dod, bits) {
            // i+1 ones then a zero.
            w.write_bits((1u64 << (i + 2)) - 2, i as u8 + 2);
            w.write_bits(dod as u64, bits);
            return;
        }
    }
    w.write_bits(0b1111, 4);
    w.write_bits(dod as u64, 64);
}

#[inline]
fn read_dod(r: &mut BitReader<'_>) -> Option<i64> {
    // The prefix: up to four ones, ended by a zero unless there are four. Bits past the
    // end of the data read as zeros here; `ensure` below rejects them.
    if r.avail < 4 {
        r.refill();
    }
    let ones = r.buf.leading_ones().min(4);
    let prefix = if ones == 4 { 4 } else { ones + 1 };
    r.ensure(prefix)?;
    r.consume(prefix);
    if ones == 0 {
        return Some(0);
    }
    if ones == 4 {
        return Some(r.read_bits(64)? as i64);
    }
    let bits = u32::from(DOD_WIDTHS[ones as usize - 1]);
    let raw = r.read_bits(bits)?;
    // Sign-extend from `bits`; the range is (-half, half], so `half` itself is positive.
    let half = 1u64 << (bits - 1);
    Some(if raw > half {
        raw as i64 - (1i64 << bits)
    } else {
        raw as i64
    })
}

/// Builds one chunk sample by sample.
#[derive(Debug, Default)]
pub struct XorEncoder {
    w: BitWriter,
    count: u16,
    min_t: i64,
    t: i64,
    t_delta: i64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
}

impl XorEncoder {
    pub fn new() -> Self {
        XorEncoder {
            // No window yet: forces the first non-zero XOR to write its own.
            leading: u8::MAX,
            ..XorEncoder::default()
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a sample; `t` must not be older than the last one.
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        match self.count {
            0 => {
                self.min_t = t;
                self.w.write_bits(t as u64, 64);
                self.w.write_bits(bits, 64);
            }
            1 => {
                let delta = t - self.t;
                write_dod(&mut self.w, delta);
                self.t_delta = delta;
                self.write_value(bits);
            }
            _ => {
                let delta = t - self.t;
                write_dod(&mut self.w, delta - self.t_delta);
                self.t_delta = delta;
                self.write_value(bits);
            }
        }
        self.t = t;
        self.v_bits = bits;
        self.count += 1;
    }

    fn write_value(&mut self, bits: u64) {
        let xor = bits ^ self.v_bits;
        if xor == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != u8::MAX && leading >= self.leading && trailing >= self.trailing {
            // Fits the previous window.
            self.w.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.w.write_bits(xor >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.write_bit(true);
            self.w.write_bits(leading as u64, 5);
            let sig = 64 - leading - trailing;
            // 64 meaningful bits are written as 0 (6 bits hold 0..=63).
            self.w.write_bits((sig % 64) as u64, 6);
            self.w.write_bits(xor >> trailing, sig);
        }
    }

    /// The finished chunk.
    pub fn finish(self) -> XorChunk {
        XorChunk {
            data: self.w.bytes.into_boxed_slice(),
            count: self.count,
            min_t: self.min_t,
            max_t: self.t,
        }
    }
}

/// A closed, compressed chunk of samples in time order.
#[derive(Debug, Clone)]
pub struct XorChunk {
    data: Box<[u8]>,
    count: u16,
    min_t: i64,
    max_t: i64,
}

impl XorChunk {
    /// Compresses `points` (in time order).
    pub fn encode(points: &[Point]) -> XorChunk {
        let mut e = XorEncoder::new();
        for p in points {
            e.append(p.t, p.v);
        }
        e.finish()
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    pub fn max_t(&self) -> i64 {
        self.max_t
    }

    /// Size of the compressed samples in bytes.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// The samples in time order.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter {
            r: BitReader::new(&self.data),
            left: self.count,
            read: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            leading: 0,
            trailing: 0,
        }
    }

    /// Appends the samples with `mint <= t <= maxt` to `out`.
    pub fn decode_range(&self, mint: i64, maxt: i64, out: &mut Vec<Point>) {
        if self.max_t < mint || self.min_t > maxt {
            return;
        }
        if mint <= self.min_t && self.max_t <= maxt {
            out.extend(self.iter());
            return;
        }
        for p in self.iter() {
            if p.t > maxt {
                break;
            }
            if p.t >= mint {
                out.push(p);
            }
        }
    }
}

/// Decodes a chunk.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    left: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
}

impl XorIter<'_> {
    #[inline]
    fn read_value(&mut self) -> Option<()> {
        // Control bits and a new window's sizes: at most 2 + 5 + 6 bits.
        if self.r.avail < 13 {
            self.r.refill();
        }
        self.r.ensure(1)?;
        if self.r.take(1) == 0 {
            return Some(());
        }
        self.r.ensure(1)?;
        if self.r.take(1) == 1 {
            self.r.ensure(11)?;
            let header = self.r.take(11);
            self.leading = (header >> 6) as u8;
            let mut sig = (header & 0x3f) as u8;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let xor = self.r.read_bits(u32::from(sig))? << self.trailing;
        self.v_bits ^= xor;
        Some(())
    }

    /// Reads a sample after the second from the buffer alone when all its bits are there
    /// (the usual sample: a delta-of-delta of up to 20 bits, then the value): no check
    /// per field. `None`, with nothing read, when they might not be; the field-by-field
    /// reads then take it.
    #[inline(always)]
    fn step_buffered(&mut self) -> Option<()> {
        if self.r.avail < 57 {
            self.r.refill();
            if self.r.avail < 57 {
                return None;
            }
        }
        let avail = self.r.avail;
        let buf = self.r.buf;
        let (dod, used) = if buf >> 63 == 0 {
            (0, 1)
        } else {
            let ones = buf.leading_ones();
            if ones > 3 {
                return None;
            }
            let bits = u32::from(DOD_WIDTHS[ones as usize - 1]);
            let prefix = ones + 1;
            let raw = (buf << prefix) >> (64 - bits);
            let half = 1u64 << (bits - 1);
            let dod = if raw > half {
                raw as i64 - (1i64 << bits)
            } else {
                raw as i64
            };
            (dod, prefix + bits)
        };
        // At most 24 bits used: at least 33 are left.
        let left = avail - used;
        let vb = buf << used;
        let vused = if vb >> 63 == 0 {
            1
        } else {
            // `10`: the previous window; `11`: a new one, 5 bits of leading zeros and 6 of
            // meaningful bits (64 written as 0) first.
            let new_window = (vb >> 62) & 1 == 1;
            let header = (vb >> 51) & 0x7ff;
            let (leading, sig, head) = if new_window {
                let sig = match (header & 0x3f) as u32 {
                    0 => 64,
                    n => n,
                };
                ((header >> 6) as u32, sig, 13)
            } else {
                let leading = u32::from(self.leading);
                (leading, 64 - leading - u32::from(self.trailing), 2)
            };
            if sig == 0 || leading + sig > 64 {
                return None;
            }
            if head + sig > left {
                // A wide value: the timestamp is taken, then the value field by field.
                return self.step_wide_value(used, dod);
            }
            let trailing = 64 - leading - sig;
            self.v_bits ^= ((vb << head) >> (64 - sig)) << trailing;
            self.leading = leading as u8;
            self.trailing = trailing as u8;
            head + sig
        };
        // Two steps: `used + vused` can be 64, one more than a shift takes.
        self.r.buf = (buf << used) << vused;
        self.r.avail = left - vused;
        self.t_delta += dod;
        self.t += self.t_delta;
        Some(())
    }

    /// The rest of [`step_buffered`](Self::step_buffered) when the value does not fit
    /// what is left of the buffer: the timestamp's `used` bits are dropped, the buffer
    /// refilled, and the value read field by field.
    #[inline(never)]
    fn step_wide_value(&mut self, used: u32, dod: i64) -> Option<()> {
        self.r.consume(used);
        self.t_delta += dod;
        self.t += self.t_delta;
        self.read_value()
    }

    #[inline(always)]
    fn step(&mut self) -> Option<Point> {
        match self.read {
            0 => {
                self.t = self.r.read_bits(64)? as i64;
                self.v_bits = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = read_dod(&mut self.r)?;
                self.t += self.t_delta;
                self.read_value()?;
            }
            _ => {
                if self.step_buffered().is_none() {
                    self.t_delta += read_dod(&mut self.r)?;
                    self.t += self.t_delta;
                    self.read_value()?;
                }
            }
        }
        self.read += 1;
        Some(Point {
            t: self.t,
            v: f64::from_bits(self.v_bits),
        })
    }
}

impl Iterator for XorIter<'_> {
    type Item = Point;

    #[inline(always)]
    fn next(&mut self) -> Option<Point> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let p = self.step();
        if p.is_none() {
            // Truncated data cannot happen for chunks built by XorEncoder; stop cleanly.
            self.left = 0;
        }
        p
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::STALE_MARKER_BITS;
    use proptest::prelude::*;

    fn round_trip(points: &[Point]) {
        let c = XorChunk::encode(points);
        let back: Vec<Point> = c.iter().collect();
        assert_eq!(back.len(), points.len());
        for (a, b) in points.iter().zip(&back) {
            assert_eq!(a.t, b.t);
            assert_eq!(a.v.to_bits(), b.v.to_bits(), "value bits at t={}", a.t);
        }
    }

    #[test]
    fn special_values_round_trip_by_bits() {
        let values = [
            0.0,
            -0.0,
            1.0,
            f64::from_bits(STALE_MARKER_BITS),
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_0001),
            f64::from_bits(0xfff0_0000_0000_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::from_bits(1),
            12345.678,
        ];
        let points: Vec<Point> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Point {
                t: 1_000 * i as i64,
                v,
            })
            .collect();
        round_trip(&points);
    }

    #[test]
    fn timestamp_deltas_of_every_bucket() {
        let mut t = -5_000_000_000_000i64;
        let mut points = Vec::new();
        for (i, step) in [
            15_000i64,
            15_000,
            15_001,
            14_000,
            22_000,
            100_000,
            9_000_000,
            1,
            0,
            0,
            8_192,
            1 << 40,
        ]
        .iter()
        .enumerate()
        {
            t += step;
            points.push(Point { t, v: i as f64 });
        }
        round_trip(&points);
    }

    #[test]
    fn scrapes_compress_well() {
        let mut points = Vec::new();
        let mut v = 0.0;
        for i in 0..SAMPLES_PER_CHUNK as i64 {
            // A counter going up by a few requests a scrape; scrapes on time but for a
            // millisecond of jitter now and then.
            v += (i % 7) as f64;
            let jitter = if i % 10 == 3 { 1 } else { 0 };
            points.push(Point {
                t: 1_700_000_000_000 + i * 15_000 + jitter,
                v,
            });
        }
        let c = XorChunk::encode(&points);
        // A busy counter costs about 2 bytes a sample (Prometheus's own figure is 1-2).
        assert!(c.byte_len() < 2 * 120 + 20, "{} bytes", c.byte_len());
        round_trip(&points);
        // A gauge that does not move (`up`, `build_info`, idle buckets) costs bits.
        for p in &mut points {
            p.v = 1.0;
        }
        let c = XorChunk::encode(&points);
        assert!(c.byte_len() < 130, "{} bytes", c.byte_len());
        round_trip(&points);
    }

    proptest! {
        #[test]
        fn any_samples_round_trip(
            start in any::<i32>(),
            // Scrape-like steps, and any step up to 2^50 ms (every delta-of-delta width).
            deltas in proptest::collection::vec(
                prop_oneof![0i64..100_000_000, 0i64..(1i64 << 50)],
                1..200,
            ),
            bits in proptest::collection::vec(any::<u64>(), 200),
            repeat in proptest::collection::vec(any::<bool>(), 200),
        ) {
            let mut t = start as i64;
            let mut points = Vec::new();
            let mut last = 0u64;
            for (i, d) in deltas.iter().enumerate() {
                t += d;
                let b = if repeat[i] { last } else { bits[i] };
                last = b;
                points.push(Point { t, v: f64::from_bits(b) });
            }
            let c = XorChunk::encode(&points);
            let back: Vec<Point> = c.iter().collect();
            prop_assert_eq!(back.len(), points.len());
            for (a, b) in points.iter().zip(&back) {
                prop_assert_eq!(a.t, b.t);
                prop_assert_eq!(a.v.to_bits(), b.v.to_bits());
            }
        }
    }
}
