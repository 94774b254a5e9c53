// PrometheusClient: a small client for Prometheus' HTTP query API (`/api/v1/query`) over AsyncHTTPClient.
//
// Knows nothing of Ballast's domain: it sends PromQL and returns typed results and typed errors. The agent's
// adapter (AgentAdapters.PrometheusMetricsSource) turns those into its metrics port.
import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client for Prometheus' instant-query API: GET or POST `/api/v1/query` with `query`, `time` and `timeout`,
/// basic or bearer authentication, and TLS with an optional private CA.
///
/// Owns its `HTTPClient` (TLS settings are per client), so the owner calls `shutdown()` when done. Logs carry
/// `prometheus.outcome` and `prometheus.status`, never credentials, tokens or reply bodies. Counts every query
/// in `ballast_prometheus_queries_total{outcome}` and times it in `ballast_prometheus_query_duration_seconds`.
public struct PrometheusClient: Sendable {
    /// How to reach Prometheus.
    public struct Configuration: Sendable {
        /// The server's base URL, with any path prefix it is served under (`http://prometheus:9090`,
        /// `https://monitoring.example/prometheus`).
        public var baseURL: String
        /// Credentials sent with every query. Default none.
        public var authentication: Authentication
        /// TLS settings for an `https` base URL; nil uses the system's trust store.
        public var tls: TLS?
        /// The longest a query may take: sent to Prometheus as its `timeout` parameter, and the HTTP request is
        /// given two more seconds so Prometheus' own timeout error arrives first. Default 10 s.
        public var timeout: Duration
        /// POST (form body, no URL length limit; the default) or GET.
        public var method: Method
        /// Replies larger than this are refused. Default 8 MiB.
        public var maxResponseBytes: Int
        /// Where the query metrics go; nil uses the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        public init(
            baseURL: String,
            authentication: Authentication = .none,
            tls: TLS? = nil,
            timeout: Duration = .seconds(10),
            method: Method = .post,
            maxResponseBytes: Int = 8 << 20,
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.baseURL = baseURL
            self.authentication = authentication
            self.tls = tls
            self.timeout = timeout
            self.method = method
            self.maxResponseBytes = maxResponseBytes
            self.metricsFactory = metricsFactory
        }
    }

    /// Credentials for Prometheus or the proxy in front of it. Printing one shows its kind, never its secret.
    public enum Authentication: Sendable, Hashable, CustomStringConvertible {
        case none
        case basic(username: String, password: String)
        case bearer(token: String)
        /// A bearer token read from a file before every query, so a rotated token (a mounted Kubernetes
        /// service-account token) is picked up without a restart. Surrounding whitespace is trimmed.
        case bearerTokenFile(path: String)

        public var description: String {
            switch self {
            case .none: "none"
            case .basic(let username, _): "basic(\(username), password redacted)"
            case .bearer: "bearer(redacted)"
            case .bearerTokenFile(let path): "bearer(from \(path))"
            }
        }
    }

    /// TLS settings for an `https` Prometheus.
    public struct TLS: Sendable, Hashable {
        /// A PEM file of the CA certificates to trust instead of the system's; nil trusts the system's.
        public var caFile: String?

        public init(caFile: String? = nil) { self.caFile = caFile }
    }

    public enum Method: String, Sendable, Hashable {
        case get = "GET"
        case post = "POST"
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let queryURL: String
    private let logger: Logger
    private let factory: any MetricsFactory

    /// Builds the client; throws `.configuration` when the base URL is not http(s) or the CA file cannot be read.
    public init(configuration: Configuration, logger: Logger) throws(PrometheusError) {
        let base =
            configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), base.count > "https://".count else {
            throw PrometheusError(.configuration, "base URL '\(base)' is not an absolute http(s) URL")
        }
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        if let tls = configuration.tls {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let caFile = tls.caFile {
                do {
                    tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw PrometheusError(.configuration, "cannot read the CA file \(caFile): \(error)")
                }
            }
            httpConfiguration.tlsConfiguration = tlsConfiguration
        }
        self.configuration = configuration
        self.queryURL = base + "/api/v1/query"
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.logger = logger
        self.factory = configuration.metricsFactory ?? MetricsSystem.factory
    }

    /// Shuts the HTTP client down; call once, when no query is running.
    public func shutdown() async throws { try await http.shutdown() }

    /// Evaluates `query` at `time` (nil: the server's now) and returns its typed result.
    /// - Parameter timeout: overrides the configured timeout for this query.
    public func query(
        _ query: String,
        at time: Date? = nil,
        timeout: Duration? = nil
    ) async throws(PrometheusError) -> QueryResult {
        let started = ContinuousClock.now
        let outcome: Result<QueryResult, PrometheusError>
        do throws(PrometheusError) {
            outcome = .success(try await evaluate(query, at: time, timeout: timeout ?? configuration.timeout))
        } catch {
            outcome = .failure(error)
        }
        let label: String
        switch outcome {
        case .success: label = "ok"
        case .failure(let error): label = error.outcomeLabel
        }
        Counter(label: "ballast_prometheus_queries_total", dimensions: [("outcome", label)], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "ballast_prometheus_query_duration_seconds", factory: factory)
            .record(duration: started.duration(to: .now))
        if case .failure(let error) = outcome {
            logger.debug(
                "prometheus query failed",
                metadata: [
                    "prometheus.outcome": "\(label)",
                    "prometheus.status": "\(error.httpStatus.map(String.init) ?? "-")",
                ]
            )
        }
        return try outcome.get()
    }

    private func evaluate(
        _ query: String,
        at time: Date?,
        timeout: Duration
    ) async throws(PrometheusError) -> QueryResult {
        var parameters = [("query", query), ("timeout", Self.promDuration(timeout))]
        if let time { parameters.append(("time", String(format: "%.3f", time.timeIntervalSince1970))) }
        let form = Self.formEncode(parameters)

        var request: HTTPClientRequest
        switch configuration.method {
        case .get:
            request = HTTPClientRequest(url: queryURL + "?" + form)
            request.method = .GET
        case .post:
            request = HTTPClientRequest(url: queryURL)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization = try authorizationHeader() {
            request.headers.add(name: "Authorization", value: authorization)
        }

        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .init(timeout + .seconds(2)))
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch let error as NIOTooManyBytesError {
            throw PrometheusError(
                .invalidResponse,
                "the reply is larger than \(configuration.maxResponseBytes) bytes (\(error)); narrow the query"
            )
        } catch {
            throw PrometheusError(.unreachable, "no reply from \(queryURL): \(error)")
        }
        let status = Int(response.status.code)
        let envelope: QueryEnvelope
        do {
            envelope = try JSONDecoder().decode(QueryEnvelope.self, from: Data(body.readableBytesView))
        } catch {
            if !(200..<300).contains(status) {
                throw PrometheusError(.http, httpStatus: status, "\(queryURL) answered \(response.status)")
            }
            throw PrometheusError(.invalidResponse, httpStatus: status, "not a query API reply: \(error)")
        }
        if let warnings = envelope.warnings, !warnings.isEmpty {
            logger.debug("prometheus query warnings", metadata: ["prometheus.warnings": "\(warnings.count)"])
        }
        guard envelope.status == "success" else {
            throw PrometheusError(
                .api,
                errorType: envelope.errorType.map(Self.boundedErrorType),
                httpStatus: status,
                envelope.error ?? "status \(envelope.status) without an error message"
            )
        }
        guard let data = envelope.data else {
            throw PrometheusError(.invalidResponse, httpStatus: status, "a success reply without data")
        }
        return data.result
    }

    private func authorizationHeader() throws(PrometheusError) -> String? {
        switch configuration.authentication {
        case .none:
            return nil
        case .basic(let username, let password):
            return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case .bearer(let token):
            return "Bearer " + token
        case .bearerTokenFile(let path):
            let token: String
            do {
                token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
            } catch {
                throw PrometheusError(.configuration, "cannot read the bearer token file \(path)")
            }
            guard !token.isEmpty else {
                throw PrometheusError(.configuration, "the bearer token file \(path) is empty")
            }
            return "Bearer " + token
        }
    }

    /// The error types the API documents; anything else is `other`, so a metric label stays bounded.
    static func boundedErrorType(_ type: String) -> String {
        let known: Set = ["bad_data", "execution", "timeout", "canceled", "internal", "unavailable", "not_found"]
        return known.contains(type) ? type : "other"
    }

    /// A duration as Prometheus parses it: whole seconds as `10s`, anything finer in milliseconds.
    static func promDuration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(max(seconds, 0))s" }
        return "\(max(seconds * 1000 + attoseconds / 1_000_000_000_000_000, 1))ms"
    }

    /// `application/x-www-form-urlencoded`, escaping all but RFC 3986's unreserved characters.
    static func formEncode(_ parameters: [(String, String)]) -> String {
        func escape(_ text: String) -> String {
            var out = ""
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                default:
                    out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                }
            }
            return out
        }
        return parameters.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
