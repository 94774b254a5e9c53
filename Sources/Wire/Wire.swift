// Wire: the TCP transport (SwiftNIO) and the distributed actor system that runs over it (docs/wire.md).
//
// Owns: `WireActorSystem` (local actors by `WireActorID`, authenticated connections, routing of remote calls by
// node id, peer events, shutdown), its in-process twin `WireHub`, and the protocol logic as value-type state
// machines that take events and return actions: `HandshakeStateMachine`, `CallTable`, `HeartbeatStateMachine`,
// `ReconnectBackoff`, nested in `ConnectionStateMachine`. The NIO handlers only perform those actions.
// Depends on WireFormat, WireJSON, SwiftNIO, swift-nio-ssl, swift-crypto and swift-log; never on AWS, Kubernetes
// or the coordinator's and agent's logic.
