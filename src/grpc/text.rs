//! The base64 of a gRPC-Web text request body (`application/grpc-web-text`),
//! decoded as it arrives.
//!
//! We decode it ourselves rather than let tonic-web do it: tonic-web reports
//! bad base64 as INTERNAL (the server's fault) in its own words, and turns
//! any error of the body it reads into such a message, so nothing typed could
//! pass through it. See [`super::GrpcWeb`] for how text requests reach this.
//!
//! The body is decoded by 4-character quanta, as the gRPC-Web spec describes
//! (<https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md>): padding
//! may end any quantum, so messages encoded one by one and concatenated
//! decode however the bytes were split into HTTP chunks.

use base64::{
    DecodeError, Engine as _, alphabet,
    engine::{
        DecodePaddingMode,
        general_purpose::{GeneralPurpose, GeneralPurposeConfig},
    },
};
use bytes::Bytes;

/// Standard alphabet; padding optional at the end of a quantum.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const QUANTUM: usize = 4;

/// Why a text body is not base64; offsets count characters from the start
/// of the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A byte outside the alphabet, or padding where none may be.
    #[error("Invalid symbol {symbol}, offset {offset}.")]
    Symbol { symbol: u8, offset: usize },
    /// A last symbol before padding whose unused bits are not zero.
    #[error("Invalid last symbol {symbol}, offset {offset}.")]
    LastSymbol { symbol: u8, offset: usize },
    /// The body ended in the middle of a quantum.
    #[error("malformed base64 request")]
    Incomplete,
}

/// The decoding state of one text body.
#[derive(Debug, Default)]
pub struct Base64Text {
    /// The start of a quantum that has not fully arrived.
    pending: [u8; QUANTUM],
    pending_len: usize,
    /// Characters decoded so far: the body offset of `pending`.
    decoded: usize,
}

impl Base64Text {
    /// Decodes the next characters of the body; an incomplete last quantum
    /// waits for the next call.
    pub fn decode(&mut self, mut text: &[u8]) -> Result<Bytes, Base64Error> {
        let mut out = Vec::with_capacity((self.pending_len + text.len()) / QUANTUM * 3);
        if self.pending_len > 0 {
            let taken = (QUANTUM - self.pending_len).min(text.len());
            self.pending[self.pending_len..self.pending_len + taken]
                .copy_from_slice(&text[..taken]);
            self.pending_len += taken;
            text = &text[taken..];
            if self.pending_len < QUANTUM {
                return Ok(Bytes::new());
            }
            let quantum = self.pending;
            self.decode_quanta(&quantum, &mut out)?;
            self.pending_len = 0;
        }
        let whole = text.len() / QUANTUM * QUANTUM;
        let (mut quanta, rest) = text.split_at(whole);
        // Padding ends a run: decode up to each padded quantum separately.
        while let Some(at) = quanta.iter().position(|&b| b == b'=') {
            let (run, next) = quanta.split_at((at / QUANTUM + 1) * QUANTUM);
            self.decode_quanta(run, &mut out)?;
            quanta = next;
        }
        self.decode_quanta(quanta, &mut out)?;
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
        Ok(Bytes::from(out))
    }

    /// The body ended: nothing may be left over.
    pub fn end(&self) -> Result<(), Base64Error> {
        match self.pending_len {
            0 => Ok(()),
            _ => Err(Base64Error::Incomplete),
        }
    }

    /// Decodes whole quanta whose only padding is in the last one.
    fn decode_quanta(&mut self, quanta: &[u8], out: &mut Vec<u8>) -> Result<(), Base64Error> {
        let at = self.decoded;
        BASE64
            .decode_vec(quanta, out)
            .map_err(|error| match error {
                DecodeError::InvalidByte(offset, symbol) => Base64Error::Symbol {
                    symbol,
                    offset: at + offset,
                },
                DecodeError::InvalidLastSymbol(offset, symbol) => Base64Error::LastSymbol {
                    symbol,
                    offset: at + offset,
                },
                // Whole quanta with optional padding have neither.
                DecodeError::InvalidLength(_) | DecodeError::InvalidPadding => {
                    Base64Error::Incomplete
                }
            })?;
        self.decoded += quanta.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `text` in pieces of `size` characters.
    fn decode_in_pieces(text: &str, size: usize) -> Result<Vec<u8>, Base64Error> {
        let mut decoder = Base64Text::default();
        let mut out = Vec::new();
        for piece in text.as_bytes().chunks(size) {
            out.extend_from_slice(&decoder.decode(piece)?);
        }
        decoder.end()?;
        Ok(out)
    }

    #[test]
    fn decodes_alike_however_the_text_is_split() {
        // Two messages encoded one by one: padding in the middle.
        let text = "AAAAAAdKBUFsaWNl".to_owned() + "QQ==" + "QUFB";
        let mut expected = vec![0, 0, 0, 0, 7, 0x4a, 5, b'A', b'l', b'i', b'c', b'e'];
        expected.extend_from_slice(b"AAAA");
        for size in 1..=text.len() {
            assert_eq!(
                decode_in_pieces(&text, size),
                Ok(expected.clone()),
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn a_bad_symbol_is_reported_at_its_offset_in_the_body() {
        for size in [1, 3, 4, 100] {
            assert_eq!(
                decode_in_pieces("!!!!", size),
                Err(Base64Error::Symbol {
                    symbol: b'!',
                    offset: 0
                })
            );
            assert_eq!(
                decode_in_pieces("AAAA=AAHSgVBbGljZQ==", size),
                Err(Base64Error::Symbol {
                    symbol: b'=',
                    offset: 4
                }),
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn wording_names_the_symbol_and_offset() {
        let error = decode_in_pieces("QUFBQR==", 8).unwrap_err();
        assert_eq!(error.to_string(), "Invalid last symbol 82, offset 5.");
    }

    #[test]
    fn a_body_ending_inside_a_quantum_is_incomplete() {
        for text in ["AAAAAAdKBUFsaWNl*", "AAAAAAdKBUFsaWNlX", "QQ"] {
            assert_eq!(
                decode_in_pieces(text, 5),
                Err(Base64Error::Incomplete),
                "{text}"
            );
        }
        assert_eq!(
            Base64Error::Incomplete.to_string(),
            "malformed base64 request"
        );
    }

    #[test]
    fn an_empty_body_is_empty() {
        assert_eq!(decode_in_pieces("", 1), Ok(Vec::new()));
    }
}
