import Crypto
import WireFormat

/// Which end of a TCP connection this side is; it picks the label that enters the handshake MAC.
public enum WireConnectionSide: Sendable, Hashable {
    /// The side that dialled.
    case initiator
    /// The side that accepted.
    case responder

    var label: String {
        switch self {
        case .initiator: "ballast-wire-v1 initiator"
        case .responder: "ballast-wire-v1 responder"
        }
    }

    var other: WireConnectionSide { self == .initiator ? .responder : .initiator }
}

/// An authenticated peer: who it said it is in its hello, proven by its MAC.
public struct WirePeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public var nodeID: String
    public var role: WireRole
    /// The version both sides speak: our major, the lower of the two minors.
    public var version: WireProtocolVersion

    public init(nodeID: String, role: WireRole, version: WireProtocolVersion) {
        self.nodeID = nodeID
        self.role = role
        self.version = version
    }

    public var description: String { "\(nodeID) (\(role))" }
}

/// The HMAC of docs/wire.md §3, shared by the state machine and the golden-vector tests.
public enum WireHandshakeMAC {
    /// `HMAC-SHA256(secret, label || 0x00 || bytes(helloI) || bytes(helloR))`.
    public static func mac(
        secret: SymmetricKey,
        side: WireConnectionSide,
        initiatorHello: [UInt8],
        responderHello: [UInt8]
    ) -> [UInt8] {
        var message: [UInt8] = Array(side.label.utf8)
        message.append(0)
        for hello in [initiatorHello, responderHello] {
            let count = UInt32(truncatingIfNeeded: hello.count)
            message.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: count >> $0) })
            message.append(contentsOf: hello)
        }
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: secret))
    }
}

/// The handshake of one connection (docs/wire.md §3) as a value: feed it the frames that arrive and the
/// deadline, perform the actions it returns. It never reads a clock or a socket. It promises that `established`
/// is returned only after the peer proved the shared secret over both fresh nonces.
public struct HandshakeStateMachine: Sendable {
    public enum Action: Sendable {
        /// Send this message to the peer.
        case send(WireMessage)
        /// The peer is authenticated; the connection may carry envelopes.
        case established(WirePeerIdentity)
        /// Send the refusal (if any), then close; `reason` is for the log.
        case refuse(WireMessage.Refusal?, reason: String)
        /// Nothing to do.
        case none
    }

    enum State: Sendable {
        case idle
        case awaitingHello(ownHello: [UInt8])
        case awaitingProof(ownHello: [UInt8], peer: WirePeerIdentity, expectedMAC: [UInt8])
        case established(WirePeerIdentity)
        case failed
    }

    public let side: WireConnectionSide
    let localHello: WireMessage.Hello
    let secretForPeer: @Sendable (String, WireRole) -> SymmetricKey?
    private(set) var state: State = .idle

    /// - Parameters:
    ///   - localHello: this side's hello, with a nonce fresh for this connection.
    ///   - secretForPeer: the shared secret for a peer's node id and role, or nil when the peer is unknown.
    public init(
        side: WireConnectionSide,
        localHello: WireMessage.Hello,
        secretForPeer: @escaping @Sendable (String, WireRole) -> SymmetricKey?
    ) {
        self.side = side
        self.localHello = localHello
        self.secretForPeer = secretForPeer
    }

    public var isEstablished: Bool {
        if case .established = state { return true }
        return false
    }

    /// The connection is up: send our hello at once, without waiting for the peer's.
    public mutating func start() -> Action {
        guard case .idle = state else { return .none }
        let message = WireMessage.hello(localHello)
        state = .awaitingHello(ownHello: message.encode())
        return .send(message)
    }

    /// A frame arrived before the handshake completed. `payload` is exactly the received bytes, which enter
    /// the MAC as they are.
    public mutating func received(payload: [UInt8]) -> Action {
        let message: WireMessage
        do {
            message = try WireMessage(decoding: payload)
        } catch {
            state = .failed
            let code: WireCloseCode = error.code == .badMagic ? .badMagic : .protocolViolation
            return .refuse(.init(code: code, message: "malformed handshake: \(error.code)"), reason: "\(error)")
        }
        if case .refusal(let refusal) = message {
            state = .failed
            return .refuse(nil, reason: "peer refused the handshake: \(refusal.code): \(refusal.message)")
        }
        switch (state, message) {
        case (.awaitingHello(let ownHello), .hello(let hello)):
            guard hello.version.major == localHello.version.major else {
                state = .failed
                let text =
                    "major version \(hello.version.major) is not supported; this peer speaks \(localHello.version)"
                return .refuse(.init(code: .unsupportedVersion, message: text), reason: text)
            }
            guard let secret = secretForPeer(hello.nodeID, hello.role) else {
                state = .failed
                let text = "no secret for \(hello.role) \(hello.nodeID)"
                return .refuse(.init(code: .unknownPeer, message: text), reason: text)
            }
            let (initiatorHello, responderHello) = side == .initiator ? (ownHello, payload) : (payload, ownHello)
            let ownMAC = WireHandshakeMAC.mac(
                secret: secret,
                side: side,
                initiatorHello: initiatorHello,
                responderHello: responderHello
            )
            let expected = WireHandshakeMAC.mac(
                secret: secret,
                side: side.other,
                initiatorHello: initiatorHello,
                responderHello: responderHello
            )
            let version = WireProtocolVersion(
                major: localHello.version.major,
                minor: min(localHello.version.minor, hello.version.minor)
            )
            let peer = WirePeerIdentity(nodeID: hello.nodeID, role: hello.role, version: version)
            state = .awaitingProof(ownHello: ownHello, peer: peer, expectedMAC: expected)
            return .send(.proof(.init(mac: ownMAC)))
        case (.awaitingProof(_, let peer, let expectedMAC), .proof(let proof)):
            guard Self.constantTimeEqual(proof.mac, expectedMAC) else {
                state = .failed
                let text = "handshake proof from \(peer) did not verify"
                return .refuse(.init(code: .authenticationFailed, message: "authentication failed"), reason: text)
            }
            state = .established(peer)
            return .established(peer)
        case (.idle, _), (.established, _), (.failed, _):
            return .none
        default:
            state = .failed
            let text = "unexpected message during the handshake (expected hello then proof)"
            return .refuse(.init(code: .protocolViolation, message: text), reason: text)
        }
    }

    /// The handshake deadline passed.
    public mutating func deadlineReached() -> Action {
        switch state {
        case .established, .failed:
            return .none
        case .idle, .awaitingHello, .awaitingProof:
            state = .failed
            let text = "handshake did not complete before the deadline"
            return .refuse(.init(code: .handshakeTimeout, message: text), reason: text)
        }
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
