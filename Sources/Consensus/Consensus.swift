// Consensus: the leader lease of a coordinator fleet.
//
// Responsibility: the lease record and the stores that hold it (DynamoDB in production, a local SQLite file
// as the embedded default), the campaign/renew state machine (`LeaseCampaign`), the `LeaderElection` service
// that drives it, and fenced writes (state writes conditional on the writer's epoch still being current).
//
// Must not depend on: the coordinator, the agent, the wire protocol. The protocol and its timing argument are
// written down in docs/consensus.md.

@_exported import Fencing
