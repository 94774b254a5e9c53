import Clocks
import ClusterAgent
import Cost
import Scenarios

/// The cloud's chance of reclaiming spot instances: every live spot instance is interrupted with probability
/// rate / 60 each minute, at the scenario's calm rate or a storm's while one is on in its pool; an interrupted
/// instance gets EC2's two-minute notice on its cluster's queue (after a rebalance recommendation, for the
/// scenario's share of them) and is reclaimed two minutes later unless its owner terminated it first.
struct InterruptionDice: Sendable {
    struct Storm: Sendable {
        var zone: String
        var instanceType: String?
        var until: Int
        var rate: Double
    }

    var random: SeededRandom
    var storms: [Storm] = []
    let calmRate: Double
    let rebalanceShare: Double
    private var noticed: Set<String> = []

    init(scenario: Scenario) {
        random = SeededRandom(seed: scenario.seed ^ 0x1a7e_2a0d_5eed)
        calmRate = scenario.cloud.interruptionsPerInstanceHour
        rebalanceShare = scenario.cloud.rebalanceShare
    }

    mutating func uniform() -> Double { Double(random.next() >> 11) / 9_007_199_254_740_992 }

    func rate(zone: String, instanceType: String, minute: Int) -> Double {
        var rate = calmRate
        for storm in storms
        where storm.until > minute && storm.zone == zone && (storm.instanceType ?? instanceType) == instanceType {
            rate = max(rate, storm.rate)
        }
        return rate
    }

    mutating func roll(world: SimulationWorld, minute: Int, policy: any ScalingPolicy, books: inout PolicyBooks) async {
        storms.removeAll { $0.until <= minute }
        let deadline = world.clock.now.advanced(by: .seconds(120))
        let deadlineStamp = world.clock.timestamp + .seconds(120)
        for (index, cluster) in world.clusters.enumerated() {
            for instance in cluster.cloud.liveInstances()
            where instance.market == .spot && instance.state == .running && !noticed.contains(instance.instanceID) {
                let p = rate(zone: instance.availabilityZone, instanceType: instance.instanceType, minute: minute) / 60
                guard uniform() < p else { continue }
                guard cluster.cloud.scheduleReclaim(instance.instanceID, at: deadline) else { continue }
                noticed.insert(instance.instanceID)
                books.interrupted(cluster: index)
                if uniform() < rebalanceShare {
                    let message = cluster.queue.push(.rebalanceRecommendation(instanceID: instance.instanceID))
                    await policy.interruption(message, in: cluster, world: world)
                }
                let message = cluster.queue.push(
                    .spotInterruption(instanceID: instance.instanceID, deadline: deadlineStamp)
                )
                await policy.interruption(message, in: cluster, world: world)
            }
        }
    }
}

extension SimulationWorld {
    /// Makes a scenario event happen now; returns the minute it ends, when it does.
    func apply(
        _ event: ScenarioEvent,
        policy: any ScalingPolicy,
        books: inout PolicyBooks,
        dice: inout InterruptionDice
    ) async -> Int? {
        switch event.kind {
        case .zoneOutage(let zone, let minutes):
            for cluster in clusters where cluster.spec.zones.contains(zone) { cluster.cloud.failZone(zone) }
            return event.at + minutes
        case .regionOutage(let region, let minutes):
            for cluster in clusters where cluster.spec.region == region {
                cluster.setDown(true)
                for zone in cluster.spec.zones { cluster.cloud.failZone(zone) }
            }
            return event.at + minutes
        case .priceChange(let region, let zone, let type, let factor):
            market.change(region: region, zone: zone, instanceType: type, factor: factor)
            return nil
        case .spotStorm(let zone, let type, let minutes, let rate):
            dice.storms.append(.init(zone: zone, instanceType: type, until: event.at + minutes, rate: rate))
            return nil
        case .capacityShortage(let zone, let type, let market, let minutes):
            for cluster in clusters where cluster.spec.zones.contains(zone) {
                for pool in Self.pools(cluster.spec, zone: zone, type: type, market: market) {
                    cluster.cloud.injectFailure(
                        CloudError(
                            .insufficientCapacity,
                            cloudCode: "InsufficientInstanceCapacity",
                            "We currently do not have sufficient \(pool.instanceType) capacity in \(zone)."
                        ),
                        for: pool
                    )
                }
            }
            return event.at + minutes
        case .budgetChange(let region, let usd):
            books.budgetChanged(region: region, monthlyUSD: usd)
            await policy.operatorEvent(event.kind, world: self)
            return nil
        case .failover, .failback:
            await policy.operatorEvent(event.kind, world: self)
            return nil
        }
    }

    /// Ends an event that lasts: the zone or region returns, the pools have capacity again.
    func restore(_ kind: ScenarioEvent.Kind) async {
        switch kind {
        case .zoneOutage(let zone, _):
            for cluster in clusters where cluster.spec.zones.contains(zone) { cluster.cloud.restoreZone(zone) }
        case .regionOutage(let region, _):
            for cluster in clusters where cluster.spec.region == region {
                for zone in cluster.spec.zones { cluster.cloud.restoreZone(zone) }
                cluster.setDown(false)
            }
        case .capacityShortage(let zone, let type, let market, _):
            for cluster in clusters where cluster.spec.zones.contains(zone) {
                for pool in Self.pools(cluster.spec, zone: zone, type: type, market: market) {
                    cluster.cloud.clearFailure(pool)
                }
            }
        default:
            return
        }
    }

    static func pools(_ spec: ScenarioCluster, zone: String, type: String?, market: Market?) -> [SimulatedCloud.Pool] {
        let types = type.map { [$0] } ?? spec.instanceTypes
        let markets = market.map { [$0] } ?? [.onDemand, .spot]
        return types.flatMap { type in
            markets.map { SimulatedCloud.Pool(instanceType: type, market: $0, availabilityZone: zone) }
        }
    }
}
