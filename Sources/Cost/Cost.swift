// Cost: prices, budgets, spend and the fleet planner.
//
// Pure code: no I/O, no clocks read, no dependencies (not even Foundation). Everything it needs (reports,
// policies, prices, the budget allowance, forecasts, the current time) is passed in, so it runs the same in the
// coordinator, the simulator and the tests. What it owns:
//
// - the domain types every other module shares: ClusterReport, NodeReport, ClusterPolicy, FleetBudget,
//   Resources (millicores, bytes), Timestamp and CalendarMonth (UTC), money as Double USD (see FleetBudget);
// - PriceCatalog: the dated AWS on-demand list shipped in BundledPrices.swift (from Resources/*.csv), overrides;
// - SpotPriceCache: the newest spot price per pool and its age;
// - SpendLedger: per node-second spend, month-to-date, burn rate, projection, 80 %/100 % alerts, allowance;
// - FleetPlanner: the rules of SYSTEM.md §2 (demand, floors and caps, budget, spot mix, placement, scale-down,
//   failover, storms, headroom, churn limits), with PlannerState as its memory between cycles;
// - DemandProfile / ClusterDemandForecaster: the hour-of-week forecast the planner pre-scales with.
//
// It must not depend on any other Ballast module or on anything that performs I/O. docs/planner.md explains the
// rules with a worked example.
