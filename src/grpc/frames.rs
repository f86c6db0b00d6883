//! Follows the length-prefixed messages of a gRPC request body as its bytes
//! pass, without buffering them: each frame is a flag byte, a 4-byte
//! big-endian length and that many bytes of message
//! (<https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md>).
//!
//! Knowing where every frame starts lets the body limit refuse a message
//! from its header, before its bytes arrive, and tells a clean end of the
//! body from one inside a frame.

use crate::request_error::RequestError;

/// The size of a frame header: flag byte and length.
pub const HEADER_LEN: usize = 5;

/// Where a body is in its frames.
#[derive(Debug, Clone, Copy)]
pub struct Frames {
    /// The largest message allowed, if any.
    limit: Option<usize>,
    /// The header of the frame being read, as far as it has arrived.
    header: [u8; HEADER_LEN],
    header_len: usize,
    /// Message bytes of the current frame still to come; while 0, the next
    /// byte belongs to a header.
    remaining: usize,
    /// Whether any byte arrived at all.
    started: bool,
}

/// How a body ended, as far as its frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Not a single byte: no message at all.
    Empty,
    /// After the last byte of a frame.
    Whole,
    /// Inside a frame's header or message.
    Inside,
}

impl Frames {
    /// Frames whose uncompressed messages may hold at most `limit` bytes.
    pub fn new(limit: Option<usize>) -> Self {
        Frames {
            limit,
            header: [0; HEADER_LEN],
            header_len: 0,
            remaining: 0,
            started: false,
        }
    }

    /// Follows the next bytes of the body. A header announcing an
    /// uncompressed message over the limit is refused as soon as it is whole.
    ///
    /// Only flag 0 is judged: a compressed message (flag 1) is sized and
    /// bounded by the service's decompression, and any other flag is a
    /// protocol error tonic reports from the same header (INTERNAL, as the
    /// gRPC compression spec requires).
    pub fn follow(&mut self, mut bytes: &[u8]) -> Result<(), RequestError> {
        self.started |= !bytes.is_empty();
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skipped = self.remaining.min(bytes.len());
                self.remaining -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let taken = (HEADER_LEN - self.header_len).min(bytes.len());
            self.header[self.header_len..self.header_len + taken].copy_from_slice(&bytes[..taken]);
            self.header_len += taken;
            bytes = &bytes[taken..];
            if self.header_len == HEADER_LEN {
                self.header_len = 0;
                let [flag, length @ ..] = self.header;
                let length = u32::from_be_bytes(length) as usize;
                if flag == 0 && self.limit.is_some_and(|limit| length > limit) {
                    return Err(RequestError::PayloadTooLarge);
                }
                self.remaining = length;
            }
        }
        Ok(())
    }

    /// Where the body stands if it ends now.
    pub fn end(&self) -> End {
        if !self.started {
            End::Empty
        } else if self.header_len == 0 && self.remaining == 0 {
            End::Whole
        } else {
            End::Inside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    /// Feeds `body` in pieces of `size` bytes.
    fn follow_in_pieces(frames: &mut Frames, body: &[u8], size: usize) -> Result<(), RequestError> {
        body.chunks(size).try_for_each(|piece| frames.follow(piece))
    }

    #[test]
    fn nothing_at_all_is_an_empty_body() {
        let mut frames = Frames::new(Some(10));
        frames.follow(&[]).unwrap();
        assert_eq!(frames.end(), End::Empty);
    }

    #[test]
    fn whole_frames_end_cleanly_however_the_bytes_are_split() {
        let mut body = frame(0, b"hello");
        body.extend(frame(0, b""));
        body.extend(frame(1, b"compressed"));
        for size in 1..=body.len() {
            let mut frames = Frames::new(Some(10));
            follow_in_pieces(&mut frames, &body, size).unwrap();
            assert_eq!(frames.end(), End::Whole, "pieces of {size}");
        }
    }

    #[test]
    fn an_empty_message_is_a_whole_frame() {
        let mut frames = Frames::new(None);
        frames.follow(&frame(0, b"")).unwrap();
        assert_eq!(frames.end(), End::Whole);
    }

    #[test]
    fn ending_in_a_header_or_a_message_is_inside_a_frame() {
        let body = frame(0, b"hello");
        for cut in 1..body.len() {
            let mut frames = Frames::new(None);
            frames.follow(&body[..cut]).unwrap();
            assert_eq!(frames.end(), End::Inside, "cut at {cut}");
        }
    }

    #[test]
    fn a_message_at_the_limit_passes_and_one_byte_more_is_refused_at_its_header() {
        let mut frames = Frames::new(Some(5));
        frames.follow(&frame(0, b"12345")).unwrap();
        // Only the header of the next frame: refused before its message.
        let header = &frame(0, b"123456")[..HEADER_LEN];
        assert!(matches!(
            frames.follow(header),
            Err(RequestError::PayloadTooLarge)
        ));
    }

    #[test]
    fn the_limit_is_judged_when_the_header_completes_across_pieces() {
        let mut frames = Frames::new(Some(1000));
        let header = [0, 0, 0x10, 0, 0];
        frames.follow(&header[..2]).unwrap();
        assert!(matches!(
            frames.follow(&header[2..]),
            Err(RequestError::PayloadTooLarge)
        ));
    }

    #[test]
    fn without_a_limit_any_length_is_followed() {
        let mut frames = Frames::new(None);
        frames.follow(&[0, 0xff, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!(frames.end(), End::Inside);
    }

    #[test]
    fn only_uncompressed_messages_are_judged_by_the_limit() {
        for flag in [1, 2, 0x80] {
            let mut frames = Frames::new(Some(1));
            frames.follow(&frame(flag, b"long message")).unwrap();
            assert_eq!(frames.end(), End::Whole, "flag {flag}");
        }
    }
}
