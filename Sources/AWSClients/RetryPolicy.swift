import Synchronization

/// The AWS "standard" retry mode as a value: which failures are retried, how long to wait before the next
/// attempt (exponential backoff with full jitter, capped), and how many attempts in all.
///
/// Pure: the jitter is a number in [0, 1) the caller passes in, so tests choose it; the sleeping is done by
/// the client with its injected sleep function.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included. Default 3.
    public var maxAttempts: Int = 3
    /// The base of the exponential backoff: attempt n waits up to `base * 2^(n-1)`. Default 1 second.
    public var base: Duration = .seconds(1)
    /// The longest wait between two attempts. Default 20 seconds.
    public var maxBackoff: Duration = .seconds(20)

    public init(maxAttempts: Int = 3, base: Duration = .seconds(1), maxBackoff: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.base = base
        self.maxBackoff = maxBackoff
    }

    /// What to do after a failed attempt.
    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp
    }

    /// Whether a failure is worth another attempt: throttling, transient service errors (5xx, request
    /// timeouts) and transport failures. Client errors, auth errors and failed conditions are final.
    public static func isRetryable(_ error: AWSError) -> Bool {
        switch error.code {
        case .throttled, .transport:
            return true
        case .service(let code, _):
            if [
                "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
                "ServiceUnavailable", "InternalServerError", "Unavailable",
            ].contains(code) {
                return true
            }
            return (error.httpStatus.map { [500, 502, 503, 504].contains($0) }) ?? false
        case .invalidResponse:
            return (error.httpStatus.map { $0 >= 500 }) ?? false
        case .conditionalCheckFailed, .accessDenied, .authenticationFailed, .resourceNotFound,
            .insufficientCapacity, .spotPriceTooLow, .noCredentials, .invalidRequest:
            return false
        }
    }

    /// The decision after attempt number `attempt` (1-based) failed with `error`.
    /// - Parameter jitter: a uniformly random number in [0, 1).
    public func decide(after error: AWSError, attempt: Int, jitter: Double) -> Decision {
        guard attempt < maxAttempts, Self.isRetryable(error) else { return .giveUp }
        return .retry(after: backoff(attempt: attempt, jitter: jitter))
    }

    /// `jitter * min(maxBackoff, base * 2^(attempt-1))`.
    public func backoff(attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxBackoff, base * (1 << exponent))
        return ceiling * min(max(jitter, 0), 1)
    }
}

/// The standard mode's retry quota, shared by all calls of one client: each retry spends tokens (more for a
/// transport failure), each success returns one, and when the bucket is empty failures are no longer retried,
/// so a struggling service is not hammered by every caller at once.
final class RetryQuota: Sendable {
    static let capacity = 500
    static let retryCost = 5
    static let transportRetryCost = 10

    private let tokens = Mutex(RetryQuota.capacity)

    /// Takes the cost of one retry; false when the bucket cannot pay for it.
    func acquire(for error: AWSError) -> Bool {
        let cost = error.code == .transport ? Self.transportRetryCost : Self.retryCost
        return tokens.withLock { available in
            guard available >= cost else { return false }
            available -= cost
            return true
        }
    }

    func recordSuccess() {
        tokens.withLock { $0 = min(Self.capacity, $0 + 1) }
    }

    var available: Int { tokens.withLock { $0 } }
}
