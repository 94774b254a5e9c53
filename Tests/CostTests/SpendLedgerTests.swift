import Foundation
import Testing

@testable import Cost

@Suite("Spend ledger and budget")
struct SpendLedgerTests {
    let catalog = Fixture.catalog
    let t0 = Timestamp(year: 2026, month: 4, day: 10)  // April: 720 hours

    func report(
        _ nodes: [NodeReport],
        at: Timestamp,
        cluster: ClusterID = "a",
        region: String = "us-east-1"
    ) -> ClusterReport {
        ClusterReport(
            clusterID: cluster,
            region: region,
            availabilityZones: Fixture.zones,
            nodes: nodes,
            observedAt: at
        )
    }
    func node(_ name: String, _ type: String, _ market: Market = .onDemand, launched: Timestamp) -> NodeReport {
        NodeReport(
            name: name,
            instanceID: "i-\(name)",
            instanceType: type,
            market: market,
            availabilityZone: "us-east-1a",
            state: .ready,
            launchedAt: launched,
            allocatable: .zero,
            requested: .zero,
            podCount: 0
        )
    }

    @Test("spend accrues per node-second at the launch price, per cluster, region and fleet")
    func accrues() {
        var l = SpendLedger()
        let n = node("x", "m5.large", launched: t0)
        l.record(report([n], at: t0 + .seconds(1_800)), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(report([n], at: t0 + .seconds(3_600)), catalog: catalog, spotPrices: SpotPriceCache())
        #expect(abs(l.monthToDateUSD(.fleet) - 0.096) < 1e-9)
        #expect(abs(l.monthToDateUSD(.region("us-east-1")) - 0.096) < 1e-9)
        #expect(abs(l.monthToDateUSD(.cluster("a")) - 0.096) < 1e-9)
        #expect(l.burnRateUSDPerHour(.fleet) == 0.096)
    }

    @Test("a spot node keeps the pool price it launched at")
    func spotLaunchPrice() {
        var l = SpendLedger()
        var spot = SpotPriceCache()
        let pool = SpotPool(region: "us-east-1", availabilityZone: "us-east-1a", instanceType: "m5.large")
        spot.record(SpotPrice(usdPerHour: 0.03, observedAt: t0), for: pool)
        let n = node("s", "m5.large", .spot, launched: t0)
        l.record(report([n], at: t0 + .seconds(1)), catalog: catalog, spotPrices: spot)
        spot.record(SpotPrice(usdPerHour: 0.09, observedAt: t0 + .seconds(2)), for: pool)
        l.record(report([n], at: t0 + .seconds(7_201)), catalog: catalog, spotPrices: spot)
        #expect(abs(l.monthToDateUSD(.fleet) - 0.03 * 7_201 / 3_600) < 1e-9)
    }

    @Test("the allowance lets saved money be spent faster, never the month's budget more than once")
    func allowanceBurst() {
        let budget = FleetBudget(monthlyUSD: 744)  // $1 an hour in a 31-day month
        let july = Timestamp(year: 2026, month: 7, day: 1)
        // Ten days in, half the pro-rata share spent: $120 saved may go over the next 12 hours on top of the flat rate.
        let tenDays = july + .seconds(10 * 86_400)
        let under = BudgetAllowance(budget: budget, monthToDate: { _ in 120 }, at: tenDays)
        #expect(abs(under.fleetUSDPerHour - ((744 - 120) / (21.0 * 24) + 120.0 / 12)) < 1e-9)
        // On the line or above it there is nothing saved: the flat rate.
        let over = BudgetAllowance(budget: budget, monthToDate: { _ in 300 }, at: tenDays)
        #expect(abs(over.fleetUSDPerHour - (744 - 300) / (21.0 * 24)) < 1e-9)
        // Six hours before the month ends with $60 left and much saved: never more than what is left over those hours.
        let lastHours = july + .seconds(31 * 86_400 - 6 * 3_600)
        let end = BudgetAllowance(budget: budget, monthToDate: { _ in 684 }, at: lastHours)
        #expect(abs(end.fleetUSDPerHour - 60.0 / 6) < 1e-9)
        // Spending every hour what the allowance allows never passes the budget.
        var spent = 0.0
        var t = july
        while t < july.month.end {
            spent += BudgetAllowance(budget: budget, monthToDate: { _ in spent }, at: t).fleetUSDPerHour
            t = t + .seconds(3_600)
        }
        #expect(spent <= 744 + 1e-6)
    }

    @Test("projection, allowance and month rollover")
    func projection() {
        var l = SpendLedger()
        let n = node("x", "m5.large", launched: t0)
        l.record(report([n], at: t0), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(report([n], at: t0 + .seconds(36_000)), catalog: catalog, spotPrices: SpotPriceCache())
        let now = t0 + .seconds(36_000)
        let budget = FleetBudget(monthlyUSD: 100)
        let s = l.summary(.fleet, budget: budget, at: now)
        let hoursLeft = (now.month.end - now).hours
        #expect(abs(s.monthToDateUSD - 0.96) < 1e-9)
        #expect(abs(s.projectedMonthEndUSD - (0.96 + 0.096 * hoursLeft)) < 1e-9)
        let a = l.allowance(budget: budget, at: now)
        // The flat rate, plus what the month has not spent of its pro-rata share so far, over the next 12 hours.
        let elapsed = (now - now.month.start).hours / now.month.hours
        let saved = 100 * elapsed - 0.96
        #expect(saved > 0)
        #expect(abs(a.fleetUSDPerHour - ((100 - 0.96) / hoursLeft + saved / 12)) < 1e-9)
        // Across the month end: only May's part counts in May.
        let may = Timestamp(year: 2026, month: 5, day: 1)
        l.record(report([n], at: may - .seconds(3_600)), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(report([n], at: may + .seconds(3_600)), catalog: catalog, spotPrices: SpotPriceCache())
        #expect(l.month == CalendarMonth(year: 2026, month: 5))
        #expect(abs(l.monthToDateUSD(.fleet) - 0.096) < 1e-9)
    }

    @Test("alerts at 80 % and 100 % fire once per month and scope")
    func alertsOnce() {
        var l = SpendLedger()
        let nodes = (0..<10).map { node("n\($0)", "m5.4xlarge", launched: t0) }  // 7.68 $/h
        l.record(report(nodes, at: t0), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(report(nodes, at: t0 + .seconds(3_600 * 10)), catalog: catalog, spotPrices: SpotPriceCache())
        // 76.8 spent; budget 90: 85 % spent, projection far over.
        let budget = FleetBudget(monthlyUSD: 90, regionalMonthlyUSD: ["us-east-1": 1_000_000])
        let first = l.newAlerts(budget: budget, at: t0 + .seconds(36_000))
        #expect(
            Set(first.map { "\($0.scope) \($0.basis) \($0.threshold)" }) == [
                "fleet projected 0.8", "fleet projected 1.0", "fleet spent 0.8",
            ]
        )
        #expect(l.newAlerts(budget: budget, at: t0 + .seconds(36_001)).isEmpty)
        l.record(report(nodes, at: t0 + .seconds(3_600 * 12)), catalog: catalog, spotPrices: SpotPriceCache())
        let second = l.newAlerts(budget: budget, at: t0 + .seconds(3_600 * 12))
        #expect(second.map { "\($0.scope) \($0.basis) \($0.threshold)" } == ["fleet spent 1.0"])
    }

    @Test("a stored ledger restores month-to-date and the alerts given; nothing is charged twice or alerted twice")
    func snapshotRestores() throws {
        var l = SpendLedger()
        let nodes = (0..<10).map { node("n\($0)", "m5.4xlarge", launched: t0) }  // 7.68 $/h
        l.record(report(nodes, at: t0), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(report(nodes, at: t0 + .seconds(3_600 * 10)), catalog: catalog, spotPrices: SpotPriceCache())
        let budget = FleetBudget(monthlyUSD: 90, regionalMonthlyUSD: ["us-east-1": 1_000_000])
        #expect(l.newAlerts(budget: budget, at: t0 + .seconds(36_000)).count == 3)
        let stored = try JSONDecoder().decode(SpendLedger.Snapshot.self, from: JSONEncoder().encode(l.snapshot))
        #expect(stored == l.snapshot)

        // A replica that restarted: it starts from the stored ledger, gives no alert again, and charges the nodes
        // from the last stored charge, not from their launch.
        var restarted = SpendLedger()
        restarted.absorb(stored)
        #expect(abs(restarted.monthToDateUSD(.fleet) - 76.8) < 1e-9)
        #expect(restarted.newAlerts(budget: budget, at: t0 + .seconds(36_001)).isEmpty)
        restarted.record(report(nodes, at: t0 + .seconds(3_600 * 11)), catalog: catalog, spotPrices: SpotPriceCache())
        #expect(abs(restarted.monthToDateUSD(.fleet) - 84.48) < 1e-9)

        // A warm follower that charged less (it started later) takes the larger figure; one that charged more
        // keeps its own.
        var follower = SpendLedger()
        follower.record(report(nodes, at: t0 + .seconds(3_600 * 9)), catalog: catalog, spotPrices: SpotPriceCache())
        follower.record(report(nodes, at: t0 + .seconds(3_600 * 10)), catalog: catalog, spotPrices: SpotPriceCache())
        follower.absorb(stored)
        #expect(abs(follower.monthToDateUSD(.fleet) - 76.8) < 1e-9)
        var ahead = restarted
        ahead.absorb(stored)
        #expect(abs(ahead.monthToDateUSD(.fleet) - 84.48) < 1e-9)

        // A stored month older than the ledger's is ignored; a newer one replaces it.
        let mayStart = Timestamp(year: 2026, month: 5, day: 2)
        let mayNodes = (0..<10).map { node("m\($0)", "m5.4xlarge", launched: mayStart) }
        var may = SpendLedger()
        may.record(report(mayNodes, at: mayStart), catalog: catalog, spotPrices: SpotPriceCache())
        may.record(report(mayNodes, at: mayStart + .seconds(3_600)), catalog: catalog, spotPrices: SpotPriceCache())
        let mayToDate = may.monthToDateUSD(.fleet)
        may.absorb(stored)
        #expect(may.monthToDateUSD(.fleet) == mayToDate && may.month == CalendarMonth(year: 2026, month: 5))
        var fresh = SpendLedger()
        fresh.absorb(may.snapshot)
        fresh.absorb(stored)
        #expect(fresh.month == CalendarMonth(year: 2026, month: 5) && fresh.monthToDateUSD(.fleet) == mayToDate)
    }

    @Test("calendar arithmetic is right across years and leap months")
    func calendar() {
        #expect(Timestamp(year: 1970, month: 1, day: 1).sinceEpoch == .zero)
        #expect(Timestamp(year: 2024, month: 2, day: 29).month == CalendarMonth(year: 2024, month: 2))
        #expect(CalendarMonth(year: 2024, month: 2).hours == 696)
        #expect(CalendarMonth(year: 2025, month: 12).next == CalendarMonth(year: 2026, month: 1))
        #expect(Timestamp(year: 2026, month: 3, day: 14, hour: 12).description == "2026-03-14T12:00:00Z")
    }

    @Test("a region with its own cap gets its own alerts and allowance; clusters are summed per region")
    func regionalScope() {
        var l = SpendLedger()
        let us = node("u", "m5.large", launched: t0)
        let eu = node("e", "m5.large", launched: t0)
        l.record(report([us], at: t0, cluster: "us"), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(
            report([eu], at: t0, cluster: "eu", region: "eu-west-1"),
            catalog: catalog,
            spotPrices: SpotPriceCache()
        )
        l.record(report([us], at: t0 + .seconds(36_000), cluster: "us"), catalog: catalog, spotPrices: SpotPriceCache())
        l.record(
            report([eu], at: t0 + .seconds(36_000), cluster: "eu", region: "eu-west-1"),
            catalog: catalog,
            spotPrices: SpotPriceCache()
        )
        let now = t0 + .seconds(36_000)
        #expect(abs(l.monthToDateUSD(.region("eu-west-1")) - 1.07) < 1e-9)  // 10 h at 0.107
        #expect(abs(l.monthToDateUSD(.fleet) - 2.03) < 1e-9)
        let budget = FleetBudget(monthlyUSD: 10_000, regionalMonthlyUSD: ["eu-west-1": 1.2])
        let alerts = l.newAlerts(budget: budget, at: now)
        #expect(alerts.allSatisfy { $0.scope == .region("eu-west-1") })
        #expect(alerts.contains { $0.basis == .spent && $0.threshold == 0.8 })
        #expect(l.allowance(budget: budget, at: now).regionalUSDPerHour["eu-west-1"]! < 0.001)
        #expect(
            l.summaries(budget: budget, at: now).map(\.scope) == [
                .fleet, .region("eu-west-1"), .region("us-east-1"), .cluster("eu"), .cluster("us"),
            ]
        )
    }
}
