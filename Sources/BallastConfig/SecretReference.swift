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

    /// Reads the secret's bytes. A file's trailing newline is dropped (editors add one). Throws an error that
    /// names the source and never the content.
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
        return Array(trimmed)
    }
}

/// A secret could not be resolved. Names the source, never the content.
public struct SecretError: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: SecretReference
    public var problem: String
    public var description: String { "\(source) \(problem)" }
}
