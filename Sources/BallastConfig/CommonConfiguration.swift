/// A TCP address in a configuration file: `{host: 127.0.0.1, port: 7400}`.
public struct ListenAddress: Codable, Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Checks the port range; `key` names this address in the file for the error.
    public func validate(key: String, allowZero: Bool = false) throws(ConfigValidationError) {
        guard (allowZero ? 0 : 1)...65535 ~= port else {
            throw ConfigValidationError(key: key + ".port", expected: "a TCP port from \(allowZero ? 0 : 1) to 65535")
        }
        guard !host.isEmpty else {
            throw ConfigValidationError(key: key + ".host", expected: "a host name or IP address")
        }
    }
}

/// A peer address written as `host:port` (`10.0.1.5:7400`, `[::1]:7400`), the form operators type.
public struct PeerAddress: Codable, Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static let expectedForm = "an address of the form host:port, such as 10.0.1.5:7400 or [::1]:7400"

    public init?(parsing text: String) {
        let text = text.trimmingWhitespace()
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = PeerAddress(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(text)\")"
            )
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A setting that is one of a few words: decoding names the words it takes when it meets another, so the
/// configuration error says what to write.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension ConfigChoice {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let choice = Self(rawValue: text) ?? Self(rawValue: text.lowercased()) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")) (found \"\(text)\")"
            )
        }
        self = choice
    }
}

/// How much a process logs: `trace`, `debug`, `info` (default), `notice`, `warning`, `error`, `critical`.
public enum LogLevelSetting: String, ConfigChoice, Hashable, Sendable {
    case trace, debug, info, notice, warning, error, critical
}
