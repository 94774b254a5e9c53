// Cost: prices, budgets, spend and the fleet planner.
//
// Pure code: no I/O, no clocks read, no dependencies. Everything it needs (reports, policies, prices, the
// current time) is passed in, so it runs the same in the coordinator, the simulator and the tests.
