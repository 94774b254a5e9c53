/// A failed Prometheus query: what kind of failure (`code`, to switch on), the API's own `errorType` when it
/// sent its error envelope, the HTTP status, and a message a person can act on. Never contains credentials.
public struct PrometheusError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No reply: connection refused or reset, DNS, timeout, a TLS handshake that failed.
        case unreachable
        /// The API answered `status: error` (bad PromQL, a query that timed out or was too large, …);
        /// `errorType` says which (`bad_data`, `execution`, `timeout`, `canceled`, `internal`, `unavailable`).
        case api
        /// An HTTP error without the API's envelope, such as 401 from an authenticating proxy.
        case http
        /// A reply that is not the API's JSON (a wrong URL, a proxy's HTML page, a truncated body).
        case invalidResponse = "invalid-response"
        /// The client's own configuration cannot be used (unreadable token or CA file, a base URL that is not
        /// http(s)).
        case configuration
    }

    public var code: Code
    /// The API's `errorType` for `.api` errors.
    public var errorType: String?
    /// The HTTP status, when there was a reply.
    public var httpStatus: Int?
    public var message: String

    public init(_ code: Code, errorType: String? = nil, httpStatus: Int? = nil, _ message: String) {
        self.code = code
        self.errorType = errorType
        self.httpStatus = httpStatus
        self.message = message
    }

    public var description: String {
        var head = "prometheus \(code.rawValue)"
        if let errorType { head += " (\(errorType))" }
        if let httpStatus { head += " HTTP \(httpStatus)" }
        return head + ": " + message
    }

    /// A short, bounded label for metrics and logs: the code, or the API's error type.
    var outcomeLabel: String {
        switch code {
        case .api: errorType.map { "api_\($0)" } ?? "api"
        default: code.rawValue
        }
    }
}
