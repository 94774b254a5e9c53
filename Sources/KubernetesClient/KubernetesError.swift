/// Why a call to the API server failed: the server's own `Status` when it answered with one, and what to do.
public struct KubernetesError: Error, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The server refused the request and said why (see ``status``): not found, conflict, forbidden, …
        case apiStatus
        /// The resourceVersion a watch or a continued list started from is gone (410): list again.
        case expired
        /// The request never got an answer: connection refused, TLS failure, timeout.
        case transport
        /// The answer could not be read as what the API promises.
        case invalidResponse
        /// The kubeconfig's credentials could not be used (a bad certificate or key, an unreadable token file).
        case credentials
    }

    public let code: Code
    /// The HTTP status of the answer, when there was one.
    public let httpStatus: Int?
    /// The server's `Status` document, when it sent one.
    public let status: APIStatus?
    /// What was being done (`list nodes`, `evict pod`).
    public let operation: String
    public let message: String

    public init(code: Code, httpStatus: Int? = nil, status: APIStatus? = nil, operation: String, message: String) {
        self.code = code
        self.httpStatus = httpStatus
        self.status = status
        self.operation = operation
        self.message = message
    }

    /// The machine-readable reason (`NotFound`, `Conflict`, `TooManyRequests`, `Expired`).
    public var reason: String? { status?.reason }

    /// Whether the object was not there (404).
    public var isNotFound: Bool { httpStatus == 404 }

    public var description: String {
        let http = httpStatus.map { " (HTTP \($0)\(reason.map { " \($0)" } ?? ""))" } ?? ""
        return "\(operation): \(message)\(http)"
    }
}
