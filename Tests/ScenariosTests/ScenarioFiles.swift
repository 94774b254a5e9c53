import Foundation
import Scenarios

/// A scratch directory holding a small `minute,requests` trace and the scenario files a test writes next to it;
/// removed when the test is done with it.
struct ScenarioScratch {
    let directory: URL
    /// The trace's requests: 10, 20, …, 90 (median 50).
    static let traceValues = (1...9).map { $0 * 10 }
    static let traceMedian = 50.0

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballast-scenarios-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let rows = Self.traceValues.enumerated().map { "\($0.offset),\($0.element)" }
        try (["minute,requests"] + rows).joined(separator: "\n")
            .write(to: directory.appendingPathComponent("trace.csv"), atomically: true, encoding: .utf8)
    }

    var tracePath: String { directory.appendingPathComponent("trace.csv").standardizedFileURL.path }

    /// Writes `yaml` as `name` in the scratch directory and returns its path.
    func write(_ yaml: String, name: String = "scenario.yaml") throws -> String {
        let url = directory.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Writes and loads `yaml`.
    func load(_ yaml: String) throws -> Scenario {
        try Scenario.load(path: write(yaml))
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` with a fresh scratch directory, removing it afterwards whatever happens.
    static func with<T>(_ body: (ScenarioScratch) throws -> T) throws -> T {
        let scratch = try ScenarioScratch()
        defer { scratch.remove() }
        return try body(scratch)
    }
}

/// A scenario file built from parts, so a test changes one thing in an otherwise valid file.
struct ScenarioYAML {
    var top = """
        name: test
        duration: 1d
        start: 2026-07-06T00:00:00Z
        """
    var budget = "budget: {monthly-usd: 1000}"
    var clusters = [
        """
          - id: us-web
            region: us-east-1
            trace: {file: trace.csv}
            failover-targets: [eu-web]
        """,
        """
          - id: eu-web
            region: eu-west-1
            zones: [eu-west-1a, eu-west-1b]
            trace: {file: trace.csv}
        """,
    ]
    var events: [String] = []

    var text: String {
        var lines = [top, budget, "clusters:"] + clusters
        if !events.isEmpty {
            lines.append("events:")
            lines += events.map { "  - " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The example with one cluster's lines replaced.
    static func withCluster(_ index: Int, _ yaml: String) -> ScenarioYAML {
        var file = ScenarioYAML()
        file.clusters[index] = yaml
        return file
    }

    /// The example with these events.
    static func withEvents(_ events: String...) -> ScenarioYAML {
        var file = ScenarioYAML()
        file.events = events
        return file
    }
}
