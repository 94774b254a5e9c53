// libFuzzer target for the wire decoders (scripts/fuzz builds and runs it).
//
// Compiled together with Sources/WireFormat into one module, so it needs no SwiftPM build of its own and no NIO:
// the decoders are exactly the ones the transport uses. Properties checked on every input:
// - decoding never traps: any byte string either decodes or throws a WireFormatError;
// - whatever decodes, re-encodes to bytes that decode to the same message (no lossy or ambiguous encoding).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireDecoders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // As a receiver sees a connection: a stream of length-prefixed frames.
    if let messages = try? WireFrame.decodeStream(bytes) {
        for message in messages {
            checkRoundTrip(message)
        }
    }
    // As a single frame payload.
    if let message = try? WireMessage(decoding: bytes) {
        checkRoundTrip(message)
    }
    return 0
}

private func checkRoundTrip(_ message: WireMessage) {
    let encoded = message.encode()
    guard let again = try? WireMessage(decoding: encoded) else {
        fatalError("re-encoded message does not decode: \(message)")
    }
    guard again == message else {
        fatalError("re-encoded message decodes differently: \(message) became \(again)")
    }
}
