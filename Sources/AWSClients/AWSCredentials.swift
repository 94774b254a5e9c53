import Foundation
import Logging

/// An access key pair, with the session token of temporary credentials and their expiry.
///
/// Printing, dumping or interpolating a value never shows the secret or the token: `description`,
/// `debugDescription` and the reflection mirror show only the last four characters of the key id.
public struct AWSCredentials: Sendable, Equatable {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public let expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The key id with all but its last four characters masked, safe for logs.
    public var redactedAccessKeyID: String {
        String(repeating: "*", count: max(0, accessKeyID.count - 4)) + accessKeyID.suffix(4)
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var text = "AWSCredentials(accessKeyID: \(redactedAccessKeyID), secretAccessKey: <redacted>"
        if sessionToken != nil { text += ", sessionToken: <redacted>" }
        if let expiration { text += ", expiration: \(expiration)" }
        return text + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": redactedAccessKeyID, "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
                "expiration": expiration as Any,
            ]
        )
    }
}

/// A source of credentials: the environment, the shared files, instance metadata, a fixed pair, or a chain.
///
/// `credentials` returns nil when the source is simply not configured (so a chain moves on), and throws when
/// it is configured but broken (a profile missing its secret, a metadata reply that does not parse).
public protocol AWSCredentialsProvider: Sendable {
    func credentials(logger: Logger) async throws -> AWSCredentials?
}

/// Always the same credentials; for tests and explicit configuration.
public struct StaticCredentialsProvider: AWSCredentialsProvider {
    public let value: AWSCredentials
    public init(_ value: AWSCredentials) { self.value = value }
    public func credentials(logger: Logger) async throws -> AWSCredentials? { value }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`, read from the environment
/// it was given (the process environment by default).
public struct EnvironmentCredentialsProvider: AWSCredentialsProvider {
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func credentials(logger: Logger) async throws -> AWSCredentials? {
        let id = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil):
            return nil
        case (let id?, let secret?):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
        default:
            throw AWSError(
                code: .noCredentials,
                message: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; only one is set"
            )
        }
    }
}

/// A profile from the shared credentials file (`~/.aws/credentials`, `[name]`) and config file
/// (`~/.aws/config`, `[profile name]` or `[default]`), as the AWS CLI reads them; the credentials file wins
/// when both name a key. Paths and profile come from `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE` and
/// `AWS_PROFILE` in the given environment.
public struct ProfileCredentialsProvider: AWSCredentialsProvider {
    public let profile: String
    public let credentialsFile: String
    public let configFile: String
    /// True when the profile was named explicitly (AWS_PROFILE), so its absence is an error.
    let profileIsExplicit: Bool

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        func expand(_ path: String) -> String {
            path.hasPrefix("~/") ? home + path.dropFirst(1) : path
        }
        let explicit = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        self.profile = explicit ?? "default"
        self.profileIsExplicit = explicit != nil
        self.credentialsFile = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
        self.configFile = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config")
    }

    public func credentials(logger: Logger) async throws -> AWSCredentials? {
        let fromCredentials = try Self.section(profile, in: credentialsFile, isConfig: false)
        let fromConfig = try Self.section(profile, in: configFile, isConfig: true)
        if fromCredentials == nil && fromConfig == nil {
            if profileIsExplicit {
                throw AWSError(
                    code: .noCredentials,
                    message: "profile '\(profile)' (AWS_PROFILE) is in neither \(credentialsFile) nor \(configFile)"
                )
            }
            return nil
        }
        let merged = (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credentials in credentials }
        guard let id = merged["aws_access_key_id"], let secret = merged["aws_secret_access_key"] else {
            if merged["aws_access_key_id"] == nil && merged["aws_secret_access_key"] == nil {
                // A profile without static keys (role_arn, sso, ...): not something this provider resolves.
                if profileIsExplicit {
                    throw AWSError(
                        code: .noCredentials,
                        message:
                            "profile '\(profile)' has no aws_access_key_id/aws_secret_access_key; only static keys are supported"
                    )
                }
                return nil
            }
            throw AWSError(
                code: .noCredentials,
                message: "profile '\(profile)' must set both aws_access_key_id and aws_secret_access_key"
            )
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: merged["aws_session_token"])
    }

    /// The key/value pairs of one section of an INI file, or nil when the file or section does not exist.
    static func section(_ profile: String, in path: String, isConfig: Bool) throws -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let sections = parseINI(String(decoding: data, as: UTF8.self))
        if isConfig {
            // The config file names profiles "[profile x]", except the default one which may be "[default]".
            return sections["profile \(profile)"] ?? (profile == "default" ? sections["default"] : nil)
        }
        return sections[profile]
    }

    /// Parses the INI dialect of the AWS shared files: `[section]` headers, `key = value` lines, `#` and `;`
    /// comments; indented lines continue a nested block (ignored here, they are never static keys).
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let isIndented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                let normalized = name.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                current = normalized
                if sections[normalized] == nil { sections[normalized] = [:] }
                continue
            }
            guard let section = current, !isIndented, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: [:]][key] = value
        }
        return sections
    }
}

/// The first provider in order that has credentials; remembers which one answered so later calls go straight
/// to it (which is how an instance-metadata provider keeps refreshing its own credentials), and keeps
/// credentials that never expire (environment, shared files) after the first resolution.
public actor CredentialsProviderChain: AWSCredentialsProvider {
    let providers: [any AWSCredentialsProvider]
    private var chosen: Int?
    /// Credentials without an expiry (environment, files), kept so the files are read once, as the CLI does.
    private var longTerm: AWSCredentials?

    public init(_ providers: [any AWSCredentialsProvider]) {
        self.providers = providers
    }

    /// Environment, then the shared files, then EC2 instance metadata (IMDSv2): the AWS CLI's order.
    /// `AWS_EC2_METADATA_DISABLED=true` leaves metadata out.
    public static func standard(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        metadata: InstanceMetadataCredentialsProvider
    ) -> CredentialsProviderChain {
        var providers: [any AWSCredentialsProvider] = [
            EnvironmentCredentialsProvider(environment: environment),
            ProfileCredentialsProvider(environment: environment),
        ]
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true" { providers.append(metadata) }
        return CredentialsProviderChain(providers)
    }

    public func credentials(logger: Logger) async throws -> AWSCredentials? {
        if let longTerm { return longTerm }
        if let chosen { return try await providers[chosen].credentials(logger: logger) }
        for (index, provider) in providers.enumerated() {
            if let found = try await provider.credentials(logger: logger) {
                chosen = index
                if found.expiration == nil { longTerm = found }
                logger.debug(
                    "credentials resolved",
                    metadata: [
                        "aws.credentials-source": "\(type(of: provider))",
                        "aws.access-key": "\(found.redactedAccessKeyID)",
                    ]
                )
                return found
            }
        }
        return nil
    }
}
