// Coordinator: the coordinator actor: registry of clusters, planner loop, reconciler, failover, policy.
