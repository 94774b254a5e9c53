import NIOCore
import NIOExtras
import NIOPosix

/// The floor for the wire benchmark: a bare SwiftNIO server that echoes length-prefixed frames, and a client that
/// sends one frame and awaits its echo, from a Swift task, as a distributed call does. Whatever the distributed
/// actor system adds on top of this (envelopes, argument coding, the call table, actor hops) is the overhead
/// measured by the ratio.
enum EchoFloor {
    /// Starts the echo server on 127.0.0.1 with an OS-chosen port.
    static func startServer(group: MultiThreadedEventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)),
                        LengthFieldPrepender(lengthFieldBitLength: .fourBytes),
                        FrameEchoHandler(),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    /// Sends `payload` `count` times, one at a time, and returns each round trip in nanoseconds.
    static func measureRoundTrips(
        group: MultiThreadedEventLoopGroup,
        port: Int,
        payload: [UInt8],
        count: Int
    ) async throws -> [UInt64] {
        let client = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)),
                        LengthFieldPrepender(lengthFieldBitLength: .fourBytes),
                    ])
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var samples: [UInt64] = []
        samples.reserveCapacity(count)
        try await client.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            let buffer = ByteBuffer(bytes: payload)
            for _ in 0..<count {
                let start = ContinuousClock.now
                try await outbound.write(buffer)
                guard let echoed = try await iterator.next(), echoed.readableBytes == payload.count else {
                    throw BenchError("echo server closed or answered a short frame")
                }
                samples.append((ContinuousClock.now - start).nanoseconds)
            }
        }
        return samples
    }
}

private final class FrameEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = self.components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
