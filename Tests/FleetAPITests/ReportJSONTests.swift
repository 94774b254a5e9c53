import BallastTestSupport
import Cost
import Crypto
import Distributed
import Fencing
import Foundation
import Testing
import Wire
import WireFormat
import WireJSON

@testable import FleetAPI

/// Random values with the awkward cases on purpose: escapes, control characters, non-ASCII, slashes, numbers
/// at their limits, doubles of every magnitude.
struct ReportGenerator {
    var random: SplitMix64

    mutating func string() -> String {
        let pieces = [
            "a", "Z", "0", "-", ".", "/", "\"", "\\", "\n", "\t", "\u{1}", "\u{1F}", "\u{7F}", "é", "ü", "日", "🚀", " ",
        ]
        let count = Int.random(in: 0...12, using: &random)
        return (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    mutating func int() -> Int {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return Int.random(in: -10...10, using: &random)
        case 1: return [Int.min, Int.max, 0].randomElement(using: &random)!
        default: return Int.random(in: Int.min...Int.max, using: &random)
        }
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return Double.random(in: 0...1, using: &random)
        case 1: return Double(Int.random(in: -1000...1000, using: &random))
        case 2: return [0.0, -0.0, 1e20, 1e-7, 5e-324, Double.greatestFiniteMagnitude].randomElement(using: &random)!
        default:
            return Double(
                bitPattern: random.next() & ~(0x7FF << 52) | UInt64.random(in: 0...0x7FE, using: &random) << 52
            )
        }
    }

    mutating func timestamp() -> Timestamp {
        Timestamp(sinceEpoch: .milliseconds(Int64.random(in: -(1 << 50)...(1 << 50), using: &random)))
    }

    mutating func resources() -> Resources {
        Resources(cpuMillicores: int(), memoryBytes: int())
    }

    mutating func node() -> NodeReport {
        NodeReport(
            name: string(),
            instanceID: string(),
            instanceType: string(),
            market: Market.allCases.randomElement(using: &random)!,
            availabilityZone: string(),
            state: [.launching, .ready, .notReady, .draining, .terminating].randomElement(using: &random)!,
            launchedAt: timestamp(),
            allocatable: resources(),
            requested: resources(),
            podCount: int(),
            hasDrainBlockingPods: Bool.random(using: &random)
        )
    }

    mutating func report() -> AgentReport {
        let p90: Duration? =
            Bool.random(using: &random)
            ? nil
            : Duration(
                secondsComponent: Int64.random(in: -(1 << 40)...(1 << 40), using: &random),
                attosecondsComponent: Int64.random(in: 0..<1_000_000_000_000_000_000, using: &random)
            )
        let report = ClusterReport(
            clusterID: ClusterID(string()),
            region: string(),
            availabilityZones: (0..<Int.random(in: 0...3, using: &random)).map { _ in string() },
            nodes: (0..<Int.random(in: 0...5, using: &random)).map { _ in node() },
            pending: PendingPods(count: int(), totalRequests: resources(), largestRequest: resources()),
            utilisation: Utilisation(cpu: double(), memory: double()),
            notices: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                InterruptionNotice(
                    kind: Bool.random(using: &random) ? .interruption : .rebalanceRecommendation,
                    nodeName: string(),
                    instanceType: string(),
                    availabilityZone: string(),
                    receivedAt: timestamp()
                )
            },
            launchFailures: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                LaunchFailure(
                    instanceType: string(),
                    market: Market.allCases.randomElement(using: &random)!,
                    availabilityZone: string(),
                    failedAt: timestamp(),
                    reason: string()
                )
            },
            observedAt: timestamp(),
            launchToReadyP90: p90,
            metricsStale: Bool.random(using: &random),
            orphans: (0..<Int.random(in: 0...2, using: &random)).map { _ in string() },
            customMetrics: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                CustomMetricReport(
                    name: string(),
                    value: double(),
                    targetPerNode: double(),
                    stale: Bool.random(using: &random)
                )
            }
        )
        return AgentReport(cluster: report, highestEpochSeen: FencingEpoch(random.next()))
    }
}

@Suite("hand-written JSON of reports")
struct ReportJSONTests {
    static func foundationBytes<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    static func read(_ bytes: [UInt8]) throws -> AgentReport {
        var reader = WireJSONReader(bytes)
        return try reader.readDocument(ReportJSON.readReport)
    }

    @Test("a report is written byte for byte as Foundation's JSONEncoder with sorted keys writes it")
    func writesFoundationsBytes() throws {
        var generator = ReportGenerator(random: SplitMix64(seed: 1))
        for _ in 0..<300 {
            let report = generator.report()
            var writer = WireJSONWriter()
            ReportJSON.write(report, to: &writer)
            #expect(!writer.failed)
            let expected = try Self.foundationBytes(report)
            #expect(writer.bytes == expected, "\(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test("Foundation's JSON of a report, in any key order and spacing, reads back to the same report")
    func readsFoundationsJSON() throws {
        var generator = ReportGenerator(random: SplitMix64(seed: 2))
        for _ in 0..<300 {
            // Compared with what Foundation reads, not with the report: the JSON keeps whole milliseconds only.
            let bytes = try Self.foundationBytes(generator.report())
            let expected = try JSONDecoder().decode(AgentReport.self, from: Data(bytes))
            #expect(try Self.read(bytes) == expected)
            let pretty = JSONEncoder()
            pretty.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
            #expect(try Self.read(Array(pretty.encode(expected))) == expected)
        }
    }

    @Test("a report without orphans is written without the member, and one from an older peer reads with none")
    func orphansOptional() throws {
        var report = ReportGenerator.sample
        report.cluster.orphans = []
        var writer = WireJSONWriter()
        ReportJSON.write(report, to: &writer)
        let bytes = writer.bytes
        #expect(!String(decoding: bytes, as: UTF8.self).contains("orphans"))
        #expect(try Self.read(bytes) == report)
        #expect(try JSONDecoder().decode(AgentReport.self, from: Data(bytes)) == report)
        report.cluster.orphans = ["i-0abc", "i-0def"]
        writer = WireJSONWriter()
        ReportJSON.write(report, to: &writer)
        #expect(String(decoding: writer.bytes, as: UTF8.self).contains(#""orphans":["i-0abc","i-0def"]"#))
        #expect(try Self.read(writer.bytes) == report)
        #expect(try JSONDecoder().decode(AgentReport.self, from: Data(writer.bytes)) == report)
    }

    @Test("the acknowledgement is written as Foundation writes it and reads back")
    func acknowledgement() throws {
        for acknowledgement in [
            ReportAcknowledgement(coordinator: "coord-1", isLeader: true, epoch: FencingEpoch(7)),
            ReportAcknowledgement(coordinator: "c/\"ö\"", isLeader: false, epoch: FencingEpoch(UInt64.max)),
        ] {
            var writer = WireJSONWriter()
            ReportJSON.write(acknowledgement, to: &writer)
            #expect(writer.bytes == (try Self.foundationBytes(acknowledgement)))
            var reader = WireJSONReader(writer.bytes)
            #expect(try reader.readDocument(ReportJSON.readAcknowledgement) == acknowledgement)
        }
    }

    @Test(
        "a document the reader is not sure to read as Foundation does is declined, never misread",
        arguments: [
            (#""podCount":11"#, #""podCount":11.0"#),
            (#""podCount":11"#, #""podCount":1e1"#),
            (#""podCount":11"#, #""podCount":011"#),
            (#""podCount":11"#, #""podCount":11,"podCount":12"#),
            (#""podCount":11"#, #""podCount":11,"extra":1"#),
            (#""podCount":11,"#, ""),
            (#""state":"ready""#, #""state":"asleep""#),
            (#""region":"eu-west-1""#, #""region":"\ud83d\ude80""#),
            (#""region":"eu-west-1""#, "\"region\":\"eu\u{01}west\""),
            (#""highestEpochSeen":7"#, #""highestEpochSeen":-7"#),
            (#""highestEpochSeen":7"#, #""highestEpochSeen":18446744073709551616"#),
            (#""cpu":0.71"#, #""cpu":.71"#),
            (#""cpu":0.71"#, #""cpu":1e400"#),
            (#""cpu":0.71"#, #""cpu":7.1e-400"#),
        ]
    )
    func declines(replacing original: String, with replacement: String) throws {
        let report = ReportGenerator.sample
        let json = String(decoding: try Self.foundationBytes(report), as: UTF8.self)
        #expect(json.contains(original))
        let altered = json.replacingOccurrences(of: original, with: replacement)
        #expect(throws: WireJSONReader.Mismatch.self) { try Self.read(Array(altered.utf8)) }
        #expect(try Self.read(Array(json.utf8)) == report)
    }

    @Test("whatever a mutated document reads as, Foundation reads it the same; nothing traps")
    func mutatedDocuments() throws {
        var generator = ReportGenerator(random: SplitMix64(seed: 4))
        let alphabet = Array(#"{}[]:,"\/0123456789.-+eEtrufalsn uU"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = try Self.foundationBytes(generator.report())
            for _ in 0..<Int.random(in: 1...3, using: &generator.random) {
                let index = Int.random(in: 0..<bytes.count, using: &generator.random)
                switch Int.random(in: 0..<3, using: &generator.random) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator.random)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator.random)!, at: index)
                }
            }
            guard let fast = try? Self.read(bytes) else { continue }
            accepted += 1
            #expect(
                (try? JSONDecoder().decode(AgentReport.self, from: Data(bytes))) == fast,
                "\(String(decoding: bytes, as: UTF8.self))"
            )
        }
        // Some mutations keep the document valid (a digit for a digit, a letter inside a string).
        #expect(accepted > 0)
    }

    @Test("custom metrics: written only when there are some, read back; absent or null reads as none")
    func customMetricsMember() throws {
        let sample = ReportGenerator.sample
        var writer = WireJSONWriter()
        ReportJSON.write(sample, to: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text.contains(#""customMetrics":[{"name":"queue_depth","stale":false,"targetPerNode":100,"value":250}]"#)
        )
        #expect(try Self.read(writer.bytes) == sample)

        var none = sample
        none.cluster.customMetrics = []
        var plain = WireJSONWriter()
        ReportJSON.write(none, to: &plain)
        #expect(plain.bytes == (try Self.foundationBytes(none)))
        let plainText = String(decoding: plain.bytes, as: UTF8.self)
        #expect(!plainText.contains("customMetrics"))
        #expect(try Self.read(plain.bytes) == none)
        let null = plainText.replacingOccurrences(of: #""clusterID":"#, with: #""customMetrics":null,"clusterID":"#)
        #expect(try Self.read(Array(null.utf8)) == none)
    }

    @Test("every stored property of the report types is one the hand-written coder knows")
    func coversEveryProperty() {
        // A property added to one of these types must be added to ReportJSON too; then update the count here.
        let agentReport = ReportGenerator.sample
        #expect(Mirror(reflecting: agentReport).children.count == 2)
        let report = agentReport.cluster
        #expect(Mirror(reflecting: report).children.count == 13)
        #expect(Mirror(reflecting: report.nodes[0]).children.count == 11)
        #expect(Mirror(reflecting: report.pending).children.count == 3)
        #expect(Mirror(reflecting: report.utilisation).children.count == 2)
        #expect(Mirror(reflecting: Resources.zero).children.count == 2)
        #expect(Mirror(reflecting: report.notices[0]).children.count == 5)
        #expect(Mirror(reflecting: report.launchFailures[0]).children.count == 5)
        #expect(Mirror(reflecting: report.customMetrics[0]).children.count == 4)
        #expect(
            Mirror(reflecting: ReportAcknowledgement(coordinator: "c", isLeader: true, epoch: .none)).children.count
                == 3
        )
    }
}

/// Keeps the last report it was sent, to prove what arrived.
distributed actor ReportKeeper: CoordinatorEndpoint {
    typealias ActorSystem = WireActorSystem
    private(set) var last: AgentReport?

    distributed func report(_ report: AgentReport) async throws -> ReportAcknowledgement {
        last = report
        return ReportAcknowledgement(coordinator: "coord-1", isLeader: true, epoch: report.highestEpochSeen)
    }

    distributed func lastReport() -> AgentReport? { last }
}

@Suite("reports over the wire with the hand-written coders")
struct ReportCallTests {
    @Test("a report call with the coders on one side only delivers the same report and answer")
    func mixedCoders() async throws {
        let hub = WireHub()
        func configuration(_ node: String, _ role: WireRole, coders: [WireJSONCoder]) -> WireActorSystem.Configuration {
            var configuration = WireActorSystem.Configuration(
                nodeID: node,
                role: role,
                secrets: .shared(SymmetricKey(data: Array("report-json-test-secret-0123456".utf8)))
            )
            configuration.endpoints = FleetAPI.endpoints
            configuration.jsonCoders = coders
            return configuration
        }
        let coordinatorSystem = try WireActorSystem(
            configuration: configuration("coord-1", .coordinator, coders: FleetAPI.jsonCoders),
            hub: hub
        )
        let agentSystem = try WireActorSystem(configuration: configuration("agent-eu-1", .agent, coders: []), hub: hub)
        let keeper = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            ReportKeeper(actorSystem: coordinatorSystem)
        }
        let remote = try $CoordinatorEndpoint.resolve(
            id: WireActorSystem.wellKnownID(node: "coord-1", name: WireActorSystem.WellKnownName.coordinator),
            using: agentSystem
        )
        var generator = ReportGenerator(random: SplitMix64(seed: 3))
        for _ in 0..<20 {
            let sent = generator.report()
            let report = try JSONDecoder().decode(
                AgentReport.self,
                from: Data(try ReportJSONTests.foundationBytes(sent))
            )
            let answer = try await remote.report(sent)
            #expect(answer.epoch == report.highestEpochSeen)
            #expect(try await keeper.lastReport() == report)
        }
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}

extension ReportGenerator {
    /// A plain report with one of everything, values written in their plain JSON form.
    static var sample: AgentReport {
        let now = Timestamp(sinceEpoch: .seconds(1_790_000_000))
        let report = ClusterReport(
            clusterID: "eu-web",
            region: "eu-west-1",
            availabilityZones: ["eu-west-1a"],
            nodes: [
                NodeReport(
                    name: "ip-10-0-0-17",
                    instanceID: "i-0abc",
                    instanceType: "m6i.large",
                    market: .spot,
                    availabilityZone: "eu-west-1a",
                    state: .ready,
                    launchedAt: now,
                    allocatable: Resources(cpuMillicores: 1930, memoryBytes: 7_500 << 20),
                    requested: Resources(cpuMillicores: 1200, memoryBytes: 4_000 << 20),
                    podCount: 11
                )
            ],
            pending: PendingPods(count: 1, totalRequests: .vcpu(1, gib: 2), largestRequest: .vcpu(1, gib: 2)),
            utilisation: Utilisation(cpu: 0.71, memory: 0.64),
            notices: [
                InterruptionNotice(
                    kind: .interruption,
                    nodeName: "ip-10-0-0-17",
                    instanceType: "m6i.large",
                    availabilityZone: "eu-west-1a",
                    receivedAt: now
                )
            ],
            launchFailures: [
                LaunchFailure(
                    instanceType: "c6i.xlarge",
                    market: .spot,
                    availabilityZone: "eu-west-1b",
                    failedAt: now,
                    reason: "InsufficientInstanceCapacity"
                )
            ],
            observedAt: now,
            launchToReadyP90: .seconds(95),
            customMetrics: [CustomMetricReport(name: "queue_depth", value: 250, targetPerNode: 100)]
        )
        return AgentReport(cluster: report, highestEpochSeen: FencingEpoch(7))
    }
}
