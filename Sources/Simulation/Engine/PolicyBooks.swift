import ClusterAgent
import Cost
import Scenarios
import SimulationReport

/// Everything one policy's run is measured by, kept minute by minute per cluster: spend, nodes by market, pods
/// wanted and running, requests served, requested over allocatable, interruptions; and the month's allowance, so
/// hours over budget are counted on the same terms for every policy.
struct PolicyBooks: Sendable {
    struct Cluster: Sendable {
        var id: ClusterID
        var cost = 0.0
        var onDemandNodeMinutes = 0.0
        var spotNodeMinutes = 0.0
        var desiredPodMinutes = 0.0
        var runningPodMinutes = 0.0
        var requests = 0.0
        var served = 0.0
        var requestedMillicores = 0.0
        var allocatableMillicores = 0.0
        var interruptions = 0
        var handled = 0
        var launches = 0
        var drains = 0
        var podWaits = WaitHistogram()
        var scaleUpWaits = WaitHistogram()
        var samples: [Sample] = []
        var open = Accumulator()
    }

    /// Sums over the minutes of the sample being built.
    struct Accumulator: Sendable {
        var minutes = 0
        var demandNodes = 0.0
        var onDemand = 0.0
        var spot = 0.0
        var pending = 0.0
        var interruptions = 0
    }

    let policy: String
    let title: String
    let sampleMinutes: Int
    var clusters: [Cluster]
    /// The fleet's monthly budget in force, nil for none.
    var monthlyUSD: Double?
    /// Month-to-date allowance and spend (with what was spent before the run).
    var allowanceUSD: Double
    var spendUSD: Double
    var hoursOverBudget = 0
    /// Fleet-wide allowance at each sample's end.
    var allowances: [Double?] = []
    let start: Timestamp

    init(policy: String, title: String, scenario: Scenario, sampleMinutes: Int) {
        self.policy = policy
        self.title = title
        self.sampleMinutes = sampleMinutes
        clusters = scenario.clusters.map { Cluster(id: $0.id) }
        monthlyUSD = scenario.budget?.monthlyUSD
        start = Timestamp(secondsSinceEpoch: scenario.start)
        let month = start.month
        let elapsed = (start - month.start).hours / month.hours
        allowanceUSD = (scenario.budget?.monthlyUSD ?? 0) * elapsed
        spendUSD = scenario.budget?.spentBeforeUSD ?? 0
    }

    mutating func budgetChanged(region: String?, monthlyUSD usd: Double) {
        if region == nil { monthlyUSD = usd }
    }

    mutating func interrupted(cluster index: Int) {
        clusters[index].interruptions += 1
        clusters[index].open.interruptions += 1
    }

    /// Books minute `minute` of the run from the world as it is now.
    mutating func record(world: SimulationWorld, minute: Int) async {
        let now = world.clock.timestamp
        var minuteSpend = 0.0
        for (index, cluster) in world.clusters.enumerated() {
            let spec = cluster.spec
            var onDemand = 0
            var spot = 0
            var cost = 0.0
            for instance in cluster.cloud.liveInstances() {
                switch instance.market {
                case .onDemand:
                    onDemand += 1
                    cost += world.market.onDemandUSDPerHour(region: spec.region, instanceType: instance.instanceType)
                case .spot:
                    spot += 1
                    cost += world.market.spotUSDPerHour(
                        SpotPool(
                            region: spec.region,
                            availabilityZone: instance.availabilityZone,
                            instanceType: instance.instanceType
                        ),
                        at: now
                    )
                }
            }
            let measure = await cluster.kube.measure()
            let running = min(measure.runningPods, measure.desiredPods)
            let room = cluster.workloadRoom(of: spec.instanceTypes[0])
            let demandNodes =
                Double(measure.desiredPods)
                * max(
                    Double(spec.podRequest.cpuMillicores) / Double(max(1, room.cpuMillicores)),
                    Double(spec.podRequest.memoryBytes) / Double(max(1, room.memoryBytes))
                )
            minuteSpend += cost / 60
            var books = clusters[index]
            books.cost += cost / 60
            books.onDemandNodeMinutes += Double(onDemand)
            books.spotNodeMinutes += Double(spot)
            books.desiredPodMinutes += Double(measure.desiredPods)
            books.runningPodMinutes += Double(running)
            books.requests += measure.requestsPerMinute
            books.served += min(measure.requestsPerMinute, Double(running) * measure.requestsPerPod)
            books.requestedMillicores += Double(measure.requestedMillicores)
            books.allocatableMillicores += Double(measure.allocatableMillicores)
            books.open.minutes += 1
            books.open.demandNodes += demandNodes
            books.open.onDemand += Double(onDemand)
            books.open.spot += Double(spot)
            books.open.pending += Double(measure.desiredPods - running)
            clusters[index] = books
        }
        recordSpend(minuteSpend, at: now, minute: minute)
    }

    /// Books a minute's spend against the month's allowance and closes the sample when it is full.
    mutating func recordSpend(_ minuteSpend: Double, at now: Timestamp, minute: Int) {
        spendUSD += minuteSpend
        if let monthlyUSD {
            let month = now.month
            allowanceUSD += monthlyUSD / (month.hours * 60)
        }
        if minute % 60 == 59, monthlyUSD != nil, spendUSD > allowanceUSD + 1e-9 { hoursOverBudget += 1 }
        if (minute + 1) % sampleMinutes == 0 { closeSample(minute: minute + 1 - sampleMinutes) }
    }

    private mutating func closeSample(minute: Int) {
        for index in clusters.indices {
            let open = clusters[index].open
            let n = Double(max(1, open.minutes))
            clusters[index].samples.append(
                Sample(
                    minute: minute,
                    demandNodes: open.demandNodes / n,
                    onDemandNodes: open.onDemand / n,
                    spotNodes: open.spot / n,
                    pendingPods: open.pending / n,
                    spendUSD: clusters[index].cost,
                    allowanceUSD: nil,
                    interruptions: open.interruptions
                )
            )
            clusters[index].open = Accumulator()
        }
        allowances.append(monthlyUSD == nil ? nil : allowanceUSD)
    }

    /// Reads what only the end of the run knows: actions taken, interruptions drained in time, pod waits.
    mutating func finish(world: SimulationWorld) async {
        for (index, cluster) in world.clusters.enumerated() {
            clusters[index].launches = cluster.cloud.launchesDone
            clusters[index].drains = cluster.cloud.terminations
            clusters[index].handled = cluster.cloud.reclaims.afterDrain
            clusters[index].podWaits = await cluster.kube.podWaits
            clusters[index].scaleUpWaits = await cluster.kube.scaleUpWaits
        }
    }

    /// Fleet samples: the clusters' summed, spend as month-to-date (with the spend before the run) against the
    /// allowance.
    func fleetSamples(spentBefore: Double) -> [Sample] {
        guard let first = clusters.first else { return [] }
        return first.samples.indices.map { index in
            var sample = Sample(
                minute: first.samples[index].minute,
                demandNodes: 0,
                onDemandNodes: 0,
                spotNodes: 0,
                pendingPods: 0,
                spendUSD: spentBefore,
                allowanceUSD: index < allowances.count ? allowances[index] : nil,
                interruptions: 0
            )
            for cluster in clusters {
                let s = cluster.samples[index]
                sample.demandNodes += s.demandNodes
                sample.onDemandNodes += s.onDemandNodes
                sample.spotNodes += s.spotNodes
                sample.pendingPods += s.pendingPods
                sample.spendUSD += s.spendUSD
                sample.interruptions += s.interruptions
            }
            return sample
        }
    }

    var fleetCost: Double { clusters.reduce(0) { $0 + $1.cost } }

    static func summary(
        _ clusters: [Cluster],
        oracleCost: Double?,
        reference: Double,
        hoursOverBudget: Int
    ) -> PolicySummary {
        let cost = clusters.reduce(0) { $0 + $1.cost }
        let served = clusters.reduce(0) { $0 + $1.served }
        let desired = clusters.reduce(0) { $0 + $1.desiredPodMinutes }
        let running = clusters.reduce(0) { $0 + $1.runningPodMinutes }
        let requested = clusters.reduce(0) { $0 + $1.requestedMillicores }
        let allocatable = clusters.reduce(0) { $0 + $1.allocatableMillicores }
        let spot = clusters.reduce(0) { $0 + $1.spotNodeMinutes }
        let all = spot + clusters.reduce(0) { $0 + $1.onDemandNodeMinutes }
        var waits = WaitHistogram()
        var scaleUps = WaitHistogram()
        for cluster in clusters {
            waits.merge(cluster.podWaits)
            scaleUps.merge(cluster.scaleUpWaits)
        }
        return PolicySummary(
            totalCostUSD: cost,
            costRatioToOracle: oracleCost.flatMap { $0 > 0 ? cost / $0 : nil },
            savingVsStaticOnDemand: reference > 0 ? 1 - cost / reference : 0,
            costPerMillionRequests: served > 0 ? cost / (served / 1_000_000) : 0,
            requestsServed: served,
            unschedulablePodMinutes: desired - running,
            availability: desired > 0 ? running / desired : 1,
            p95PodWaitSeconds: waits.percentile(0.95),
            p95ScaleUpSeconds: scaleUps.percentile(0.95),
            utilisation: allocatable > 0 ? requested / allocatable : 0,
            spotShare: all > 0 ? spot / all : 0,
            hoursOverBudget: hoursOverBudget,
            launches: clusters.reduce(0) { $0 + $1.launches },
            drains: clusters.reduce(0) { $0 + $1.drains },
            interruptions: clusters.reduce(0) { $0 + $1.interruptions },
            interruptionsHandled: clusters.reduce(0) { $0 + $1.handled }
        )
    }
}

/// One policy's finished run.
struct PolicyRun: Sendable {
    var books: PolicyBooks
    var spentBefore = 0.0

    func result(oracleCost: Double?, reference: [ClusterID: Double]) -> PolicyResult {
        let fleetReference = reference.sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value }
        return PolicyResult(
            name: books.policy,
            title: books.title,
            summary: PolicyBooks.summary(
                books.clusters,
                oracleCost: oracleCost,
                reference: fleetReference,
                hoursOverBudget: books.hoursOverBudget
            ),
            fleet: books.fleetSamples(spentBefore: spentBefore),
            perCluster: books.clusters.map { cluster in
                ClusterSeries(
                    cluster: cluster.id.rawValue,
                    summary: PolicyBooks.summary(
                        [cluster],
                        oracleCost: nil,
                        reference: reference[cluster.id] ?? 0,
                        hoursOverBudget: 0
                    ),
                    samples: cluster.samples
                )
            }
        )
    }
}
