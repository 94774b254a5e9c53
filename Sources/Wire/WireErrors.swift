import WireFormat

/// Why a distributed call to a remote actor failed, on the caller's side. Every failure of the transport or
/// of the remote invocation arrives as this error (typed application errors arrive as themselves).
public struct WireCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// No reply within the call's timeout; the remote function may or may not have run.
        case timeout
        /// The connection carrying the call closed before a reply arrived.
        case connectionClosed
        /// No live, authenticated connection to the recipient's node; connect or wait for the peer.
        case peerNotConnected
        /// Too many calls in flight or the send buffer is full; retry after a while.
        case overloaded
        /// The local actor system is shutting down.
        case shutdown
        /// The calling task was cancelled before the reply arrived; the remote function may still run.
        case cancelled
        /// The remote node hosts no actor with that id (`wire.unknown-actor`).
        case unknownActor
        /// The remote actor has no such distributed function (`wire.unknown-target`), or no endpoint names the
        /// Swift function called (then the call never left this node).
        case unknownTarget
        /// The remote node no longer serves that call name (`wire.retired-call`); the message names the
        /// replacement.
        case retiredCall
        /// The arguments could not be decoded remotely, or the reply could not be decoded here.
        case badArguments
        /// The remote function threw an error that is not a `WireRemoteError`; `message` describes it.
        case remoteFailure
        /// The remote function threw a typed error whose code this system has not registered.
        case unregisteredRemoteError
        /// The call or its arguments could not be encoded here.
        case encodingFailed
    }

    public var code: Code
    /// The recipient actor, when known.
    public var recipient: WireActorID?
    /// The stable error code received from the peer, when the failure came from there.
    public var remoteCode: String?
    public var message: String

    public init(_ code: Code, recipient: WireActorID? = nil, remoteCode: String? = nil, _ message: String) {
        self.code = code
        self.recipient = recipient
        self.remoteCode = remoteCode
        self.message = message
    }

    public var description: String {
        var text = "WireCallError.\(code.rawValue)"
        if let recipient { text += " calling \(recipient)" }
        if let remoteCode { text += " [\(remoteCode)]" }
        return text + ": " + message
    }
}

/// An error a distributed function may throw so that it reaches a remote caller as itself: it is Codable and
/// carries a stable code a peer in any language can branch on. Register the type with the caller's system
/// (`WireActorSystem.Configuration.remoteErrorTypes`) so the caller can rebuild it from the code.
public protocol WireRemoteError: Error, Codable, Sendable {
    /// A stable, namespaced code such as `ballast.stale-epoch`; never reuse or rename one.
    static var wireErrorCode: String { get }
}

/// Failures of setting up the transport (listening, dialling, authenticating) rather than of a call.
public struct WireConnectError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The address could not be bound or dialled.
        case unreachable
        /// The peer refused us or we refused it during the handshake (bad secret, version, magic).
        case handshakeRefused
        /// The system was shut down or the task cancelled before a connection was established.
        case cancelled
        /// TLS could not be configured from the given files.
        case tlsConfiguration
        /// A configuration value is out of range; the message names it.
        case invalidConfiguration
    }

    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "WireConnectError.\(code.rawValue): \(message)" }
}

/// Stable reply error codes the actor system itself produces (docs/wire.md §5.2).
enum WireSystemErrorCode {
    static let unknownActor = "wire.unknown-actor"
    static let unknownTarget = "wire.unknown-target"
    static let retiredCall = "wire.retired-call"
    static let badArguments = "wire.bad-arguments"
    static let remoteFailure = "wire.remote-failure"
}

/// Metadata keys this module logs under; stable so dashboards and greps keep working.
public enum WireLogKey {
    public static let node = "ballast.node"
    public static let peer = "ballast.peer"
    public static let callID = "ballast.call-id"
    public static let remoteAddress = "ballast.remote-address"
    public static let reason = "ballast.reason"
}
