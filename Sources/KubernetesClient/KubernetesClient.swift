// KubernetesClient: the Kubernetes API as the cluster agent uses it: kubeconfig and in-cluster configuration,
// typed nodes and pods, paginated lists with selectors, watches with bookmarks that re-list on 410 and reconnect
// with backoff, cordon by merge patch, eviction through policy/v1, node deletion.
//
// Depends on AsyncHTTPClient, SwiftNIO SSL, Yams, swift-log and the swift-metrics API; on no Ballast module.
import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client of one Kubernetes API server, authenticated as its ``KubeConfig`` says (client certificate or bearer
/// token, the cluster CA as the only trust root when the kubeconfig has one).
///
/// Each call is one HTTP request through the caller's `HTTPClient` (the caller shuts it down); a failed call throws
/// ``KubernetesError`` carrying the server's `Status`, and is not retried here: the caller decides, except
/// for ``listAndWatch(_:namespace:labelSelector:fieldSelector:)``, which keeps watching through disconnects.
/// Logs carry `kubernetes.operation`, `kubernetes.path` and `kubernetes.status`; never tokens, keys or bodies.
/// Metrics: `kubernetes_requests_total` by `operation` and `outcome`, `kubernetes_request_duration_seconds`.
public struct KubernetesClient: Sendable {
    public struct Configuration: Sendable {
        /// Timeout of one request, from sending to the last byte. Default 30 seconds.
        public var requestTimeout: Duration = .seconds(30)
        /// How long the server keeps one watch open (`timeoutSeconds`) before the client opens the next.
        /// Default 5 minutes.
        public var watchTimeout: Duration = .seconds(300)
        /// Items per page when listing (`limit`). Default 500, as kubectl.
        public var pageSize: Int = 500
        /// The largest reply body accepted. Default 64 MiB.
        public var maxResponseBytes: Int = 64 << 20
        /// The longest single watch event line accepted. Default 16 MiB.
        public var maxEventBytes: Int = 16 << 20
        /// Waits between reconnects of a watch. Default 0.5 s doubling to 30 s, with jitter.
        public var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
        /// Waits; injected so tests run without real sleeps. Default `Task.sleep`.
        public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
        /// A random number in [0, 1) for backoff jitter. Default the system generator.
        public var jitter: @Sendable () -> Double = { Double.random(in: 0..<1) }
        /// Where metrics go; nil: the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)? = nil

        public init() {}
    }

    public let httpClient: HTTPClient
    public let kubeConfig: KubeConfig
    public let configuration: Configuration
    public let logger: Logger
    let tls: TLSConfiguration?
    let baseURL: String

    /// Builds a client; throws ``KubernetesError/Code/credentials`` when the kubeconfig's CA, certificate or key
    /// is not PEM that TLS can use.
    public init(
        httpClient: HTTPClient,
        kubeConfig: KubeConfig,
        configuration: Configuration = Configuration(),
        logger: Logger
    ) throws(KubernetesError) {
        self.httpClient = httpClient
        self.kubeConfig = kubeConfig
        self.configuration = configuration
        self.logger = logger
        var base = kubeConfig.server
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        guard base.hasPrefix("https://") else {
            self.tls = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let authority = kubeConfig.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(authority))
            }
            if kubeConfig.insecureSkipTLSVerify { tls.certificateVerification = .none }
            if case .clientCertificate(let certificate, let key) = kubeConfig.credentials {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubernetesError(
                code: .credentials,
                operation: "configure TLS",
                message: "the kubeconfig's CA, client certificate or key is not usable PEM: \(error)"
            )
        }
        self.tls = tls
    }

    // MARK: Reads

    /// Lists every object of `T` matching the selectors, following `continue` tokens page by page; the result's
    /// resourceVersion is the one to watch from. A continue token that expired mid-way (410) restarts the list.
    public func list<T: KubernetesObject>(
        _ type: T.Type,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil
    ) async throws -> ObjectList<T> {
        var restarts = 0
        while true {
            do {
                var page = try await listPage(
                    type,
                    namespace: namespace,
                    labelSelector: labelSelector,
                    fieldSelector: fieldSelector,
                    limit: configuration.pageSize
                )
                var items = page.items
                let resourceVersion = page.metadata.resourceVersion
                while let token = page.metadata.continue, !token.isEmpty {
                    page = try await listPage(
                        type,
                        namespace: namespace,
                        labelSelector: labelSelector,
                        fieldSelector: fieldSelector,
                        limit: configuration.pageSize,
                        continue: token
                    )
                    items += page.items
                }
                return ObjectList(metadata: .init(resourceVersion: resourceVersion, continue: nil), items: items)
            } catch let error as KubernetesError where error.code == .expired && restarts < 3 {
                restarts += 1
            }
        }
    }

    /// Lists every object of `T` as `list` does, but keeps only `transform` of each: a page's objects are turned
    /// into what the caller needs as the page arrives and then let go, so a large list (thousands of pods) is never
    /// held whole as decoded objects. A continue token that expired mid-way restarts the list from scratch.
    public func list<T: KubernetesObject, Element>(
        _ type: T.Type,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        transform: (T) throws -> Element
    ) async throws -> [Element] {
        var restarts = 0
        while true {
            var elements: [Element] = []
            var token: String?
            do {
                repeat {
                    let page = try await listPage(
                        type,
                        namespace: namespace,
                        labelSelector: labelSelector,
                        fieldSelector: fieldSelector,
                        limit: configuration.pageSize,
                        continue: token
                    )
                    elements.reserveCapacity(elements.count + page.items.count)
                    for item in page.items { elements.append(try transform(item)) }
                    token = page.metadata.continue
                } while token.map { !$0.isEmpty } ?? false
                return elements
            } catch let error as KubernetesError where error.code == .expired && restarts < 3 {
                restarts += 1
            }
        }
    }

    /// One page of a list: at most `limit` items, and a `continue` token when there are more.
    public func listPage<T: KubernetesObject>(
        _ type: T.Type,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        limit: Int? = nil,
        continue token: String? = nil
    ) async throws -> ObjectList<T> {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        if let limit, limit > 0 { query.append(("limit", String(limit))) }
        if let token { query.append(("continue", token)) }
        return try await send(
            "list \(T.resource)",
            .GET,
            collectionPath(T.self, namespace: namespace),
            query: query,
            decoding: ObjectList<T>.self
        )
    }

    /// One object by name; throws with ``KubernetesError/isNotFound`` when it does not exist.
    public func get<T: KubernetesObject>(_ type: T.Type, namespace: String? = nil, name: String) async throws -> T {
        try await send(
            "get \(T.resource)",
            .GET,
            objectPath(T.self, namespace: namespace, name: name),
            decoding: T.self
        )
    }

    public func nodes(labelSelector: String? = nil) async throws -> [Node] {
        try await list(Node.self, labelSelector: labelSelector).items
    }

    /// Every pod bound to `node`, in all namespaces (`fieldSelector=spec.nodeName=NODE`).
    public func pods(onNode node: String) async throws -> [Pod] {
        try await list(Pod.self, fieldSelector: "spec.nodeName=\(node)").items
    }

    /// Pods the scheduler could not place: phase Pending with PodScheduled=False, reason Unschedulable.
    public func unschedulablePods(namespace: String? = nil) async throws -> [Pod] {
        try await list(Pod.self, namespace: namespace, fieldSelector: "status.phase=Pending").items
            .filter(\.isUnschedulable)
    }

    // MARK: Writes

    /// Marks the node unschedulable (`kubectl cordon`) with a JSON merge patch of `spec.unschedulable`.
    @discardableResult
    public func cordon(node: String) async throws -> Node {
        try await patch(node: node, #"{"spec":{"unschedulable":true}}"#, operation: "cordon node")
    }

    /// Cordons the node and sets `annotations` on it in the same merge patch (one request, so no one sees a
    /// cordoned node without its annotations).
    @discardableResult
    public func cordon(node: String, annotations: [String: String]) async throws -> Node {
        let body: [String: Any] = ["spec": ["unschedulable": true], "metadata": ["annotations": annotations]]
        let text = String(
            decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
            as: UTF8.self
        )
        return try await patch(node: node, text, operation: "cordon node")
    }

    /// Makes the node schedulable again (`kubectl uncordon`): the merge patch removes `spec.unschedulable`.
    @discardableResult
    public func uncordon(node: String) async throws -> Node {
        try await patch(node: node, #"{"spec":{"unschedulable":null}}"#, operation: "uncordon node")
    }

    private func patch(node: String, _ body: String, operation: String) async throws -> Node {
        try await send(
            operation,
            .PATCH,
            objectPath(Node.self, name: node),
            body: Data(body.utf8),
            contentType: "application/merge-patch+json",
            decoding: Node.self
        )
    }

    /// What became of an eviction.
    public enum EvictionOutcome: Sendable, Equatable {
        /// The pod is being deleted.
        case evicted
        /// A PodDisruptionBudget forbids it now (429); try again later. The message names the budget.
        case blockedByDisruptionBudget(message: String)
        /// The pod no longer exists (404): nothing left to evict.
        case notFound
        /// Refused for another reason: the HTTP status and the server's message.
        case refused(httpStatus: Int, reason: String?, message: String)
    }

    /// Evicts a pod through the policy/v1 Eviction subresource, which honours PodDisruptionBudgets. Throws only
    /// when the request got no answer; every answer of the server is an ``EvictionOutcome``.
    public func evict(
        namespace: String,
        pod: String,
        gracePeriodSeconds: Int? = nil
    ) async throws -> EvictionOutcome {
        var eviction: [String: Any] = [
            "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": ["name": pod, "namespace": namespace],
        ]
        if let gracePeriodSeconds { eviction["deleteOptions"] = ["gracePeriodSeconds": gracePeriodSeconds] }
        let body = try JSONSerialization.data(withJSONObject: eviction, options: [.sortedKeys])
        do {
            let _: APIStatus = try await send(
                "evict pod",
                .POST,
                objectPath(Pod.self, namespace: namespace, name: pod) + "/eviction",
                body: body,
                contentType: "application/json",
                decoding: APIStatus.self
            )
            return .evicted
        } catch let error as KubernetesError where error.httpStatus != nil {
            switch error.httpStatus {
            case 429:
                let cause = error.status?.details?.causes?.first { $0.reason == "DisruptionBudget" }?.message
                return .blockedByDisruptionBudget(message: cause ?? error.status?.message ?? error.message)
            case 404:
                return .notFound
            default:
                return .refused(
                    httpStatus: error.httpStatus ?? 0,
                    reason: error.reason,
                    message: error.status?.message ?? error.message
                )
            }
        }
    }

    /// Deletes the node object (after its machine is gone, or to retire it). Deleting one that is already gone
    /// throws with ``KubernetesError/isNotFound``.
    public func delete(node: String) async throws {
        // The server answers with a Success Status (or, from some versions, the deleted object).
        let _: APIStatus = try await send(
            "delete node",
            .DELETE,
            objectPath(Node.self, name: node),
            decoding: APIStatus.self
        )
    }

    // MARK: Paths and requests

    func collectionPath<T: KubernetesObject>(_ type: T.Type, namespace: String?) -> String {
        if T.namespaced, let namespace { return "/api/v1/namespaces/\(Self.escape(namespace))/\(T.resource)" }
        return "/api/v1/\(T.resource)"
    }

    func objectPath<T: KubernetesObject>(_ type: T.Type, namespace: String? = nil, name: String) -> String {
        collectionPath(T.self, namespace: T.namespaced ? (namespace ?? kubeConfig.namespace) : nil) + "/"
            + Self.escape(name)
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
    }

    static let queryAllowed: CharacterSet = {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    func url(_ path: String, query: [(String, String)]) -> String {
        guard !query.isEmpty else { return baseURL + path }
        let encoded = query.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: Self.queryAllowed) ?? value)"
        }
        return baseURL + path + "?" + encoded.joined(separator: "&")
    }

    func makeRequest(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)],
        body: Data?,
        contentType: String?
    ) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url(path, query: query))
        request.method = method
        request.tlsConfiguration = tls
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ballast-cluster-agent")
        switch kubeConfig.credentials {
        case .token(let token):
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .tokenFile(let path):
            let token: String
            do {
                token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
            } catch {
                throw KubernetesError(
                    code: .credentials,
                    operation: "read token",
                    message: "cannot read the token file \(path): \(error)"
                )
            }
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .clientCertificate, .none:
            break
        }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
        }
        return request
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            // metav1.Time is RFC 3339 in seconds; MicroTime adds a fraction.
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return date
            }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
        }
        return decoder
    }()

    func send<Reply: Decodable>(
        _ operation: String,
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: Data? = nil,
        contentType: String? = nil,
        decoding: Reply.Type
    ) async throws -> Reply {
        let request = try makeRequest(method, path, query: query, body: body, contentType: contentType)
        let metrics = KubernetesMetrics(operation: operation, factory: configuration.metricsFactory)
        let start = ContinuousClock.now
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .init(configuration.requestTimeout))
            bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch {
            metrics.record(outcome: "transport_error", duration: ContinuousClock.now - start)
            logger.debug(
                "kubernetes request failed",
                metadata: ["kubernetes.operation": "\(operation)", "kubernetes.path": "\(path)"]
            )
            throw KubernetesError(code: .transport, operation: operation, message: "\(error)")
        }
        let code = Int(response.status.code)
        metrics.record(outcome: KubernetesMetrics.outcome(code), duration: ContinuousClock.now - start)
        logger.debug(
            "kubernetes request",
            metadata: [
                "kubernetes.operation": "\(operation)", "kubernetes.path": "\(path)", "kubernetes.status": "\(code)",
            ]
        )
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(code) else {
            throw Self.failure(operation: operation, httpStatus: code, body: data)
        }
        do {
            return try Self.decoder.decode(Reply.self, from: data)
        } catch {
            throw KubernetesError(
                code: .invalidResponse,
                httpStatus: code,
                operation: operation,
                message: "the reply is not a \(Reply.self): \(error)"
            )
        }
    }

    static func failure(operation: String, httpStatus: Int, body: Data) -> KubernetesError {
        let status = try? decoder.decode(APIStatus.self, from: body)
        return KubernetesError(
            code: httpStatus == 410 ? .expired : .apiStatus,
            httpStatus: httpStatus,
            status: status,
            operation: operation,
            message: status?.message ?? "HTTP \(httpStatus)"
        )
    }
}

/// Counters and timers of the client's requests.
struct KubernetesMetrics {
    let operation: String
    let factory: (any MetricsFactory)?

    func record(outcome: String, duration: Duration) {
        let dimensions = [("operation", operation), ("outcome", outcome)]
        if let factory {
            Counter(label: "kubernetes_requests_total", dimensions: dimensions, factory: factory).increment()
            Timer(
                label: "kubernetes_request_duration_seconds",
                dimensions: [("operation", operation)],
                factory: factory
            )
            .record(duration: duration)
        } else {
            Counter(label: "kubernetes_requests_total", dimensions: dimensions).increment()
            Timer(label: "kubernetes_request_duration_seconds", dimensions: [("operation", operation)])
                .record(duration: duration)
        }
    }

    static func outcome(_ code: Int) -> String {
        switch code {
        case 200..<300: "success"
        case 404: "not_found"
        case 409: "conflict"
        case 410: "expired"
        case 429: "too_many_requests"
        case 400..<500: "client_error"
        default: "server_error"
        }
    }
}
