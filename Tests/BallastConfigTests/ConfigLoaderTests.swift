import BallastConfig
import Foundation
import Testing

private struct Listener: Codable, Equatable, Sendable {
    var host: String
    var port: Int

    init(host: String = "127.0.0.1", port: Int = 7400) {
        self.host = host
        self.port = port
    }

    private enum CodingKeys: String, CodingKey {
        case host
        case port
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.host = try container.decode(.host, default: "127.0.0.1")
        self.port = try container.decode(.port, default: 7400)
    }
}

private struct SampleConfig: ValidatedConfiguration, Equatable {
    var nodeID: String
    var listen: Listener
    var leaseDuration: ConfigDuration
    var renewDeadline: ConfigDuration
    var secret: SecretReference?
    var peers: [Listener]

    private enum CodingKeys: String, CodingKey {
        case nodeID = "node-id"
        case listen
        case leaseDuration = "lease-duration"
        case renewDeadline = "renew-deadline"
        case secret
        case peers
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.nodeID = try container.decode(String.self, forKey: .nodeID)
        self.listen = try container.decode(.listen, default: Listener())
        self.leaseDuration = try container.decode(.leaseDuration, default: ConfigDuration(.seconds(10)))
        self.renewDeadline = try container.decode(.renewDeadline, default: ConfigDuration(.seconds(7)))
        self.secret = try container.decodeIfPresent(SecretReference.self, forKey: .secret)
        self.peers = try container.decode(.peers, default: [])
    }

    func validate() throws(ConfigValidationError) {
        guard (1...65535).contains(listen.port) else {
            throw ConfigValidationError(key: "listen.port", expected: "a TCP port from 1 to 65535")
        }
        guard renewDeadline.duration < leaseDuration.duration else {
            throw ConfigValidationError(key: "renew-deadline", expected: "a duration shorter than lease-duration")
        }
    }
}

@Suite("configuration loading")
struct ConfigLoaderTests {
    @Test("a file with only the required key gets every default")
    func defaults() throws {
        let config = try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: coord-1\n", file: "c.yaml")
        #expect(config.nodeID == "coord-1")
        #expect(config.listen == Listener())
        #expect(config.leaseDuration.duration == .seconds(10))
        #expect(config.peers.isEmpty)
    }

    @Test("a missing required key names the key")
    func missingKey() {
        #expect(
            throws: ConfigError(
                code: .missingKey,
                file: "c.yaml",
                key: "node-id",
                expected: "a value for this required key"
            )
        ) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "listen: {port: 1}\n", file: "c.yaml")
        }
    }

    @Test("a wrong type names the nested key and what was expected")
    func wrongType() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: a\nlisten:\n  port: eighty\n", file: "c.yaml")
        }
        #expect(error?.code == .invalidValue)
        #expect(error?.key == "listen.port")
        #expect(error?.expected == "a whole number")
        #expect(error?.description == "c.yaml: listen.port: expected a whole number")
    }

    @Test("a typo is refused as an unknown key with a suggestion")
    func unknownKey() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: a\nlease-duraton: 5s\n", file: "c.yaml")
        }
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "lease-duraton")
        #expect(error?.expected == "did you mean `lease-duration`?")
    }

    @Test("an unknown key inside a list item is found with its index")
    func unknownKeyInList() throws {
        let yaml = "node-id: a\npeers:\n  - host: x\n  - host: y\n    prot: 9\n"
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: yaml, file: "c.yaml")
        }
        #expect(error?.key == "peers.1.prot")
    }

    @Test("validation errors name the file and key")
    func validation() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(
                SampleConfig.self,
                yaml: "node-id: a\nlease-duration: 5s\nrenew-deadline: 7s\n",
                file: "/etc/ballast/c.yaml"
            )
        }
        #expect(
            error?.description == "/etc/ballast/c.yaml: renew-deadline: expected a duration shorter than lease-duration"
        )
    }

    @Test("malformed YAML and unreadable files are reported, not crashed on")
    func malformed() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: [unclosed\n", file: "c.yaml")
        }
        #expect(error?.code == .malformedYAML)
        let missing = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(SampleConfig.self, from: "/nonexistent/ballast.yaml")
        }
        #expect(missing?.code == .unreadable)
        #expect(missing?.file == "/nonexistent/ballast.yaml")
    }

    @Test("a duration without a unit is refused")
    func bareNumberDuration() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: a\nlease-duration: 10\n", file: "c.yaml")
        }
        #expect(error?.key == "lease-duration")
        #expect(error?.expected.contains("a unit is required") == true)
    }
}

@Suite("durations in configuration")
struct ConfigDurationTests {
    @Test(
        "textual durations parse to the right value",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("2m", .seconds(120)),
            ("1h", .seconds(3600)), ("1m30s", .seconds(90)), ("1.5s", .milliseconds(1500)), ("40us", .microseconds(40)),
        ]
    )
    func parses(text: String, expected: Duration) {
        #expect(ConfigDuration(parsing: text)?.duration == expected)
    }

    @Test("malformed durations are refused", arguments: ["", "s", "10", "10x", "-1s", "1s2", "ms10"])
    func refuses(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test("the canonical form round-trips", arguments: ["250ms", "10s", "2m", "1h", "90s", "40us", "7ns"])
    func roundTrips(text: String) throws {
        let parsed = try #require(ConfigDuration(parsing: text))
        #expect(parsed.description == text)
    }
}

@Suite("secret references")
struct SecretReferenceTests {
    @Test("a secret from the environment resolves; its description never shows it")
    func environment() throws {
        let secret = SecretReference.environment("BALLAST_TEST_SECRET")
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
        #expect(
            try secret.resolve(environment: ["BALLAST_TEST_SECRET": hex])
                == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
                + [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        )
        #expect(!"\(secret)".contains(hex))
        #expect(throws: SecretError.self) { try secret.resolve(environment: [:]) }
    }

    @Test("a secret file drops its trailing newline; an unset secret is an error naming its source")
    func file() throws {
        let path = "/tmp/ballast-secret-\(UInt64.random(in: 0...UInt64.max))"
        try (String(repeating: "ab", count: 32) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretReference.file(path).resolve() == [UInt8](repeating: 0xab, count: 32))
        let error = #expect(throws: SecretError.self) { try SecretReference.file(path + ".missing").resolve() }
        #expect(error?.description == "secret from file \(path).missing cannot be read")
    }

    @Test(
        "anything but 64 hex digits is refused with the expected form, never read as raw bytes",
        arguments: [
            "s3cr3t", String(repeating: "ab", count: 31), String(repeating: "g", count: 64),
            "ab" + String(repeating: "ab", count: 32),
        ]
    )
    func refusesNonHex(value: String) throws {
        let secret = SecretReference.environment("BALLAST_TEST_SECRET")
        let error = #expect(throws: SecretError.self) {
            try secret.resolve(environment: ["BALLAST_TEST_SECRET": value])
        }
        #expect(error?.problem.contains("64 hexadecimal characters") == true)
        #expect(error?.description.contains(value) == false)
    }

    @Test("a secret reference must name exactly one source")
    func exactlyOne() throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(SampleConfig.self, yaml: "node-id: a\nsecret: {file: /x, env: Y}\n", file: "c.yaml")
        }
        #expect(error?.key == "secret")
    }
}
