//! The codec of the services generated from `proto/` (`build.rs` names it
//! with tonic-prost-build's `codec_path`): prost encoding, and decoding whose
//! failure is the caller's fault, [`RequestError::Undecodable`]
//! (INVALID_ARGUMENT), where tonic-prost reports INTERNAL.
//!
//! Limitation: a codec does not know which way a message travels, and the
//! generated clients use it too, so an undecodable *response* also reads
//! INVALID_ARGUMENT to them. This binary's clients are its tests.

use std::marker::PhantomData;

use tonic::{
    Status,
    codec::{BufferSettings, DecodeBuf},
};
use tonic_prost::ProstEncoder;

use crate::request_error::RequestError;

/// Encodes `E` and decodes `D` with prost.
#[derive(Debug, Clone, Copy)]
pub struct Codec<E, D>(PhantomData<(E, D)>);

impl<E, D> Default for Codec<E, D> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<E, D> tonic::codec::Codec for Codec<E, D>
where
    E: prost::Message + Send + 'static,
    D: prost::Message + Default + Send + 'static,
{
    type Encode = E;
    type Decode = D;
    type Encoder = ProstEncoder<E>;
    type Decoder = Decoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        Decoder(PhantomData)
    }
}

/// Decodes one `D` per message.
#[derive(Debug, Clone, Copy)]
pub struct Decoder<D>(PhantomData<D>);

impl<D: prost::Message + Default> tonic::codec::Decoder for Decoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        D::decode(buf)
            .map(Some)
            .map_err(|error| RequestError::Undecodable(error).into())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
