import Clocks
import Consensus
import Cost
import Crypto
import FleetAPI
import Foundation
import Logging
import Testing
import Wire
import WireFormat

@testable import Coordinator

@Suite("coordinator admin")
struct AdminTests {
    struct Replica {
        let hub: WireHub
        let system: WireActorSystem
        let coordinator: CoordinatorActor
        let leadership: ManualLeadership
        let admin: any CoordinatorAdminEndpoint
        let adminSystem: WireActorSystem

        func shutdown() async {
            await adminSystem.shutdown()
            await system.shutdown()
        }
    }

    static let secret = SymmetricKey(data: Array("admin-test-secret-0123456789abcd".utf8))

    static func system(_ node: String, _ role: WireRole, on hub: WireHub) throws -> WireActorSystem {
        try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: node, role: role, secrets: .shared(secret)),
            hub: hub
        )
    }

    static func replica(
        _ node: String = "coord-1",
        store: any FleetStateStore,
        budget: FleetBudget? = FleetBudget(monthlyUSD: 5_000)
    ) throws -> Replica {
        let hub = WireHub()
        let system = try Self.system(node, .coordinator, on: hub)
        let adminSystem = try Self.system("coordctl-1", .admin, on: hub)
        let leadership = ManualLeadership()
        let catalog = try PriceCatalog.bundled()
        let coordinator = system.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: system,
                settings: .init(
                    clusters: ["eu-web": (region: "eu-west-1", policy: ClusterPolicy())],
                    budget: budget,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: ManualClock(),
                leadership: leadership,
                stateStore: store,
                logger: Logger(label: "test")
            )
        }
        let admin = try $CoordinatorAdminEndpoint.resolve(id: coordinator.id, using: adminSystem)
        return Replica(
            hub: hub,
            system: system,
            coordinator: coordinator,
            leadership: leadership,
            admin: admin,
            adminSystem: adminSystem
        )
    }

    @Test("a follower refuses a change and names the leader; the leader writes it, and it holds after a takeover")
    func budgetAcrossLeaders() async throws {
        let store = InMemoryFleetStateStore()
        let first = try Self.replica(store: store)
        await #expect(throws: NotLeaderError.self) { _ = try await first.admin.setBudget(FleetBudget(monthlyUSD: 900)) }
        first.leadership.set(FencingEpoch(1))
        let set = try await first.admin.setBudget(FleetBudget(monthlyUSD: 900, regionalMonthlyUSD: ["eu-west-1": 400]))
        #expect(set?.monthlyUSD == 900)
        #expect(try await first.admin.budget()?.regionalMonthlyUSD["eu-west-1"] == 400)

        // Another replica takes over: it plans with what the first stored, not with its configuration file.
        let second = try Self.replica("coord-2", store: store)
        second.leadership.set(FencingEpoch(2))
        _ = await second.coordinator.whenLocal { await $0.planAndCommand() }
        #expect(try await second.admin.budget()?.monthlyUSD == 900)
        // The deposed leader's write is refused by the store.
        await #expect(throws: NotLeaderError.self) { _ = try await first.admin.setBudget(FleetBudget(monthlyUSD: 100)) }
        #expect(try await second.admin.budget()?.monthlyUSD == 900)
        await first.shutdown()
        await second.shutdown()
    }

    @Test("a policy change is validated, applied over the file's policy, and journalled with its reason")
    func policyAndJournal() async throws {
        let replica = try Self.replica(store: InMemoryFleetStateStore())
        replica.leadership.set(FencingEpoch(3))
        let changed = try await replica.admin.updatePolicy("eu-web", PolicyChange(minNodes: 4, maxNodes: 12))
        #expect(changed.minNodes == 4 && changed.maxNodes == 12)
        #expect(changed.onDemandBase == ClusterPolicy().onDemandBase)
        await #expect {
            _ = try await replica.admin.updatePolicy("eu-web", PolicyChange(maxNodes: 2))
        } throws: { ($0 as? CommandRejectedError)?.reason == .invalid }
        await #expect {
            _ = try await replica.admin.updatePolicy("nowhere", PolicyChange(paused: true))
        } throws: { ($0 as? CommandRejectedError)?.reason == .wrongCluster }
        let knobs = try await replica.admin.updatePolicy(
            "eu-web",
            PolicyChange(targetUtilisation: 0.6, maxEvictionsPerHour: 20, scaleDownUnneededSeconds: 900)
        )
        #expect(knobs.targetUtilisation == 0.6 && knobs.maxEvictionsPerHour == 20)
        #expect(knobs.scaleDownUnneeded == .seconds(900) && knobs.minNodes == 4)
        _ = try await replica.admin.updatePolicy("eu-web", PolicyChange(paused: true))
        #expect(try await replica.admin.policy("eu-web").paused)
        let events = try await replica.admin.events(after: 0, cluster: "eu-web", limit: 10)
        #expect(events.map(\.kind) == ["policy", "policy", "policy"])
        #expect(events.last?.message.contains("paused") == true)
        #expect(events.allSatisfy { $0.epoch == FencingEpoch(3) })
        #expect(try await replica.admin.events(after: events[0].sequence, cluster: nil, limit: 10).count == 2)
        await replica.shutdown()
    }

    @Test("a budget that is not positive is refused with the model's reason")
    func invalidBudget() async throws {
        let replica = try Self.replica(store: InMemoryFleetStateStore())
        replica.leadership.set(FencingEpoch(1))
        await #expect {
            _ = try await replica.admin.setBudget(FleetBudget(monthlyUSD: 0))
        } throws: { ($0 as? CommandRejectedError)?.message.contains("positive") == true }
        #expect(try await replica.admin.budget()?.monthlyUSD == 5_000)
        await replica.shutdown()
    }

    @Test("the leader's durable state goes through the lease's own store, fenced by its epoch (SQLite)")
    func sqliteFencedState() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-admin-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let lease = try SQLiteLeaseStore(path: directory.appendingPathComponent("lease.sqlite").path)
        let holder = LeaseHolder(id: "coord-1#a", address: "127.0.0.1:7400")
        let record = LeaseRecord(
            fleet: "prod",
            holder: holder,
            version: .random(),
            leaseDuration: .seconds(10),
            epoch: FencingEpoch(4)
        )
        #expect(try await lease.write(record, replacing: nil) == .written)
        let store = LeaseBackedStateStore(store: lease, fleet: "prod", holder: holder.id, pageSize: 3, pages: 2)
        var state = DurableFleetState()
        state.budgetOverride = .init(budget: FleetBudget(monthlyUSD: 1_234))
        #expect(try await store.save(state, epoch: FencingEpoch(4)))
        #expect(try await store.load() == state)
        // A stale epoch, or another holder, is refused.
        #expect(try await store.save(DurableFleetState(), epoch: FencingEpoch(3)) == false)
        let impostor = LeaseBackedStateStore(store: lease, fleet: "prod", holder: "coord-2#b")
        #expect(try await impostor.save(DurableFleetState(), epoch: FencingEpoch(4)) == false)
        #expect(try await store.load() == state)
        // The journal is a bounded ring of pages: 8 entries in pages of 3 (1–2, 3–5, 6–8), 2 pages kept: the
        // oldest page is overwritten by the newest.
        let entries = (1...8).map {
            JournalEntry(
                sequence: UInt64($0),
                time: Timestamp(sinceEpoch: .seconds(Int64($0))),
                cluster: nil,
                kind: "test",
                message: "entry \($0)",
                epoch: FencingEpoch(4)
            )
        }
        for entry in entries { #expect(try await store.append([entry], epoch: FencingEpoch(4))) }
        let kept = try await store.journal()
        #expect(kept.map(\.sequence) == [3, 4, 5, 6, 7, 8])
    }
}

@Suite("coordinator forecasts")
struct ForecastWiringTests {
    @Test("reports teach every replica the demand profile; the leader stores it and a restarted replica reads it")
    func demandHistory() async throws {
        let store = InMemoryFleetStateStore()
        let first = try AdminTests.replica(store: store)
        let agentSystem = try AdminTests.system("eu-web", .agent, on: first.hub)
        let remote = try $CoordinatorEndpoint.resolve(id: first.coordinator.id, using: agentSystem)
        let clock = try #require(await first.coordinator.whenLocal { $0.clock as? ManualClock } ?? nil)
        // Two hours of reports, one a minute.
        for _ in 0..<120 {
            let report = try await FixedCluster().observe(at: clock.timestamp)
            _ = try await remote.report(AgentReport(cluster: report))
            clock.advance(by: Duration.seconds(60))
        }
        let forecasts = try #require(await first.coordinator.whenLocal { $0.forecasts(at: clock.timestamp) })
        let expected = try await FixedCluster().observe(at: clock.timestamp)
        let requested = expected.nodes.reduce(expected.pending.totalRequests) { $0 + $1.requested }
        #expect(forecasts["eu-web"]?.cpuMillicores == requested.cpuMillicores)

        first.leadership.set(FencingEpoch(1))
        _ = await first.coordinator.whenLocal { await $0.planAndCommand() }
        #expect(try await store.forecasters()["eu-web"] != nil)

        let restarted = try AdminTests.replica("coord-2", store: store)
        restarted.leadership.set(FencingEpoch(2))
        _ = await restarted.coordinator.whenLocal { await $0.planAndCommand() }
        let learnt = await restarted.coordinator.whenLocal { $0.forecasters["eu-web"] }
        #expect(learnt != nil)
        await agentSystem.shutdown()
        await first.shutdown()
        await restarted.shutdown()
    }
}

@Suite("coordinator spend")
struct SpendWiringTests {
    @Test("month-to-date and the budget alerts given survive a restart and a change of leader: none is given twice")
    func spendAcrossLeaders() async throws {
        let store = InMemoryFleetStateStore()
        let budget = FleetBudget(monthlyUSD: 50)
        let first = try AdminTests.replica(store: store, budget: budget)
        let agentSystem = try AdminTests.system("eu-web", .agent, on: first.hub)
        let remote = try $CoordinatorEndpoint.resolve(id: first.coordinator.id, using: agentSystem)
        let clock = try #require(await first.coordinator.whenLocal { $0.clock as? ManualClock } ?? nil)
        first.leadership.set(FencingEpoch(1))
        for _ in 0..<30 {
            _ = try await remote.report(AgentReport(cluster: try await FixedCluster().observe(at: clock.timestamp)))
            clock.advance(by: Duration.seconds(60))
        }
        _ = await first.coordinator.whenLocal { await $0.planAndCommand() }
        let spent = await first.coordinator.whenLocal { $0.ledger.monthToDateUSD(.fleet) } ?? 0
        let alerts = await first.coordinator.whenLocal { $0.journal.filter { $0.kind == "budget-alert" } } ?? []
        #expect(spent > 0)
        #expect(!alerts.isEmpty)  // The projection is far over 50 USD.
        #expect(try await store.spend()?.fleetMonthToDateUSD == spent)

        // A replica started afresh on the same store takes over before any agent has reported to it.
        let second = try AdminTests.replica("coord-2", store: store, budget: budget)
        let secondClock = try #require(await second.coordinator.whenLocal { $0.clock as? ManualClock } ?? nil)
        secondClock.advance(by: Duration.seconds(30 * 60))
        second.leadership.set(FencingEpoch(2))
        _ = await second.coordinator.whenLocal { await $0.planAndCommand() }
        let restored = await second.coordinator.whenLocal { $0.ledger.monthToDateUSD(.fleet) } ?? 0
        #expect(restored == spent)
        let repeated = await second.coordinator.whenLocal {
            $0.journal.filter { $0.kind == "budget-alert" && $0.epoch == FencingEpoch(2) }
        }
        #expect(repeated?.isEmpty == true)
        await agentSystem.shutdown()
        await first.shutdown()
        await second.shutdown()
    }
}

@Suite("coordinator failover")
struct FailoverTests {
    @Test("a region failed over hands its clusters' demand to the target in the next plan; failback ends it")
    func regionFailover() async throws {
        let hub = WireHub()
        let system = try AdminTests.system("coord-1", .coordinator, on: hub)
        let agents = try AdminTests.system("eu-web", .agent, on: hub)
        let usAgent = try AdminTests.system("us-api", .agent, on: hub)
        let leadership = ManualLeadership()
        leadership.set(FencingEpoch(1))
        let clock = ManualClock()
        let catalog = try PriceCatalog.bundled()
        let coordinator = system.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: system,
                settings: .init(
                    clusters: [
                        "eu-web": (region: "eu-west-1", policy: ClusterPolicy()),
                        "us-api": (region: "us-east-1", policy: ClusterPolicy()),
                    ],
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: clock,
                leadership: leadership,
                logger: Logger(label: "test")
            )
        }
        let eu = try await FixedCluster(id: "eu-web").observe(at: clock.timestamp)
        var us = try await FixedCluster(id: "us-api").observe(at: clock.timestamp)
        us.region = "us-east-1"
        us.availabilityZones = ["us-east-1a", "us-east-1b"]
        us.pending = .none
        for index in us.nodes.indices {
            us.nodes[index].availabilityZone = us.availabilityZones[index % 2]
            us.nodes[index].requested = .vcpu(0.5, gib: 1)
        }
        // Measured as lightly as it is requested (0.5 of 2 vCPU, 1 of 8 GiB): the planner sizes to measured use too.
        us.utilisation = Utilisation(cpu: 0.25, memory: 0.125)
        _ = try await $CoordinatorEndpoint.resolve(id: coordinator.id, using: agents).report(AgentReport(cluster: eu))
        _ = try await $CoordinatorEndpoint.resolve(id: coordinator.id, using: usAgent).report(AgentReport(cluster: us))

        let before = try #require(await coordinator.whenLocal { $0.plan() })
        #expect(before.clusters.first { $0.cluster == "us-api" }?.launches.isEmpty == true)

        let state = try await coordinator.failover(FailoverRequest(region: "eu-west-1", targets: ["us-api"]))
        #expect(state.failedRegions == ["eu-west-1"])
        let during = try #require(await coordinator.whenLocal { $0.plan() })
        #expect(during.clusters.first { $0.cluster == "eu-web" }?.status == .regionFailed)
        #expect(during.clusters.first { $0.cluster == "us-api" }?.launches.isEmpty == false)

        await #expect {
            _ = try await coordinator.failover(FailoverRequest(region: "eu-west-1", targets: ["eu-web"]))
        } throws: { ($0 as? CommandRejectedError)?.reason == .invalid }

        #expect(try await coordinator.failback(FailoverRequest(region: "eu-west-1")).failedRegions.isEmpty)
        let after = try #require(await coordinator.whenLocal { $0.plan() })
        #expect(after.clusters.first { $0.cluster == "eu-web" }?.status == .planned)
        // A cluster on its own, too.
        _ = try await coordinator.failover(FailoverRequest(cluster: "eu-web", targets: ["us-api"]))
        let clusterDown = try #require(await coordinator.whenLocal { $0.plan() })
        #expect(clusterDown.clusters.first { $0.cluster == "eu-web" }?.status == .failedOver)
        #expect(clusterDown.clusters.first { $0.cluster == "us-api" }?.launches.isEmpty == false)
        _ = try await coordinator.failback(FailoverRequest(cluster: "eu-web"))
        let journal = try await coordinator.events(after: 0, cluster: nil, limit: 10).map(\.message)
        #expect(journal.contains { $0.contains("region eu-west-1 failed over: eu-web → us-api") })
        await agents.shutdown()
        await usAgent.shutdown()
        await system.shutdown()
    }
}
