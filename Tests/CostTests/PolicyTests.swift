import Cost
import Foundation
import Testing

@Suite("Cluster policy and budget")
struct PolicyTests {
    @Test("the defaults are those of the design")
    func defaults() {
        let p = ClusterPolicy()
        #expect(p.onDemandBase == 2)
        #expect(p.targetSpotShare == 0.7)
        #expect(p.targetUtilisation == 0.75)
        #expect(p.disruptionBudget == 0.1)
        #expect(p.minConsolidationSaving == 0.1)
        #expect(p.scaleDownUnneeded == .seconds(600))
        #expect(p.scaleDownDelayAfterAdd == .seconds(600))
    }

    @Test("a policy file names only what differs; the rest keeps its default")
    func decodesPartial() throws {
        let json = #"{"minNodes": 3, "priorityClass": 2, "failoverTargets": ["eu-1"]}"#
        let p = try JSONDecoder().decode(ClusterPolicy.self, from: Data(json.utf8))
        #expect(p.minNodes == 3)
        #expect(p.priorityClass == .high)
        #expect(p.failoverTargets == ["eu-1"])
        #expect(p.targetSpotShare == 0.7)
        let back = try JSONDecoder().decode(ClusterPolicy.self, from: JSONEncoder().encode(p))
        #expect(back == p)
    }

    @Test("an out-of-range field is named in the error")
    func validation() {
        var p = ClusterPolicy()
        p.maxNodes = 0
        p.minNodes = 2
        #expect {
            try p.validate(cluster: "a")
        } throws: { ($0 as? CostError)?.context == "cluster a, maxNodes" }
        #expect(throws: CostError.self) { try FleetBudget(monthlyUSD: -1).validate() }
        #expect(throws: CostError.self) {
            try FleetBudget(monthlyUSD: 10, regionalMonthlyUSD: ["eu-west-1": .nan]).validate()
        }
    }

    @Test("planner state survives a JSON round trip, so a new leader resumes its timers")
    func stateRoundTrip() throws {
        var state = PlannerState()
        let r = Fixture.report("a", nodes: (0..<4).map { Fixture.node("n\($0)", zone: Fixture.zones[$0 % 3], load: 0) })
        _ = FleetPlanner().plan(Fixture.input([r]), state: &state)
        let back = try JSONDecoder().decode(PlannerState.self, from: JSONEncoder().encode(state))
        #expect(back == state)
    }
}
