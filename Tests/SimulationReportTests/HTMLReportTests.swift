import Foundation
import Testing

@testable import SimulationReport

@Suite("HTML report")
struct HTMLReportTests {
    static let week = SyntheticResult().make()
    static let weekHTML = HTMLReport.render(week)

    @Test("a week of six policies on three clusters renders to a balanced page under 1.5 MB")
    func weekRenders() {
        let html = Self.weekHTML
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>\n"))
        #expect(count("<svg", in: html) == count("</svg>", in: html))
        for tag in ["section", "table", "figure", "g", "text", "title", "tr"] {
            #expect(count("<\(tag)>", in: html) + count("<\(tag) ", in: html) == count("</\(tag)>", in: html), "\(tag)")
        }
        #expect(html.utf8.count < 1_500_000)
        #expect(notANumberTokens(in: html).isEmpty)
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") && !html.contains("https://"))
    }

    @Test("every chart section holds a chart, and the nodes section a panel per policy")
    func chartPerSection() {
        let html = Self.weekHTML
        for id in ["nodes", "pending", "spot", "spend", "interruptions"] {
            #expect(count("<svg", in: section(id, of: html)) >= 1, "\(id)")
        }
        #expect(count("<svg", in: section("nodes", of: html)) == 6)
        // Only the four policies that ran spot (ca, karpenter, ballast, oracle) had interruptions.
        #expect(count("<svg", in: section("interruptions", of: html)) == 4)
    }

    @Test("the summary and each cluster have a table with a row per policy")
    func rowPerPolicy() {
        let html = Self.weekHTML
        let summary = section("summary", of: html)
        #expect(count("<tr", in: summary) == 1 + 6)
        for policy in Self.week.policies {
            #expect(summary.contains(">\(policy.name)</th>"))
        }
        let clusters = section("clusters", of: html)
        #expect(count("<table>", in: clusters) == 3)
        #expect(count("<tr", in: clusters) == 3 * (1 + 6))
        #expect(count("<th title=", in: summary) == Metric.allCases.count)
    }

    @Test("the same result renders to the same bytes")
    func deterministic() {
        #expect(HTMLReport.render(SyntheticResult().make()) == Self.weekHTML)
    }

    @Test("no line holds more points than the cap")
    func downsampled() {
        var attributes = Self.weekHTML[...]
        var longest = 0
        while let start = attributes.range(of: " points=\"") {
            let rest = attributes[start.upperBound...]
            let end = rest.firstIndex(of: "\"")!
            longest = max(longest, rest[..<end].split(separator: " ").count)
            attributes = rest[end...]
        }
        #expect(longest > 100)
        // A stacked area is its top edge and its base edge: twice a line's points.
        #expect(longest <= 2 * ReportCharts.widePointCap)
    }

    @Test("names, titles and labels are escaped")
    func escapes() {
        var options = SyntheticResult()
        options.policies = ["static", "<b>&co</b>"]
        options.titles = ["<b>&co</b>": "Title with <script>alert('x')</script> & more"]
        options.clusters = ["web & <api>"]
        var result = options.make()
        result.scenario = "A <scenario> & \"quotes\""
        result.events.append(EventMark(minute: 60, label: "<event> & co"))
        let html = HTMLReport.render(result)
        #expect(!html.contains("<b>&co</b>"))
        #expect(html.contains("&lt;b&gt;&amp;co&lt;/b&gt;"))
        #expect(!html.contains("<script>"))
        #expect(html.contains("web &amp; &lt;api&gt;"))
        #expect(html.contains("A &lt;scenario&gt; &amp; &quot;quotes&quot;"))
        #expect(html.contains("&lt;event&gt; &amp; co"))
        #expect(!html.contains("<event>"))
    }

    @Test("without an oracle the ratio column shows a dash")
    func noOracle() {
        var options = SyntheticResult()
        options.policies = ["static", "reactive", "ballast"]
        let result = options.make()
        #expect(result.policies.allSatisfy { $0.summary.costRatioToOracle == nil })
        let summary = section("summary", of: HTMLReport.render(result))
        let ratioColumn = Metric.allCases.firstIndex(of: .ratioToOracle)!
        for row in rows(of: summary) {
            #expect(row[ratioColumn] == "—")
        }
        #expect(rows(of: summary).count == 3)
    }

    @Test("without a budget there is no allowance line and hours over budget show a dash")
    func noBudget() {
        var options = SyntheticResult()
        options.monthlyBudgetUSD = nil
        let html = HTMLReport.render(options.make())
        #expect(!section("spend", of: html).contains("allowance (budget"))
        #expect(!section("spend", of: html).contains("stroke-dasharray=\"6 4\""))
        let hoursColumn = Metric.allCases.firstIndex(of: .hoursOverBudget)!
        for row in rows(of: section("summary", of: html)) {
            #expect(row[hoursColumn] == "—")
        }
        let budgeted = Self.weekHTML
        #expect(section("spend", of: budgeted).contains("allowance (budget"))
        #expect(section("spend", of: budgeted).contains("stroke-dasharray=\"6 4\""))
    }

    @Test("a run with no samples still renders every chart, with nothing that is not a number")
    func emptySeries() {
        var result = SyntheticResult().make()
        for index in result.policies.indices {
            result.policies[index].fleet = []
            for cluster in result.policies[index].perCluster.indices {
                result.policies[index].perCluster[cluster].samples = []
            }
        }
        result.durationMinutes = 0
        let html = HTMLReport.render(result)
        #expect(count("<svg", in: html) == count("</svg>", in: html))
        #expect(count("no samples", in: html) >= 6 + 3)
        #expect(notANumberTokens(in: html).isEmpty)
    }

    @Test("a policy whose numbers are all zero renders without a number that is not one")
    func allZeroPolicy() {
        var options = SyntheticResult()
        options.days = 1
        options.allZero = ["oracle"]
        let result = options.make()
        #expect(result.policies.last?.summary.totalCostUSD == 0)
        let html = HTMLReport.render(result)
        #expect(notANumberTokens(in: html).isEmpty)
        #expect(count("<svg", in: html) == count("</svg>", in: html))
        // A zero oracle gives no ratio, and a result with only zeros has no best value.
        let ratioColumn = Metric.allCases.firstIndex(of: .ratioToOracle)!
        #expect(rows(of: section("summary", of: html)).allSatisfy { $0[ratioColumn] == "—" })
    }

    @Test("numbers that are not finite read as a dash")
    func nonFinite() {
        var result = SyntheticResult(days: 1).make()
        result.policies[0].summary.totalCostUSD = .nan
        result.policies[0].summary.availability = .infinity
        result.policies[0].fleet[3].pendingPods = .nan
        result.policies[0].fleet[4].onDemandNodes = -.infinity
        let html = HTMLReport.render(result)
        #expect(notANumberTokens(in: html).isEmpty)
        let row = rows(of: section("summary", of: html))[0]
        #expect(row[Metric.allCases.firstIndex(of: .totalCost)!] == "—")
        #expect(row[Metric.allCases.firstIndex(of: .availability)!] == "—")
    }

    @Test("a policy keeps its colour in a cluster's table that another policy is missing from")
    func coloursFollowPolicies() {
        var options = SyntheticResult(days: 1)
        options.policies = ["static", "first-extra", "second-extra"]
        var result = options.make()
        result.policies[1].perCluster.removeAll { $0.cluster == "web" }
        let html = HTMLReport.render(result)
        let summary = section("summary", of: html)
        let web = String(html[html.range(of: "<h3>web</h3>")!.lowerBound...])
        #expect(rows(of: web).count == 2)
        #expect(swatch(of: "second-extra", in: summary) != nil)
        #expect(swatch(of: "second-extra", in: web) == swatch(of: "second-extra", in: summary))
        #expect(swatch(of: "first-extra", in: summary) != swatch(of: "second-extra", in: summary))
    }

    @Test("the best value among the policies that do not know the future is marked, the oracle's never")
    func bestMarked() {
        let summaries = Self.week.policies.map(\.summary)
        let competing = Self.week.policies.map { $0.name != "oracle" }
        let cheapest = Metric.totalCost.best(summaries, competing: competing, budgeted: true)
        let oracle = Self.week.policies.firstIndex { $0.name == "oracle" }!
        #expect(!cheapest[oracle])
        #expect(cheapest.filter { $0 }.count == 1)
        let cheapestIndex = cheapest.firstIndex(of: true)!
        for (index, summary) in summaries.enumerated() where competing[index] {
            #expect(summary.totalCostUSD >= summaries[cheapestIndex].totalCostUSD)
        }
        #expect(Metric.launches.best(summaries, competing: competing, budgeted: true).allSatisfy { !$0 })
    }

    /// Writes the synthetic week's report where `BALLAST_REPORT_SAMPLE` names, to look at it in a browser.
    @Test(
        "the synthetic week's report can be written out to look at",
        .enabled(if: ProcessInfo.processInfo.environment["BALLAST_REPORT_SAMPLE"] != nil)
    )
    func writeSample() throws {
        let path = ProcessInfo.processInfo.environment["BALLAST_REPORT_SAMPLE"]!
        try Self.weekHTML.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: path))
    }
}

/// How often `needle` occurs in `text`.
func count(_ needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// The `<section id="…">` element's markup, empty when there is none.
func section(_ id: String, of html: String) -> String {
    guard let start = html.range(of: "<section id=\"\(id)\">") else { return "" }
    let end = html[start.upperBound...].range(of: "</section>")!
    return String(html[start.lowerBound..<end.upperBound])
}

/// The body rows of the first table in `html`, each as its cells' texts (the policy cell left out).
func rows(of html: String) -> [[String]] {
    guard let body = html.range(of: "<tbody>"), let end = html.range(of: "</tbody>") else { return [] }
    return html[body.upperBound..<end.lowerBound].components(separatedBy: "</tr>").dropLast().map { row in
        row.components(separatedBy: "<td").dropFirst().map { cell in
            let content = cell[cell.index(after: cell.firstIndex(of: ">")!)...]
            return String(content[..<content.range(of: "</td>")!.lowerBound])
        }
    }
}

/// The swatch colour of `policy`'s first row in `html`.
func swatch(of policy: String, in html: String) -> String? {
    guard let name = html.range(of: "</span>\(policy)</th>") else { return nil }
    let before = html[..<name.lowerBound]
    guard let colour = before.range(of: "background:", options: .backwards) else { return nil }
    return String(before[colour.upperBound...].prefix { $0 != "\"" })
}

/// Words in `text` that a formatter writes for a value that is not a number: "nan", "inf", "infinity".
func notANumberTokens(in text: String) -> [String] {
    text.lowercased().split { !$0.isLetter }.map(String.init).filter { ["nan", "inf", "infinity"].contains($0) }
}
