import Distributed
import WireFormat

/// A distributed actor protocol (declared `@Resolvable`) that local actors may be called through, and which
/// roles may call it.
///
/// A caller that resolves `$SomeProtocol` sends targets named after the generated stub type, not after the
/// actor's own type. The Swift runtime finds a target by name alone and would run it on any actor, so the system
/// accepts such a target only when the recipient really conforms: register each protocol once with a check, e.g.
/// `WireEndpoint(stub: $ClusterAgentEndpoint.self, callers: [.coordinator]) { $0 is any ClusterAgentEndpoint }`.
///
/// An actor that implements at least one registered endpoint is reachable only through its endpoints, by the
/// roles they name: calling its own type's targets directly, or an endpoint from another role, is refused as an
/// unknown target. Actors that implement none (tests, tools) keep the plain rule: their own type's targets only.
public struct WireEndpoint: Sendable {
    /// `$s` followed by the stub type's mangled name: every target of the protocol starts with it.
    let targetPrefix: String
    /// The roles whose peers may call through this protocol.
    let callers: Set<WireRole>
    let isImplemented: @Sendable (any DistributedActor) -> Bool

    /// - Parameters:
    ///   - stub: the `$Protocol` stub type that `@Resolvable` generated.
    ///   - callers: the peer roles allowed to call through it; default every role.
    ///   - isImplemented: whether an actor conforms to the protocol (`{ $0 is any SomeProtocol }`).
    public init<Stub: DistributedActor>(
        stub: Stub.Type,
        callers: Set<WireRole> = [.coordinator, .agent, .admin],
        isImplemented: @escaping @Sendable (any DistributedActor) -> Bool
    ) {
        self.targetPrefix = "$s" + (_mangledTypeName(stub) ?? String(describing: stub))
        self.callers = callers
        self.isImplemented = isImplemented
    }

    /// Whether `target`, called by a peer of role `callerRole`, may run on `actor` (see the type's rule).
    static func accepts(
        target: String,
        on actor: any DistributedActor,
        from callerRole: WireRole,
        endpoints: [WireEndpoint]
    ) -> Bool {
        let implemented = endpoints.filter { $0.isImplemented(actor) }
        guard implemented.isEmpty else {
            return implemented.contains { $0.callers.contains(callerRole) && target.hasPrefix($0.targetPrefix) }
        }
        guard let typeName = _mangledTypeName(type(of: actor)) else { return false }
        return target.hasPrefix("$s" + typeName)
    }
}
