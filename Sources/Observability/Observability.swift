// Observability: what every Ballast process shows its operators: logfmt logs through swift-log, metrics through
// swift-metrics exported in the Prometheus text format on `/metrics`, and `/healthz`.
//
// Libraries (Wire, Consensus, ...) only use the swift-log and swift-metrics APIs; executables call
// `Observability.bootstrap` once and run a `MetricsEndpoint`. Depends on no Ballast module.
import Logging
import Metrics
import Prometheus

/// Process-wide set-up of logging and metrics, done once by an executable before anything logs.
public enum Observability {
    /// Installs the logfmt log handler at `logLevel` and the Prometheus metrics backend writing into a new
    /// registry, and returns that registry for the `MetricsEndpoint`.
    public static func bootstrap(logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, logLevel: logLevel) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
