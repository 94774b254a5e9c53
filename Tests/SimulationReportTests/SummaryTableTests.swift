import Testing

@testable import SimulationReport

@Suite("summary table")
struct SummaryTableTests {
    @Test("a row per policy under a header and a rule, every line the same width")
    func aligned() {
        let result = SyntheticResult().make()
        let table = SummaryTable.render(result)
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(table.hasSuffix("\n"))
        #expect(lines.count == 2 + result.policies.count)
        #expect(Set(lines.map(\.count)).count == 1)
        #expect(lines[0].hasPrefix("policy"))
        #expect(lines[1].allSatisfy { $0 == "-" || $0 == " " })
        for (line, policy) in zip(lines.dropFirst(2), result.policies) {
            #expect(line.hasPrefix(policy.name + " "))
        }
    }

    @Test("each column's cells end where its header ends")
    func columnsLineUp() {
        let table = SummaryTable.render(SyntheticResult(days: 1).make())
        let lines = table.split(separator: "\n").map { Array($0) }
        let rule = lines[1]
        // A column ends at each dash followed by a space or the line's end.
        let ends = rule.indices.filter { rule[$0] == "-" && ($0 + 1 == rule.count || rule[$0 + 1] == " ") }
        #expect(ends.count == 12)
        for line in lines where line != rule {
            for end in ends.dropFirst() {
                #expect(line[end] != " ", "\(String(line))")
                if end + 1 < line.count { #expect(line[end + 1] == " ") }
            }
        }
    }

    @Test("no oracle and no budget read as dashes")
    func dashes() {
        var options = SyntheticResult(days: 1)
        options.policies = ["static", "ballast"]
        options.monthlyBudgetUSD = nil
        let table = SummaryTable.render(options.make())
        for line in table.split(separator: "\n").dropFirst(2) {
            #expect(count("—", in: String(line)) == 2)
        }
    }

    @Test("the same result gives the same text, and a result without policies just the header")
    func deterministic() {
        #expect(SummaryTable.render(SyntheticResult().make()) == SummaryTable.render(SyntheticResult().make()))
        var empty = SyntheticResult(days: 1).make()
        empty.policies = []
        #expect(SummaryTable.render(empty).split(separator: "\n").count == 2)
    }
}
