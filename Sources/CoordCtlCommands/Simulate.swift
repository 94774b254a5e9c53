import ArgumentParser
import Cost
import Foundation
import Scenarios
import Simulation
import SimulationReport

/// `coordctl simulate`: runs a scenario under each policy in virtual time on this machine (no coordinator, no
/// AWS) and writes the report: HTML with charts, optionally the same numbers as JSON, and a summary table on the
/// terminal. A progress line on stderr says which policy runs and how far it is.
public struct Simulate: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Simulate a scenario under Ballast and the rules people run today, and write the report.",
        discussion: """
            Runs the real coordinator and agents (ballast) and the baseline rules on simulated clusters and a \
            simulated cloud in virtual time, each on the same traffic, boot delays and market, plus the oracle (the \
            physical limit). Scenarios are YAML files (scenarios/, docs/simulator.md). Exit codes: 0 done; 64 bad \
            usage; 78 the scenario file is invalid (the message names the key) or a trace cannot be read; 74 the \
            report could not be written.
            """
    )

    @Option(name: .long, help: "The scenario file (YAML).")
    var scenario: String

    @Option(
        name: .long,
        help: "A policy to run (\(PolicyKind.allCases.map(\.rawValue).joined(separator: ", "))), or all."
    )
    var policy: [String] = ["all"]

    @Option(name: .long, help: "Overrides the scenario's seed.")
    var seed: UInt64?

    @Option(name: .long, help: "Where to write the HTML report.")
    var report: String

    @Option(name: .long, help: "Where to write the result as JSON.")
    var json: String?

    @Flag(name: .long, help: "No progress line.")
    var quiet = false

    public func validate() throws {
        for name in policy where name != "all" && PolicyKind(rawValue: name) == nil {
            throw ValidationError(
                "unknown policy '\(name)'; expected one of \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", ")) or all"
            )
        }
    }

    public func run() async throws {
        Self.runWithDeterministicHashing()
        var loaded: Scenario
        do {
            loaded = try Scenario.load(path: scenario)
        } catch {
            FileHandle.standardError.write(Data("coordctl: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if let seed { loaded.seed = seed }
        let kinds = policy.contains("all") ? PolicyKind.allCases : policy.compactMap(PolicyKind.init(rawValue:))
        let quiet = self.quiet
        let simulator = FleetSimulator(
            scenario: loaded,
            catalog: try PriceCatalog.bundled(),
            options: .init(
                policies: kinds,
                progress: { policy, done in
                    guard !quiet else { return }
                    let percent = Int((done * 100).rounded(.down))
                    FileHandle.standardError.write(Data("\rsimulating \(policy): \(percent) %   ".utf8))
                }
            )
        )
        let started = ContinuousClock.now
        let result: SimulationResult
        do {
            result = try await simulator.run()
        } catch {
            FileHandle.standardError.write(Data("\ncoordctl: the simulation failed: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        do {
            try Data(HTMLReport.render(result).utf8).write(to: URL(fileURLWithPath: report))
            if let json { try Data(ResultJSON.encode(result)).write(to: URL(fileURLWithPath: json)) }
        } catch {
            FileHandle.standardError.write(Data("coordctl: cannot write the report: \(error)\n".utf8))
            throw ExitCode(74)
        }
        print(SummaryTable.render(result))
        print(
            "simulated \(loaded.durationMinutes / 60) h of \(loaded.clusters.count) clusters in \(ContinuousClock.now - started)"
        )
        print("report: \(report)\(json.map { ", json: \($0)" } ?? "")")
    }

    /// Makes sure this process hashes deterministically, re-executing itself once with
    /// `SWIFT_DETERMINISTIC_HASHING=1` if it does not: the order in which a dictionary or a set is walked depends on
    /// the process's hash seed, and the same run must give the same report, byte for byte (a sum over a dictionary
    /// walked in another order can differ in its last digit, and so can a tie broken by the first found). If the
    /// re-execution fails, the run goes on and says the report may differ in its last digits.
    static func runWithDeterministicHashing() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["SWIFT_DETERMINISTIC_HASHING"] == nil else { return }
        #if os(Linux)
        var next = environment
        next["SWIFT_DETERMINISTIC_HASHING"] = "1"
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        let variables = next.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve("/proc/self/exe", arguments, variables)
        #endif
        FileHandle.standardError.write(
            Data(
                "coordctl: cannot fix the hash seed; the report may differ from another run's in its last digits\n".utf8
            )
        )
    }
}
