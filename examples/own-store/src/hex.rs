//! [`HexHash`]: a [`VoterHash`] in a journal line, as hexadecimal.

use polling_core::domain::VoterHash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A voter's keyed hash written as its 64 lowercase hexadecimal digits
/// ([`VoterHash::to_hex`]); a line with any other text there is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HexHash(pub(crate) VoterHash);

impl Serialize for HexHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_hex())
    }
}

impl<'de> Deserialize<'de> for HexHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("a voter hash is 64 hexadecimal digits"))
    }
}

/// The hash of 64 hexadecimal digits; `None` for any other text.
fn parse(hex: &str) -> Option<VoterHash> {
    let digits = hex.as_bytes();
    if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(VoterHash::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use polling_core::{PollId, VoterId};

    use super::*;

    #[test]
    fn a_hash_reads_back_from_its_hex_and_nothing_else_does() {
        let voter = VoterHash::of(PollId::generate(), &VoterId::generate());
        let json = serde_json::to_string(&HexHash(voter)).unwrap();
        assert_eq!(json, format!("\"{}\"", voter.to_hex()));
        assert_eq!(serde_json::from_str::<HexHash>(&json).unwrap().0, voter);
        assert_eq!(parse(&voter.to_hex()[..62]), None);
        assert_eq!(parse(&"zz".repeat(32)), None);
        assert_eq!(parse(&"+f".repeat(32)), None, "no signs");
    }
}
