import Foundation
import Synchronization

/// The state and the request semantics of the fake Kubernetes API server: nodes, pods, pod disruption budgets
/// and daemon sets held as JSON documents, one cluster-wide resourceVersion that grows by one per change, an
/// event history that watches resume from (and that ``compactHistory()`` drops, so a watch from before it gets
/// 410 Expired), and evictions that honour budgets the way the eviction subresource does.
///
/// Tests add and inspect objects directly; the HTTP front (``FakeKubernetesServer``) turns requests into
/// ``handle(_:)`` calls. Everything is behind one lock, so events reach every watch in resourceVersion order.
public final class FakeKubernetesAPI: Sendable {
    /// The resources the fake serves.
    public enum Resource: String, Sendable, CaseIterable {
        case nodes, pods, poddisruptionbudgets, daemonsets

        var kind: String {
            switch self {
            case .nodes: "Node"
            case .pods: "Pod"
            case .poddisruptionbudgets: "PodDisruptionBudget"
            case .daemonsets: "DaemonSet"
            }
        }
        var apiVersion: String {
            switch self {
            case .nodes, .pods: "v1"
            case .poddisruptionbudgets: "policy/v1"
            case .daemonsets: "apps/v1"
            }
        }
        var namespaced: Bool { self != .nodes }
        var fieldSelectorFields: Set<String> {
            switch self {
            case .nodes: ["metadata.name", "spec.unschedulable"]
            case .pods:
                [
                    "metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                    "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                    "status.podIP", "status.nominatedNodeName",
                ]
            case .poddisruptionbudgets, .daemonsets: ["metadata.name", "metadata.namespace"]
            }
        }
    }

    /// One eviction the fake granted or refused.
    public struct EvictionRecord: Sendable, Equatable {
        public var namespace: String
        public var name: String
        /// 201 when the pod was evicted, otherwise the status code of the refusal.
        public var status: Int
    }

    /// One request as it reached the API: for tests that check what a client asked for.
    public struct RequestRecord: Sendable, Equatable {
        public var method: String
        public var path: String
        public var query: String
        public var contentType: String?
        public var user: String?
        /// The status code of the answer (200 for a watch).
        public var status: Int
        /// The request's body as text (a patch, an eviction); empty for a GET or DELETE without one.
        public var body: String = ""
    }

    struct Watcher {
        var resource: Resource
        var namespace: String?
        var labels: LabelSelector
        var fields: FieldSelector
        var bookmarks: Bool
        var send: @Sendable (JSONValue) -> Void
        var end: @Sendable () -> Void = {}
    }

    struct Change {
        var resourceVersion: Int64
        var resource: Resource
        var type: String
        var old: JSONValue?
        var new: JSONValue
    }

    struct Store {
        /// The event history kept for watches; older changes are compacted away as etcd compacts.
        let historyLimit: Int
        var resourceVersion: Int64 = 1
        var objects: [Resource: [String: JSONValue]] = [:]
        var history: [Change] = []
        /// Watches from a resourceVersion below this get 410 Expired.
        var oldestWatchable: Int64 = 1
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var evictions: [EvictionRecord] = []
        var requests: [RequestRecord] = []
        var uidCounter = 0
    }

    let store: Mutex<Store>

    /// `historyLimit`: how many changes watches can resume from; older ones are compacted away as etcd does.
    public init(historyLimit: Int = 1000) {
        store = Mutex(Store(historyLimit: historyLimit))
    }

    // MARK: Test-facing state

    /// The current resourceVersion of the whole store.
    public var resourceVersion: Int64 { store.withLock { $0.resourceVersion } }

    /// The stored object, nil when there is none.
    public func object(_ resource: Resource, namespace: String? = nil, name: String) -> JSONValue? {
        store.withLock { $0.objects[resource]?[Self.key(namespace: resource.namespaced ? namespace : nil, name)] }
    }

    /// Names (`namespace/name` for namespaced resources) of every stored object of `resource`, sorted.
    public func names(_ resource: Resource) -> [String] {
        store.withLock { ($0.objects[resource] ?? [:]).keys.sorted() }
    }

    /// How many watch streams are open.
    public var openWatches: Int { store.withLock { $0.watchers.count } }

    /// Every eviction granted or refused so far, in order.
    public var evictions: [EvictionRecord] { store.withLock { $0.evictions } }

    /// Every request served so far, in order.
    public var requests: [RequestRecord] { store.withLock { $0.requests } }

    /// Creates or replaces an object, filling in what the API server fills in (uid, creationTimestamp,
    /// resourceVersion, kind, apiVersion), and tells watches. Returns the stored object.
    @discardableResult
    public func put(_ resource: Resource, _ object: JSONValue) -> JSONValue {
        store.withLock { store in Self.put(resource, object, into: &store) }
    }

    /// Applies a JSON merge patch to a stored object as a controller or kubelet would (e.g. to mark a pod Ready).
    @discardableResult
    public func update(
        _ resource: Resource,
        namespace: String? = nil,
        name: String,
        mergePatch: JSONValue
    ) -> JSONValue? {
        store.withLock { store in
            let key = Self.key(namespace: resource.namespaced ? namespace : nil, name)
            guard let current = store.objects[resource]?[key] else { return nil }
            return Self.put(resource, current.mergePatched(with: mergePatch), into: &store)
        }
    }

    /// Removes an object and tells watches; false when there was none.
    @discardableResult
    public func remove(_ resource: Resource, namespace: String? = nil, name: String) -> Bool {
        store.withLock { store in
            Self.delete(resource, key: Self.key(namespace: resource.namespaced ? namespace : nil, name), in: &store)
                != nil
        }
    }

    /// Forgets the event history, as etcd compaction does: a watch or a continued list from any earlier
    /// resourceVersion now gets 410.
    public func compactHistory() {
        store.withLock { store in
            store.history.removeAll()
            store.oldestWatchable = store.resourceVersion
        }
    }

    /// Sends a BOOKMARK carrying the current resourceVersion to every watch that asked for bookmarks.
    public func sendBookmarks() {
        store.withLock { store in
            for watcher in store.watchers.values where watcher.bookmarks {
                watcher.send(Self.bookmark(watcher.resource, store.resourceVersion))
            }
        }
    }

    /// Ends every open watch stream, then applies `changes` and compacts the history, all before any watch
    /// can reopen: what a client sees when the API server restarts and etcd compacted past what it had seen.
    /// A client that reopens from its last resourceVersion then gets 410 Expired and must list again. With
    /// `compact` false, the history is kept and a reopened watch resumes.
    public func disconnectWatches(thenPut changes: [(Resource, JSONValue)] = [], compact: Bool = true) {
        store.withLock { store in
            let watchers = store.watchers
            store.watchers.removeAll()
            for watcher in watchers.values { watcher.end() }
            for (resource, object) in changes {
                Self.put(resource, object, into: &store)
            }
            if compact {
                store.history.removeAll()
                store.oldestWatchable = store.resourceVersion
            }
        }
    }

    /// Records a request the server refused before it reached the API (no valid credentials).
    func recordUnauthorized(method: String, path: String) {
        store.withLock {
            $0.requests.append(
                RequestRecord(method: method, path: path, query: "", contentType: nil, user: nil, status: 401)
            )
        }
    }

    /// Sends one watch a BOOKMARK, if it asked for them (the server's periodic bookmark).
    func sendBookmark(to id: Int) {
        store.withLock { store in
            guard let watcher = store.watchers[id], watcher.bookmarks else { return }
            watcher.send(Self.bookmark(watcher.resource, store.resourceVersion))
        }
    }

    /// Forgets a watch, so it receives no further events (its stream has ended).
    func removeWatcher(_ id: Int) {
        _ = store.withLock { $0.watchers.removeValue(forKey: id) }
    }

    // MARK: Object helpers

    static func key(namespace: String?, _ name: String) -> String {
        namespace.map { "\($0)/\(name)" } ?? name
    }

    static func key(of object: JSONValue, _ resource: Resource) -> String {
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        let namespace = object[path: ["metadata", "namespace"]]?.stringValue
        return key(namespace: resource.namespaced ? (namespace ?? "default") : nil, name)
    }

    static func labels(of object: JSONValue) -> [String: String] {
        (object[path: ["metadata", "labels"]]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func bookmark(_ resource: Resource, _ resourceVersion: Int64) -> JSONValue {
        [
            "type": "BOOKMARK",
            "object": [
                "kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion),
                "metadata": ["resourceVersion": .string(String(resourceVersion))],
            ],
        ]
    }

    @discardableResult
    static func put(_ resource: Resource, _ object: JSONValue, into store: inout Store) -> JSONValue {
        var object = object
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        if resource.namespaced, object[path: ["metadata", "namespace"]] == nil {
            object[path: ["metadata", "namespace"]] = "default"
        }
        let key = key(of: object, resource)
        let old = store.objects[resource]?[key]
        if let old {
            object[path: ["metadata", "uid"]] = old[path: ["metadata", "uid"]]
            object[path: ["metadata", "creationTimestamp"]] = old[path: ["metadata", "creationTimestamp"]]
        } else {
            if object[path: ["metadata", "uid"]] == nil {
                store.uidCounter += 1
                object[path: ["metadata", "uid"]] = .string(
                    String(format: "00000000-0000-4000-8000-%012ld", store.uidCounter)
                )
            }
            if object[path: ["metadata", "creationTimestamp"]] == nil {
                object[path: ["metadata", "creationTimestamp"]] = .string(timestamp())
            }
        }
        store.resourceVersion += 1
        object[path: ["metadata", "resourceVersion"]] = .string(String(store.resourceVersion))
        store.objects[resource, default: [:]][key] = object
        record(
            Change(
                resourceVersion: store.resourceVersion,
                resource: resource,
                type: old == nil ? "ADDED" : "MODIFIED",
                old: old,
                new: object
            ),
            in: &store
        )
        return object
    }

    static func delete(_ resource: Resource, key: String, in store: inout Store) -> JSONValue? {
        guard var object = store.objects[resource]?.removeValue(forKey: key) else { return nil }
        store.resourceVersion += 1
        object[path: ["metadata", "resourceVersion"]] = .string(String(store.resourceVersion))
        record(
            Change(
                resourceVersion: store.resourceVersion,
                resource: resource,
                type: "DELETED",
                old: object,
                new: object
            ),
            in: &store
        )
        return object
    }

    private static func record(_ change: Change, in store: inout Store) {
        store.history.append(change)
        if store.history.count > store.historyLimit {
            store.history.removeFirst(store.history.count - store.historyLimit)
            store.oldestWatchable = store.history.first.map { $0.resourceVersion - 1 } ?? store.resourceVersion
        }
        for watcher in store.watchers.values {
            if let event = event(for: change, to: watcher) { watcher.send(event) }
        }
    }

    /// The event a watch sees for a change, as the watch cache filters it: an object that starts matching the
    /// selectors is ADDED, one that stops matching is DELETED.
    static func event(for change: Change, to watcher: Watcher) -> JSONValue? {
        guard change.resource == watcher.resource else { return nil }
        func matches(_ object: JSONValue?) -> Bool {
            guard let object else { return false }
            if let namespace = watcher.namespace,
                object[path: ["metadata", "namespace"]]?.stringValue != namespace
            {
                return false
            }
            return watcher.labels.matches(labels(of: object)) && watcher.fields.matches(object)
        }
        let type: String
        switch change.type {
        case "DELETED":
            guard matches(change.old) else { return nil }
            type = "DELETED"
        case "ADDED":
            guard matches(change.new) else { return nil }
            type = "ADDED"
        default:
            switch (matches(change.old), matches(change.new)) {
            case (true, true): type = "MODIFIED"
            case (false, true): type = "ADDED"
            case (true, false): type = "DELETED"
            case (false, false): return nil
            }
        }
        return ["type": .string(type), "object": change.new]
    }
}
