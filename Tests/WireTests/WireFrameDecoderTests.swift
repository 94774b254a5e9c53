import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import WireFormat

@testable import Wire

@Suite("WireFrameDecoder")
struct WireFrameDecoderTests {
    static func frame(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    @Test("frames are split correctly however the bytes are chunked (ByteToMessageDecoderVerifier)")
    func verifier() throws {
        let payloads: [[UInt8]] = [
            [], [1], Array(repeating: 7, count: 300), WireMessage.heartbeat(.init(sequence: 9)).encode(),
        ]
        var input = ByteBuffer()
        for payload in payloads { input.writeImmutableBuffer(Self.frame(payload)) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (input, payloads.map { ByteBuffer(bytes: $0) }),
                (Self.frame([42]), [ByteBuffer(bytes: [42])]),
            ],
            decoderFactory: { WireFrameDecoder(limit: WireFrameLimit(1 << 20)) }
        )
    }

    @Test("a length above the limit is refused as soon as its 4 bytes arrive")
    func oversize() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder(limit: WireFrameLimit(64 << 10))))
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(64 << 10) + 1)
        #expect { try channel.writeInbound(buffer) } throws: { ($0 as? WireFormatError)?.code == .frameTooLarge }
        _ = try? channel.finish()
    }

    @Test("an HTTP request is refused as a probe from its first 4 bytes")
    func httpProbe() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder(limit: WireFrameLimit(1 << 20))))
        #expect { try channel.writeInbound(ByteBuffer(string: "GET ")) } throws: {
            ($0 as? WireFormatError)?.code == .httpProbe
        }
        _ = try? channel.finish()
    }

    @Test("a stream ending inside a frame is a truncated frame")
    func truncatedAtEOF() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder(limit: WireFrameLimit(1 << 20))))
        var partial = Self.frame([1, 2, 3, 4])
        partial.moveWriterIndex(to: 6)
        try channel.writeInbound(partial)
        #expect { _ = try channel.finish() } throws: { ($0 as? WireFormatError)?.code == .truncatedFrame }
    }

    @Test("raising the shared limit admits larger frames on the same connection")
    func raisedLimit() throws {
        let limit = WireFrameLimit(8)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder(limit: limit)))
        try channel.writeInbound(Self.frame(Array(repeating: 1, count: 8)))
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 8)
        limit.current = 16
        try channel.writeInbound(Self.frame(Array(repeating: 1, count: 16)))
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 16)
        #expect(try channel.finish().isClean)
    }
}
