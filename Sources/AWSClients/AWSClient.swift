import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// A service the client talks to: its signing name, the host prefix of its regional endpoint, and how its
/// error replies are encoded.
public struct AWSService: Sendable, Hashable {
    public enum ErrorFormat: Sendable, Hashable { case json, xml }
    /// The SigV4 signing name and the key of endpoint overrides, e.g. `dynamodb`.
    public let signingName: String
    public let endpointPrefix: String
    public let errorFormat: ErrorFormat

    public init(signingName: String, endpointPrefix: String? = nil, errorFormat: ErrorFormat) {
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix ?? signingName
        self.errorFormat = errorFormat
    }

    public static let dynamoDB = AWSService(signingName: "dynamodb", errorFormat: .json)
    public static let ec2 = AWSService(signingName: "ec2", errorFormat: .xml)
    public static let sqs = AWSService(signingName: "sqs", errorFormat: .json)
    public static let iam = AWSService(signingName: "iam", errorFormat: .xml)
}

/// The shared core of the service clients: resolves credentials, signs with SigV4, sends through the
/// caller's `HTTPClient`, retries by the standard retry mode and turns error replies into `AWSError`.
///
/// The `HTTPClient` belongs to the caller, who shuts it down. Logs carry `aws.service`, `aws.operation`,
/// `aws.request-id` and `aws.attempt`; never credentials, never bodies.
public struct AWSClient: Sendable {
    public struct Configuration: Sendable {
        /// The region requests are signed for and sent to.
        public var region: String
        /// Base URLs that replace the regional endpoint, keyed by signing name (`dynamodb`, `ec2`, `sqs`,
        /// `iam`): for tests, VPC endpoints and local peers. Default none.
        public var endpoints: [String: String] = [:]
        /// Retries: attempts, backoff base and cap. Default 3 attempts, 1 s base, 20 s cap.
        public var retry = RetryPolicy()
        /// Timeout of one attempt, from sending to the last byte of the reply. Default 30 seconds. Long polls
        /// add their wait to it.
        public var requestTimeout: Duration = .seconds(30)
        /// The largest reply body accepted. Default 16 MiB.
        public var maxResponseBytes: Int = 16 << 20
        /// Waits between attempts; injected so tests run without real sleeps. Default `Task.sleep`.
        public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
        /// The signing time. Default the system clock.
        public var now: @Sendable () -> Date = { Date() }
        /// A random number in [0, 1) for backoff jitter. Default the system generator.
        public var jitter: @Sendable () -> Double = { Double.random(in: 0..<1) }
        /// Where the client's metrics go (see docs/aws-clients.md); nil: the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)? = nil

        public init(region: String, endpoints: [String: String] = [:]) {
            self.region = region
            self.endpoints = endpoints
        }
    }

    public let httpClient: HTTPClient
    public let credentialsProvider: any AWSCredentialsProvider
    public let configuration: Configuration
    public private(set) var logger: Logger
    let quota: RetryQuota
    let metrics: AWSMetrics

    public init(
        httpClient: HTTPClient,
        credentialsProvider: any AWSCredentialsProvider,
        configuration: Configuration,
        logger: Logger
    ) {
        self.httpClient = httpClient
        self.credentialsProvider = credentialsProvider
        self.configuration = configuration
        self.logger = logger
        self.quota = RetryQuota()
        self.metrics = AWSMetrics(factory: configuration.metricsFactory ?? MetricsSystem.factory)
    }

    /// The same client (HTTP client, credentials, retry quota) logging to `logger`, e.g. one carrying the
    /// caller's own metadata such as `ballast.cluster`.
    public func logging(to logger: Logger) -> AWSClient {
        var copy = self
        copy.logger = logger
        return copy
    }

    /// The base URL for a service: the override when configured, else `https://{prefix}.{region}.amazonaws.com`.
    public func endpoint(for service: AWSService) -> String {
        var base =
            configuration.endpoints[service.signingName]
            ?? "https://\(service.endpointPrefix).\(configuration.region).amazonaws.com"
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// A reply with a 2xx status.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data
        public var requestID: String?
    }

    /// Sends one operation, signing every attempt afresh, and returns the first 2xx reply; throws `AWSError`
    /// with the service's code once retries are exhausted or the failure is final.
    /// - Parameters:
    ///   - pathAndQuery: appended to the endpoint, already encoded (default `/`).
    ///   - extraTimeout: added to the request timeout (long polls).
    public func send(
        service: AWSService,
        operation: String,
        method: HTTPMethod = .POST,
        pathAndQuery: String = "/",
        headers: [(name: String, value: String)],
        body: Data,
        extraTimeout: Duration = .zero
    ) async throws -> Response {
        var logger = self.logger
        logger[metadataKey: "aws.service"] = "\(service.signingName)"
        logger[metadataKey: "aws.operation"] = "\(operation)"
        let url = endpoint(for: service) + pathAndQuery
        let signer = SigV4Signer(service: service.signingName, region: configuration.region)
        guard let host = URLParts(url)?.hostHeader else {
            throw AWSError(
                code: .invalidRequest,
                service: service.signingName,
                operation: operation,
                message: "endpoint '\(url)' is not an absolute http(s) URL; check the endpoint override"
            )
        }
        var attempt = 0
        while true {
            attempt += 1
            logger[metadataKey: "aws.attempt"] = "\(attempt)"
            logger[metadataKey: "aws.request-id"] = nil
            let credentials: AWSCredentials
            do {
                guard let found = try await credentialsProvider.credentials(logger: logger) else {
                    throw AWSError(
                        code: .noCredentials,
                        message:
                            "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in the shared files, or run on EC2 with an instance role"
                    )
                }
                credentials = found
            } catch var error as AWSError {
                error.service = service.signingName
                error.operation = operation
                throw error
            }
            var outcome: Result<Response, AWSError>
            let attemptStart = ContinuousClock.now
            do {
                let signed = try signer.sign(
                    method: method.rawValue,
                    url: url,
                    headers: [(name: "Host", value: host)] + headers,
                    body: body,
                    credentials: credentials,
                    date: configuration.now()
                )
                var request = HTTPClientRequest(url: url)
                request.method = method
                for header in signed.headers { request.headers.add(name: header.name, value: header.value) }
                request.body = .bytes(ByteBuffer(bytes: body))
                outcome = await execute(
                    request,
                    service: service,
                    operation: operation,
                    timeout: configuration.requestTimeout + extraTimeout
                )
            } catch let error as AWSError {
                outcome = .failure(error)
            }
            metrics.attempt(
                service: service.signingName,
                operation: operation,
                outcome: outcome,
                took: attemptStart.duration(to: .now)
            )
            switch outcome {
            case .success(let response):
                quota.recordSuccess()
                if let id = response.requestID { logger[metadataKey: "aws.request-id"] = "\(id)" }
                logger.trace("request succeeded", metadata: ["aws.status": "\(response.status)"])
                return response
            case .failure(var error):
                error.attempts = attempt
                if let id = error.requestID { logger[metadataKey: "aws.request-id"] = "\(id)" }
                let decision = configuration.retry.decide(
                    after: error,
                    attempt: attempt,
                    jitter: configuration.jitter()
                )
                guard case .retry(let delay) = decision, quota.acquire(for: error) else {
                    metrics.failed(service: service.signingName, operation: operation, error: error)
                    logger.debug(
                        "request failed",
                        metadata: [
                            "aws.error": "\(error.code.logLabel)",
                            "aws.status": "\(error.httpStatus.map(String.init) ?? "-")",
                        ]
                    )
                    throw error
                }
                metrics.retried(service: service.signingName, operation: operation)
                logger.debug(
                    "retrying after failure",
                    metadata: ["aws.error": "\(error.code.logLabel)", "aws.delay": "\(delay)"]
                )
                // A cancelled caller stops here: the sleep throws CancellationError, which propagates.
                try await configuration.sleep(delay)
            }
        }
    }

    private func execute(
        _ request: HTTPClientRequest,
        service: AWSService,
        operation: String,
        timeout: Duration
    ) async -> Result<Response, AWSError> {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .init(timeout))
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch {
            return .failure(
                AWSError(
                    code: .transport,
                    service: service.signingName,
                    operation: operation,
                    message: "no reply from \(request.url.split(separator: "?").first ?? ""): \(error)"
                )
            )
        }
        let data = Data(body.readableBytesView)
        let requestID =
            response.headers.first(name: "x-amzn-RequestId") ?? response.headers.first(name: "x-amz-request-id")
        let status = Int(response.status.code)
        if (200..<300).contains(status) {
            return .success(Response(status: status, headers: response.headers, body: data, requestID: requestID))
        }
        // Decode by what the body is, not only by what the protocol promises: gateways and emulators in
        // front of a JSON service sometimes answer auth failures in XML.
        let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        let looksLikeXML = firstByte == UInt8(ascii: "<")
        let looksLikeJSON = firstByte == UInt8(ascii: "{")
        let decoded: ErrorReplyDecoder.Decoded
        if looksLikeXML || (service.errorFormat == .xml && !looksLikeJSON) {
            decoded = ErrorReplyDecoder.decodeXML(data)
        } else {
            decoded = ErrorReplyDecoder.decodeJSON(
                data,
                queryErrorHeader: response.headers.first(name: "x-amzn-query-error")
            )
        }
        guard let serviceCode = decoded.code else {
            return .failure(
                AWSError(
                    code: status >= 500 ? .service(code: "HTTP\(status)", message: "") : .invalidResponse,
                    service: service.signingName,
                    operation: operation,
                    httpStatus: status,
                    requestID: requestID ?? decoded.requestID,
                    message: "HTTP \(status) without a readable error code"
                )
            )
        }
        let message = decoded.message ?? ""
        return .failure(
            AWSError(
                code: AWSError.classify(serviceCode: serviceCode, message: message),
                service: service.signingName,
                operation: operation,
                httpStatus: status,
                serviceCode: serviceCode,
                requestID: requestID ?? decoded.requestID,
                message: message.isEmpty ? serviceCode : message,
                oldItem: decoded.item,
                cancellationReasons: decoded.cancellationReasons
            )
        )
    }
}
