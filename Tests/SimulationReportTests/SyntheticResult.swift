import Foundation
import SimulationReport

/// A made-up but plausible run for the report's tests: a daily demand wave with noise on each cluster, six
/// policies that follow it more or less closely and with more or less spot, spot interruptions in a storm,
/// and events to mark. Seeded, so the same options always give the same result.
struct SyntheticResult {
    var days = 7
    var sampleMinutes = 5
    var clusters = ["web", "batch", "api"]
    var policies = ["static", "reactive", "ca", "karpenter", "ballast", "oracle"]
    var titles: [String: String] = [:]
    var monthlyBudgetUSD: Double? = 9_000
    var seed: UInt64 = 42
    /// Policies whose every number is zero (a policy that never launched anything).
    var allZero: Set<String> = []

    func make() -> SimulationResult {
        var random = SplitMix(seed: seed)
        let count = days * 1_440 / sampleMinutes
        let hourlyPrice = 0.2
        let spotPrice = 0.07
        let weights = clusters.indices.map { 1.0 + Double($0) * 0.5 }
        let weightTotal = weights.reduce(0, +)
        var demand: [[Double]] = clusters.indices.map { _ in [] }
        for index in 0..<count {
            let minute = Double(index * sampleMinutes)
            let wave = 30 + 18 * sin(2 * Double.pi * (minute / 1_440 - 0.3)) + (minute > 5_000 ? 6 : 0)
            for cluster in clusters.indices {
                let noise = random.next(in: -2...2)
                demand[cluster].append(max(1, wave * weights[cluster] / weightTotal + noise))
            }
        }
        let allowancePerMinute = (monthlyBudgetUSD ?? 0) / (30 * 1_440)
        var results: [PolicyResult] = []
        for (order, name) in policies.enumerated() {
            let shape = PolicyShape(name: name, order: order)
            var perCluster: [[Sample]] = clusters.indices.map { _ in [] }
            for cluster in clusters.indices {
                var spend = 0.0
                let peak = demand[cluster].max() ?? 1
                for index in 0..<count {
                    let need = demand[cluster][index]
                    let lagged = demand[cluster][max(0, index - shape.lagSamples)]
                    let nodes = shape.isStatic ? peak * 1.1 : lagged * shape.headroom
                    let storm = index > count / 2 && index < count / 2 + 30
                    let spot = nodes * shape.spotShare * (storm ? 0.6 : 1)
                    let onDemand = nodes - spot
                    spend += (onDemand * hourlyPrice + spot * spotPrice) * Double(sampleMinutes) / 60
                    let zero = allZero.contains(name)
                    perCluster[cluster].append(
                        Sample(
                            minute: index * sampleMinutes,
                            demandNodes: need,
                            onDemandNodes: zero ? 0 : onDemand,
                            spotNodes: zero ? 0 : spot,
                            pendingPods: zero ? 0 : max(0, need - nodes) * 8,
                            spendUSD: zero ? 0 : spend,
                            allowanceUSD: monthlyBudgetUSD == nil
                                ? nil
                                : allowancePerMinute * Double((index + 1) * sampleMinutes) * weights[cluster]
                                    / weightTotal,
                            interruptions: !zero && storm && shape.spotShare > 0 && index % 4 == 0 ? 1 : 0
                        )
                    )
                }
            }
            let fleet = (0..<count).map { index in
                let parts = perCluster.map { $0[index] }
                return Sample(
                    minute: index * sampleMinutes,
                    demandNodes: parts.reduce(0) { $0 + $1.demandNodes },
                    onDemandNodes: parts.reduce(0) { $0 + $1.onDemandNodes },
                    spotNodes: parts.reduce(0) { $0 + $1.spotNodes },
                    pendingPods: parts.reduce(0) { $0 + $1.pendingPods },
                    spendUSD: parts.reduce(0) { $0 + $1.spendUSD },
                    allowanceUSD: monthlyBudgetUSD == nil ? nil : parts.reduce(0) { $0 + ($1.allowanceUSD ?? 0) },
                    interruptions: parts.reduce(0) { $0 + $1.interruptions }
                )
            }
            results.append(
                PolicyResult(
                    name: name,
                    title: titles[name] ?? shape.title,
                    summary: summary(fleet),
                    fleet: fleet,
                    perCluster: zip(clusters, perCluster).map {
                        ClusterSeries(cluster: $0, summary: summary($1), samples: $1)
                    }
                )
            )
        }
        if let oracle = results.first(where: { $0.name == "oracle" }), oracle.summary.totalCostUSD > 0 {
            for index in results.indices {
                results[index].summary.costRatioToOracle =
                    results[index].summary.totalCostUSD / oracle.summary.totalCostUSD
                for cluster in results[index].perCluster.indices {
                    let own = results[index].perCluster[cluster].summary.totalCostUSD
                    let best = oracle.perCluster[cluster].summary.totalCostUSD
                    results[index].perCluster[cluster].summary.costRatioToOracle = best > 0 ? own / best : nil
                }
            }
        }
        return SimulationResult(
            scenario: "Diurnal week with a zone outage",
            description: "Three clusters on a daily wave; a spot storm halfway; a zone outage on day 3.",
            seed: seed,
            durationMinutes: days * 1_440,
            sampleMinutes: sampleMinutes,
            start: 1_717_372_800,
            monthlyBudgetUSD: monthlyBudgetUSD,
            clusters: clusters,
            policies: results,
            events: [
                EventMark(minute: 3 * 1_440 + 600, label: "us-east-1a outage"),
                EventMark(minute: 3 * 1_440 + 780, label: "us-east-1a back"),
                EventMark(minute: count * sampleMinutes / 2, label: "spot storm: m5 pool reclaimed"),
                EventMark(minute: 6 * 1_440, label: "budget cut to $6,000/month"),
            ]
        )
    }

    private func summary(_ samples: [Sample]) -> PolicySummary {
        let spend = samples.last?.spendUSD ?? 0
        let nodeMinutes = samples.reduce(0) { $0 + $1.onDemandNodes + $1.spotNodes }
        let spotMinutes = samples.reduce(0) { $0 + $1.spotNodes }
        let demandMinutes = samples.reduce(0) { $0 + $1.demandNodes } * Double(sampleMinutes) * 8
        let unserved = samples.reduce(0) { $0 + $1.pendingPods } * Double(sampleMinutes)
        let peak = samples.reduce(0) { max($0, $1.demandNodes) }
        let staticCost = peak * 1.1 * 0.2 * Double(samples.count * sampleMinutes) / 60
        let interruptions = samples.reduce(0) { $0 + $1.interruptions }
        let over = samples.filter { sample in sample.allowanceUSD.map { sample.spendUSD > $0 } ?? false }
        let requests = demandMinutes * 600
        return PolicySummary(
            totalCostUSD: spend,
            costRatioToOracle: nil,
            savingVsStaticOnDemand: staticCost > 0 ? 1 - spend / staticCost : 0,
            costPerMillionRequests: requests > 0 ? spend / requests * 1_000_000 : 0,
            requestsServed: requests,
            unschedulablePodMinutes: unserved,
            availability: demandMinutes > 0 ? 1 - unserved / demandMinutes : 0,
            p95PodWaitSeconds: nodeMinutes > 0 ? 4 + unserved / 2_000 : 0,
            p95ScaleUpSeconds: nodeMinutes > 0 ? 95 + unserved / 300 : 0,
            utilisation: nodeMinutes > 0 ? min(1, samples.reduce(0) { $0 + $1.demandNodes } / nodeMinutes) : 0,
            spotShare: nodeMinutes > 0 ? spotMinutes / nodeMinutes : 0,
            hoursOverBudget: over.count * sampleMinutes / 60,
            launches: nodeMinutes > 0 ? Int(nodeMinutes / 400) : 0,
            drains: nodeMinutes > 0 ? Int(nodeMinutes / 450) : 0,
            interruptions: interruptions,
            interruptionsHandled: interruptions * 4 / 5
        )
    }
}

/// How a made-up policy follows the demand.
private struct PolicyShape {
    var isStatic = false
    var lagSamples = 0
    var headroom = 1.0
    var spotShare = 0.0
    var title = ""

    init(name: String, order: Int) {
        switch name {
        case "static":
            isStatic = true
            title = "Static fleet sized for the peak, on-demand"
        case "reactive":
            (lagSamples, headroom, spotShare, title) = (6, 1.05, 0, "Scale on utilisation, on-demand only")
        case "ca":
            (lagSamples, headroom, spotShare, title) = (3, 1.15, 0.3, "Cluster Autoscaler with a spot node group")
        case "karpenter":
            (lagSamples, headroom, spotShare, title) = (2, 1.1, 0.55, "Karpenter-like consolidation, spot first")
        case "ballast":
            (lagSamples, headroom, spotShare, title) = (0, 1.08, 0.6, "Ballast: forecast, spot mix, budget")
        case "oracle":
            (lagSamples, headroom, spotShare, title) = (0, 1.0, 0.7, "Knows the demand ahead: the lower bound")
        default:
            (lagSamples, headroom, spotShare, title) = (order, 1.2, 0.2, name)
        }
    }
}

/// SplitMix64: a small seeded generator, so a synthetic run is the same every time.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(in range: ClosedRange<Double>) -> Double {
        let unit = Double(next() >> 11) / Double(1 << 53)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }
}
