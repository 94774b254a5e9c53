import NIOCore
import WireFormat

/// The frame size limit in force on one connection: the pre-authentication cap until the handshake completes,
/// then `maxFrameSize`. Shared by the decoder and the connection handler of the same channel, and only touched
/// on that channel's event loop.
final class WireFrameLimit {
    var current: Int
    init(_ current: Int) { self.current = current }
}

/// Splits the byte stream into frame payloads (docs/wire.md §1). The length prefix is checked against the
/// limit as soon as its 4 bytes arrive, so an oversize length or an HTTP probe is refused before any payload
/// is buffered; a stream ending inside a frame is an error.
struct WireFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let limit: WireFrameLimit

    init(limit: WireFrameLimit) {
        self.limit = limit
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: WireFrame.headerLength) else {
            return .needMoreData
        }
        let length = try WireFrame.checkLength(header: header, limit: limit.current)
        guard buffer.readableBytes >= WireFrame.headerLength + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: WireFrame.headerLength)
        guard let payload = buffer.readSlice(length: length) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(payload))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw WireFormatError(
                .truncatedFrame,
                offset: 0,
                "the stream ended inside a frame (\(buffer.readableBytes) bytes of an incomplete frame)"
            )
        }
        return .needMoreData
    }
}
