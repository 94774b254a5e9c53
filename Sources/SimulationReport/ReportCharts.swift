/// The report's charts, each an inline SVG over the run's fleet-wide series: nodes against demand (one panel per
/// policy), pending pods, spot share, cumulative spend against the allowance, and spot interruptions. Every
/// policy keeps its colour from `Palette` throughout, and every chart carries its own legend, axis titles and
/// the run's event marks.
struct ReportCharts {
    let result: SimulationResult
    let axis: TimeAxis
    let colours: [String]

    /// Points per line on a full-width chart, and on a half-width panel.
    static let widePointCap = 800
    static let panelPointCap = 400

    init(result: SimulationResult) {
        self.result = result
        axis = TimeAxis(result: result)
        colours = Palette.colours(for: result.policies)
    }

    private var policyLegend: [LegendItem] {
        zip(result.policies, colours).map { LegendItem(label: $0.name, colour: $1, mark: .line(width: 2, dash: nil)) }
    }

    private var hasSamples: Bool {
        result.policies.contains { !$0.fleet.isEmpty }
    }

    /// (a) One panel per policy: on-demand nodes with spot nodes stacked on them, and the demand as a line; the
    /// panels share their y scale so that they compare at a glance.
    func nodePanels() -> [String] {
        var peak = 0.0
        for policy in result.policies {
            for sample in policy.fleet {
                peak = max(peak, finite(sample.demandNodes), finite(sample.onDemandNodes) + finite(sample.spotNodes))
            }
        }
        let scale = YScale.rounded(toHold: peak) { TextFormat.fixed($0, decimals: $1) }
        return zip(result.policies, colours).enumerated().map { index, item in
            let (policy, colour) = item
            let chart = TimeChart(
                width: 620,
                plotHeight: 170,
                axis: axis,
                title: "\(policy.name) — \(policy.title)",
                legend: [
                    LegendItem(label: "on-demand nodes", colour: colour, mark: .area(opacity: 0.85)),
                    LegendItem(label: "spot nodes (on top)", colour: colour, mark: .area(opacity: 0.3)),
                    LegendItem(label: "demand (nodes needed)", colour: "#111", mark: .line(width: 1.5, dash: nil)),
                ],
                yTitle: "nodes",
                yScale: scale,
                eventLabelLength: 18,
                fontSize: 10.5,
                // The panels' lines align in their grid, so the first row's labels serve them all.
                labelsEvents: index < 2
            )
            return chart.render(label: "Nodes of \(policy.name) against demand") { canvas, plot in
                guard !policy.fleet.isEmpty else {
                    noSamples(plot, into: &canvas)
                    return
                }
                let cap = Self.panelPointCap
                let onDemand = Downsample.points(policy.fleet, cap: cap) { $0.onDemandNodes }
                let spot = Downsample.points(policy.fleet, cap: cap) { $0.spotNodes }
                let demand = Downsample.points(policy.fleet, cap: cap) { $0.demandNodes }
                let lower = onDemand.map { (x: plot.x($0.minute), y: plot.y($0.value)) }
                let upper = zip(onDemand, spot).map { (x: plot.x($0.minute), y: plot.y($0.value + $1.value)) }
                if let first = lower.first, let last = lower.last {
                    canvas.polygon(
                        lower + [(x: last.x, y: plot.bottom), (x: first.x, y: plot.bottom)],
                        fill: colour,
                        opacity: 0.85
                    )
                    canvas.polygon(upper + lower.reversed(), fill: colour, opacity: 0.3)
                }
                canvas.polyline(
                    demand.map { (x: plot.x($0.minute), y: plot.y($0.value)) },
                    stroke: "#111",
                    width: 1.3
                )
            }
        }
    }

    /// (b) Pods waiting to be scheduled, one line per policy.
    func pendingPods() -> String {
        lineChart(
            label: "Pending pods over time",
            yTitle: "pending pods (mean)",
            value: { $0.pendingPods },
            format: { TextFormat.grouped($0, decimals: $1) }
        )
    }

    /// (c) Spot nodes over all nodes, one line per policy.
    func spotShare() -> String {
        let scale = YScale(top: 1, step: 0.25) { TextFormat.fixed($0 * 100, decimals: 0) + " %" }
        let chart = TimeChart(
            width: 1240,
            plotHeight: 200,
            axis: axis,
            legend: policyLegend,
            yTitle: "spot share of nodes",
            yScale: scale
        )
        return chart.render(label: "Spot share over time") { canvas, plot in
            guard hasSamples else { return noSamples(plot, into: &canvas) }
            for (policy, colour) in zip(result.policies, colours) {
                let points = Downsample.ratios(
                    policy.fleet,
                    cap: Self.widePointCap,
                    numerator: { $0.spotNodes },
                    denominator: { $0.spotNodes + $0.onDemandNodes }
                )
                canvas.polyline(points.map { (x: plot.x($0.minute), y: plot.y($0.value)) }, stroke: colour, width: 1.6)
            }
        }
    }

    /// (d) Spend since the run began, one line per policy, against the allowance when the fleet has a budget.
    func spend() -> String {
        let allowance = result.monthlyBudgetUSD == nil ? [] : allowanceSamples()
        var peak = allowance.reduce(0.0) { max($0, finite($1.allowanceUSD ?? 0)) }
        for policy in result.policies {
            for sample in policy.fleet { peak = max(peak, finite(sample.spendUSD)) }
        }
        var legend = policyLegend
        if !allowance.isEmpty {
            legend.append(
                LegendItem(label: "allowance (budget pro rata)", colour: "#222", mark: .line(width: 1.6, dash: "6 4"))
            )
        }
        let chart = TimeChart(
            width: 1240,
            plotHeight: 220,
            axis: axis,
            legend: legend,
            yTitle: "spend since start (USD)",
            yScale: YScale.rounded(toHold: peak) { "$" + TextFormat.grouped($0, decimals: $1) }
        )
        let offset = max(result.sampleMinutes, 0)
        return chart.render(label: "Cumulative spend over time") { canvas, plot in
            guard hasSamples else { return noSamples(plot, into: &canvas) }
            for (policy, colour) in zip(result.policies, colours) {
                let points = Downsample.points(policy.fleet, cap: Self.widePointCap, minuteOffset: offset) {
                    $0.spendUSD
                }
                canvas.polyline(points.map { (x: plot.x($0.minute), y: plot.y($0.value)) }, stroke: colour, width: 1.6)
            }
            let line = Downsample.points(allowance, cap: Self.widePointCap, minuteOffset: offset) {
                $0.allowanceUSD ?? 0
            }
            canvas.polyline(
                line.map { (x: plot.x($0.minute), y: plot.y($0.value)) },
                stroke: "#222",
                width: 1.6,
                dash: "6 4"
            )
        }
    }

    /// (e) Spot interruption notices per time bucket, one strip per policy that had any; nil when none had.
    func interruptions() -> String? {
        let struck = zip(result.policies, colours).filter { policy, _ in
            policy.summary.interruptions > 0 || policy.fleet.contains { $0.interruptions > 0 }
        }
        guard !struck.isEmpty else { return nil }
        let bucketMinutes = interruptionBucketMinutes()
        let bucketCount = axis.minutes / bucketMinutes + 1
        let counts = struck.map { policy, _ in
            var counts = Array(repeating: 0, count: bucketCount)
            for sample in policy.fleet where sample.minute >= 0 && sample.minute <= axis.minutes {
                counts[sample.minute / bucketMinutes] += max(sample.interruptions, 0)
            }
            return counts
        }
        let peak = counts.reduce(0) { max($0, $1.max() ?? 0) }
        let scale = YScale.rounded(toHold: Double(max(peak, 1)), ticks: 2) { value, _ in
            TextFormat.fixed(value, decimals: 0)
        }
        let per = bucketMinutes % 60 == 0 ? "\(bucketMinutes / 60) h" : "\(bucketMinutes) min"
        var strips = ""
        for (index, ((policy, colour), counts)) in zip(struck, counts).enumerated() {
            let summary = policy.summary
            let chart = TimeChart(
                width: 1240,
                plotHeight: 70,
                axis: axis,
                legend: [
                    LegendItem(
                        label: "\(policy.name): \(summary.interruptions) notices, "
                            + "\(summary.interruptionsHandled) drained before the node went",
                        colour: colour,
                        mark: .bar
                    )
                ],
                yTitle: per == "1 h" ? "notices per hour" : "notices per \(per)",
                yScale: scale,
                labelsEvents: index == 0,
                titlesTimeAxis: index == struck.count - 1
            )
            strips += chart.render(label: "Spot interruptions of \(policy.name)") { canvas, plot in
                let barWidth = max(1, plot.x(Double(bucketMinutes)) - plot.x(0) - 1)
                for (bucket, count) in counts.enumerated() where count > 0 {
                    let x = plot.x(Double(bucket * bucketMinutes))
                    let top = plot.y(Double(count))
                    canvas.rect(x: x, y: top, width: barWidth, height: plot.bottom - top, fill: colour)
                }
            }
        }
        return strips
    }

    /// A round bucket of at least a sample that keeps a strip to a few hundred bars.
    func interruptionBucketMinutes() -> Int {
        let needed = max(result.sampleMinutes, axis.minutes / 240, 1)
        let round = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1_440, 10_080]
        return round.first { $0 >= needed && $0 % max(result.sampleMinutes, 1) == 0 } ?? needed
    }

    /// The allowance series: the first policy's that carries one (every policy runs against the same budget).
    private func allowanceSamples() -> [Sample] {
        for policy in result.policies where policy.fleet.contains(where: { $0.allowanceUSD != nil }) {
            return policy.fleet.filter { $0.allowanceUSD != nil }
        }
        return []
    }

    private func lineChart(
        label: String,
        yTitle: String,
        value: (Sample) -> Double,
        format: @escaping (Double, Int) -> String
    ) -> String {
        let series = result.policies.map { Downsample.points($0.fleet, cap: Self.widePointCap, value: value) }
        let peak = series.reduce(0.0) { max($0, $1.reduce(0.0) { max($0, $1.value) }) }
        let chart = TimeChart(
            width: 1240,
            plotHeight: 200,
            axis: axis,
            legend: policyLegend,
            yTitle: yTitle,
            yScale: YScale.rounded(toHold: peak, label: format)
        )
        return chart.render(label: label) { canvas, plot in
            guard hasSamples else { return noSamples(plot, into: &canvas) }
            for (points, colour) in zip(series, colours) {
                canvas.polyline(points.map { (x: plot.x($0.minute), y: plot.y($0.value)) }, stroke: colour, width: 1.6)
            }
        }
    }

    private func noSamples(_ plot: PlotArea, into canvas: inout SVGCanvas) {
        canvas.text(
            "no samples",
            x: (plot.left + plot.right) / 2,
            y: (plot.top + plot.bottom) / 2,
            anchor: .middle,
            size: 12,
            fill: "#888"
        )
    }

    private func finite(_ value: Double) -> Double {
        value.isFinite ? value : 0
    }
}
