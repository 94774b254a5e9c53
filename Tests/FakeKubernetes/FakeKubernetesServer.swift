import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The fake Kubernetes API served over HTTP/1.1 on 127.0.0.1, plain or over TLS with the authentication K3s
/// uses: a client certificate signed by the cluster CA, or a bearer token. Watches stream one JSON event per line
/// in a chunked response, with a BOOKMARK every ``Configuration/bookmarkInterval`` to watches that asked.
///
/// The server owns its channel and stops it in ``stop()``; the state lives in ``api``, which tests read and change.
public final class FakeKubernetesServer: Sendable {
    public struct Configuration: Sendable {
        /// PEM files of the server certificate and key, and the CA that client certificates must chain to; nil
        /// serves plain HTTP.
        public var tls: TLSFiles?
        /// A bearer token that authenticates as user "token"; nil accepts no tokens.
        public var token: String?
        /// Whether a request without credentials is refused with 401. Default true with TLS, false without.
        public var requireAuthentication: Bool
        /// How often a watch that asked for bookmarks gets one. Default one minute, as the API server.
        public var bookmarkInterval: Duration = .seconds(60)
        /// How long a watch stays open when the client gives no timeoutSeconds. Default 30 minutes.
        public var defaultWatchTimeout: Duration = .seconds(1800)

        public init(tls: TLSFiles? = nil, token: String? = nil, requireAuthentication: Bool? = nil) {
            self.tls = tls
            self.token = token
            self.requireAuthentication = requireAuthentication ?? (tls != nil)
        }
    }

    public struct TLSFiles: Sendable {
        public var certificateFile: String
        public var privateKeyFile: String
        public var clientCAFile: String
        public init(certificateFile: String, privateKeyFile: String, clientCAFile: String) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.clientCAFile = clientCAFile
        }
    }

    public let api: FakeKubernetesAPI
    public let configuration: Configuration
    /// The port the server listens on.
    public let port: Int
    private let channel: any Channel

    /// The base URL clients use: `https://127.0.0.1:PORT` or `http://…`.
    public var url: String { "\(configuration.tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    private init(api: FakeKubernetesAPI, configuration: Configuration, channel: any Channel, port: Int) {
        self.api = api
        self.configuration = configuration
        self.channel = channel
        self.port = port
    }

    /// Starts a server on `port`, 0 for one the OS picks.
    public static func start(
        api: FakeKubernetesAPI = FakeKubernetesAPI(),
        configuration: Configuration = Configuration(),
        port: Int = 0
    ) async throws -> FakeKubernetesServer {
        let sslContext: NIOSSLContext?
        if let tls = configuration.tls {
            var tlsConfiguration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem))
            )
            tlsConfiguration.trustRoots = .file(tls.clientCAFile)
            // As kube-apiserver: a presented client certificate must verify; without one, a token may do.
            tlsConfiguration.certificateVerification = .optionalVerification
            sslContext = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            sslContext = nil
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        APIHandler(api: api, configuration: configuration, tls: sslContext != nil)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        guard let port = channel.localAddress?.port else {
            try await channel.close()
            throw ChannelError.unknownLocalAddress
        }
        return FakeKubernetesServer(api: api, configuration: configuration, channel: channel, port: port)
    }

    /// Stops listening. Open connections are left to close with their clients.
    public func stop() async throws {
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {
            // Stopped before: nothing left to do.
        }
    }
}

/// One connection: reads a request, authenticates it, asks the API and writes the answer or streams a watch.
private final class APIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let api: FakeKubernetesAPI
    let configuration: FakeKubernetesServer.Configuration
    let tls: Bool
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    /// The watch this connection streams, while it does.
    var watch: (id: Int?, timeout: Scheduled<Void>?, bookmarks: RepeatedTask?)?

    init(api: FakeKubernetesAPI, configuration: FakeKubernetesServer.Configuration, tls: Bool) {
        self.api = api
        self.configuration = configuration
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        endWatch()
        context.fireChannelInactive()
    }

    private func user(context: ChannelHandlerContext, head: HTTPRequestHead) -> String? {
        if let authorization = head.headers.first(name: "authorization"), authorization.hasPrefix("Bearer "),
            let token = configuration.token, String(authorization.dropFirst("Bearer ".count)) == token
        {
            return "token"
        }
        if tls, let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = handler.peerCertificate
        {
            // The certificate verified against the client CA during the handshake (optionalVerification).
            return "certificate:\(certificate.description)"
        }
        return nil
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let user = user(context: context, head: head)
        let components = head.uri.split(separator: "?", maxSplits: 1).map(String.init)
        if configuration.requireAuthentication, user == nil {
            api.recordUnauthorized(method: head.method.rawValue, path: components[0])
            write(context: context, head: head, status: 401, document: Status.unauthorized)
            return
        }
        let request = APIRequest(
            method: head.method.rawValue,
            path: components[0],
            rawQuery: components.count > 1 ? components[1] : "",
            accept: head.headers.first(name: "accept"),
            contentType: head.headers.first(name: "content-type"),
            body: body,
            user: user
        )
        switch api.handle(request) {
        case .object(let status, let document):
            write(context: context, head: head, status: status, document: document)
        case .watch(let watchRequest):
            startWatch(context: context, head: head, watchRequest)
        }
    }

    private func write(context: ChannelHandlerContext, head: HTTPRequestHead, status: Int, document: JSONValue) {
        let data = document.data
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(data.count))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(
                .head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers))
            ),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    private func startWatch(context: ChannelHandlerContext, head: HTTPRequestHead, _ request: WatchRequest) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))),
            promise: nil
        )
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let (initial, id) = api.startWatch(
            request,
            send: { event in
                loop.execute {
                    let (handler, context) = bound.value
                    guard handler.watch != nil else { return }
                    handler.send(event, context: context)
                }
            },
            end: {
                loop.execute {
                    let (handler, context) = bound.value
                    guard handler.watch != nil else { return }
                    handler.endWatch()
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        )
        for event in initial { send(event, context: context) }
        guard let id else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let timeout = loop.scheduleTask(in: .init(request.timeout ?? configuration.defaultWatchTimeout)) {
            let (handler, context) = bound.value
            handler.endWatch()
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
        }
        let interval = TimeAmount(configuration.bookmarkInterval)
        let bookmarks = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [api] _ in
            api.sendBookmark(to: id)
        }
        watch = (id, timeout, bookmarks)
        context.flush()
    }

    private func send(_ event: JSONValue, context: ChannelHandlerContext) {
        var data = event.data
        data.append(UInt8(ascii: "\n"))
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
    }

    private func endWatch() {
        guard let watch else { return }
        self.watch = nil
        if let id = watch.id { api.removeWatcher(id) }
        watch.timeout?.cancel()
        watch.bookmarks?.cancel()
    }
}
