/// The simulation report as one self-contained HTML page: inline CSS and SVG, no script, no font, asset or
/// request from outside, so it opens anywhere and can be mailed as it is. It promises byte-identical output for
/// the same result (no clock, no locale, no unordered iteration, numbers at fixed decimals) and escapes every
/// text that comes from the result.
public enum HTMLReport {
    public static func render(_ result: SimulationResult) -> String {
        let charts = ReportCharts(result: result)
        let budgeted = result.monthlyBudgetUSD != nil
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>Ballast simulation: \(h(result.scenario))</title>\n<style>\n\(style)</style>\n</head>\n"
        page += "<body>\n<main>\n"
        page += header(result)

        page += "<section id=\"summary\">\n<h2>Summary, whole fleet</h2>\n"
        page += "<p class=\"note\">One row per policy on the same clusters and traffic. Shaded: the best value in "
        page += "its column among the policies that do not know the future (the oracle does, and is the lower "
        page += "bound). Hover a header for its definition.</p>\n"
        page += table(
            zip(result.policies, charts.colours).map { TableRow(policy: $0, summary: $0.summary, colour: $1) },
            budgeted: budgeted
        )
        page += "</section>\n"

        page += events(result, axis: charts.axis)

        page += "<section id=\"nodes\">\n<h2>Nodes against demand</h2>\n"
        page += "<p class=\"note\">One panel per policy, all on the same scale: the fleet's on-demand nodes "
        page += "(dark) with its spot nodes stacked on top (light), against the nodes the demand needed at full "
        page += "packing (black line). Fleet area above the line is headroom paid for; below it, pods wait.</p>\n"
        page += "<div class=\"panels\">\n"
        for panel in charts.nodePanels() { page += "<figure>\(panel)</figure>\n" }
        page += "</div>\n</section>\n"

        page += "<section id=\"pending\">\n<h2>Pending pods</h2>\n"
        page += "<p class=\"note\">Pods waiting to be scheduled, mean over each sample: how long and how badly "
        page += "each policy fell behind the demand.</p>\n"
        page += "<figure>\(charts.pendingPods())</figure>\n</section>\n"

        page += "<section id=\"spot\">\n<h2>Spot share</h2>\n"
        page += "<p class=\"note\">Spot nodes over all nodes at each sample: how much of the fleet ran at the spot "
        page += "price.</p>\n"
        page += "<figure>\(charts.spotShare())</figure>\n</section>\n"

        page += "<section id=\"spend\">\n<h2>Cumulative spend</h2>\n"
        if budgeted {
            page += "<p class=\"note\">Spend since the run began against the allowance, the monthly budget of "
            page += "\(h(TextFormat.usd(result.monthlyBudgetUSD ?? 0))) pro rata (dashed): a line above the "
            page += "dashed one is spending ahead of the budget.</p>\n"
        } else {
            page += "<p class=\"note\">Spend since the run began. The fleet has no budget, so there is no "
            page += "allowance to compare with.</p>\n"
        }
        page += "<figure>\(charts.spend())</figure>\n</section>\n"

        page += "<section id=\"interruptions\">\n<h2>Spot interruptions</h2>\n"
        if let strips = charts.interruptions() {
            page += "<p class=\"note\">Spot interruption notices per \(h(bucketName(charts))), for each policy "
            page += "that had any; the legend says how many of those nodes were drained before they went.</p>\n"
            page += "<figure>\(strips)</figure>\n"
        } else {
            page += "<p class=\"note\">No policy had a spot interruption in this run.</p>\n"
        }
        page += "</section>\n"

        page += "<section id=\"clusters\">\n<h2>Per cluster</h2>\n"
        page += "<p class=\"note\">The same columns for each cluster on its own.</p>\n"
        for cluster in result.clusters {
            page += "<h3>\(h(cluster))</h3>\n"
            var rows: [TableRow] = []
            for (policy, colour) in zip(result.policies, charts.colours) {
                if let series = policy.perCluster.first(where: { $0.cluster == cluster }) {
                    rows.append(TableRow(policy: policy, summary: series.summary, colour: colour))
                }
            }
            page +=
                rows.isEmpty
                ? "<p class=\"note\">No policy reported this cluster.</p>\n" : table(rows, budgeted: budgeted)
        }
        page += "</section>\n"
        page += "</main>\n</body>\n</html>\n"
        return page
    }

    private static func h(_ text: String) -> String {
        TextFormat.html(text)
    }

    private static func header(_ result: SimulationResult) -> String {
        var text = "<header>\n<h1>\(h(result.scenario))</h1>\n"
        if !result.description.isEmpty { text += "<p class=\"description\">\(h(result.description))</p>\n" }
        let budget = result.monthlyBudgetUSD.map { TextFormat.usd($0, decimals: 0) + " per month" } ?? "none"
        let facts: [(String, String)] = [
            ("Seed", "\(result.seed)"),
            ("Duration", TextFormat.runLength(minutes: result.durationMinutes)),
            ("Began", TextFormat.utc(unixSeconds: result.start)),
            ("Sample", "every \(result.sampleMinutes) min"),
            ("Clusters", result.clusters.isEmpty ? "none" : result.clusters.joined(separator: ", ")),
            ("Budget", budget),
            ("Policies", result.policies.map(\.name).joined(separator: ", ")),
        ]
        text += "<dl class=\"facts\">"
        for (name, value) in facts { text += "<div><dt>\(h(name))</dt><dd>\(h(value))</dd></div>" }
        text += "</dl>\n</header>\n"
        return text
    }

    private static func events(_ result: SimulationResult, axis: TimeAxis) -> String {
        guard !axis.events.isEmpty else { return "" }
        var text = "<section id=\"events\">\n<h2>Events</h2>\n"
        text +=
            "<p class=\"note\">What happened to the fleet; each is a dashed line on the charts.</p>\n<ul class=\"events\">"
        for event in axis.events {
            text += "<li><span class=\"when\">\(h(TextFormat.elapsed(minutes: event.minute)))</span> "
            text += "\(h(event.label))</li>"
        }
        text += "</ul>\n</section>\n"
        return text
    }

    private static func bucketName(_ charts: ReportCharts) -> String {
        let minutes = charts.interruptionBucketMinutes()
        if minutes == 60 { return "hour" }
        return minutes % 60 == 0 ? "\(minutes / 60) hours" : "\(minutes) minutes"
    }

    /// A table's row: the policy, the numbers it shows (fleet-wide or one cluster's), and its chart colour.
    private struct TableRow {
        let policy: PolicyResult
        let summary: PolicySummary
        let colour: String
    }

    /// One table with a row per policy, every metric a column, best cells marked.
    private static func table(_ rows: [TableRow], budgeted: Bool) -> String {
        let summaries = rows.map(\.summary)
        let competing = rows.map { $0.policy.name != "oracle" }
        let best = Metric.allCases.map { $0.best(summaries, competing: competing, budgeted: budgeted) }
        var text = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"policy\">Policy</th>"
        for metric in Metric.allCases {
            text += "<th title=\"\(h(metric.definition))\">\(h(metric.header))</th>"
        }
        text += "</tr></thead>\n<tbody>\n"
        for (index, row) in rows.enumerated() {
            text += competing[index] ? "<tr>" : "<tr class=\"oracle\">"
            text += "<th class=\"policy\" title=\"\(h(row.policy.title))\"><span class=\"swatch\" style=\"background:"
            text += "\(row.colour)\"></span>\(h(row.policy.name))</th>"
            for (column, metric) in Metric.allCases.enumerated() {
                text += best[column][index] ? "<td class=\"best\">" : "<td>"
                text += "\(h(metric.text(row.summary, budgeted: budgeted)))</td>"
            }
            text += "</tr>\n"
        }
        text += "</tbody>\n</table></div>\n"
        return text
    }

    private static let style = """
        body { margin: 0; background: #fafafa; color: #1d1d1d;
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1320px; margin: 0 auto; padding: 20px 28px 48px; background: #fff; }
        h1 { font-size: 26px; margin: 4px 0 6px; }
        h2 { font-size: 19px; margin: 30px 0 4px; padding-top: 10px; border-top: 1px solid #e4e4e4; }
        h3 { font-size: 15px; margin: 18px 0 6px; }
        .description { margin: 0 0 12px; color: #333; max-width: 80ch; }
        .note { margin: 2px 0 10px; color: #555; font-size: 13px; max-width: 110ch; }
        .facts { display: flex; flex-wrap: wrap; gap: 6px 26px; margin: 0; }
        .facts div { display: flex; gap: 6px; }
        .facts dt { color: #666; } .facts dt::after { content: ":"; }
        .facts dd { margin: 0; font-weight: 600; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 8px; border-bottom: 1px solid #e6e6e6; white-space: nowrap; }
        thead th { text-align: right; vertical-align: bottom; font-weight: 600; color: #333; white-space: normal;
          max-width: 92px; border-bottom: 2px solid #bbb; cursor: help; }
        thead th.policy { text-align: left; }
        td { text-align: right; }
        tbody th { text-align: left; font-weight: 600; }
        tr.oracle th, tr.oracle td { color: #666; font-style: italic; }
        td.best { background: #e3f1e8; font-weight: 600; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
        figure { margin: 6px 0 0; }
        svg { display: block; width: 100%; height: auto; font-family: inherit; }
        .panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px 22px; }
        .events { list-style: none; padding: 0; margin: 0; columns: 2 360px; font-size: 13px; }
        .events li { padding: 1px 0; }
        .events .when { display: inline-block; min-width: 86px; color: #555; font-variant-numeric: tabular-nums; }

        """
}
