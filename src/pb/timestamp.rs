//! `google.protobuf.Timestamp` as this crate's own prost message, so that it
//! can carry proto3-JSON serde impls (a foreign `prost_types::Timestamp`
//! cannot). The wire form is the well-known type's: `seconds` = 1,
//! `nanos` = 2. pbjson-types has such a type too, but writes `+00:00` where
//! the spec wants `Z`.

use std::time::SystemTime;

use prost_reflect::{DynamicMessage, ReflectMessage};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rfc3339;

/// A point in time, UTC, with nanosecond resolution.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let prost_types::Timestamp { seconds, nanos } = time.into();
        Timestamp { seconds, nanos }
    }
}

impl From<Timestamp> for prost_types::Timestamp {
    fn from(Timestamp { seconds, nanos }: Timestamp) -> Self {
        prost_types::Timestamp { seconds, nanos }
    }
}

/// RFC 3339 ending in `Z`, 0/3/6/9 fractional digits, as every REST answer.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        rfc3339::serialize_proto3(self.seconds, self.nanos, serializer)
    }
}

/// Parsed exactly as the dynamic road parses it (prost-reflect's strict
/// RFC 3339 and range checks), so both roads accept the same strings.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let descriptor = prost_types::Timestamp::default().descriptor();
        let message = DynamicMessage::deserialize(descriptor, deserializer)?;
        let prost_types::Timestamp { seconds, nanos } =
            message.transcode_to().map_err(D::Error::custom)?;
        Ok(Timestamp { seconds, nanos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_rfc3339_in_utc_with_the_fewest_exact_digits() {
        let at = Timestamp {
            seconds: 1_761_138_327,
            nanos: 121_465_000,
        };
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, r#""2025-10-22T13:05:27.121465Z""#);
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
    }

    #[test]
    fn out_of_range_values_are_refused_both_ways() {
        let late = Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        assert!(serde_json::to_string(&late).is_err());
        let bad_nanos = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(serde_json::to_string(&bad_nanos).is_err());
        assert!(serde_json::from_str::<Timestamp>(r#""2025-10-22 13:05:27Z""#).is_err());
        assert!(serde_json::from_str::<Timestamp>("17").is_err());
    }

    #[test]
    fn the_wire_form_is_the_well_known_types() {
        use prost::Message as _;
        let at = Timestamp {
            seconds: 7,
            nanos: 9,
        };
        let theirs = prost_types::Timestamp::decode(at.encode_to_vec().as_slice()).unwrap();
        assert_eq!(theirs, at.into());
    }
}
