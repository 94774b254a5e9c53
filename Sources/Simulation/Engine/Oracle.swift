import Cost
import Scenarios
import SimulationReport

/// The physical limit: perfect foresight, minute by minute exactly the nodes each minute's demand needs (pods'
/// requests over the target utilisation, on the cluster's first instance type), no boot delay, never a pending
/// pod, in the cluster's market mix (the on-demand base, the spot share above it, spot in the cheapest zone of the
/// minute), at least two nodes per cluster. No policy can beat it; every policy's cost is reported over it.
struct OracleRun: Sendable {
    var books: PolicyBooks
    static let targetUtilisation = ClusterPolicy().targetUtilisation

    init(scenario: Scenario, catalog: PriceCatalog, sampleMinutes: Int) throws {
        books = PolicyBooks(
            policy: "oracle",
            title: "Oracle: perfect foresight, no boot delay, exactly the nodes each minute needs (the limit)",
            scenario: scenario,
            sampleMinutes: sampleMinutes
        )
        let market = ScenarioMarket(catalog: catalog, volatility: scenario.cloud.spotPriceVolatility)
        let demands = try scenario.clusters.map { try DemandModel(spec: $0, in: scenario) }
        let daemonSet = Resources(cpuMillicores: 100, memoryBytes: 128 << 20)
        var previous: [Int?] = Array(repeating: nil, count: scenario.clusters.count)
        var launches = Array(repeating: 0, count: scenario.clusters.count)
        var drains = Array(repeating: 0, count: scenario.clusters.count)
        for minute in 0..<scenario.durationMinutes {
            for event in scenario.events where event.at == minute {
                if case .priceChange(let region, let zone, let type, let factor) = event.kind {
                    market.change(region: region, zone: zone, instanceType: type, factor: factor)
                }
                if case .budgetChange(let region, let usd) = event.kind {
                    books.budgetChanged(region: region, monthlyUSD: usd)
                }
            }
            let now = Timestamp(secondsSinceEpoch: scenario.start + Int64(minute) * 60)
            var minuteSpend = 0.0
            for (index, spec) in scenario.clusters.enumerated() {
                let type = spec.instanceTypes[0]
                let allocatable = WorldCluster.allocatable(of: type, region: spec.region, catalog: catalog)
                let room = allocatable - daemonSet
                let pods = demands[index].pods(atMinute: minute)
                let cpu = Double(pods * spec.podRequest.cpuMillicores)
                let memory = Double(pods) * Double(spec.podRequest.memoryBytes)
                let needed = max(
                    cpu / (Double(room.cpuMillicores) * Self.targetUtilisation),
                    memory / (Double(room.memoryBytes) * Self.targetUtilisation)
                )
                let nodes = max(2, max(spec.onDemandBase, Int(needed.rounded(.up))))
                let base = min(nodes, spec.onDemandBase)
                let onDemand = base + Int((Double(nodes - base) * (1 - spec.spotShare)).rounded())
                let spot = nodes - onDemand
                let onDemandPrice = market.onDemandUSDPerHour(region: spec.region, instanceType: type)
                let spotPrice =
                    spec.zones.map {
                        market.spotUSDPerHour(
                            SpotPool(region: spec.region, availabilityZone: $0, instanceType: type),
                            at: now
                        )
                    }.min() ?? onDemandPrice
                let cost = (Double(onDemand) * onDemandPrice + Double(spot) * spotPrice) / 60
                minuteSpend += cost
                if let last = previous[index] {
                    if nodes > last { launches[index] += 1 }
                    if nodes < last { drains[index] += last - nodes }
                }
                previous[index] = nodes
                let requests = demands[index].requests(atMinute: minute)
                var cluster = books.clusters[index]
                cluster.cost += cost
                cluster.onDemandNodeMinutes += Double(onDemand)
                cluster.spotNodeMinutes += Double(spot)
                cluster.desiredPodMinutes += Double(pods)
                cluster.runningPodMinutes += Double(pods)
                cluster.requests += requests
                cluster.served += requests
                cluster.requestedMillicores += cpu + Double(nodes * daemonSet.cpuMillicores)
                cluster.allocatableMillicores += Double(nodes * allocatable.cpuMillicores)
                cluster.open.minutes += 1
                cluster.open.demandNodes +=
                    Double(pods)
                    * max(
                        Double(spec.podRequest.cpuMillicores) / Double(max(1, room.cpuMillicores)),
                        Double(spec.podRequest.memoryBytes) / Double(max(1, room.memoryBytes))
                    )
                cluster.open.onDemand += Double(onDemand)
                cluster.open.spot += Double(spot)
                books.clusters[index] = cluster
            }
            books.recordSpend(minuteSpend, at: now, minute: minute)
        }
        for index in books.clusters.indices {
            books.clusters[index].launches = launches[index]
            books.clusters[index].drains = drains[index]
        }
    }

    func result(reference: [ClusterID: Double]) -> PolicyResult {
        PolicyRun(books: books).result(oracleCost: books.fleetCost, reference: reference)
    }
}
