//! [`Labels`]: a series' label set, built for decoding thousands of series per answer.
//!
//! The label sets of one answer share one block: all their names and values in one
//! string (as decoded, the raw text of each `metric` object that has no escapes), and
//! the pairs as ranges of it. Decoding a series then costs no allocation for its labels
//! (a map of `String`s cost about ten, plus tree nodes), and cloning one costs a
//! reference count.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A series' label set: names unique and in name order. `__name__` is kept when the
/// server sends it.
///
/// Reads like a map of `&str` to `&str`: [`get`](Labels::get), [`iter`](Labels::iter)
/// (in name order), [`keys`](Labels::keys), [`len`](Labels::len); built from pairs with
/// `collect()` or `From<[(name, value); N]>`, where a later pair replaces an earlier one
/// of the same name. Compares, orders and hashes as the sequence of its pairs (so orders
/// as a `BTreeMap<String, String>` would), and (de)serializes as a JSON object.
///
/// A decoded set shares its text with the other sets of the same answer, and so does a
/// clone: keeping one keeps that text (not the samples) in memory. What is kept long
/// after its answer is gone should be a copy of its own, `labels.iter().collect()`.
#[derive(Clone, Default)]
pub struct Labels {
    block: Option<Arc<Block>>,
    /// The pairs of this set: `block.pairs[pairs]`.
    pairs: Range<usize>,
}

/// Names and values of one or more label sets.
struct Block {
    text: String,
    pairs: Vec<Pair>,
}

/// Where in `text` a name and its value are.
struct Pair {
    name: Range<usize>,
    value: Range<usize>,
}

impl Labels {
    /// No labels.
    pub const fn new() -> Self {
        Labels {
            block: None,
            pairs: 0..0,
        }
    }

    /// The text of the block and the pairs of this set.
    fn parts(&self) -> (&str, &[Pair]) {
        match &self.block {
            Some(b) => (&b.text, &b.pairs[self.pairs.clone()]),
            None => ("", &[]),
        }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Index of label `name` among the pairs, or where it would go.
    fn position(&self, name: &str) -> Result<usize, usize> {
        let (text, pairs) = self.parts();
        pairs.binary_search_by(|p| text[p.name.clone()].cmp(name))
    }

    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.position(name).ok()?;
        let (text, pairs) = self.parts();
        Some(&text[pairs[i].value.clone()])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Sets label `name` to `value`, returning the value it replaces.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (name, value) = (name.as_ref(), value.as_ref());
        let old = self.get(name).map(str::to_owned);
        *self = self.iter().chain([(name, value)]).collect();
        old
    }

    /// Takes label `name` out, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name).ok()?;
        let (text, pairs) = self.parts();
        let old = text[pairs[i].value.clone()].to_owned();
        // The first (often `__name__`) or the last pair: the rest stays as it is.
        if i == 0 {
            self.pairs.start += 1;
        } else if i + 1 == self.len() {
            self.pairs.end -= 1;
        } else {
            *self = self
                .iter()
                .enumerate()
                .filter_map(|(j, pair)| (j != i).then_some(pair))
                .collect();
        }
        if self.is_empty() {
            *self = Labels::new();
        }
        Some(old)
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> Iter<'_> {
        let (text, pairs) = self.parts();
        Iter {
            text,
            pairs: pairs.iter(),
        }
    }

    /// Label names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.iter().map(|(name, _)| name)
    }

    /// Label values in the order of their names.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.iter().map(|(_, value)| value)
    }
}

/// The pairs of [`Labels::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    text: &'a str,
    pairs: std::slice::Iter<'a, Pair>,
}

impl<'a> Iter<'a> {
    fn pair(&self, p: &Pair) -> (&'a str, &'a str) {
        (&self.text[p.name.clone()], &self.text[p.value.clone()])
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.pairs.next()?;
        Some(self.pair(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.pairs.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let p = self.pairs.next_back()?;
        Some(self.pair(p))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut sets = LabelSets::default();
        for (name, value) in pairs {
            sets.push(name.as_ref().as_bytes(), value.as_ref().as_bytes());
        }
        let set = sets.close();
        sets.finish()
            // Every name and value pushed was a `str`.
            .expect("labels built from str are UTF-8")
            .labels(set)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Labels {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

/// `labels["job"]`; panics when there is no such label, as a map does.
impl std::ops::Index<&str> for Labels {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no label {name:?}"),
        }
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Labels {}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for pair in self {
            pair.hash(state);
        }
    }
}

/// As a map: `{"job": "node", "route": "/a"}`.
impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// PromQL selector syntax: `{job="node", route="/a"}` (`__name__` as a label like any
/// other).
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (name, value) in self {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("labels as an object of strings, such as {\"job\": \"node\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut sets = LabelSets::default();
                loop {
                    let name = sets.text.len();
                    if map.next_key_seed(Append(&mut sets.text))?.is_none() {
                        break;
                    }
                    let value = sets.text.len();
                    map.next_value_seed(Append(&mut sets.text))?;
                    let end = sets.text.len();
                    sets.pairs.push(Pair {
                        name: name..value,
                        value: value..end,
                    });
                }
                let set = sets.close();
                let block = sets
                    .finish()
                    .ok_or_else(|| de::Error::custom("labels are not valid UTF-8"))?;
                Ok(block.labels(set))
            }
        }
        d.deserialize_map(V)
    }
}

/// Appends a string to the text of a [`LabelSets`] (no `String` of its own).
struct Append<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Append<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Append<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------

/// Builds the label sets of one answer into one shared block: push the pairs of a set,
/// [`close`](LabelSets::close) it, and after the last set [`finish`](LabelSets::finish)
/// and hand out each set with [`SharedLabels::labels`].
#[derive(Default)]
pub(crate) struct LabelSets {
    /// Names and values as pushed; checked to be UTF-8 once, in `finish`.
    text: Vec<u8>,
    pairs: Vec<Pair>,
    /// Where the open set's pairs start.
    open: usize,
}

impl LabelSets {
    /// Adds a pair to the open set. The bytes are checked to be UTF-8 in `finish`.
    #[inline]
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.text.len();
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(value);
        let value = start + name.len();
        self.pairs.push(Pair {
            name: start..value,
            value: value..self.text.len(),
        });
    }

    /// Adds pairs to the open set from one piece of text, such as the raw bytes of a
    /// JSON object without escapes: copied once, the pairs given by where in `raw`
    /// each name and value is.
    #[inline]
    pub(crate) fn push_all(&mut self, raw: &[u8], pairs: &[[Range<usize>; 2]]) {
        let base = self.text.len();
        self.text.extend_from_slice(raw);
        let at = |r: &Range<usize>| base + r.start..base + r.end;
        self.pairs.extend(pairs.iter().map(|[name, value]| Pair {
            name: at(name),
            value: at(value),
        }));
    }

    /// Makes room for `n` more sets of the size of the `closed` sets so far.
    pub(crate) fn reserve_like(&mut self, closed: usize, n: usize) {
        let closed = closed.max(1);
        self.text.reserve(self.text.len() / closed * n);
        self.pairs.reserve(self.pairs.len() / closed * n);
    }

    /// Drops the pairs pushed since the last close (their text stays, unused).
    pub(crate) fn clear_open(&mut self) {
        self.pairs.truncate(self.open);
    }

    /// Closes the set of the pairs pushed since the last close and returns it: sorted
    /// by name, a later pair of the same name replacing the earlier one.
    pub(crate) fn close(&mut self) -> Range<usize> {
        let text = &self.text;
        let name = |p: &Pair| &text[p.name.clone()];
        if !self.pairs[self.open..].is_sorted_by(|a, b| name(a) < name(b)) {
            // Servers send sorted label sets: this is the rare path.
            let mut owned: Vec<(Vec<u8>, Vec<u8>)> = self
                .pairs
                .drain(self.open..)
                .map(|p| {
                    (
                        text[p.name.clone()].to_vec(),
                        text[p.value.clone()].to_vec(),
                    )
                })
                .collect();
            // Stable: of equal names the last one ends up last, and `dedup_by` keeps
            // the first of a run, so it takes the value of the last.
            owned.sort_by(|a, b| a.0.cmp(&b.0));
            owned.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(&mut later.1, &mut kept.1);
                }
                same
            });
            for (name, value) in owned {
                self.push(&name, &value);
            }
        }
        let set = self.open..self.pairs.len();
        self.open = set.end;
        set
    }

    /// The shared block, or `None` when a pushed name or value is not UTF-8.
    pub(crate) fn finish(mut self) -> Option<SharedLabels> {
        self.text.shrink_to_fit();
        self.pairs.shrink_to_fit();
        let text = String::from_utf8(self.text).ok()?;
        Some(SharedLabels(Arc::new(Block {
            text,
            pairs: self.pairs,
        })))
    }
}

/// The finished block of a [`LabelSets`].
pub(crate) struct SharedLabels(Arc<Block>);

impl SharedLabels {
    /// The label set `set` (as returned by [`LabelSets::close`]).
    pub(crate) fn labels(&self, set: Range<usize>) -> Labels {
        if set.is_empty() {
            return Labels::new();
        }
        Labels {
            block: Some(Arc::clone(&self.0)),
            pairs: set,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_sorted_map() {
        let l: Labels = [("route", "/a"), ("job", "svc"), ("__name__", "up")].into();
        assert_eq!(l.len(), 3);
        assert_eq!(l.get("job"), Some("svc"));
        assert_eq!(l.get("nope"), None);
        assert!(l.contains_key("route") && !l.contains_key("rout"));
        assert_eq!(&l["route"], "/a");
        assert_eq!(l.keys().collect::<Vec<_>>(), ["__name__", "job", "route"]);
        assert_eq!(l.values().rev().collect::<Vec<_>>(), ["/a", "svc", "up"]);
        assert_eq!(
            format!("{l:?}"),
            r#"{"__name__": "up", "job": "svc", "route": "/a"}"#
        );
        assert_eq!(l.to_string(), r#"{__name__="up", job="svc", route="/a"}"#);
        assert!(Labels::new().is_empty());
        assert_eq!(Labels::new(), Labels::default());
    }

    #[test]
    fn the_last_of_repeated_names_wins() {
        let l: Labels = [("b", "1"), ("a", "x"), ("b", "2"), ("b", "3")].into();
        assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "x"), ("b", "3")]);
        let d: Labels = serde_json::from_str(r#"{"b":"1","a":"x","b":"3"}"#).expect("valid");
        assert_eq!(d, l);
    }

    #[test]
    fn insert_and_remove_keep_the_order() {
        let mut l = Labels::new();
        assert_eq!(l.insert("b", "1"), None);
        assert_eq!(l.insert("a", "2"), None);
        assert_eq!(l.insert("b", "3"), Some("1".to_owned()));
        assert_eq!(l.insert("c", "4"), None);
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("a", "2"), ("b", "3"), ("c", "4")]
        );
        let all = l.clone();
        assert_eq!(l.remove("b"), Some("3".to_owned()));
        assert_eq!(l, [("a", "2"), ("c", "4")].into());
        assert_eq!(l.remove("a"), Some("2".to_owned()));
        assert_eq!(l.remove("a"), None);
        assert_eq!(l, [("c", "4")].into());
        assert_eq!(l.remove("c"), Some("4".to_owned()));
        assert_eq!(l, Labels::new());
        // The clone taken before is its own set.
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn sets_of_one_block_stay_apart() {
        let mut sets = LabelSets::default();
        sets.push(b"job", b"a");
        sets.push(b"route", b"/x");
        let first = sets.close();
        sets.push(b"b", b"2");
        sets.push(b"a", b"1");
        sets.push(b"b", b"3");
        let second = sets.close();
        sets.push(b"lost", b"!");
        sets.clear_open();
        let empty = sets.close();
        let block = sets.finish().expect("UTF-8");
        let (first, second, empty) = (
            block.labels(first),
            block.labels(second),
            block.labels(empty),
        );
        assert_eq!(first, [("job", "a"), ("route", "/x")].into());
        assert_eq!(second.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3")]);
        assert!(empty.is_empty());
        let mut sets = LabelSets::default();
        sets.push(b"a", b"\xff");
        sets.close();
        assert!(sets.finish().is_none());
    }

    #[test]
    fn orders_and_hashes_like_a_btreemap() {
        use std::collections::BTreeMap;
        use std::hash::BuildHasher;
        let sets: [&[(&str, &str)]; 6] = [
            &[],
            &[("a", "1")],
            &[("a", "1"), ("b", "")],
            &[("a", "2")],
            &[("ab", "")],
            &[("b", "0")],
        ];
        let hasher = std::collections::hash_map::RandomState::new();
        for x in sets {
            for y in sets {
                let lx: Labels = x.iter().copied().collect();
                let ly: Labels = y.iter().copied().collect();
                let mx: BTreeMap<_, _> = x.iter().copied().collect();
                let my: BTreeMap<_, _> = y.iter().copied().collect();
                assert_eq!(lx.cmp(&ly), mx.cmp(&my), "{x:?} vs {y:?}");
                assert_eq!(lx == ly, hasher.hash_one(&lx) == hasher.hash_one(&ly));
            }
        }
    }

    #[test]
    fn long_values_and_json() {
        let long = "x".repeat(100);
        let l: Labels = [("path", long.as_str()), ("é", "\"\n")].into();
        assert_eq!(l.get("path"), Some(long.as_str()));
        let json = serde_json::to_string(&l).expect("serializes");
        assert_eq!(json, format!(r#"{{"path":"{long}","é":"\"\n"}}"#));
        assert_eq!(serde_json::from_str::<Labels>(&json).expect("valid"), l);
        assert!(serde_json::from_str::<Labels>(r#"{"a":null}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Labels>("{}").expect("valid"),
            Labels::new()
        );
    }
}
