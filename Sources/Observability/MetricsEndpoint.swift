import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The HTTP endpoint every Ballast process serves for its operators: `GET /metrics` in the Prometheus text format
/// from a `PrometheusCollectorRegistry`, and `GET /healthz` for liveness. Runs as a `Service`: on graceful
/// shutdown it stops accepting connections and lets requests in progress finish.
public struct MetricsEndpoint: Service {
    public struct Configuration: Sendable {
        /// The address to listen on; default 127.0.0.1 (exposing metrics beyond the host is a deliberate choice).
        public var host: String
        /// The TCP port; 0 lets the OS pick one (tests), default 9464.
        public var port: Int

        public init(host: String = "127.0.0.1", port: Int = 9464) {
            self.host = host
            self.port = port
        }
    }

    private let configuration: Configuration
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let bound: AsyncStream<SocketAddress>.Continuation?
    private let readiness: (@Sendable () async -> (ready: Bool, reason: String))?

    /// - Parameter onBound: called once with the address actually bound (useful when the port is 0).
    /// - Parameter readiness: answers `GET /readyz` (200 when ready, 503 when not, with the reason); without it
    ///   `/readyz` answers as `/healthz`.
    public init(
        configuration: Configuration,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        boundAddresses: AsyncStream<SocketAddress>.Continuation? = nil,
        readiness: (@Sendable () async -> (ready: Bool, reason: String))? = nil
    ) {
        self.readiness = readiness
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.bound = boundAddresses
    }

    public func run() async throws {
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        if let address = server.channel.localAddress {
            logger.info("serving metrics", metadata: ["ballast.address": "\(address)"])
            bound?.yield(address)
        }
        bound?.finish()
        let registry = self.registry
        let logger = self.logger
        let readiness = self.readiness
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask {
                            await Self.serve(connection, registry: registry, readiness: readiness, logger: logger)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        registry: PrometheusCollectorRegistry,
        readiness: (@Sendable () async -> (ready: Bool, reason: String))?,
        logger: Logger
    ) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { continue }
                        var (status, contentType, body) = respond(to: request, registry: registry)
                        if let readiness, request.uri.split(separator: "?").first == "/readyz" {
                            let (ready, reason) = await readiness()
                            status = ready ? .ok : .serviceUnavailable
                            body = Array("\(ready ? "ready" : "not ready"): \(reason)\n".utf8)
                        }
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: "\(body.count)")
                        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(
                            .head(HTTPResponseHead(version: request.version, status: status, headers: headers))
                        )
                        if request.method != .HEAD {
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                        }
                        try await outbound.write(.end(nil))
                        if !request.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("metrics connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    private static func respond(
        to request: HTTPRequestHead,
        registry: PrometheusCollectorRegistry
    ) -> (HTTPResponseStatus, String, [UInt8]) {
        guard request.method == .GET || request.method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", Array("only GET and HEAD\n".utf8))
        }
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        switch path {
        case "/metrics":
            var body: [UInt8] = []
            registry.emit(into: &body)
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", body)
        case "/healthz", "/readyz":
            return (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
        default:
            return (
                .notFound, "text/plain; charset=utf-8", Array("not found: try /metrics, /healthz or /readyz\n".utf8)
            )
        }
    }
}
