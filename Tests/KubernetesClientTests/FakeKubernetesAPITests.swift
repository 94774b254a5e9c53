import AsyncHTTPClient
import FakeKubernetes
import Foundation
import KubernetesClient
import Logging
import Testing

/// The fake's request semantics checked directly, without sockets, against what the API reference says.
@Suite("FakeKubernetesAPI")
struct FakeKubernetesAPITests {
    @Test(
        "merge patches follow RFC 7386's examples",
        arguments: [
            (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
            (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
            (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
            (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
            (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
            (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
            (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
            (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        ]
    )
    func mergePatch(target: String, patch: String, result: String) {
        #expect(JSONValue.literal(target).mergePatched(with: .literal(patch)) == .literal(result))
    }

    @Test(
        "label selectors parse the API's syntax",
        arguments: [
            ("app=web", ["app": "web"], true),
            ("app==web", ["app": "db"], false),
            ("app!=web", [:], true),
            ("tier in (a, b),app", ["tier": "b", "app": "x"], true),
            ("tier notin (a,b)", ["tier": "a"], false),
            ("tier notin (a,b)", [:], true),
            ("!legacy", ["legacy": "yes"], false),
            ("", ["anything": "goes"], true),
        ] as [(String, [String: String], Bool)]
    )
    func labelSelectors(selector: String, labels: [String: String], matches: Bool) throws {
        let parsed = try #require(LabelSelector(parsing: selector))
        #expect(parsed.matches(labels) == matches)
    }

    @Test("a field the resource cannot be selected on is a 400 BadRequest")
    func unsupportedField() {
        let api = FakeKubernetesAPI()
        guard
            case .object(let status, let body) = api.handle(
                APIRequest(method: "GET", path: "/api/v1/nodes", rawQuery: "fieldSelector=spec.nodeName%3Dx")
            )
        else {
            Issue.record("expected a document")
            return
        }
        #expect(status == 400)
        #expect(body["message"]?.stringValue == "field label not supported: spec.nodeName")
    }

    @Test("a patch carrying a stale resourceVersion is a 409 Conflict; a JSON patch is 415")
    func patchConflicts() {
        let api = FakeKubernetesAPI()
        api.put(.nodes, FakeObjects.node("agent-1"))
        let stale = api.handle(
            APIRequest(
                method: "PATCH",
                path: "/api/v1/nodes/agent-1",
                contentType: "application/merge-patch+json",
                body: Array(#"{"metadata":{"resourceVersion":"1"},"spec":{"unschedulable":true}}"#.utf8)
            )
        )
        guard case .object(409, let conflict) = stale else {
            Issue.record("expected 409, got \(stale)")
            return
        }
        #expect(conflict["reason"] == "Conflict")
        let jsonPatch = api.handle(
            APIRequest(
                method: "PATCH",
                path: "/api/v1/nodes/agent-1",
                contentType: "application/json-patch+json",
                body: Array(#"[{"op":"add","path":"/spec/unschedulable","value":true}]"#.utf8)
            )
        )
        guard case .object(415, _) = jsonPatch else {
            Issue.record("expected 415, got \(jsonPatch)")
            return
        }
        #expect(api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == nil)
    }

    static func eviction(_ name: String) -> APIRequest {
        APIRequest(
            method: "POST",
            path: "/api/v1/namespaces/default/pods/\(name)/eviction",
            contentType: "application/json",
            body: Array(
                #"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"\#(name)","namespace":"default"}}"#
                    .utf8
            )
        )
    }

    @Test("a pod under two budgets cannot be evicted (500); an unready pod goes while the budget is met")
    func evictionEdges() {
        let api = FakeKubernetesAPI()
        api.put(.pods, FakeObjects.pod("web-0", labels: ["app": "web"]))
        api.put(.pods, FakeObjects.pod("web-1", labels: ["app": "web"]))
        api.put(.pods, FakeObjects.pod("web-2", ready: false, labels: ["app": "web"]))
        api.put(
            .poddisruptionbudgets,
            FakeObjects.podDisruptionBudget("one", matchLabels: ["app": "web"], minAvailable: 2)
        )
        api.put(
            .poddisruptionbudgets,
            FakeObjects.podDisruptionBudget("two", matchLabels: ["app": "web"], minAvailable: 1)
        )
        guard case .object(500, _) = api.handle(Self.eviction("web-0")) else {
            Issue.record("two budgets over one pod must refuse the eviction")
            return
        }
        api.remove(.poddisruptionbudgets, namespace: "default", name: "two")
        // Two healthy of two desired: no healthy pod may go, but the unready one may.
        guard case .object(429, _) = api.handle(Self.eviction("web-0")) else {
            Issue.record("a healthy pod must be held")
            return
        }
        guard case .object(201, _) = api.handle(Self.eviction("web-2")) else {
            Issue.record("an unready pod must go while the budget is met")
            return
        }
        let budget = api.handle(
            APIRequest(method: "GET", path: "/apis/policy/v1/namespaces/default/poddisruptionbudgets/one")
        )
        guard case .object(200, let document) = budget else {
            Issue.record("expected the budget, got \(budget)")
            return
        }
        #expect(document[path: ["status", "currentHealthy"]] == 2)
        #expect(document[path: ["status", "disruptionsAllowed"]] == 0)
    }

    @Test("an eviction whose name does not match the URL is a 400")
    func evictionNameMismatch() {
        let api = FakeKubernetesAPI()
        api.put(.pods, FakeObjects.pod("web-0"))
        var request = Self.eviction("web-0")
        request.path = "/api/v1/namespaces/default/pods/other/eviction"
        guard case .object(400, _) = api.handle(request) else {
            Issue.record("expected 400")
            return
        }
        #expect(api.object(.pods, namespace: "default", name: "web-0") != nil)
    }

    @Test("the client works against the fake over plain HTTP without credentials")
    func plainHTTP() async throws {
        let server = try await FakeKubernetesServer.start()
        let httpClient = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup)
        do {
            server.api.put(.nodes, FakeObjects.node("agent-1"))
            let client = try KubernetesClient(
                httpClient: httpClient,
                kubeConfig: KubeConfig(server: server.url, credentials: .none),
                logger: Logger(label: "test")
            )
            #expect(try await client.nodes().map(\.name) == ["agent-1"])
            #expect(server.api.requests.last?.user == nil)
        } catch {
            Issue.record(error)
        }
        try await httpClient.shutdown()
        try await server.stop()
    }
}
