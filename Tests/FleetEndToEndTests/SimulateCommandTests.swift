import Foundation
import Testing

/// `coordctl simulate` as a user runs it: a scenario file from disk, the report and JSON written, the same bytes for
/// the same seed, and the documented exit codes for a bad scenario or policy.
@Suite("coordctl simulate")
struct SimulateCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A short copy of a shipped scenario (four hours of demo-day), next to it so its trace paths still resolve.
    static func shortScenario() throws -> URL {
        let shipped = root.appendingPathComponent("scenarios/demo-day.yaml")
        var text = try String(contentsOf: shipped, encoding: .utf8)
        text = text.replacingOccurrences(of: "duration: 1d", with: "duration: 4h")
        text = text.replacingOccurrences(of: "name: demo-day", with: "name: demo-4h")
        // Its events come later in the day than four hours.
        if let events = text.range(of: "\nevents:") { text = String(text[..<events.lowerBound]) + "\n" }
        let copy = root.appendingPathComponent("scenarios/.test-\(UUID().uuidString).yaml")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        return copy
    }

    @Test("writes the report and the JSON, prints the table, and repeats itself byte for byte")
    func writesReport() async throws {
        let scenario = try Self.shortScenario()
        defer { try? FileManager.default.removeItem(at: scenario) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simulate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var outputs: [Data] = []
        for run in 0..<2 {
            let html = directory.appendingPathComponent("r\(run).html")
            let json = directory.appendingPathComponent("r\(run).json")
            let result = try await runCoordCtl([
                "simulate", "--scenario", scenario.path, "--policy", "reactive", "--policy", "ballast", "--policy",
                "oracle", "--report", html.path, "--json", json.path,
            ])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("ballast") && result.stdout.contains("×oracle"), "\(result)")
            #expect(result.stdout.contains("report: \(html.path)"))
            #expect(result.stderr.contains("simulating ballast"), "the progress line")
            let page = try String(contentsOf: html, encoding: .utf8)
            #expect(page.contains("<svg") && page.contains("demo-4h"))
            outputs.append(try Data(contentsOf: json) + Data(page.utf8))
        }
        #expect(outputs[0] == outputs[1], "the same seed gives the same report")
    }

    @Test("a bad scenario names the file and key (exit 78); an unknown policy is a usage error (64)")
    func errors() async throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        try "name: x\nduration: 0m\nstart: 2026-07-01\nclusters: []\n".write(to: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: bad) }
        let invalid = try await runCoordCtl(["simulate", "--scenario", bad.path, "--report", "/tmp/never.html"])
        #expect(invalid.status == 78, "\(invalid)")
        #expect(invalid.stderr.contains(bad.lastPathComponent) && invalid.stderr.contains("duration"), "\(invalid)")
        let policy = try await runCoordCtl([
            "simulate", "--scenario", bad.path, "--policy", "hpa", "--report", "/tmp/never.html",
        ])
        #expect(policy.status == 64, "\(policy)")
        #expect(policy.stderr.contains("unknown policy 'hpa'"), "\(policy)")
    }
}
