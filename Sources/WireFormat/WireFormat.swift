// WireFormat: the bytes of Ballast's wire protocol (docs/wire.md): frames, handshake messages and envelopes.
//
// Pure code with no dependencies, so the decoders can be fuzzed on their own (`WireFrame.decodeStream`) and a
// peer in another language can be checked against the same golden vectors. It must not import NIO or
// Foundation networking. Decoders take arbitrary bytes and throw `WireFormatError`; they never trap.
