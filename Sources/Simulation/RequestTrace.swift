import Foundation

/// A per-minute request-rate trace (`minute,requests` CSV, as in ../shared/traces): the demand that simulated
/// clusters play.
public struct RequestTrace: Sendable {
    /// Requests in each minute, in order.
    public let requestsPerMinute: [Double]

    public init(requestsPerMinute: [Double]) throws(TraceError) {
        guard !requestsPerMinute.isEmpty else {
            throw TraceError(file: "(values)", line: 0, problem: "the trace is empty")
        }
        self.requestsPerMinute = requestsPerMinute
    }

    /// Loads a `minute,requests` CSV with a header line; errors name the file and line.
    public static func load(csv path: String) throws(TraceError) -> RequestTrace {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw TraceError(file: path, line: 0, problem: "cannot be read")
        }
        var values: [Double] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if index == 0 || line.isEmpty { continue }
            let fields = line.split(separator: ",")
            guard fields.count == 2, let minute = Int(fields[0]), let requests = Double(fields[1]), requests >= 0 else {
                throw TraceError(
                    file: path,
                    line: index + 1,
                    problem: "expected `minute,requests` with whole minutes and a non-negative count"
                )
            }
            guard minute == values.count else {
                throw TraceError(
                    file: path,
                    line: index + 1,
                    problem: "minute \(minute) out of order; expected \(values.count)"
                )
            }
            values.append(requests)
        }
        return try RequestTrace(requestsPerMinute: values)
    }

    /// The rate at a (fractional) minute, wrapping around at the end, linearly interpolated between minutes.
    public func requests(atMinute minute: Double) -> Double {
        let count = Double(requestsPerMinute.count)
        let wrapped = minute.truncatingRemainder(dividingBy: count)
        let position = wrapped < 0 ? wrapped + count : wrapped
        let lower = Int(position)
        let upper = (lower + 1) % requestsPerMinute.count
        let fraction = position - Double(lower)
        return requestsPerMinute[lower] * (1 - fraction) + requestsPerMinute[upper] * fraction
    }

    /// The median per-minute rate.
    public var median: Double {
        let sorted = requestsPerMinute.sorted()
        return sorted[sorted.count / 2]
    }
}

/// A trace file could not be used.
public struct TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var problem: String
    public var description: String { line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)" }
}
