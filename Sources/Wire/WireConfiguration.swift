import Crypto
import NIOSSL
import WireFormat

/// Where the shared HMAC secrets come from: a lookup by the peer's node id and role, so a coordinator can keep
/// one secret per cluster and accept `coordctl` with the admin secret. Secrets are never logged.
public struct WireSecrets: Sendable {
    let lookup: @Sendable (_ nodeID: String, _ role: WireRole) -> SymmetricKey?

    /// - Parameter lookup: the secret for a peer, or nil to refuse it as unknown.
    public init(_ lookup: @escaping @Sendable (_ nodeID: String, _ role: WireRole) -> SymmetricKey?) {
        self.lookup = lookup
    }

    /// One secret for every peer (an agent talking to its coordinators, tests).
    public static func shared(_ secret: SymmetricKey) -> WireSecrets {
        WireSecrets { _, _ in secret }
    }

    /// A coordinator's view: one secret per agent node (its cluster's secret), `admin` for `coordctl`, and
    /// `coordinators` for other coordinator replicas. Unlisted peers are refused as unknown.
    public static func perNode(
        _ agents: [String: SymmetricKey],
        admin: SymmetricKey? = nil,
        coordinators: SymmetricKey? = nil
    ) -> WireSecrets {
        WireSecrets { node, role in
            switch role {
            case .agent: agents[node]
            case .admin: admin
            case .coordinator: coordinators
            }
        }
    }
}

/// Mutual TLS: this node's certificate chain and key, and the CA that every peer's certificate must chain to.
/// Peers are identified by the HMAC handshake inside TLS, so host names are not verified; the CA is.
public struct WireTLSConfiguration: Sendable, Hashable {
    /// PEM file with this node's certificate (then intermediates).
    public var certificateChainFile: String
    /// PEM file with this node's private key.
    public var privateKeyFile: String
    /// PEM file with the CA certificates peers must chain to.
    public var trustRootsFile: String

    public init(certificateChainFile: String, privateKeyFile: String, trustRootsFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.trustRootsFile = trustRootsFile
    }

    func makeContexts() throws(WireConnectError) -> (server: NIOSSLContext, client: NIOSSLContext) {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
            var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            server.trustRoots = .file(trustRootsFile)
            server.certificateVerification = .noHostnameVerification
            server.minimumTLSVersion = .tlsv12
            var client = TLSConfiguration.makeClientConfiguration()
            client.certificateChain = chain
            client.privateKey = key
            client.trustRoots = .file(trustRootsFile)
            client.certificateVerification = .noHostnameVerification
            client.minimumTLSVersion = .tlsv12
            return (try NIOSSLContext(configuration: server), try NIOSSLContext(configuration: client))
        } catch {
            throw WireConnectError(
                .tlsConfiguration,
                "TLS files \(certificateChainFile), \(privateKeyFile), \(trustRootsFile) could not be loaded: \(error)"
            )
        }
    }
}

extension WireActorSystem {
    /// Everything a `WireActorSystem` needs besides its transport. Durations are wall time on the network
    /// transport; the in-process transport measures call timeouts on `clock`.
    public struct Configuration: Sendable {
        /// This node's id, 1...255 bytes of UTF-8 (e.g. `agent-eu-1`, `coord-1`).
        public var nodeID: String
        /// What this node is; peers pick the secret by it.
        public var role: WireRole
        /// The HMAC secret for each peer.
        public var secrets: WireSecrets
        /// How long a call waits for its reply. Default 10 s.
        public var callTimeout: Duration = .seconds(10)
        /// Handshake deadline, heartbeat, in-flight bound and frame limits per connection.
        public var connection = WireConnectionConfiguration()
        /// Delays between reconnection attempts of `connect`. Default 100 ms doubling to 30 s, with jitter.
        public var reconnectBackoff = ReconnectBackoff()
        /// How long one dial may take before it counts as a failed attempt. Default 5 s.
        public var dialTimeout: Duration = .seconds(5)
        /// Send-buffer water marks in bytes: above `high`, new calls get `overloaded` until it drains below
        /// `low`. Default 512 KiB / 2 MiB.
        public var sendBufferLowWaterMark = 512 << 10
        public var sendBufferHighWaterMark = 2 << 20
        /// Typed errors this node can rebuild from a remote reply, found by their stable code.
        public var remoteErrorTypes: [any WireRemoteError.Type] = []
        /// The `@Resolvable` protocols local actors may be called through (see `WireEndpoint`).
        public var endpoints: [WireEndpoint] = []
        /// Mutual TLS around every connection when set. Default nil (plain TCP, HMAC handshake only).
        public var tls: WireTLSConfiguration?
        /// Run each incoming call (the distributed function, on its actor when that actor has no executor of
        /// its own, and the encoding of its reply) on the event loop of the connection that carried it, instead
        /// of handing it to the cooperative thread pool and the reply back to the event loop: two thread hops
        /// fewer per call. Distributed functions must then not block (no synchronous I/O, no long computation
        /// without a suspension point), as they would stall that connection's I/O. Default true.
        public var runsIncomingCallsOnEventLoop = true
        /// Hand-written JSON coders for the types sent most often (see `WireJSONCoder`); every other type is
        /// coded by Foundation. The bytes on the wire are the same either way. Default none.
        public var jsonCoders: [WireJSONCoder] = []

        public init(nodeID: String, role: WireRole, secrets: WireSecrets) {
            self.nodeID = nodeID
            self.role = role
            self.secrets = secrets
        }

        func validate() throws(WireConnectError) {
            guard (1...WireMessage.maxNodeIDLength).contains(nodeID.utf8.count) else {
                throw WireConnectError(
                    .invalidConfiguration,
                    "nodeID must be 1...255 bytes of UTF-8, got \(nodeID.utf8.count)"
                )
            }
            guard callTimeout > .zero, connection.heartbeatInterval > .zero, connection.handshakeTimeout > .zero else {
                throw WireConnectError(
                    .invalidConfiguration,
                    "callTimeout, heartbeatInterval and handshakeTimeout must be positive"
                )
            }
            guard connection.maxMissedHeartbeats >= 1, connection.maxCallsInFlight >= 1 else {
                throw WireConnectError(
                    .invalidConfiguration,
                    "maxMissedHeartbeats and maxCallsInFlight must be at least 1"
                )
            }
            guard sendBufferLowWaterMark > 0, sendBufferLowWaterMark <= sendBufferHighWaterMark else {
                throw WireConnectError(
                    .invalidConfiguration,
                    "sendBufferLowWaterMark must be positive and at most sendBufferHighWaterMark"
                )
            }
        }
    }
}
