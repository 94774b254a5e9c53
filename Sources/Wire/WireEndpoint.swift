import Distributed

/// A distributed actor protocol (declared `@Resolvable`) that local actors may be called through.
///
/// A caller that resolves `$SomeProtocol` sends targets named after the generated stub type, not after the
/// actor's own type. The Swift runtime finds a target by name alone and would run it on any actor, so the system
/// accepts such a target only when the recipient really conforms: register each protocol once with a check, e.g.
/// `WireEndpoint(stub: $ClusterAgentEndpoint.self) { $0 is any ClusterAgentEndpoint }`.
public struct WireEndpoint: Sendable {
    /// `$s` followed by the stub type's mangled name: every target of the protocol starts with it.
    let targetPrefix: String
    let isImplemented: @Sendable (any DistributedActor) -> Bool

    /// - Parameters:
    ///   - stub: the `$Protocol` stub type that `@Resolvable` generated.
    ///   - isImplemented: whether an actor conforms to the protocol (`{ $0 is any SomeProtocol }`).
    public init<Stub: DistributedActor>(
        stub: Stub.Type,
        isImplemented: @escaping @Sendable (any DistributedActor) -> Bool
    ) {
        self.targetPrefix = "$s" + (_mangledTypeName(stub) ?? String(describing: stub))
        self.isImplemented = isImplemented
    }

    /// Whether `target` may run on `actor`: it names a function of the actor's own type, or of a registered
    /// protocol the actor conforms to.
    static func accepts(target: String, on actor: any DistributedActor, endpoints: [WireEndpoint]) -> Bool {
        if let typeName = _mangledTypeName(type(of: actor)), target.hasPrefix("$s" + typeName) {
            return true
        }
        return endpoints.contains { $0.hasPrefixMatch(target) && $0.isImplemented(actor) }
    }

    private func hasPrefixMatch(_ target: String) -> Bool {
        // The prefix must end at a symbol boundary: `$s8FleetAPI5$AgentC` must not accept `$s8FleetAPI5$AgentXC`.
        // Mangled nominal names are length-prefixed, so a prefix that matches is followed by the member's mangling.
        target.hasPrefix(targetPrefix)
    }
}
