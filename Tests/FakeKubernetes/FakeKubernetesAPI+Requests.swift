import Foundation

/// A request as the HTTP front hands it to the API: method, path, decoded query, and the headers that matter.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var rawQuery: String
    public var accept: String?
    public var contentType: String?
    public var body: [UInt8]
    /// The authenticated user (client certificate subject or "token"), nil for plain HTTP without auth.
    public var user: String?

    public init(
        method: String,
        path: String,
        rawQuery: String = "",
        accept: String? = nil,
        contentType: String? = nil,
        body: [UInt8] = [],
        user: String? = nil
    ) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.accept = accept
        self.contentType = contentType
        self.body = body
        self.user = user
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            query[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        self.query = query
    }
}

/// What the API answers: one JSON document with a status code, or a watch stream to open.
public enum APIResponse: Sendable {
    case object(status: Int, JSONValue)
    case watch(WatchRequest)
}

/// A watch to open: the HTTP front registers it with ``FakeKubernetesAPI/startWatch(_:send:end:)``.
public struct WatchRequest: Sendable {
    var resource: FakeKubernetesAPI.Resource
    var namespace: String?
    var labels: LabelSelector
    var fields: FieldSelector
    var resourceVersion: String?
    var bookmarks: Bool
    /// How long the stream stays open (`timeoutSeconds`), nil for the server's default.
    public var timeout: Duration?
}

extension FakeKubernetesAPI {
    /// Serves one non-streaming request, or says which watch to open.
    public func handle(_ request: APIRequest) -> APIResponse {
        let response = answer(request)
        let status: Int
        switch response {
        case .object(let code, _): status = code
        case .watch: status = 200
        }
        store.withLock {
            $0.requests.append(
                RequestRecord(
                    method: request.method,
                    path: request.path,
                    query: request.rawQuery,
                    contentType: request.contentType,
                    user: request.user,
                    status: status,
                    body: String(decoding: request.body, as: UTF8.self)
                )
            )
        }
        return response
    }

    private func answer(_ request: APIRequest) -> APIResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        if request.method == "GET", let document = Discovery.document(for: segments) {
            return .object(status: 200, document)
        }
        guard let route = Route(segments) else {
            return .object(status: 404, Status.notFoundPath)
        }
        switch (request.method, route.name, route.subresource) {
        case ("GET", nil, nil):
            return list(route, request)
        case ("GET", let name?, nil):
            return get(route.resource, namespace: route.namespace, name: name, request: request)
        case ("PATCH", let name?, nil):
            return patch(route, name: name, request)
        case ("DELETE", let name?, nil):
            return delete(route, name: name, request)
        case ("POST", let name?, "eviction") where route.resource == .pods:
            return evict(namespace: route.namespace ?? "default", name: name, request)
        default:
            return .object(
                status: 405,
                Status.failure(
                    code: 405,
                    reason: "MethodNotAllowed",
                    message: "the server does not allow this method on the requested resource"
                )
            )
        }
    }

    /// Registers a watch and sends it its first events, atomically with respect to changes: a watch from a
    /// resourceVersion replays the history after it (or gets an ERROR 410 Expired when that history is gone),
    /// a watch from "" or "0" starts with a synthetic ADDED per matching object. Returns those first events, to
    /// be written before anything `send` gets later, and the id to pass to ``removeWatcher(_:)``, or nil when
    /// the stream must end after the first events.
    func startWatch(
        _ watch: WatchRequest,
        send: @escaping @Sendable (JSONValue) -> Void,
        end: @escaping @Sendable () -> Void
    ) -> (initial: [JSONValue], id: Int?) {
        store.withLock { store in
            var initial: [JSONValue] = []
            let watcher = Watcher(
                resource: watch.resource,
                namespace: watch.namespace,
                labels: watch.labels,
                fields: watch.fields,
                bookmarks: watch.bookmarks,
                send: send,
                end: end
            )
            if let text = watch.resourceVersion, !text.isEmpty, text != "0" {
                guard let from = Int64(text) else {
                    initial.append(
                        [
                            "type": "ERROR",
                            "object": Status.failure(
                                code: 400,
                                reason: "BadRequest",
                                message: "invalid resource version: \(text)"
                            ),
                        ]
                    )
                    return (initial, nil)
                }
                if from < store.oldestWatchable {
                    initial.append(
                        [
                            "type": "ERROR",
                            "object": Status.failure(
                                code: 410,
                                reason: "Expired",
                                message: "too old resource version: \(from) (\(store.oldestWatchable))"
                            ),
                        ]
                    )
                    return (initial, nil)
                }
                for change in store.history where change.resourceVersion > from {
                    if let event = Self.event(for: change, to: watcher) { initial.append(event) }
                }
            } else {
                for object in (store.objects[watch.resource] ?? [:]).values.sorted(by: Self.byResourceVersion) {
                    if let event = Self.event(
                        for: Change(resourceVersion: 0, resource: watch.resource, type: "ADDED", old: nil, new: object),
                        to: watcher
                    ) {
                        initial.append(event)
                    }
                }
            }
            store.nextWatcher += 1
            store.watchers[store.nextWatcher] = watcher
            return (initial, store.nextWatcher)
        }
    }

    static func byResourceVersion(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let left = Int64(a[path: ["metadata", "resourceVersion"]]?.stringValue ?? "") ?? 0
        let right = Int64(b[path: ["metadata", "resourceVersion"]]?.stringValue ?? "") ?? 0
        return left < right
    }

    // MARK: Verbs

    private func selectors(_ route: Route, _ request: APIRequest) -> Result<(LabelSelector, FieldSelector), Failure> {
        guard let labels = LabelSelector(parsing: request.query["labelSelector"] ?? "") else {
            return .failure(
                Failure(
                    Status.failure(
                        code: 400,
                        reason: "BadRequest",
                        message: "unable to parse requirement: \(request.query["labelSelector"] ?? "")"
                    )
                )
            )
        }
        do {
            let fields = try FieldSelector(
                parsing: request.query["fieldSelector"] ?? "",
                supportedFields: route.resource.fieldSelectorFields
            )
            return .success((labels, fields))
        } catch .unsupportedField(let field) {
            return .failure(
                Failure(
                    Status.failure(
                        code: 400,
                        reason: "BadRequest",
                        message: "field label not supported: \(field)"
                    )
                )
            )
        } catch {
            return .failure(
                Failure(
                    Status.failure(
                        code: 400,
                        reason: "BadRequest",
                        message: "invalid field selector: \(request.query["fieldSelector"] ?? "")"
                    )
                )
            )
        }
    }

    struct Failure: Error {
        var status: JSONValue
        init(_ status: JSONValue) { self.status = status }
    }

    private func list(_ route: Route, _ request: APIRequest) -> APIResponse {
        let labels: LabelSelector
        let fields: FieldSelector
        switch selectors(route, request) {
        case .success(let pair): (labels, fields) = pair
        case .failure(let failure): return .object(status: 400, failure.status)
        }
        if let watch = request.query["watch"], ["true", "1", "True", "TRUE", "t"].contains(watch) {
            return .watch(
                WatchRequest(
                    resource: route.resource,
                    namespace: route.namespace,
                    labels: labels,
                    fields: fields,
                    resourceVersion: request.query["resourceVersion"],
                    bookmarks: ["true", "1", "True"].contains(request.query["allowWatchBookmarks"] ?? ""),
                    timeout: request.query["timeoutSeconds"].flatMap(Int.init).map { .seconds($0) }
                )
            )
        }
        let limit = request.query["limit"].flatMap(Int.init) ?? 0
        return store.withLock { store -> APIResponse in
            var after: String?
            var listVersion = store.resourceVersion
            if let token = request.query["continue"], !token.isEmpty {
                guard let decoded = Data(base64Encoded: token).map({ String(decoding: $0, as: UTF8.self) }),
                    let slash = decoded.firstIndex(of: "/"), let version = Int64(decoded[..<slash])
                else {
                    return .object(
                        status: 400,
                        Status.failure(code: 400, reason: "BadRequest", message: "continue key is not valid")
                    )
                }
                if version < store.oldestWatchable {
                    return .object(
                        status: 410,
                        Status.failure(
                            code: 410,
                            reason: "Expired",
                            message:
                                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
                        )
                    )
                }
                after = String(decoded[decoded.index(after: slash)...])
                listVersion = version
            }
            let keys = (store.objects[route.resource] ?? [:]).keys.sorted()
            var items: [JSONValue] = []
            var next: String?
            for key in keys {
                if let after, key <= after { continue }
                let object = store.objects[route.resource]![key]!
                if let namespace = route.namespace, object[path: ["metadata", "namespace"]]?.stringValue != namespace {
                    continue
                }
                guard labels.matches(Self.labels(of: object)), fields.matches(object) else { continue }
                if limit > 0, items.count == limit {
                    next = Data("\(listVersion)/\(Self.key(of: items.last!, route.resource))".utf8)
                        .base64EncodedString()
                    break
                }
                items.append(object)
            }
            var metadata: JSONValue = ["resourceVersion": .string(String(listVersion))]
            if let next { metadata["continue"] = .string(next) }
            if Table.wanted(request.accept), route.resource == .pods || route.resource == .nodes {
                return .object(status: 200, Table.make(route.resource, items, metadata: metadata))
            }
            let stripped = items.map { item -> JSONValue in
                var item = item
                item["kind"] = nil
                item["apiVersion"] = nil
                return item
            }
            return .object(
                status: 200,
                [
                    "kind": .string(route.resource.kind + "List"),
                    "apiVersion": .string(route.resource.apiVersion),
                    "metadata": metadata,
                    "items": .array(stripped),
                ]
            )
        }
    }

    private func get(_ resource: Resource, namespace: String?, name: String, request: APIRequest) -> APIResponse {
        let found = store.withLock { store -> JSONValue? in
            guard var object = store.objects[resource]?[Self.key(namespace: namespace, name)] else { return nil }
            if resource == .poddisruptionbudgets { object["status"] = Self.budgetStatus(object, store) }
            return object
        }
        guard let object = found else { return .object(status: 404, Status.notFound(resource, name)) }
        if Table.wanted(request.accept), resource == .pods || resource == .nodes {
            return .object(status: 200, Table.make(resource, [object], metadata: [:]))
        }
        return .object(status: 200, object)
    }

    private func patch(_ route: Route, name: String, _ request: APIRequest) -> APIResponse {
        let type = (request.contentType ?? "").split(separator: ";").first.map {
            String($0).trimmingWhitespace().lowercased()
        }
        guard type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json" else {
            return .object(
                status: 415,
                Status.failure(
                    code: 415,
                    reason: "UnsupportedMediaType",
                    message: "the body of the request was in an unknown format - accepted media types include: "
                        + "application/merge-patch+json, application/strategic-merge-patch+json"
                )
            )
        }
        guard let patch = JSONValue.parse(request.body), case .object = patch else {
            return .object(
                status: 400,
                Status.failure(code: 400, reason: "BadRequest", message: "error decoding patch: invalid JSON")
            )
        }
        return store.withLock { store -> APIResponse in
            let key = Self.key(namespace: route.namespace, name)
            guard let current = store.objects[route.resource]?[key] else {
                return .object(status: 404, Status.notFound(route.resource, name))
            }
            if let wanted = patch[path: ["metadata", "resourceVersion"]]?.stringValue,
                wanted != current[path: ["metadata", "resourceVersion"]]?.stringValue
            {
                return .object(
                    status: 409,
                    Status.failure(
                        code: 409,
                        reason: "Conflict",
                        message:
                            "Operation cannot be fulfilled on \(route.resource.rawValue) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                        details: ["name": .string(name), "kind": .string(route.resource.rawValue)]
                    )
                )
            }
            var patched = current.mergePatched(with: Self.withoutDirectives(patch))
            // Identity cannot be patched: the server keeps name, namespace and uid.
            for field in ["name", "namespace", "uid"] {
                patched[path: ["metadata", field]] = current[path: ["metadata", field]]
            }
            if patched == current {
                return .object(status: 200, current)
            }
            return .object(
                status: 200,
                Self.put(route.resource, patched, into: &store)
            )
        }
    }

    /// Strategic merge patch directives (`$patch`, `$retainKeys`, …) do not apply to the scalar fields this
    /// fake patches; dropping them keeps a strategic patch of maps equal to a merge patch, as it is in the server.
    private static func withoutDirectives(_ patch: JSONValue) -> JSONValue {
        guard case .object(let fields) = patch else { return patch }
        return .object(fields.filter { !$0.key.hasPrefix("$") }.mapValues(withoutDirectives))
    }

    private func delete(_ route: Route, name: String, _ request: APIRequest) -> APIResponse {
        store.withLock { store -> APIResponse in
            let key = Self.key(namespace: route.namespace, name)
            guard let current = store.objects[route.resource]?[key] else {
                return .object(status: 404, Status.notFound(route.resource, name))
            }
            if let options = JSONValue.parse(request.body),
                let uid = options[path: ["preconditions", "uid"]]?.stringValue,
                uid != current[path: ["metadata", "uid"]]?.stringValue
            {
                return .object(status: 409, Status.preconditionFailed(route.resource, name, uid: uid))
            }
            let deleted = Self.delete(route.resource, key: key, in: &store) ?? current
            // Pods delete gracefully and the server returns the pod; other kinds get a Success Status.
            guard route.resource != .pods else { return .object(status: 200, deleted) }
            return .object(
                status: 200,
                [
                    "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success",
                    "details": [
                        "name": .string(name), "kind": .string(route.resource.rawValue),
                        "uid": deleted[path: ["metadata", "uid"]] ?? "",
                    ],
                ]
            )
        }
    }

    // MARK: Eviction

    private func evict(namespace: String, name: String, _ request: APIRequest) -> APIResponse {
        guard let body = JSONValue.parse(request.body), case .object = body else {
            return .object(
                status: 400,
                Status.failure(code: 400, reason: "BadRequest", message: "the body of the eviction is not JSON")
            )
        }
        guard body["kind"]?.stringValue == "Eviction",
            ["policy/v1", "policy/v1beta1"].contains(body["apiVersion"]?.stringValue ?? "")
        else {
            return .object(
                status: 400,
                Status.failure(
                    code: 400,
                    reason: "BadRequest",
                    message: "the body must be a policy/v1 Eviction, got \(body["apiVersion"]?.stringValue ?? "?")"
                        + " \(body["kind"]?.stringValue ?? "?")"
                )
            )
        }
        guard body[path: ["metadata", "name"]]?.stringValue == name else {
            return .object(
                status: 400,
                Status.failure(
                    code: 400,
                    reason: "BadRequest",
                    message: "name in URL does not match name in Eviction object"
                )
            )
        }
        return store.withLock { store -> APIResponse in
            let (status, document) = Self.evict(
                namespace: namespace,
                name: name,
                body: body,
                store: &store
            )
            store.evictions.append(EvictionRecord(namespace: namespace, name: name, status: status))
            return .object(status: status, document)
        }
    }

    private static func evict(
        namespace: String,
        name: String,
        body: JSONValue,
        store: inout Store
    ) -> (Int, JSONValue) {
        let key = key(namespace: namespace, name)
        guard let pod = store.objects[.pods]?[key] else {
            return (404, Status.notFound(.pods, name))
        }
        if let uid = body[path: ["deleteOptions", "preconditions", "uid"]]?.stringValue,
            uid != pod[path: ["metadata", "uid"]]?.stringValue
        {
            return (409, Status.preconditionFailed(.pods, name, uid: uid))
        }
        // As the eviction REST handler: pods that are done, not yet running or already terminating go without
        // looking at budgets.
        let phase = pod[path: ["status", "phase"]]?.stringValue ?? "Pending"
        let ignoresBudgets =
            ["Succeeded", "Failed", "Pending"].contains(phase)
            || pod[path: ["metadata", "deletionTimestamp"]] != nil
        if !ignoresBudgets {
            let podLabels = labels(of: pod)
            let budgets = (store.objects[.poddisruptionbudgets] ?? [:]).values.filter { budget in
                budget[path: ["metadata", "namespace"]]?.stringValue == namespace
                    && (LabelSelector(object: budget[path: ["spec", "selector"]])?.matches(podLabels) ?? false)
            }
            if budgets.count > 1 {
                return (
                    500,
                    Status.failure(
                        code: 500,
                        reason: "InternalError",
                        message:
                            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                    )
                )
            }
            if let budget = budgets.first {
                let status = budgetStatus(budget, store)
                let allowed = status["disruptionsAllowed"]?.intValue ?? 0
                // An unhealthy pod does not count against the budget (unhealthyPodEvictionPolicy IfHealthyBudget
                // with the budget met, or AlwaysAllow).
                let policy = budget[path: ["spec", "unhealthyPodEvictionPolicy"]]?.stringValue ?? "IfHealthyBudget"
                let healthy = isHealthy(pod)
                let current = status["currentHealthy"]?.intValue ?? 0
                let desired = status["desiredHealthy"]?.intValue ?? 0
                let unhealthyMayGo = !healthy && (policy == "AlwaysAllow" || current >= desired)
                if allowed <= 0 && !unhealthyMayGo {
                    let budgetName = budget[path: ["metadata", "name"]]?.stringValue ?? ""
                    return (
                        429,
                        Status.failure(
                            code: 429,
                            reason: "TooManyRequests",
                            message: "Cannot evict pod as it would violate the pod's disruption budget.",
                            details: [
                                "causes": [
                                    [
                                        "reason": "DisruptionBudget",
                                        "message":
                                            .string(
                                                "The disruption budget \(budgetName) needs \(desired) healthy pods and has \(current) currently"
                                            ),
                                    ]
                                ]
                            ]
                        )
                    )
                }
            }
        }
        // No kubelet runs here: the pod goes at once, as with a grace period of zero.
        _ = delete(.pods, key: key, in: &store)
        return (201, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201])
    }

    static func isHealthy(_ pod: JSONValue) -> Bool {
        guard pod[path: ["status", "phase"]]?.stringValue == "Running",
            pod[path: ["metadata", "deletionTimestamp"]] == nil
        else { return false }
        return (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        }
    }

    /// The status the disruption controller would write: expected pods are the pods the selector matches,
    /// healthy ones are Running and Ready, and the budget's minAvailable or maxUnavailable (a count or a
    /// percentage of expected, rounded up) gives the desired healthy count.
    static func budgetStatus(_ budget: JSONValue, _ store: Store) -> JSONValue {
        let namespace = budget[path: ["metadata", "namespace"]]?.stringValue
        let selector = LabelSelector(object: budget[path: ["spec", "selector"]]) ?? LabelSelector(requirements: [])
        let pods = (store.objects[.pods] ?? [:]).values.filter {
            $0[path: ["metadata", "namespace"]]?.stringValue == namespace && selector.matches(labels(of: $0))
        }
        // The disruption controller takes expected pods from the controllers' scale for maxUnavailable and
        // percentages; the fake has no controllers, so a test states it as status.expectedPods (see
        // FakeObjects.podDisruptionBudget(replicas:)). Otherwise it is the number of matching pods.
        let usesScale =
            budget[path: ["spec", "maxUnavailable"]] != nil
            || budget[path: ["spec", "minAvailable"]]?.stringValue?.hasSuffix("%") == true
        let declared = budget[path: ["status", "expectedPods"]]?.intValue
        let expected = usesScale ? max(declared ?? 0, Int64(pods.count)) : Int64(pods.count)
        let healthy = Int64(pods.filter(isHealthy).count)
        func scaled(_ value: JSONValue?) -> Int64? {
            switch value {
            case .int(let count)?: return count
            case .string(let text)? where text.hasSuffix("%"):
                guard let percent = Int64(text.dropLast()) else { return nil }
                return (percent * expected + 99) / 100
            case .string(let text)?: return Int64(text)
            default: return nil
            }
        }
        let desired: Int64
        if let minAvailable = scaled(budget[path: ["spec", "minAvailable"]]) {
            desired = minAvailable
        } else if let maxUnavailable = scaled(budget[path: ["spec", "maxUnavailable"]]) {
            desired = max(0, expected - maxUnavailable)
        } else {
            desired = expected
        }
        return [
            "currentHealthy": .int(healthy),
            "desiredHealthy": .int(desired),
            "expectedPods": .int(expected),
            "disruptionsAllowed": .int(max(0, healthy - desired)),
            "observedGeneration": 1,
        ]
    }
}

/// A path under /api/v1 or /apis/GROUP/VERSION parsed to a resource, an optional namespace, name and
/// subresource.
struct Route {
    var resource: FakeKubernetesAPI.Resource
    var namespace: String?
    var name: String?
    var subresource: String?

    init?(_ segments: [String]) {
        var rest: ArraySlice<String>
        if segments.count > 2, segments[0] == "api", segments[1] == "v1" {
            rest = segments.dropFirst(2)
        } else if segments.count > 3, segments[0] == "apis", ["policy", "apps"].contains(segments[1]),
            segments[2] == "v1"
        {
            rest = segments.dropFirst(3)
        } else {
            return nil
        }
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest.dropFirst().first
            rest = rest.dropFirst(2)
        }
        guard let resourceName = rest.first, let resource = FakeKubernetesAPI.Resource(rawValue: resourceName) else {
            return nil
        }
        let group = segments[0] == "api" ? "" : segments[1]
        let groupOfResource: String
        switch resource {
        case .nodes, .pods: groupOfResource = ""
        case .poddisruptionbudgets: groupOfResource = "policy"
        case .daemonsets: groupOfResource = "apps"
        }
        guard group == groupOfResource, resource.namespaced || namespace == nil else { return nil }
        self.resource = resource
        rest = rest.dropFirst()
        name = rest.first
        subresource = rest.dropFirst().first
        guard rest.count <= 2 else { return nil }
        if name != nil, resource.namespaced, namespace == nil { return nil }
    }
}

/// Status documents in the shape the API server writes them.
enum Status {
    static func failure(code: Int, reason: String, message: String, details: JSONValue? = nil) -> JSONValue {
        var status: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { status["details"] = details }
        return status
    }

    static func notFound(_ resource: FakeKubernetesAPI.Resource, _ name: String) -> JSONValue {
        failure(
            code: 404,
            reason: "NotFound",
            message: "\(resource.rawValue) \"\(name)\" not found",
            details: ["name": .string(name), "kind": .string(resource.rawValue)]
        )
    }

    static func preconditionFailed(_ resource: FakeKubernetesAPI.Resource, _ name: String, uid: String) -> JSONValue {
        failure(
            code: 409,
            reason: "Conflict",
            message:
                "Operation cannot be fulfilled on \(resource.rawValue) \"\(name)\": Precondition failed: UID in precondition: \(uid), UID in object meta: ",
            details: ["name": .string(name), "kind": .string(resource.rawValue)]
        )
    }

    static let notFoundPath = failure(
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource"
    )

    static let unauthorized = failure(code: 401, reason: "Unauthorized", message: "Unauthorized")
}
