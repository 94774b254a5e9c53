/// The run's summary as a plain-text table for a terminal: one row per policy, the main metrics as columns,
/// numbers right-aligned under their headers and the policy name left-aligned. Printed at the end of
/// `coordctl simulate`; the same result always gives the same text.
public enum SummaryTable {
    public static func render(_ result: SimulationResult) -> String {
        let budgeted = result.monthlyBudgetUSD != nil
        let headers = [
            "policy", "cost", "×oracle", "saving", "unsched pod-min", "availability", "p95 scale-up", "util",
            "spot", "h over budget", "launch/drain", "interrupts handled",
        ]
        var rows = [headers]
        for policy in result.policies {
            let summary = policy.summary
            rows.append([
                policy.name,
                Metric.totalCost.text(summary, budgeted: budgeted),
                Metric.ratioToOracle.text(summary, budgeted: budgeted),
                Metric.saving.text(summary, budgeted: budgeted),
                Metric.unschedulablePodMinutes.text(summary, budgeted: budgeted),
                Metric.availability.text(summary, budgeted: budgeted),
                Metric.p95ScaleUp.text(summary, budgeted: budgeted),
                Metric.utilisation.text(summary, budgeted: budgeted),
                Metric.spotShare.text(summary, budgeted: budgeted),
                Metric.hoursOverBudget.text(summary, budgeted: budgeted),
                "\(summary.launches)/\(summary.drains)",
                Metric.interruptions.text(summary, budgeted: budgeted),
            ])
        }
        var widths = Array(repeating: 0, count: headers.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }
            lines.append(trimmedRight(cells.joined(separator: "  ")))
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func trimmedRight(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }
}
