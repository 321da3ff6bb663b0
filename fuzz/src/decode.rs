//! The `message_decode` target: any bytes through [`Message::decode`].

use medk_shared::sync::message::Message;

/// Decoding never panics, whatever the bytes; a message that decodes
/// encodes to bytes that decode to the same message, and encoding is
/// deterministic (the relay re-encodes what it forwards).
pub fn run(data: &[u8]) {
    let Ok(message) = Message::decode(data) else { return };
    let bytes = message.encode();
    let again = match Message::decode(&bytes) {
        Ok(again) => again,
        Err(e) => panic!("{message:?} encodes to bytes that do not decode ({e}): {bytes:02x?}"),
    };
    assert_eq!(again, message, "a message changed on an encode/decode round trip");
    assert_eq!(again.encode(), bytes, "the same message encoded twice differs");
}
