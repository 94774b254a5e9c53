/// Frame size limits. A length prefix above the limit in force is refused before any byte of the payload is
/// read or allocated.
public struct WireFrameLimits: Hashable, Sendable {
    /// Largest payload accepted after the handshake, in bytes. Default 1 MiB.
    public var maxFrameSize: Int
    /// Largest payload accepted before the handshake completes, in bytes. Default 64 KiB; a hello or proof is
    /// under 300 bytes, so this only bounds what an unauthenticated stranger can make us buffer.
    public var preAuthenticationMaxFrameSize: Int

    public init(maxFrameSize: Int = 1 << 20, preAuthenticationMaxFrameSize: Int = 64 << 10) {
        self.maxFrameSize = maxFrameSize
        self.preAuthenticationMaxFrameSize = preAuthenticationMaxFrameSize
    }
}

/// The framing layer: a 4-byte unsigned big-endian length, then that many payload bytes.
public enum WireFrame {
    public static let headerLength = 4

    /// Request-line starts of HTTP/1 methods and the HTTP/2 preface, read as a length prefix.
    private static let httpPrefixes: [[UInt8]] = [
        "GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "PRI ",
    ].map { Array($0.utf8) }

    /// Validates a length prefix against `limit`. Throws `.httpProbe` when the four header bytes are the start
    /// of an HTTP request (e.g. "GET " reads as 1,195,725,856), `.frameTooLarge` for any other oversize length.
    public static func checkLength(header: [UInt8], limit: Int, offset: Int = 0) throws(WireFormatError) -> Int {
        guard header.count == headerLength else {
            throw WireFormatError(.truncatedFrame, offset: offset, "length prefix needs 4 bytes, got \(header.count)")
        }
        var length: UInt32 = 0
        for byte in header { length = length << 8 | UInt32(byte) }
        guard UInt64(length) <= UInt64(max(limit, 0)) else {
            if httpPrefixes.contains(header) {
                throw WireFormatError(
                    .httpProbe,
                    offset: offset,
                    "an HTTP request (\"\(String(decoding: header, as: UTF8.self))\") on the wire port; this port speaks the Ballast frame protocol"
                )
            }
            throw WireFormatError(
                .frameTooLarge,
                offset: offset,
                "frame of \(length) bytes exceeds the limit of \(limit)"
            )
        }
        return Int(length)
    }

    /// Finds the next complete frame in `bytes` starting at `offset`. Returns the payload range and the offset
    /// after the frame, or nil when more bytes are needed. Throws when the length prefix exceeds `limit`.
    public static func nextFrame(
        in bytes: [UInt8],
        from offset: Int,
        limit: Int
    ) throws(WireFormatError) -> (payload: Range<Int>, next: Int)? {
        guard offset >= 0, bytes.count - offset >= headerLength else { return nil }
        let length = try checkLength(
            header: Array(bytes[offset..<(offset + headerLength)]),
            limit: limit,
            offset: offset
        )
        let start = offset + headerLength
        guard bytes.count - start >= length else { return nil }
        return (start..<(start + length), start + length)
    }

    /// Decodes every frame in a complete byte stream, as a receiver would: handshake messages and envelopes
    /// alike. Throws for an oversize length, a malformed payload, or a stream that ends inside a frame.
    ///
    /// This is the single public entry for fuzzing the protocol's decoders: any input either decodes or throws
    /// a `WireFormatError`, it never traps.
    public static func decodeStream(
        _ bytes: [UInt8],
        limits: WireFrameLimits = WireFrameLimits()
    ) throws(WireFormatError) -> [WireMessage] {
        var messages: [WireMessage] = []
        var offset = 0
        while offset < bytes.count {
            // The first frame is held to the pre-authentication cap, as a listener would hold it.
            let limit = messages.isEmpty ? limits.preAuthenticationMaxFrameSize : limits.maxFrameSize
            guard let frame = try nextFrame(in: bytes, from: offset, limit: limit) else {
                throw WireFormatError(
                    .truncatedFrame,
                    offset: offset,
                    "stream ends inside a frame (\(bytes.count - offset) bytes left)"
                )
            }
            do {
                messages.append(try WireMessage(decoding: Array(bytes[frame.payload])))
            } catch {
                throw WireFormatError(error.code, offset: frame.payload.lowerBound + error.offset, error.message)
            }
            offset = frame.next
        }
        return messages
    }
}
