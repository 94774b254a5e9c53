import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// One event of a watch.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Nothing changed, but every change up to `resourceVersion` has been sent: resume from here.
    case bookmark(resourceVersion: String)

    /// The resourceVersion the watch has reached with this event.
    public var resourceVersion: String? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object.metadata.resourceVersion
        case .bookmark(let resourceVersion): resourceVersion
        }
    }
}

/// Waits between reconnects: `base` doubling per failure up to `cap`, each wait drawn from its upper half so
/// that many clients do not reconnect in step. A value: the watch loop owns one and resets it on success.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    /// Failures since the last success.
    public private(set) var failures = 0

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The wait after one more failure; `jitter` in [0, 1) picks where in the upper half it falls.
    public mutating func nextDelay(jitter: Double) -> Duration {
        let exponent = min(failures, 30)
        failures += 1
        let full = min(cap, base * (1 << exponent))
        return full / 2 + (full / 2) * min(max(jitter, 0), 1)
    }

    public mutating func reset() { failures = 0 }
}

/// The events of one watch connection, in order. Ends when the server closes the stream (its timeout);
/// throws ``KubernetesError`` with code ``KubernetesError/Code/expired`` when the resourceVersion it started from
/// is too old (list again), and other ``KubernetesError``s for ERROR events and broken connections.
public struct WatchEvents<Object: KubernetesObject>: AsyncSequence, Sendable {
    public typealias Element = WatchEvent<Object>
    let client: KubernetesClient
    let request: HTTPClientRequest
    let operation: String

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(events: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let events: WatchEvents
        var body: HTTPClientResponse.Body.AsyncIterator?
        var buffer: [UInt8] = []
        var finished = false

        public mutating func next() async throws -> WatchEvent<Object>? {
            if finished { return nil }
            if body == nil { body = try await open() }
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(buffer[..<newline])
                    buffer.removeSubrange(...newline)
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    return try decode(line)
                }
                let chunk: ByteBuffer?
                do {
                    chunk = try await body?.next()
                } catch {
                    finished = true
                    throw KubernetesError(
                        code: .transport,
                        operation: events.operation,
                        message: "the watch stream broke: \(error)"
                    )
                }
                guard var chunk else {
                    finished = true
                    // A last event without a newline still counts.
                    if !buffer.isEmpty {
                        let line = buffer
                        buffer = []
                        return try decode(line)
                    }
                    return nil
                }
                buffer += chunk.readBytes(length: chunk.readableBytes) ?? []
                guard buffer.count <= events.client.configuration.maxEventBytes else {
                    finished = true
                    throw KubernetesError(
                        code: .invalidResponse,
                        operation: events.operation,
                        message: "a watch event is larger than \(events.client.configuration.maxEventBytes) bytes"
                    )
                }
            }
        }

        private func open() async throws -> HTTPClientResponse.Body.AsyncIterator {
            let client = events.client
            let response: HTTPClientResponse
            do {
                // The server ends the stream after timeoutSeconds; the deadline only guards against a dead peer.
                response = try await client.httpClient.execute(
                    events.request,
                    timeout: .init(client.configuration.watchTimeout + .seconds(30))
                )
            } catch {
                throw KubernetesError(code: .transport, operation: events.operation, message: "\(error)")
            }
            let code = Int(response.status.code)
            client.logger.debug(
                "kubernetes watch opened",
                metadata: ["kubernetes.operation": "\(events.operation)", "kubernetes.status": "\(code)"]
            )
            guard code == 200 else {
                let bytes = try? await response.body.collect(upTo: 1 << 20)
                throw KubernetesClient.failure(
                    operation: events.operation,
                    httpStatus: code,
                    body: bytes.map { Data($0.readableBytesView) } ?? Data()
                )
            }
            return response.body.makeAsyncIterator()
        }

        private struct RawEvent<T: Decodable>: Decodable {
            var type: String
            var object: T
        }

        private struct Kind: Decodable { var type: String }

        private struct BookmarkObject: Decodable {
            struct Metadata: Decodable { var resourceVersion: String? }
            var metadata: Metadata
        }

        private func decode(_ line: [UInt8]) throws -> WatchEvent<Object> {
            let data = Data(line)
            let decoder = KubernetesClient.decoder
            let type: String
            do {
                type = try decoder.decode(Kind.self, from: data).type
            } catch {
                throw KubernetesError(
                    code: .invalidResponse,
                    operation: events.operation,
                    message: "a watch line is not an event: \(error)"
                )
            }
            do {
                switch type {
                case "ADDED": return .added(try decoder.decode(RawEvent<Object>.self, from: data).object)
                case "MODIFIED": return .modified(try decoder.decode(RawEvent<Object>.self, from: data).object)
                case "DELETED": return .deleted(try decoder.decode(RawEvent<Object>.self, from: data).object)
                case "BOOKMARK":
                    let object = try decoder.decode(RawEvent<BookmarkObject>.self, from: data).object
                    return .bookmark(resourceVersion: object.metadata.resourceVersion ?? "")
                case "ERROR":
                    let status = try decoder.decode(RawEvent<APIStatus>.self, from: data).object
                    throw KubernetesError(
                        code: status.code == 410 ? .expired : .apiStatus,
                        httpStatus: status.code,
                        status: status,
                        operation: events.operation,
                        message: status.message ?? "the watch ended with an error"
                    )
                default:
                    throw KubernetesError(
                        code: .invalidResponse,
                        operation: events.operation,
                        message: "unknown watch event type \(type)"
                    )
                }
            } catch let error as KubernetesError {
                throw error
            } catch {
                throw KubernetesError(
                    code: .invalidResponse,
                    operation: events.operation,
                    message: "a \(type) event does not hold a \(Object.self): \(error)"
                )
            }
        }
    }
}

extension KubernetesClient {
    /// Opens one watch of `T` from `resourceVersion` ("" for the current state, as synthetic ADDED events), with
    /// bookmarks. The connection opens on the first `next()`.
    public func watch<T: KubernetesObject>(
        _ type: T.Type,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        resourceVersion: String?
    ) throws -> WatchEvents<T> {
        var query: [(String, String)] = [("watch", "true"), ("allowWatchBookmarks", "true")]
        if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        let seconds = max(1, Int(configuration.watchTimeout.components.seconds))
        query.append(("timeoutSeconds", String(seconds)))
        let request = try makeRequest(
            .GET,
            collectionPath(T.self, namespace: namespace),
            query: query,
            body: nil,
            contentType: nil
        )
        return WatchEvents(client: self, request: request, operation: "watch \(T.resource)")
    }

    /// Lists then watches `T` for as long as it is iterated: the first element is the full list, later ones
    /// are changes. A watch that ends is reopened from the last resourceVersion seen (bookmarks included); a
    /// resourceVersion that expired (410) makes it list again and yield the new full list; a failed request is
    /// retried after ``Configuration/backoff``. Stops, without error, when the task is cancelled.
    public func listAndWatch<T: KubernetesObject>(
        _ type: T.Type,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil
    ) -> ResourceEvents<T> {
        ResourceEvents(
            client: self,
            namespace: namespace,
            labelSelector: labelSelector,
            fieldSelector: fieldSelector
        )
    }
}

/// What a list-and-watch yields: a full list (the first time and after every re-list), then changes.
public enum ResourceEvent<Object: KubernetesObject>: Sendable {
    /// Everything that exists, as of `resourceVersion`: replace whatever was known.
    case listed([Object], resourceVersion: String)
    case added(Object)
    case modified(Object)
    case deleted(Object)
}

/// The endless sequence behind ``KubernetesClient/listAndWatch(_:namespace:labelSelector:fieldSelector:)``.
public struct ResourceEvents<Object: KubernetesObject>: AsyncSequence, Sendable {
    public typealias Element = ResourceEvent<Object>
    let client: KubernetesClient
    let namespace: String?
    let labelSelector: String?
    let fieldSelector: String?

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(events: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let events: ResourceEvents
        /// The resourceVersion to resume from; nil when a list is due.
        var resourceVersion: String?
        var watch: WatchEvents<Object>.AsyncIterator?
        /// Events the open watch has delivered, bookmarks included.
        var eventsOnWatch = 0
        var backoff: Backoff

        init(events: ResourceEvents) {
            self.events = events
            self.backoff = events.client.configuration.backoff
        }

        public mutating func next() async throws -> ResourceEvent<Object>? {
            let client = events.client
            while !Task.isCancelled {
                guard let resourceVersion else {
                    do {
                        let list = try await client.list(
                            Object.self,
                            namespace: events.namespace,
                            labelSelector: events.labelSelector,
                            fieldSelector: events.fieldSelector
                        )
                        self.resourceVersion = list.resourceVersion
                        backoff.reset()
                        return .listed(list.items, resourceVersion: list.resourceVersion)
                    } catch {
                        try await wait(after: error)
                        continue
                    }
                }
                do {
                    if watch == nil {
                        eventsOnWatch = 0
                        watch = try client.watch(
                            Object.self,
                            namespace: events.namespace,
                            labelSelector: events.labelSelector,
                            fieldSelector: events.fieldSelector,
                            resourceVersion: resourceVersion
                        ).makeAsyncIterator()
                    }
                    guard let event = try await watch?.next() else {
                        // The server closed the stream at its timeout: reopen from where we are. A stream that
                        // ended without even a bookmark is a server in trouble: wait before asking again.
                        watch = nil
                        if eventsOnWatch == 0 { try await wait(after: EmptyWatch()) }
                        continue
                    }
                    eventsOnWatch += 1
                    backoff.reset()
                    if let version = event.resourceVersion, !version.isEmpty { self.resourceVersion = version }
                    switch event {
                    case .added(let object): return .added(object)
                    case .modified(let object): return .modified(object)
                    case .deleted(let object): return .deleted(object)
                    case .bookmark: continue
                    }
                } catch let error as KubernetesError where error.code == .expired {
                    client.logger.debug(
                        "kubernetes watch expired, listing again",
                        metadata: ["kubernetes.resource": "\(Object.resource)"]
                    )
                    watch = nil
                    self.resourceVersion = nil
                } catch {
                    watch = nil
                    try await wait(after: error)
                }
            }
            return nil
        }

        private struct EmptyWatch: Error, CustomStringConvertible {
            var description: String { "the watch ended without an event" }
        }

        private mutating func wait(after error: any Error) async throws {
            let client = events.client
            let delay = backoff.nextDelay(jitter: client.configuration.jitter())
            client.logger.info(
                "kubernetes watch failed, retrying",
                metadata: [
                    "kubernetes.resource": "\(Object.resource)", "error": "\(error)",
                    "retry-in": "\(delay)",
                ]
            )
            do {
                try await client.configuration.sleep(delay)
            } catch {
                // Cancelled while waiting: the loop condition ends the sequence.
            }
        }
    }
}

/// The objects a list-and-watch has seen, by key (`namespace/name`, or `name`): apply each event in order and
/// it holds what the server holds as of the last event.
public struct ObjectCache<Object: KubernetesObject>: Sendable {
    public private(set) var objects: [String: Object] = [:]
    /// The resourceVersion of the last list or event applied.
    public private(set) var resourceVersion: String?

    public init() {}

    public mutating func apply(_ event: ResourceEvent<Object>) {
        switch event {
        case .listed(let items, let version):
            objects = Dictionary(items.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
            resourceVersion = version
        case .added(let object), .modified(let object):
            objects[object.key] = object
            resourceVersion = object.metadata.resourceVersion ?? resourceVersion
        case .deleted(let object):
            objects[object.key] = nil
            resourceVersion = object.metadata.resourceVersion ?? resourceVersion
        }
    }
}
