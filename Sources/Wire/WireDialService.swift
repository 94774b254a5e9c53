import Logging
import ServiceLifecycle

/// Keeps this system dialled to a set of peers for the life of a `ServiceGroup`: each address is dialled by the
/// system's own reconnect loop (backoff with jitter, redialled whenever it drops), and the first outcome of each is
/// logged: a peer may start after us, so a failure is not fatal. Returns on graceful shutdown, when the system's
/// shutdown (`WireSystemService`) ends the dialling.
public struct WireDialService: Service {
    /// A peer to keep a connection to.
    public struct Peer: Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { "\(host):\(port)" }
    }

    private let system: WireActorSystem
    private let peers: [Peer]
    private let logger: Logger

    public init(system: WireActorSystem, peers: [Peer], logger: Logger) {
        self.system = system
        self.peers = peers
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for peer in peers {
                    group.addTask {
                        do {
                            let identity = try await system.connect(host: peer.host, port: peer.port)
                            logger.notice(
                                "connected",
                                metadata: ["ballast.peer": "\(identity.nodeID)", "address": "\(peer)"]
                            )
                        } catch is CancellationError {
                            return
                        } catch {
                            logger.error("cannot connect", metadata: ["address": "\(peer)", "error": "\(error)"])
                        }
                    }
                }
                // Stay up until shutdown, so the group never reads an early return as a failure.
                group.addTask {
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                }
            }
        }
    }
}
