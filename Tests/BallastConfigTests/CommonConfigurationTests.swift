import BallastConfig
import Testing

@Suite("addresses and levels in configuration")
struct CommonConfigurationTests {
    @Test(
        "peer addresses parse from host:port",
        arguments: [
            ("10.0.1.5:7400", "10.0.1.5", 7400), ("[::1]:7400", "::1", 7400), ("coord.internal:1", "coord.internal", 1),
        ]
    )
    func parses(text: String, host: String, port: Int) throws {
        let address = try #require(PeerAddress(parsing: text))
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == text)
    }

    @Test(
        "malformed peer addresses are refused",
        arguments: ["", "host", ":7400", "host:0", "host:65536", "[::1]7400", "h:x"]
    )
    func refuses(text: String) {
        #expect(PeerAddress(parsing: text) == nil)
    }

    @Test("an unknown log level names the choices")
    func logLevel() throws {
        struct Doc: ValidatedConfiguration {
            var level: LogLevelSetting
            func validate() throws(ConfigValidationError) {}
        }
        #expect(try ConfigLoader.decode(Doc.self, yaml: "level: DEBUG", file: "f").level == .debug)
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(Doc.self, yaml: "level: loud", file: "f")
        }
        #expect(
            error?.description
                == #"f: level: expected one of trace, debug, info, notice, warning, error, critical (found "loud")"#
        )
    }

    @Test("listen addresses validate their port range")
    func listenValidation() {
        #expect(throws: ConfigValidationError(key: "metrics.port", expected: "a TCP port from 1 to 65535")) {
            try ListenAddress(host: "127.0.0.1", port: 0).validate(key: "metrics")
        }
        #expect(throws: Never.self) {
            try ListenAddress(host: "127.0.0.1", port: 0).validate(key: "metrics", allowZero: true)
        }
    }
}
