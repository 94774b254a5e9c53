/// One column of the report's tables: its headers, the definition its header's tooltip gives, how a value
/// reads, and which way is better. The HTML report and the terminal table take their columns from here so
/// that the two always agree on what a number means.
enum Metric: CaseIterable, Sendable {
    case totalCost
    case ratioToOracle
    case saving
    case costPerMillionRequests
    case unschedulablePodMinutes
    case availability
    case p95PodWait
    case p95ScaleUp
    case utilisation
    case spotShare
    case hoursOverBudget
    case launches
    case drains
    case interruptions

    /// Which way a column's best value lies, if either.
    enum Better: Sendable {
        case lower
        case higher
        case neither
    }

    /// The HTML table's header.
    var header: String {
        switch self {
        case .totalCost: "Total cost"
        case .ratioToOracle: "× oracle"
        case .saving: "Saving vs static on-demand"
        case .costPerMillionRequests: "Cost / M requests"
        case .unschedulablePodMinutes: "Unschedulable pod-min"
        case .availability: "Availability"
        case .p95PodWait: "p95 pod wait"
        case .p95ScaleUp: "p95 scale-up"
        case .utilisation: "Utilisation"
        case .spotShare: "Spot share"
        case .hoursOverBudget: "Hours over budget"
        case .launches: "Launches"
        case .drains: "Drains"
        case .interruptions: "Interruptions handled"
        }
    }

    /// What the number is, as the header's tooltip and the docs say it.
    var definition: String {
        switch self {
        case .totalCost:
            "Spend in USD over the whole run: every node's price for the time it ran."
        case .ratioToOracle:
            "Total cost over the oracle's on the same run (the oracle knows the demand ahead: a lower bound)."
        case .saving:
            "1 − cost over an all-on-demand static fleet sized for the peak, on the same run."
        case .costPerMillionRequests:
            "USD per million requests served."
        case .unschedulablePodMinutes:
            "Pod-minutes demanded that had no running pod (pending, or not created for want of room)."
        case .availability:
            "Pod-minutes served over pod-minutes demanded."
        case .p95PodWait:
            "95th percentile of every pod's time from creation to Running."
        case .p95ScaleUp:
            "95th percentile of the time from a pod pending for want of a node to it Running on a new node."
        case .utilisation:
            "Pods' CPU requests over Ready nodes' allocatable CPU, time-weighted."
        case .spotShare:
            "Spot node-hours over all node-hours."
        case .hoursOverBudget:
            "Hours in which spend ran ahead of the allowance (the monthly budget pro rata)."
        case .launches:
            "Node launch actions taken."
        case .drains:
            "Node drain actions taken."
        case .interruptions:
            "Spot interruption notices that came, and how many of those nodes were drained before they went."
        }
    }

    var better: Better {
        switch self {
        case .totalCost, .ratioToOracle, .costPerMillionRequests, .unschedulablePodMinutes, .p95PodWait,
            .p95ScaleUp, .hoursOverBudget:
            .lower
        case .saving, .availability, .utilisation, .interruptions:
            .higher
        case .spotShare, .launches, .drains:
            .neither
        }
    }

    /// The number a column ranks by, nil where the cell has none.
    func rankValue(_ summary: PolicySummary, budgeted: Bool) -> Double? {
        switch self {
        case .totalCost: summary.totalCostUSD
        case .ratioToOracle: summary.costRatioToOracle
        case .saving: summary.savingVsStaticOnDemand
        case .costPerMillionRequests: summary.costPerMillionRequests
        case .unschedulablePodMinutes: summary.unschedulablePodMinutes
        case .availability: summary.availability
        case .p95PodWait: summary.p95PodWaitSeconds
        case .p95ScaleUp: summary.p95ScaleUpSeconds
        case .utilisation: summary.utilisation
        case .spotShare: summary.spotShare
        case .hoursOverBudget: budgeted ? Double(summary.hoursOverBudget) : nil
        case .launches: Double(summary.launches)
        case .drains: Double(summary.drains)
        case .interruptions:
            summary.interruptions > 0 ? Double(summary.interruptionsHandled) / Double(summary.interruptions) : nil
        }
    }

    /// The cell's text.
    func text(_ summary: PolicySummary, budgeted: Bool) -> String {
        switch self {
        case .totalCost: TextFormat.usd(summary.totalCostUSD)
        case .ratioToOracle: TextFormat.ratio(summary.costRatioToOracle)
        case .saving: TextFormat.percent(summary.savingVsStaticOnDemand, decimals: 1)
        case .costPerMillionRequests: TextFormat.usd(summary.costPerMillionRequests, decimals: 3)
        case .unschedulablePodMinutes: TextFormat.grouped(summary.unschedulablePodMinutes, decimals: 0)
        case .availability: TextFormat.percent(summary.availability, decimals: 3)
        case .p95PodWait: TextFormat.duration(seconds: summary.p95PodWaitSeconds)
        case .p95ScaleUp: TextFormat.duration(seconds: summary.p95ScaleUpSeconds)
        case .utilisation: TextFormat.percent(summary.utilisation, decimals: 1)
        case .spotShare: TextFormat.percent(summary.spotShare, decimals: 1)
        case .hoursOverBudget: budgeted ? "\(summary.hoursOverBudget)" : TextFormat.missing
        case .launches: "\(summary.launches)"
        case .drains: "\(summary.drains)"
        case .interruptions:
            summary.interruptions > 0 ? "\(summary.interruptionsHandled)/\(summary.interruptions)" : "0"
        }
    }

    /// For each row, whether its cell holds the column's best value among the rows that compete (the oracle
    /// does not: it knows the future). Ties at the shown precision are all best; nothing is marked where every
    /// competing row shows the same, or where the column has no better side.
    func best(_ summaries: [PolicySummary], competing: [Bool], budgeted: Bool) -> [Bool] {
        let none = Array(repeating: false, count: summaries.count)
        guard better != .neither else { return none }
        var bestValue: Double?
        for (summary, competes) in zip(summaries, competing) where competes {
            guard let value = rankValue(summary, budgeted: budgeted), value.isFinite else { continue }
            if let current = bestValue {
                bestValue = better == .lower ? min(current, value) : max(current, value)
            } else {
                bestValue = value
            }
        }
        guard let bestValue else { return none }
        let bestText = rankedText(bestValue)
        var marks = none
        var distinct = false
        for index in summaries.indices where competing[index] {
            guard let value = rankValue(summaries[index], budgeted: budgeted), value.isFinite else { continue }
            if rankedText(value) == bestText { marks[index] = true } else { distinct = true }
        }
        return distinct ? marks : none
    }

    /// A ranked value at the precision its cell shows, so that two cells that read the same tie.
    private func rankedText(_ value: Double) -> String {
        switch self {
        case .totalCost: TextFormat.fixed(value, decimals: 2)
        case .costPerMillionRequests: TextFormat.fixed(value, decimals: 3)
        case .ratioToOracle: TextFormat.fixed(value, decimals: 2)
        case .availability: TextFormat.fixed(value * 100, decimals: 3)
        case .saving, .utilisation, .spotShare, .interruptions: TextFormat.fixed(value * 100, decimals: 1)
        case .p95PodWait, .p95ScaleUp: TextFormat.duration(seconds: value)
        case .unschedulablePodMinutes, .hoursOverBudget, .launches, .drains: TextFormat.fixed(value, decimals: 0)
        }
    }
}
