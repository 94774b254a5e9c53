import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The instance role's credentials from EC2 instance metadata, IMDSv2 only: a session token is fetched with a
/// PUT first, then the role name and the role's credentials with that token.
///
/// Credentials are cached and fetched again `refreshBefore` their expiry; concurrent callers share one fetch.
/// When the endpoint does not answer at all before anything was ever fetched, the provider reports "not
/// configured" (nil), so off EC2 a chain ends with a clear no-credentials error instead of hanging.
public actor InstanceMetadataCredentialsProvider: AWSCredentialsProvider {
    public struct Configuration: Sendable {
        /// Base URL of the metadata service. Default `http://169.254.169.254`, or
        /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set.
        public var endpoint: String
        /// Lifetime asked for the IMDSv2 session token. Default 6 hours (the maximum).
        public var tokenLifetime: Duration = .seconds(21_600)
        /// Timeout of each metadata request. Default 1 second, like the AWS CLI.
        public var requestTimeout: Duration = .seconds(1)
        /// How long before expiry the credentials are fetched again. Default 5 minutes.
        public var refreshBefore: Duration = .seconds(300)

        public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
            endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
        }
    }

    let httpClient: HTTPClient
    let configuration: Configuration
    let now: @Sendable () -> Date
    private var cached: AWSCredentials?
    private var sessionToken: (value: String, expires: Date)?
    private var inFlight: Task<AWSCredentials?, any Error>?

    /// - Parameter now: the wall clock, injected so expiry is tested without waiting.
    public init(
        httpClient: HTTPClient,
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.httpClient = httpClient
        self.configuration = configuration
        self.now = now
    }

    public func credentials(logger: Logger) async throws -> AWSCredentials? {
        if let cached, !needsRefresh(cached) { return cached }
        if let inFlight { return try await inFlight.value }
        let task = Task { try await self.fetch(logger: logger) }
        inFlight = task
        defer { inFlight = nil }
        return try await task.value
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        let refreshAt = expiration.addingTimeInterval(-Self.seconds(configuration.refreshBefore))
        return now() >= refreshAt
    }

    private func fetch(logger: Logger) async throws -> AWSCredentials? {
        do {
            let token = try await currentToken()
            let roles = try await get("/latest/meta-data/iam/security-credentials/", token: token)
            guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
                throw AWSError(
                    code: .noCredentials,
                    service: "imds",
                    message: "instance metadata lists no IAM role; attach an instance profile to the instance"
                )
            }
            let body = try await get("/latest/meta-data/iam/security-credentials/\(role)", token: token)
            let fresh = try Self.decodeRoleCredentials(Data(body.utf8))
            cached = fresh
            logger.debug(
                "instance role credentials fetched",
                metadata: ["aws.access-key": "\(fresh.redactedAccessKeyID)", "aws.role": "\(role)"]
            )
            return fresh
        } catch let error as AWSError where error.code == .transport {
            if let cached, let expiration = cached.expiration, now() < expiration {
                // Still valid: keep serving it and try again on the next call.
                logger.warning(
                    "instance metadata refresh failed; using credentials until they expire",
                    metadata: ["aws.error": "\(error.message)"]
                )
                return cached
            }
            if cached == nil {
                logger.debug("instance metadata not reachable", metadata: ["aws.error": "\(error.message)"])
                return nil
            }
            throw error
        }
    }

    private func currentToken() async throws -> String {
        if let sessionToken, now() < sessionToken.expires { return sessionToken.value }
        var request = HTTPClientRequest(url: configuration.endpoint + "/latest/api/token")
        request.method = .PUT
        let ttl = Int(Self.seconds(configuration.tokenLifetime))
        request.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: String(ttl))
        let value = try await send(request, what: "IMDSv2 session token")
        // Renew the token a minute early so a request never carries an expired one.
        sessionToken = (value, now().addingTimeInterval(Double(max(ttl - 60, 1))))
        return value
    }

    private func get(_ path: String, token: String) async throws -> String {
        var request = HTTPClientRequest(url: configuration.endpoint + path)
        request.method = .GET
        request.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        return try await send(request, what: path)
    }

    private func send(_ request: HTTPClientRequest, what: String) async throws -> String {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .init(configuration.requestTimeout))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw AWSError(
                code: .transport,
                service: "imds",
                message: "instance metadata at \(configuration.endpoint) did not answer (\(what)): \(error)"
            )
        }
        guard response.status == .ok else {
            throw AWSError(
                code: .service(code: "IMDS\(response.status.code)", message: "instance metadata refused \(what)"),
                service: "imds",
                httpStatus: Int(response.status.code),
                message: "instance metadata answered \(response.status.code) for \(what)"
            )
        }
        return String(buffer: body)
    }

    /// Decodes the role credentials document; its secret never appears in the thrown error.
    static func decodeRoleCredentials(_ data: Data) throws -> AWSCredentials {
        struct Document: Decodable {
            let Code: String?
            let AccessKeyId: String?
            let SecretAccessKey: String?
            let Token: String?
            let Expiration: String?
        }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw AWSError(code: .invalidResponse, service: "imds", message: "role credentials are not JSON")
        }
        if let code = document.Code, code != "Success" {
            throw AWSError(
                code: .noCredentials,
                service: "imds",
                message: "instance metadata reports role credentials state \(code)"
            )
        }
        guard let id = document.AccessKeyId, let secret = document.SecretAccessKey else {
            throw AWSError(
                code: .invalidResponse,
                service: "imds",
                message: "role credentials lack AccessKeyId or SecretAccessKey"
            )
        }
        var expiration: Date?
        if let text = document.Expiration {
            guard let parsed = ISO8601DateFormatter().date(from: text) else {
                throw AWSError(
                    code: .invalidResponse,
                    service: "imds",
                    message: "role credentials have an unreadable Expiration '\(text)'"
                )
            }
            expiration = parsed
        }
        return AWSCredentials(
            accessKeyID: id,
            secretAccessKey: secret,
            sessionToken: document.Token,
            expiration: expiration
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
