// wire-bench: what a distributed call over Ballast's wire costs, against the floor of a bare SwiftNIO echo of
// the same bytes, measured side by side in one run on loopback.
//
//   swift run -c release wire-bench [--calls N] [--seconds S] [--concurrency C] [--calls-on-pool] [--foundation-json]
//
// Prints one table: round-trip p50/p99 of the echo and of a `report` call carrying a realistic cluster report,
// their ratio, and pipelined calls per second over one connection.
import Cost
import Crypto
import Distributed
import FleetAPI
import Foundation
import Logging
import NIOPosix
import Wire
import WireFormat

struct Options {
    var calls = 20_000
    var seconds = 5.0
    var concurrency = 128
    /// Run incoming calls on the cooperative pool, as before calls ran on the event loop (for comparison).
    var callsOnPool = false
    /// Code the report with Foundation only, as before the hand-written coders (for comparison).
    var foundationJSON = false

    init(arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            switch flag {
            case "--calls-on-pool":
                callsOnPool = true
                continue
            case "--foundation-json":
                foundationJSON = true
                continue
            default: break
            }
            guard let value = iterator.next() else { throw BenchError("\(flag) needs a value") }
            switch flag {
            case "--calls": calls = try Self.parse(Int(value), flag)
            case "--seconds": seconds = try Self.parse(Double(value), flag)
            case "--concurrency": concurrency = try Self.parse(Int(value), flag)
            default:
                throw BenchError(
                    "unknown option \(flag); use --calls N, --seconds S, --concurrency C, --calls-on-pool, --foundation-json"
                )
            }
        }
    }

    static func parse<T: Comparable & Numeric>(_ value: T?, _ flag: String) throws -> T {
        guard let value, value > 0 else { throw BenchError("\(flag) needs a positive number") }
        return value
    }
}

/// The coordinator side of the benchmark: takes reports and answers at once, as a follower would.
distributed actor BenchCoordinator: CoordinatorEndpoint {
    typealias ActorSystem = WireActorSystem
    private var received = 0

    distributed func report(_ report: AgentReport) async throws -> ReportAcknowledgement {
        received += 1
        return ReportAcknowledgement(coordinator: "coord-1", isLeader: true, epoch: FencingEpoch(7))
    }
}

/// The smallest useful call: a number there and back (the envelope and the hops, with almost no coding).
distributed actor BenchPinger {
    typealias ActorSystem = WireActorSystem

    distributed func ping(_ sequence: UInt64) -> UInt64 { sequence }
}

extension WireEndpoint {
    static let benchPinger = WireEndpoint(
        stub: BenchPinger.self,
        callers: [.agent],
        isImplemented: { $0 is BenchPinger },
        calls: [
            WireCall("bench.ping", swift: "ping(_:)") { (pinger: BenchPinger, arguments) in
                try await pinger.ping(arguments.next())
            }
        ]
    )
}

/// A report of a 4-node cluster with pending pods and a notice: about the size agents send every 5 s.
func sampleReport() -> ClusterReport {
    let now = Timestamp(year: 2026, month: 11, day: 25, hour: 1)
    let types = ["m6i.large", "m6i.xlarge", "c6i.xlarge", "r6i.large"]
    let zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    let nodes = (0..<4).map { index in
        NodeReport(
            name: "ip-10-0-\(index)-17.eu-west-1.compute.internal",
            instanceID: "i-0abc\(index)def0123456",
            instanceType: types[index % types.count],
            market: index < 2 ? .onDemand : .spot,
            availabilityZone: zones[index % zones.count],
            state: .ready,
            launchedAt: now - .seconds(3600 * (index + 1)),
            allocatable: Resources(cpuMillicores: 1930, memoryBytes: 7_500 << 20),
            requested: Resources(cpuMillicores: 1200 + 50 * index, memoryBytes: (4_000 + 100 * index) << 20),
            podCount: 11 + index
        )
    }
    return ClusterReport(
        clusterID: "eu-web",
        region: "eu-west-1",
        availabilityZones: zones,
        nodes: nodes,
        pending: PendingPods(count: 4, totalRequests: .vcpu(2, gib: 4), largestRequest: .vcpu(1, gib: 2)),
        utilisation: Utilisation(cpu: 0.71, memory: 0.64),
        observedAt: now,
        launchToReadyP90: .seconds(95)
    )
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

let options = try Options(arguments: CommandLine.arguments)
let report = AgentReport(cluster: sampleReport(), highestEpochSeen: FencingEpoch(7))
let reportBytes = try Array(JSONEncoder().encode(report))

// The floor: a bare NIO echo of the report's bytes.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let echoServer = try await EchoFloor.startServer(group: group)
let echoPort = echoServer.localAddress!.port!

// The same bytes as the argument of a distributed call over the wire (HMAC handshake, envelopes, call table).
let secret = SymmetricKey(data: Array("bench-secret-bench-secret-bench!".utf8))
func makeConfiguration(_ node: String, _ role: WireRole) -> WireActorSystem.Configuration {
    var configuration = FleetAPI.wireConfiguration(nodeID: node, role: role, secrets: .shared(secret))
    configuration.endpoints.append(.benchPinger)
    if options.foundationJSON { configuration.jsonCoders = [] }
    configuration.runsIncomingCallsOnEventLoop = !options.callsOnPool
    configuration.connection.maxCallsInFlight = max(1024, options.concurrency * 2)
    return configuration
}
var quiet = Logger(label: "wire-bench")
quiet.logLevel = .error
let coordinatorSystem = try WireActorSystem(
    configuration: makeConfiguration("coord-1", .coordinator),
    eventLoopGroup: group,
    logger: quiet
)
let agentSystem = try WireActorSystem(
    configuration: makeConfiguration("agent-eu-1", .agent),
    eventLoopGroup: group,
    logger: quiet
)
let coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
    BenchCoordinator(actorSystem: coordinatorSystem)
}
let address = try await coordinatorSystem.listen(host: "127.0.0.1", port: 0)
_ = try await agentSystem.connect(host: "127.0.0.1", port: address.port!)
let remote = try $CoordinatorEndpoint.resolve(
    id: WireActorSystem.wellKnownID(node: "coord-1", name: WireActorSystem.WellKnownName.coordinator),
    using: agentSystem
)

func measureCalls(_ count: Int) async throws -> [UInt64] {
    var samples: [UInt64] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let start = ContinuousClock.now
        _ = try await remote.report(report)
        samples.append((ContinuousClock.now - start).nanoseconds)
    }
    return samples
}
// Echo and call in alternating blocks, so that both see the same load on a shared machine and the ratio holds
// even when the load changes during the run.
_ = try await EchoFloor.measureRoundTrips(group: group, port: echoPort, payload: reportBytes, count: 2_000)
_ = try await measureCalls(2_000)
var echo: [UInt64] = []
var calls: [UInt64] = []
let blocks = 10
for block in 0..<blocks {
    let count = options.calls / blocks + (block < options.calls % blocks ? 1 : 0)
    echo += try await EchoFloor.measureRoundTrips(group: group, port: echoPort, payload: reportBytes, count: count)
    calls += try await measureCalls(count)
}
echo.sort()
calls.sort()
try await echoServer.close().get()

// Pipelined: many calls in flight on the one connection, for a fixed time.
func pipelined(_ call: @escaping @Sendable () async throws -> Void) async throws -> (calls: Int, seconds: Double) {
    let deadline = ContinuousClock.now + .milliseconds(Int(options.seconds * 1000))
    let start = ContinuousClock.now
    let completed = try await withThrowingTaskGroup(of: Int.self) { tasks in
        for _ in 0..<options.concurrency {
            tasks.addTask {
                var done = 0
                while ContinuousClock.now < deadline {
                    try await call()
                    done += 1
                }
                return done
            }
        }
        var total = 0
        for try await done in tasks { total += done }
        return total
    }
    return (completed, Double((ContinuousClock.now - start).nanoseconds) / 1e9)
}
let localPinger = coordinatorSystem.withWellKnownName("ping") { BenchPinger(actorSystem: coordinatorSystem) }
let pinger = try BenchPinger.resolve(id: WireActorSystem.wellKnownID(node: "coord-1", name: "ping"), using: agentSystem)
let reportPipeline = try await pipelined { _ = try await remote.report(report) }
let pingPipeline = try await pipelined { _ = try await pinger.ping(42) }

await agentSystem.shutdown()
await coordinatorSystem.shutdown()
_ = coordinator
_ = localPinger
try await group.shutdownGracefully()

let echoP50 = percentile(echo, 0.5)
let echoP99 = percentile(echo, 0.99)
let callP50 = percentile(calls, 0.5)
let callP99 = percentile(calls, 0.99)
print("wire-bench: \(reportBytes.count)-byte report, \(options.calls) sequential round trips each, loopback")
print(
    "incoming calls run on \(options.callsOnPool ? "the cooperative pool" : "the event loop"), report coded by "
        + (options.foundationJSON ? "Foundation" : "the hand-written coder")
)
print("")
print("| measurement | p50 (µs) | p99 (µs) |")
print("| --- | ---: | ---: |")
print("| bare NIO echo of the same bytes (floor) | \(format(echoP50)) | \(format(echoP99)) |")
print("| distributed call `report(_:)` | \(format(callP50)) | \(format(callP99)) |")
print("| ratio call / echo | \(format(callP50 / echoP50, 2))x | \(format(callP99 / echoP99, 2))x |")
print("")
print("")
print("| pipelined over one connection, \(options.concurrency) calls in flight | calls | seconds | calls/s |")
print("| --- | ---: | ---: | ---: |")
for (name, result) in [("`report(_:)` with the report", reportPipeline), ("`ping(_:)` with a number", pingPipeline)] {
    print(
        "| \(name) | \(result.calls) | \(format(result.seconds, 2)) | \(format(Double(result.calls) / result.seconds, 0)) |"
    )
}
