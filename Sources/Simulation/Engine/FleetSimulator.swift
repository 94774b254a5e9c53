import Clocks
import ClusterAgent
import Cost
import Scenarios
import SimulationReport

/// Runs a scenario under each asked-for policy, each on a world of its own built from the same scenario and seed,
/// in virtual time, and measures them alike (`SimulationResult`). The oracle is computed from the demand, not
/// simulated.
///
/// How time moves: the engine advances the world's `ManualClock` to the next thing due (a sleeping service's
/// deadline, a policy's tick, the next whole minute), then lets every task that woke run until the fleet is quiet
/// again (`settle`), so a week of virtual time runs in seconds and a step never races the next.
public struct FleetSimulator: Sendable {
    public struct Options: Sendable {
        public var policies: [PolicyKind]
        /// Minutes per sample in the result's series.
        public var sampleMinutes: Int
        /// Called about once per simulated hour: the policy, the fraction of its run done.
        public var progress: (@Sendable (String, Double) -> Void)?

        public init(
            policies: [PolicyKind] = PolicyKind.allCases,
            sampleMinutes: Int = 5,
            progress: (@Sendable (String, Double) -> Void)? = nil
        ) {
            self.policies = policies
            self.sampleMinutes = sampleMinutes
            self.progress = progress
        }
    }

    public let scenario: Scenario
    public let catalog: PriceCatalog
    public let options: Options

    public init(scenario: Scenario, catalog: PriceCatalog, options: Options = Options()) {
        self.scenario = scenario
        self.catalog = catalog
        self.options = options
    }

    public func run() async throws -> SimulationResult {
        var runs: [PolicyRun] = []
        for kind in options.policies where kind != .oracle {
            guard let policy = kind.make() else { continue }
            runs.append(try await run(policy))
        }
        let oracle = try OracleRun(scenario: scenario, catalog: catalog, sampleMinutes: options.sampleMinutes)
        let reference = try staticOnDemandReference()
        var results: [PolicyResult] = []
        let oracleCost = options.policies.contains(.oracle) ? oracle.books.fleetCost : nil
        for run in runs {
            results.append(run.result(oracleCost: oracleCost, reference: reference))
        }
        if options.policies.contains(.oracle) {
            results.append(oracle.result(reference: reference))
        }
        return SimulationResult(
            scenario: scenario.name,
            description: scenario.description,
            seed: scenario.seed,
            durationMinutes: scenario.durationMinutes,
            sampleMinutes: options.sampleMinutes,
            start: scenario.start,
            monthlyBudgetUSD: scenario.budget?.monthlyUSD,
            clusters: scenario.clusters.map(\.id.rawValue),
            policies: results,
            events: scenario.events.map { EventMark(minute: $0.at, label: $0.kind.label) }
        )
    }

    /// What an all-on-demand static fleet sized for the peak costs over the run, per cluster.
    func staticOnDemandReference() throws -> [ClusterID: Double] {
        var costs: [ClusterID: Double] = [:]
        for spec in scenario.clusters {
            let demand = try DemandModel(spec: spec, in: scenario)
            let type = spec.instanceTypes[0]
            let room =
                WorldCluster.allocatable(of: type, region: spec.region, catalog: catalog)
                - Resources(cpuMillicores: 100, memoryBytes: 128 << 20)
            let nodes = max(
                spec.minNodes,
                PolicyMath.nodes(
                    forPods: demand.peakPods(minutes: scenario.durationMinutes),
                    request: spec.podRequest,
                    room: room
                )
            )
            let price = catalog.onDemandUSDPerHour(region: spec.region, instanceType: type) ?? 0
            costs[spec.id] = Double(nodes) * price * Double(scenario.durationMinutes) / 60
        }
        return costs
    }

    /// One policy's run and the world it ran on, for a caller that wants to look inside (the tests).
    public struct Outcome: Sendable {
        public var result: PolicyResult
        public var world: SimulationWorld
    }

    /// Runs `policy` (an instance the caller keeps, to look at afterwards) over the scenario.
    public func run(policy: any ScalingPolicy) async throws -> Outcome {
        let (run, world) = try await runWithWorld(policy)
        return Outcome(result: run.result(oracleCost: nil, reference: try staticOnDemandReference()), world: world)
    }

    /// Runs one policy over the whole scenario, every job of it on one thread of its own.
    func run(_ policy: any ScalingPolicy) async throws -> PolicyRun {
        try await runWithWorld(policy).run
    }

    func runWithWorld(_ policy: any ScalingPolicy) async throws -> (run: PolicyRun, world: SimulationWorld) {
        let executor = SimulationExecutor()
        defer { executor.shutdown() }
        return try await withTaskExecutorPreference(executor) {
            try await run(policy, on: executor)
        }
    }

    func run(
        _ policy: any ScalingPolicy,
        on executor: SimulationExecutor
    ) async throws -> (
        run: PolicyRun, world: SimulationWorld
    ) {
        let world = try await SimulationWorld(scenario: scenario, catalog: catalog)
        let clock = world.clock
        let origin = clock.now
        var books = PolicyBooks(
            policy: policy.name,
            title: policy.title,
            scenario: scenario,
            sampleMinutes: options.sampleMinutes
        )
        var interruptions = InterruptionDice(scenario: scenario)
        let services = try await policy.start(in: world)
        await withTaskGroup(of: Void.self) { group in
            for cluster in world.clusters {
                group.addTask { try? await cluster.drains.run() }
            }
            for service in services { group.addTask { await service() } }
            await settle(world, policy, executor)
            var nextTick = policy.tickInterval.map { origin.advanced(by: $0) }
            var pending = scenario.events
            var restores: [(at: Int, kind: ScenarioEvent.Kind)] = []
            for minute in 0..<scenario.durationMinutes {
                // The world's minute: what the scenario makes happen, then the cloud's dice, then the books.
                for restore in restores where restore.at == minute { await world.restore(restore.kind) }
                restores.removeAll { $0.at == minute }
                while let event = pending.first, event.at <= minute {
                    pending.removeFirst()
                    if let end = await world.apply(event, policy: policy, books: &books, dice: &interruptions) {
                        restores.append((end, event.kind))
                    }
                }
                await interruptions.roll(world: world, minute: minute, policy: policy, books: &books)
                await settle(world, policy, executor)
                await books.record(world: world, minute: minute)
                if minute % 60 == 59, let progress = options.progress {
                    progress(policy.name, Double(minute + 1) / Double(scenario.durationMinutes))
                }
                // Then everything due within the minute, in time order.
                let end = origin.advanced(by: .seconds(60 * (minute + 1)))
                while true {
                    let due = [clock.nextDeadline, nextTick].compactMap { $0 }.min()
                    guard let due, due <= end else { break }
                    clock.advance(to: due)
                    await settle(world, policy, executor)
                    if let tick = nextTick, tick <= due {
                        await policy.tick(in: world)
                        await settle(world, policy, executor)
                        nextTick = tick.advanced(by: policy.tickInterval ?? .seconds(60))
                    }
                }
                clock.advance(to: end)
                await settle(world, policy, executor)
                if minute % 60 == 0 { for cluster in world.clusters { cluster.cloud.compact() } }
            }
            await policy.stop()
            group.cancelAll()
        }
        await books.finish(world: world)
        return (PolicyRun(books: books), world)
    }

    /// Lets every task woken by the last step run until the fleet is quiet: the executor has nothing queued while
    /// the engine runs, and nothing moved (clock sleepers, cloud versions, cluster activity) over two such rounds.
    func settle(_ world: SimulationWorld, _ policy: any ScalingPolicy, _ executor: SimulationExecutor) async {
        func signature() -> [Int] {
            var values = [world.clock.sleeperCount]
            for cluster in world.clusters {
                values.append(cluster.cloud.version)
                values.append(cluster.kube.activity)
            }
            return values
        }
        var last = signature()
        var quiet = 0
        while quiet < 2 {
            await Task.yield()
            guard executor.pendingJobs == 0 else {
                quiet = 0
                continue
            }
            await policy.quiesce()
            let now = signature()
            if now == last && executor.pendingJobs == 0 {
                quiet += 1
            } else {
                quiet = 0
                last = now
            }
        }
    }
}

extension ScenarioEvent.Kind {
    /// A short label for the charts.
    public var label: String {
        switch self {
        case .zoneOutage(let zone, let minutes): "\(zone) out \(Self.span(minutes))"
        case .regionOutage(let region, let minutes): "\(region) out \(Self.span(minutes))"
        case .priceChange(let region, let zone, let type, let factor):
            "spot ×\(Self.decimal(factor)) \([zone ?? region, type].compactMap { $0 }.joined(separator: " "))"
        case .spotStorm(let zone, let type, let minutes, _):
            "spot storm \(zone)\(type.map { " " + $0 } ?? "") \(Self.span(minutes))"
        case .capacityShortage(let zone, let type, _, let minutes):
            "no capacity \(zone)\(type.map { " " + $0 } ?? "") \(Self.span(minutes))"
        case .budgetChange(let region, let usd): "budget \(region.map { $0 + " " } ?? "")$\(Int(usd))/month"
        case .failover(let from, let to): "failover \(from) → \(to)"
        case .failback(let from): "failback \(from)"
        }
    }

    static func span(_ minutes: Int) -> String {
        minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes) min"
    }

    static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
