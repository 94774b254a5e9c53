import Metrics

/// The metrics of every AWS call an `AWSClient` makes, by `service` (signing name) and `operation`:
///
/// | metric | type | extra dimensions |
/// | --- | --- | --- |
/// | `ballast_aws_attempts_total` | counter, one per HTTP attempt | outcome: `ok`, or the failure (`throttled`, `transport`, `conditionalCheckFailed`, the service's code, …) |
/// | `ballast_aws_attempt_duration_seconds` | timer, one per HTTP attempt | |
/// | `ballast_aws_retries_total` | counter, one per retry after a failed attempt | |
/// | `ballast_aws_failures_total` | counter, one per call that failed for good | code: as `outcome` |
struct AWSMetrics: Sendable {
    let factory: any MetricsFactory

    func attempt(service: String, operation: String, outcome: Result<AWSClient.Response, AWSError>, took: Duration) {
        let label =
            switch outcome {
            case .success: "ok"
            case .failure(let error): error.code.metricLabel
            }
        let dimensions = [("service", service), ("operation", operation)]
        Counter(label: "ballast_aws_attempts_total", dimensions: dimensions + [("outcome", label)], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "ballast_aws_attempt_duration_seconds", dimensions: dimensions, factory: factory)
            .record(duration: took)
    }

    func retried(service: String, operation: String) {
        Counter(
            label: "ballast_aws_retries_total",
            dimensions: [("service", service), ("operation", operation)],
            factory: factory
        ).increment()
    }

    func failed(service: String, operation: String, error: AWSError) {
        Counter(
            label: "ballast_aws_failures_total",
            dimensions: [("service", service), ("operation", operation), ("code", error.code.metricLabel)],
            factory: factory
        ).increment()
    }
}
