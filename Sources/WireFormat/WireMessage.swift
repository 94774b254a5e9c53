/// The protocol version a hello announces. Peers refuse an unknown major; within a major, a minor version may
/// only add what older peers can skip (docs/wire.md, "Versioning").
public struct WireProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// The version this code speaks.
    public static let current = WireProtocolVersion(major: 1, minor: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// What a peer is: it decides which secret authenticates it and what it may call.
public enum WireRole: UInt8, Hashable, Sendable, Codable, CustomStringConvertible {
    case coordinator = 1
    case agent = 2
    case admin = 3

    public var description: String {
        switch self {
        case .coordinator: "coordinator"
        case .agent: "agent"
        case .admin: "admin"
        }
    }
}

/// Why a connection is refused or closed; carried by refusal and goodbye messages. Unknown values decode as
/// themselves so a newer peer's reasons still reach the log.
public struct WireCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WireCloseCode(rawValue: 0)
    public static let unsupportedVersion = WireCloseCode(rawValue: 1)
    public static let authenticationFailed = WireCloseCode(rawValue: 2)
    public static let unknownPeer = WireCloseCode(rawValue: 3)
    public static let badMagic = WireCloseCode(rawValue: 4)
    public static let protocolViolation = WireCloseCode(rawValue: 5)
    public static let frameTooLarge = WireCloseCode(rawValue: 6)
    public static let handshakeTimeout = WireCloseCode(rawValue: 7)
    public static let peerSilent = WireCloseCode(rawValue: 8)
    public static let shuttingDown = WireCloseCode(rawValue: 9)

    public var description: String {
        switch self {
        case .normal: "normal"
        case .unsupportedVersion: "unsupported-version"
        case .authenticationFailed: "authentication-failed"
        case .unknownPeer: "unknown-peer"
        case .badMagic: "bad-magic"
        case .protocolViolation: "protocol-violation"
        case .frameTooLarge: "frame-too-large"
        case .handshakeTimeout: "handshake-timeout"
        case .peerSilent: "peer-silent"
        case .shuttingDown: "shutting-down"
        default: "code-\(rawValue)"
        }
    }
}

/// The address of a distributed actor: the node that hosts it and its name there. Well-known names
/// (`agent`, `coordinator`) let a peer address an actor without a lookup.
public struct WireActorID: Hashable, Sendable, Codable, CustomStringConvertible {
    public var node: String
    public var name: String

    public init(node: String, name: String) {
        self.node = node
        self.name = name
    }

    public var description: String { "\(node)/\(name)" }
}

/// Every message of the protocol, in decoded form. `encode()` gives the frame payload (without the length
/// prefix); `WireMessage(decoding:)` is its inverse and refuses any malformed input with a `WireFormatError`.
public enum WireMessage: Hashable, Sendable {
    case hello(Hello)
    case proof(Proof)
    case refusal(Refusal)
    case call(Call)
    case reply(Reply)
    case heartbeat(Heartbeat)
    case goodbye(Goodbye)
    /// A message type in the skippable range 0x40...0x7F that this version does not know (added by a later
    /// minor version); receivers ignore it.
    case skippable(type: UInt8, body: [UInt8])

    /// The message type byte that starts every payload.
    public enum MessageType: UInt8, Sendable {
        case hello = 0x01
        case proof = 0x02
        case refusal = 0x03
        case call = 0x10
        case reply = 0x11
        case heartbeat = 0x20
        case goodbye = 0x21
    }

    /// Message types a later minor version may add; older peers skip them.
    public static let skippableTypes: ClosedRange<UInt8> = 0x40...0x7F
    /// The first four bytes after a hello's type byte: "BLST".
    public static let magic: [UInt8] = [0x42, 0x4C, 0x53, 0x54]
    public static let nonceLength = 32
    public static let macLength = 32
    public static let maxNodeIDLength = 255
    public static let maxCountPerList = 1024

    /// First message each way: who the sender is and the fresh nonce the peer must prove the secret against.
    public struct Hello: Hashable, Sendable {
        public var version: WireProtocolVersion
        public var role: WireRole
        /// 32 random bytes, fresh for every connection.
        public var nonce: [UInt8]
        /// 1...255 bytes of UTF-8.
        public var nodeID: String

        public init(version: WireProtocolVersion = .current, role: WireRole, nonce: [UInt8], nodeID: String) {
            self.version = version
            self.role = role
            self.nonce = nonce
            self.nodeID = nodeID
        }
    }

    /// Second message each way: HMAC-SHA256 over the handshake transcript (docs/wire.md, "Handshake").
    public struct Proof: Hashable, Sendable {
        public var mac: [UInt8]
        public init(mac: [UInt8]) { self.mac = mac }
    }

    /// Sent instead of (or after) a hello or proof when the handshake cannot succeed; the sender then closes.
    public struct Refusal: Hashable, Sendable {
        public var code: WireCloseCode
        public var message: String
        public init(code: WireCloseCode, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// A distributed call: which actor, which target, and the encoded generic substitutions and arguments.
    public struct Call: Hashable, Sendable {
        public var callID: UInt64
        public var recipient: WireActorID
        public var target: String
        public var genericSubstitutions: [String]
        public var arguments: [[UInt8]]

        public init(
            callID: UInt64,
            recipient: WireActorID,
            target: String,
            genericSubstitutions: [String] = [],
            arguments: [[UInt8]]
        ) {
            self.callID = callID
            self.recipient = recipient
            self.target = target
            self.genericSubstitutions = genericSubstitutions
            self.arguments = arguments
        }
    }

    /// The answer to a call with the same call id: the encoded return value or an error with a stable code.
    public struct Reply: Hashable, Sendable {
        public enum Outcome: Hashable, Sendable {
            /// The encoded return value; empty for a `Void` function.
            case value([UInt8])
            case error(ErrorBody)
        }

        /// An error that crossed the wire. `code` is stable and branchable in any language; `detail` is the
        /// JSON encoding of the typed error when the thrower's type is shared, else empty.
        public struct ErrorBody: Hashable, Sendable {
            public var code: String
            public var message: String
            public var detail: [UInt8]
            public init(code: String, message: String, detail: [UInt8] = []) {
                self.code = code
                self.message = message
                self.detail = detail
            }
        }

        public var callID: UInt64
        public var outcome: Outcome
        public init(callID: UInt64, outcome: Outcome) {
            self.callID = callID
            self.outcome = outcome
        }
    }

    /// Liveness: sent every heartbeat interval by each side; any received frame counts as a sign of life.
    public struct Heartbeat: Hashable, Sendable {
        public var sequence: UInt64
        public init(sequence: UInt64) { self.sequence = sequence }
    }

    /// The last message of an orderly close.
    public struct Goodbye: Hashable, Sendable {
        public var code: WireCloseCode
        public var message: String
        public init(code: WireCloseCode, message: String) {
            self.code = code
            self.message = message
        }
    }
}

// MARK: Encoding

extension WireMessage {
    /// The frame payload for this message (type byte first, no length prefix).
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .hello(let hello):
            writer.write(MessageType.hello.rawValue)
            writer.write(fixed: Self.magic)
            writer.write(hello.version.major)
            writer.write(hello.version.minor)
            writer.write(hello.role.rawValue)
            writer.write(fixed: hello.nonce)
            writer.write(string: hello.nodeID)
        case .proof(let proof):
            writer.write(MessageType.proof.rawValue)
            writer.write(fixed: proof.mac)
        case .refusal(let refusal):
            writer.write(MessageType.refusal.rawValue)
            writer.write(refusal.code.rawValue)
            writer.write(string: refusal.message)
        case .call(let call):
            writer.write(MessageType.call.rawValue)
            writer.write(call.callID)
            writer.write(string: call.recipient.node)
            writer.write(string: call.recipient.name)
            writer.write(string: call.target)
            writer.write(UInt16(truncatingIfNeeded: call.genericSubstitutions.count))
            for substitution in call.genericSubstitutions { writer.write(string: substitution) }
            writer.write(UInt16(truncatingIfNeeded: call.arguments.count))
            for argument in call.arguments { writer.write(lengthPrefixed: argument) }
        case .reply(let reply):
            writer.write(MessageType.reply.rawValue)
            writer.write(reply.callID)
            switch reply.outcome {
            case .value(let value):
                writer.write(UInt8(0))
                writer.write(lengthPrefixed: value)
            case .error(let error):
                writer.write(UInt8(1))
                writer.write(string: error.code)
                writer.write(string: error.message)
                writer.write(lengthPrefixed: error.detail)
            }
        case .heartbeat(let heartbeat):
            writer.write(MessageType.heartbeat.rawValue)
            writer.write(heartbeat.sequence)
        case .goodbye(let goodbye):
            writer.write(MessageType.goodbye.rawValue)
            writer.write(goodbye.code.rawValue)
            writer.write(string: goodbye.message)
        case .skippable(let type, let body):
            writer.write(type)
            writer.write(fixed: body)
        }
        return writer.bytes
    }

    /// The payload with its 4-byte big-endian length prefix: exactly the bytes that go on the wire.
    public func encodeFrame() -> [UInt8] {
        let payload = encode()
        var writer = ByteWriter()
        writer.write(UInt32(truncatingIfNeeded: payload.count))
        writer.write(fixed: payload)
        return writer.bytes
    }

    /// The payload length `encode()` produces, computed without encoding, so a sender can refuse a message
    /// larger than the peer's frame limit before building it.
    public var encodedLength: Int {
        func string(_ value: String) -> Int { 2 + value.utf8.count }
        switch self {
        case .hello(let hello): return 1 + 4 + 3 + hello.nonce.count + string(hello.nodeID)
        case .proof(let proof): return 1 + proof.mac.count
        case .refusal(let refusal): return 1 + 2 + string(refusal.message)
        case .call(let call):
            return 1 + 8 + string(call.recipient.node) + string(call.recipient.name) + string(call.target)
                + 2 + call.genericSubstitutions.reduce(0) { $0 + string($1) }
                + 2 + call.arguments.reduce(0) { $0 + 4 + $1.count }
        case .reply(let reply):
            switch reply.outcome {
            case .value(let value): return 1 + 8 + 1 + 4 + value.count
            case .error(let body): return 1 + 8 + 1 + string(body.code) + string(body.message) + 4 + body.detail.count
            }
        case .heartbeat: return 1 + 8
        case .goodbye(let goodbye): return 1 + 2 + string(goodbye.message)
        case .skippable(_, let body): return 1 + body.count
        }
    }

    /// Whether this message can be encoded without losing information (field lengths and counts within their
    /// bounds); senders check it so that a bad value fails on this side with a clear error.
    public func validate() throws(WireFormatError) {
        func check(_ ok: Bool, _ message: String) throws(WireFormatError) {
            if !ok { throw WireFormatError(.invalidField, offset: 0, message) }
        }
        func checkString(_ value: String, _ name: String) throws(WireFormatError) {
            try check(value.utf8.count <= Int(UInt16.max), "\(name) is longer than 65535 bytes")
        }
        switch self {
        case .hello(let hello):
            try check(hello.nonce.count == Self.nonceLength, "nonce must be \(Self.nonceLength) bytes")
            try check(
                (1...Self.maxNodeIDLength).contains(hello.nodeID.utf8.count),
                "node id must be 1...255 bytes"
            )
        case .proof(let proof):
            try check(proof.mac.count == Self.macLength, "mac must be \(Self.macLength) bytes")
        case .refusal(let refusal):
            try checkString(refusal.message, "message")
        case .call(let call):
            try checkString(call.recipient.node, "recipient node")
            try checkString(call.recipient.name, "recipient name")
            try checkString(call.target, "target")
            try check(call.genericSubstitutions.count <= Self.maxCountPerList, "too many generic substitutions")
            for substitution in call.genericSubstitutions { try checkString(substitution, "substitution") }
            try check(call.arguments.count <= Self.maxCountPerList, "too many arguments")
            for argument in call.arguments { try check(argument.count <= Int(UInt32.max), "argument too large") }
        case .reply(let reply):
            if case .error(let body) = reply.outcome {
                try checkString(body.code, "error code")
                try checkString(body.message, "error message")
            }
        case .heartbeat:
            break
        case .goodbye(let goodbye):
            try checkString(goodbye.message, "message")
        case .skippable(let type, _):
            try check(Self.skippableTypes.contains(type), "type \(type) is not in the skippable range")
        }
    }
}

// MARK: Decoding

extension WireMessage {
    /// Decodes one frame payload (the bytes after the length prefix). Throws `WireFormatError` for anything
    /// malformed; never traps and never allocates more than the input's size. Bytes after the known fields are
    /// ignored: that is where a later minor version appends fields.
    public init(decoding payload: [UInt8]) throws(WireFormatError) {
        var reader = ByteReader(payload)
        guard reader.remaining > 0 else {
            throw WireFormatError(.unknownMessageType, offset: 0, "empty payload has no message type")
        }
        let typeByte = try reader.readUInt8("message type")
        guard let type = MessageType(rawValue: typeByte) else {
            if Self.skippableTypes.contains(typeByte) {
                self = .skippable(type: typeByte, body: Array(payload.dropFirst()))
                return
            }
            throw WireFormatError(.unknownMessageType, offset: 0, "unknown message type 0x\(hex(typeByte))")
        }
        switch type {
        case .hello:
            let magic = try reader.readFixed(4, "magic")
            guard magic == Self.magic else {
                throw WireFormatError(.badMagic, offset: 1, "hello must start with BLST, got \(hex(magic))")
            }
            let major = try reader.readUInt8("major version")
            let minor = try reader.readUInt8("minor version")
            let roleOffset = reader.offset
            let roleByte = try reader.readUInt8("role")
            guard let role = WireRole(rawValue: roleByte) else {
                throw WireFormatError(.invalidField, offset: roleOffset, "unknown role \(roleByte)")
            }
            let nonce = try reader.readFixed(Self.nonceLength, "nonce")
            let nodeID = try reader.readString("node id", minLength: 1, maxLength: Self.maxNodeIDLength)
            self = .hello(
                Hello(version: .init(major: major, minor: minor), role: role, nonce: nonce, nodeID: nodeID)
            )
        case .proof:
            self = .proof(Proof(mac: try reader.readFixed(Self.macLength, "mac")))
        case .refusal:
            let code = WireCloseCode(rawValue: try reader.readUInt16("refusal code"))
            self = .refusal(Refusal(code: code, message: try reader.readString("refusal message")))
        case .call:
            let callID = try reader.readUInt64("call id")
            let node = try reader.readString("recipient node")
            let name = try reader.readString("recipient name")
            let target = try reader.readString("target")
            let substitutions = try Self.readList(&reader, "generic substitution count") {
                (reader: inout ByteReader) throws(WireFormatError) in try reader.readString("generic substitution")
            }
            let arguments = try Self.readList(&reader, "argument count") {
                (reader: inout ByteReader) throws(WireFormatError) in try reader.readBytes("argument")
            }
            self = .call(
                Call(
                    callID: callID,
                    recipient: WireActorID(node: node, name: name),
                    target: target,
                    genericSubstitutions: substitutions,
                    arguments: arguments
                )
            )
        case .reply:
            let callID = try reader.readUInt64("call id")
            let statusOffset = reader.offset
            switch try reader.readUInt8("reply status") {
            case 0:
                self = .reply(Reply(callID: callID, outcome: .value(try reader.readBytes("value"))))
            case 1:
                let code = try reader.readString("error code")
                let message = try reader.readString("error message")
                let detail = try reader.readBytes("error detail")
                self = .reply(
                    Reply(callID: callID, outcome: .error(.init(code: code, message: message, detail: detail)))
                )
            case let status:
                throw WireFormatError(.invalidField, offset: statusOffset, "unknown reply status \(status)")
            }
        case .heartbeat:
            self = .heartbeat(Heartbeat(sequence: try reader.readUInt64("heartbeat sequence")))
        case .goodbye:
            let code = WireCloseCode(rawValue: try reader.readUInt16("goodbye code"))
            self = .goodbye(Goodbye(code: code, message: try reader.readString("goodbye message")))
        }
    }

    /// Reads a u16 count then that many items; the count is checked against the cap and against the bytes
    /// left (every item takes at least 2 bytes) before any array is reserved.
    private static func readList<Item>(
        _ reader: inout ByteReader,
        _ field: StaticString,
        _ readItem: (inout ByteReader) throws(WireFormatError) -> Item
    ) throws(WireFormatError) -> [Item] {
        let countOffset = reader.offset
        let count = Int(try reader.readUInt16(field))
        guard count <= maxCountPerList, count * 2 <= reader.remaining else {
            throw WireFormatError(
                .invalidField,
                offset: countOffset,
                "\(field) \(count) exceeds the cap \(maxCountPerList) or the \(reader.remaining) bytes left"
            )
        }
        var items: [Item] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try readItem(&reader)) }
        return items
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { hex($0) }.joined() }
