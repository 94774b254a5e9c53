import Logging
import Synchronization

/// Every record logged through its loggers, kept for assertions: what a system under test logs, and that it
/// never logs a secret, a token or a body.
public final class LogCapture: Sendable {
    /// One record: its level, message, and the logger's metadata merged with the event's (the event's win),
    /// values rendered as text.
    public struct Line: Sendable, CustomStringConvertible {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The whole record as one string: level, message, metadata.
        public var description: String { "\(level) \(message) \(metadata)" }
    }

    public let lines = Mutex<[Line]>([])

    public init() {}

    /// A logger that records here every event at `level` or above.
    public func logger(label: String = "test.capture", level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(capture: self, logLevel: level) }
        logger.logLevel = level
        return logger
    }

    /// The records with a metadata value containing `text`.
    public func lines(containing text: String) -> [Line] {
        lines.withLock { $0.filter { line in line.metadata.values.contains { $0.contains(text) } } }
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        init(capture: LogCapture, logLevel: Logger.Level) {
            self.capture = capture
            self.logLevel = logLevel
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let extra = event.metadata { all.merge(extra) { $1 } }
            let line = Line(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" })
            capture.lines.withLock { $0.append(line) }
        }
    }
}
