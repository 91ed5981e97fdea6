//! A [`Choice`] option stored in a file by its name, through the option's own table (serde's
//! `#[serde(with = "crate::format::choice")]`), so files and front-ends spell it alike.

use serde::{Deserialize, Deserializer, Serializer};

use crate::options::Choice;

/// Writes `value` as its name.
pub(crate) fn serialize<T: Choice, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.name())
}

/// Reads a name, refused with the option's own message when it is not in the table.
pub(crate) fn deserialize<'de, T: Choice, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
    T::parse(&name).map_err(serde::de::Error::custom)
}

/// The same for an optional option (absent from the file when `None`).
pub(crate) mod optional {
    use serde::{Deserializer, Serializer};

    use crate::options::Choice;

    /// Writes `Some(value)` as its name (`None` is skipped by the field's attributes).
    pub(crate) fn serialize<T: Choice, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    /// Reads a name into `Some`.
    pub(crate) fn deserialize<'de, T: Choice, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        super::deserialize(d).map(Some)
    }
}
