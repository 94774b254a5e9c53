import Distributed
import Synchronization
import WireFormat

/// A set of distributed functions that local actors may be called through, each under a stable,
/// language-neutral call name (`fleet.coordinator.report`), and the roles that may call them.
///
/// The name is what travels in a call's target field (docs/wire.md §4): a peer in any language sends it, and a
/// Swift peer that calls through the endpoint's Swift type (the `$Protocol` stub a `@Resolvable` protocol
/// generated, or a distributed actor type) sends the same name, found from the Swift function it called. There
/// is one way to call: a target that is not a registered name is answered `wire.unknown-target`, whatever it
/// looks like, and a Swift call of a function no endpoint names fails on the caller's side with the same code.
///
/// The receiver runs a call by its name through the registered closure, on the addressed actor, and only when
/// that actor implements the endpoint (`isImplemented`) and the caller's role is one of `callers`; no generic
/// substitution crosses the wire (a generic Swift function is registered once per concrete type, under a name
/// of its own).
///
/// Versioning: a name keeps its arguments and result for good. A changed call is a new name; a name that is no
/// longer served stays registered as `WireCall.retired(_:replacement:)` and is answered `wire.retired-call`.
public struct WireEndpoint: Sendable {
    /// The Swift type callers resolve (the stub or the actor type), and its full name for finding functions.
    let swiftType: ObjectIdentifier
    let swiftTypeName: String
    /// The roles whose peers may call through this endpoint.
    let callers: Set<WireRole>
    let isImplemented: @Sendable (any DistributedActor) -> Bool
    /// The calls, in the order registered.
    public let calls: [WireCall]

    /// - Parameters:
    ///   - stub: the type Swift callers resolve: the `$Protocol` stub that `@Resolvable` generated, or the
    ///     distributed actor type itself.
    ///   - callers: the peer roles allowed to call through it; default every role.
    ///   - isImplemented: whether an actor implements the endpoint (`{ $0 is any SomeProtocol }`).
    ///   - calls: every function of the endpoint, each under its stable name.
    public init<Stub: DistributedActor>(
        stub: Stub.Type,
        callers: Set<WireRole> = [.coordinator, .agent, .admin],
        isImplemented: @escaping @Sendable (any DistributedActor) -> Bool,
        calls: [WireCall]
    ) {
        self.swiftType = ObjectIdentifier(stub)
        self.swiftTypeName = String(reflecting: stub)
        self.callers = callers
        self.isImplemented = isImplemented
        self.calls = calls
    }
}

/// One distributed function under its stable call name: how many JSON arguments it takes, and how the receiver
/// runs it on a local actor.
public struct WireCall: Sendable {
    /// The stable, language-neutral name (`fleet.coordinator.report`): lower-case words joined by `.` and `-`.
    public let name: String
    /// The Swift function's name with its argument labels (`report(_:)`), which Swift callers are matched by.
    public let swiftName: String
    /// How many arguments a call carries (one JSON document each).
    public let arity: Int
    /// The call name to use instead, when this one is retired.
    public let replacement: String?
    let run: (@Sendable (any DistributedActor, inout WireArguments) async throws -> [UInt8])?

    /// A function that returns a value: `body` decodes the arguments in order, calls the function on the
    /// actor (which the receiver has checked implements the endpoint) and returns its result.
    public init<Actor, Result: Encodable>(
        _ name: String,
        swift swiftName: String,
        on actorType: Actor.Type = Actor.self,
        _ body: @escaping @Sendable (Actor, inout WireArguments) async throws -> Result
    ) {
        self.init(name: name, swiftName: swiftName, replacement: nil) { actor, arguments in
            guard let actor = actor as? Actor else {
                throw WireCallError(.unknownTarget, "\(type(of: actor)) does not implement \(name)")
            }
            let result = try await body(actor, &arguments)
            do {
                return try arguments.coding.encode(result)
            } catch {
                throw WireCallError(.encodingFailed, "the result of \(name) did not encode: \(error)")
            }
        }
    }

    /// A function that returns nothing: its reply carries an empty value.
    public static func void<Actor>(
        _ name: String,
        swift swiftName: String,
        on actorType: Actor.Type = Actor.self,
        _ body: @escaping @Sendable (Actor, inout WireArguments) async throws -> Void
    ) -> WireCall {
        WireCall(name: name, swiftName: swiftName, replacement: nil) { actor, arguments in
            guard let actor = actor as? Actor else {
                throw WireCallError(.unknownTarget, "\(type(of: actor)) does not implement \(name)")
            }
            try await body(actor, &arguments)
            return []
        }
    }

    /// A name that is no longer served: every call of it is answered `wire.retired-call`, naming `replacement`.
    public static func retired(_ name: String, swift swiftName: String, replacement: String?) -> WireCall {
        WireCall(name: name, swiftName: swiftName, replacement: replacement, run: nil)
    }

    private init(
        name: String,
        swiftName: String,
        replacement: String?,
        run: (@Sendable (any DistributedActor, inout WireArguments) async throws -> [UInt8])?
    ) {
        precondition(Self.isValidName(name), "a call name is lower-case words joined by . and -, got \(name)")
        self.name = name
        self.swiftName = swiftName
        self.arity = Self.arity(of: swiftName)
        self.replacement = replacement
        self.run = run
    }

    /// Lower-case ASCII letters, digits, `.` and `-`, 1–255 bytes, not starting with `$` (never Swift mangling).
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "-")
            }
    }

    /// The number of labels in `name(a:_:c:)`.
    static func arity(of swiftName: String) -> Int {
        guard let open = swiftName.firstIndex(of: "(") else { return 0 }
        return swiftName[open...].filter { $0 == ":" }.count
    }
}

/// The arguments of one incoming call, read in declaration order by a `WireCall`'s closure.
public struct WireArguments {
    let documents: [[UInt8]]
    let coding: WireJSONCoding
    let callName: String
    private var next = 0

    init(documents: [[UInt8]], coding: WireJSONCoding, callName: String) {
        self.documents = documents
        self.coding = coding
        self.callName = callName
    }

    /// The next argument, decoded as `Value`; a document that does not decode is `wire.bad-arguments`.
    public mutating func next<Value: Decodable>(_ type: Value.Type = Value.self) throws -> Value {
        guard next < documents.count else {
            throw WireCallError(.badArguments, "\(callName) needs more than \(documents.count) arguments")
        }
        defer { next += 1 }
        do {
            return try coding.decode(Value.self, from: documents[next])
        } catch {
            throw WireCallError(.badArguments, "argument \(next) of \(callName) is not a valid \(Value.self): \(error)")
        }
    }
}

/// The call names of an actor system's endpoints, both ways: a name to its endpoint and call for the receiver,
/// and a Swift target to its name for the caller (found once per target from its function's name, then kept).
final class WireCallDirectory: Sendable {
    struct Entry: Sendable {
        let endpoint: WireEndpoint
        let call: WireCall
    }

    private let byName: [String: Entry]
    private let byType: [ObjectIdentifier: [WireEndpoint]]
    private let byTarget = Mutex<[String: String]>([:])

    init(_ endpoints: [WireEndpoint]) {
        var byName: [String: Entry] = [:]
        var byType: [ObjectIdentifier: [WireEndpoint]] = [:]
        for endpoint in endpoints {
            byType[endpoint.swiftType, default: []].append(endpoint)
            for call in endpoint.calls {
                precondition(byName[call.name] == nil, "the call name \(call.name) is registered twice")
                byName[call.name] = Entry(endpoint: endpoint, call: call)
            }
        }
        self.byName = byName
        self.byType = byType
    }

    func entry(named name: String) -> Entry? { byName[name] }

    /// The call name of `target` called on a Swift value of type `actorType`, or nil when no endpoint names it.
    func name(of target: RemoteCallTarget, on actorType: any DistributedActor.Type) -> String? {
        if let known = byTarget.withLock({ $0[target.identifier] }) { return known }
        guard let endpoints = byType[ObjectIdentifier(actorType)] else { return nil }
        // `description` is the function's full name (`Module.Type.report(_:)`); computed once per target.
        let function = target.description
        for endpoint in endpoints {
            for call in endpoint.calls where function == endpoint.swiftTypeName + "." + call.swiftName {
                byTarget.withLock { $0[target.identifier] = call.name }
                return call.name
            }
        }
        return nil
    }
}
