// Wire: the TCP transport (SwiftNIO) and the distributed actor system that runs over it.
//
// Protocol logic (handshake, call table, heartbeats, reconnect) lives in value-type state machines; the NIO
// handlers only perform the actions those machines return. Depends on WireFormat; never on AWS or Kubernetes.
