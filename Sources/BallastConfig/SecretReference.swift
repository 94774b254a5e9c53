import Foundation

/// Where a secret comes from: a file (`file: /etc/ballast/cluster.key`) or an environment variable
/// (`env: BALLAST_CLUSTER_SECRET`). Secrets are never written in a configuration file itself, and this type never
/// prints the secret: its description names only the source.
public enum SecretReference: Codable, Hashable, Sendable, CustomStringConvertible {
    case file(String)
    case environment(String)

    private enum CodingKeys: String, CodingKey {
        case file
        case env
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let file = try container.decodeIfPresent(String.self, forKey: .file)
        let env = try container.decodeIfPresent(String.self, forKey: .env)
        switch (file, env) {
        case (let path?, nil): self = .file(path)
        case (nil, let name?): self = .environment(name)
        default:
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "exactly one of `file: PATH` or `env: VARIABLE` naming where the secret is"
                )
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .file(let path): try container.encode(path, forKey: .file)
        case .environment(let name): try container.encode(name, forKey: .env)
        }
    }

    public var description: String {
        switch self {
        case .file(let path): return "secret from file \(path)"
        case .environment(let name): return "secret from environment variable \(name)"
        }
    }

    /// Reads the secret: 64 hexadecimal characters (either case), which are the 32 bytes of the key
    /// (`openssl rand -hex 32` writes one). A file's trailing newline is dropped (editors add one). Anything
    /// else is refused, including the reading of older releases that took the 64 characters themselves as the
    /// key's bytes: a secret means one key only (docs/wire.md §3). Throws an error that names the source and
    /// never the content.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [UInt8] {
        let bytes: [UInt8]
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError(source: self, problem: "cannot be read")
            }
            bytes = Array(data)
        case .environment(let name):
            guard let value = environment[name] else { throw SecretError(source: self, problem: "is not set") }
            bytes = Array(value.utf8)
        }
        var trimmed = bytes[...]
        while let last = trimmed.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { trimmed.removeLast() }
        guard !trimmed.isEmpty else { throw SecretError(source: self, problem: "is empty") }
        guard let key = Self.hexDecoded(trimmed) else {
            throw SecretError(
                source: self,
                problem:
                    "is not 64 hexadecimal characters (\(trimmed.count) bytes); a secret is 32 random bytes written as hex, e.g. by `openssl rand -hex 32`"
            )
        }
        return key
    }

    /// The 32 bytes that 64 hexadecimal digits spell, or nil.
    static func hexDecoded(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var key: [UInt8] = []
        key.reserveCapacity(32)
        var index = text.startIndex
        while index < text.endIndex {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            key.append(high << 4 | low)
            index += 2
        }
        return key
    }
}

/// A secret could not be resolved. Names the source, never the content.
public struct SecretError: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: SecretReference
    public var problem: String
    public var description: String { "\(source) \(problem)" }
}
