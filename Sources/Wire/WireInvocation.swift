import Distributed
import Foundation
import WireFormat

/// Records one outgoing distributed call: each argument as one JSON document (docs/wire.md §4), so a peer in
/// another language can produce and read them. Generic substitutions are recorded but never sent: a call is
/// named by its stable call name, which fixes every type (see `WireEndpoint`).
public struct WireInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    var genericSubstitutions: [String] = []
    var arguments: [[UInt8]] = []
    private let coding: WireJSONCoding

    init(coding: WireJSONCoding) {
        self.coding = coding
    }

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        guard let name = _mangledTypeName(type) else {
            throw WireCallError(.encodingFailed, "generic substitution \(type) has no mangled name")
        }
        genericSubstitutions.append(name)
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        do {
            arguments.append(try coding.encode(argument.value))
        } catch {
            throw WireCallError(.encodingFailed, "argument \(argument.label ?? argument.name) did not encode: \(error)")
        }
    }

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}
    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func doneRecording() throws {}
}

/// Reads the generic substitutions and arguments of one incoming call, in declaration order.
public struct WireInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    let call: WireMessage.Call
    private var nextArgument = 0
    private let coding: WireJSONCoding

    init(call: WireMessage.Call, coding: WireJSONCoding) {
        self.call = call
        self.coding = coding
    }

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] {
        try call.genericSubstitutions.map { name in
            guard let type = _typeByName(name) else {
                throw WireCallError(.badArguments, "unknown generic substitution \(name)")
            }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard nextArgument < call.arguments.count else {
            throw WireCallError(
                .badArguments,
                "the call carries \(call.arguments.count) arguments, the target needs more"
            )
        }
        defer { nextArgument += 1 }
        do {
            return try coding.decode(Argument.self, from: call.arguments[nextArgument])
        } catch {
            throw WireCallError(.badArguments, "argument \(nextArgument) is not a valid \(Argument.self): \(error)")
        }
    }

    public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }
    public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// Turns the outcome of a local invocation into the reply's outcome: the JSON of the value, a typed
/// `WireRemoteError` with its code and JSON, or any other error as `wire.remote-failure` with its description.
public struct WireResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = any Codable

    let coding: WireJSONCoding
    let deliver: @Sendable (WireMessage.Reply.Outcome) -> Void

    public func onReturn<Success: Codable>(value: Success) async throws {
        do {
            deliver(.value(try coding.encode(value)))
        } catch {
            deliver(
                .error(
                    .init(
                        code: WireSystemErrorCode.remoteFailure,
                        message: "the return value of type \(Success.self) did not encode: \(error)"
                    )
                )
            )
        }
    }

    public func onReturnVoid() async throws {
        deliver(.value([]))
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        deliver(.error(Self.errorBody(for: error)))
    }

    /// The detail of a `wire.retired-call` reply: `{"call":…,"replacement":…}` (replacement left out when none).
    static func retiredDetail(call: String, replacement: String?) -> [UInt8] {
        struct Retired: Encodable {
            var call: String
            var replacement: String?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Retired(call: call, replacement: replacement))).map { Array($0) } ?? []
    }

    static func errorBody(for error: any Error) -> WireMessage.Reply.ErrorBody {
        if let remote = error as? any WireRemoteError {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            // A typed error that cannot encode still crosses with its code and message; only the detail is lost.
            let detail = (try? encoder.encode(remote)).map { Array($0) } ?? []
            return .init(code: type(of: remote).wireErrorCode, message: "\(remote)", detail: detail)
        }
        if let targetError = error as? ExecuteDistributedTargetError {
            let code =
                targetError.errorCode == .targetAccessorNotFound
                ? WireSystemErrorCode.unknownTarget : WireSystemErrorCode.badArguments
            return .init(code: code, message: targetError.message)
        }
        if let callError = error as? WireCallError {
            switch callError.code {
            case .badArguments: return .init(code: WireSystemErrorCode.badArguments, message: callError.message)
            case .unknownTarget: return .init(code: WireSystemErrorCode.unknownTarget, message: callError.message)
            default: break
            }
        }
        return .init(code: WireSystemErrorCode.remoteFailure, message: "\(type(of: error)): \(error)")
    }
}
