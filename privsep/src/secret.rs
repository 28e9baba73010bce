//! [`Secret`]: a wrapper for key material in IPC messages. It zeroizes its
//! value on drop, prints as `<redacted>`, and serializes transparently so
//! keys can cross a channel.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A secret value: wiped on drop, never printed.
///
/// Serialization is transparent (the bytes of `T`, nothing added), so a
/// `Secret<Vec<u8>>` travels like a `Vec<u8>`. Reach the value only through
/// [`expose`](Secret::expose), which makes every use easy to find.
#[derive(Clone, Default)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wrap a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrow the secret value.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Equality of the values, for comparing configurations and in tests. It
/// is not constant-time: never use it to check a secret a peer supplied.
impl<T: Zeroize + PartialEq> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Zeroize + Eq> Eq for Secret<T> {}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Zeroize + Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn prints_redacted() {
        let s = Secret::new(b"hunter2".to_vec());
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn serializes_transparently() {
        let s = Secret::new(vec![1u8, 2, 3]);
        let bytes = postcard::to_allocvec(&s).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&vec![1u8, 2, 3]).unwrap());
        let back: Secret<Vec<u8>> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.expose(), s.expose());
    }

    #[test]
    fn zeroizes_on_drop() {
        use std::cell::Cell;
        use std::rc::Rc;
        /// Records that it was zeroized.
        struct Probe(Rc<Cell<bool>>);
        impl zeroize::Zeroize for Probe {
            fn zeroize(&mut self) {
                self.0.set(true);
            }
        }
        let wiped = Rc::new(Cell::new(false));
        let s = Secret::new(Probe(wiped.clone()));
        assert!(!wiped.get());
        drop(s);
        assert!(wiped.get());
    }
}
