import BallastTestSupport
import Testing
import WireFormat

@Suite("WireMessage encoding and decoding")
struct WireMessageTests {
    static let samples: [WireMessage] = [
        .hello(.init(role: .admin, nonce: Array(repeating: 7, count: 32), nodeID: "coordctl-π")),
        .proof(.init(mac: Array(0..<32))),
        .refusal(.init(code: .init(rawValue: 999), message: "")),
        .call(
            .init(
                callID: .max,
                recipient: .init(node: "n", name: "a"),
                target: "t",
                genericSubstitutions: ["Si", "SS"],
                arguments: [[], [1, 2, 3]]
            )
        ),
        .reply(.init(callID: 0, outcome: .error(.init(code: "x", message: "y", detail: [0])))),
        .heartbeat(.init(sequence: 42)),
        .goodbye(.init(code: .normal, message: "bye")),
        .skippable(type: 0x40, body: [1, 2]),
    ]

    @Test("every message round-trips through its bytes", arguments: samples)
    func roundTrip(message: WireMessage) throws {
        try message.validate()
        #expect(try WireMessage(decoding: message.encode()) == message)
    }

    @Test(
        "every strict prefix of a message is refused with a typed error, never a trap",
        arguments: samples.filter {
            if case .skippable = $0 { false } else { true }
        }
    )
    func prefixesAreRefused(message: WireMessage) {
        let bytes = message.encode()
        for length in 0..<bytes.count {
            #expect(throws: WireFormatError.self) { _ = try WireMessage(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test("bytes after the known fields are ignored, as a later minor version may append fields")
    func trailingBytesAreIgnored() throws {
        let message = WireMessage.heartbeat(.init(sequence: 3))
        #expect(try WireMessage(decoding: message.encode() + [9, 9, 9]) == message)
    }

    @Test("an unknown message type outside the skippable range is refused")
    func unknownType() {
        #expect(throws: WireFormatError(.unknownMessageType, offset: 0, "unknown message type 0x99")) {
            _ = try WireMessage(decoding: [0x99])
        }
    }

    @Test("a declared length larger than the payload is refused before allocating it")
    func hugeDeclaredLength() {
        // A reply whose value claims 4 GiB.
        let bytes: [UInt8] = [0x11] + Array(repeating: 0, count: 8) + [0, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect { _ = try WireMessage(decoding: bytes) } throws: { ($0 as? WireFormatError)?.code == .truncated }
    }

    @Test("a list count above what the payload can hold is refused")
    func hugeCount() {
        var bytes: [UInt8] = [0x10] + Array(repeating: 0, count: 8)
        bytes += [0, 1, 0x6E, 0, 1, 0x61, 0, 1, 0x74]  // node "n", name "a", target "t"
        bytes += [0x03, 0xFF]  // 1023 substitutions, no bytes for them
        #expect { _ = try WireMessage(decoding: bytes) } throws: { ($0 as? WireFormatError)?.code == .invalidField }
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidUTF8() {
        let bytes: [UInt8] = [0x21, 0, 0, 0, 2, 0xC3, 0x28]
        #expect { _ = try WireMessage(decoding: bytes) } throws: { ($0 as? WireFormatError)?.code == .invalidString }
    }

    @Test("random and mutated inputs decode or throw a WireFormatError, never trap")
    func randomInputNeverTraps() {
        var generator = SplitMix64(seed: 0xBA11A57)
        let seeds = Self.samples.map { $0.encodeFrame() }
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            } else {
                bytes = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255,
                        using: &generator
                    )
                }
            }
            do {
                _ = try WireFrame.decodeStream(bytes)
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test("validate refuses values that cannot be encoded faithfully")
    func validateRefusesBadValues() {
        #expect(throws: WireFormatError.self) {
            try WireMessage.hello(.init(role: .agent, nonce: [1], nodeID: "a")).validate()
        }
        #expect(throws: WireFormatError.self) {
            try WireMessage.hello(.init(role: .agent, nonce: Array(repeating: 0, count: 32), nodeID: "")).validate()
        }
    }
}

@Suite("WireMessage encoded length")
struct WireMessageLengthTests {
    @Test("encodedLength equals the length of the encoding", arguments: WireMessageTests.samples)
    func matches(message: WireMessage) {
        #expect(message.encodedLength == message.encode().count)
    }
}
