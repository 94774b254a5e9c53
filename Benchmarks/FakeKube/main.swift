// fake-kube: the fake Kubernetes API server of the tests (Tests/FakeKubernetes) as a process, holding a seeded
// cluster: one Ready node per instance given, each with its app pods and DaemonSet pods, served over TLS with a
// throwaway cluster PKI and a kubeconfig as K3s writes it. scripts/agent-memory runs the real cluster-agent against
// it to measure the agent's memory with a large cluster watched.
//
//   fake-kube --instances FILE --out DIR [--pods-per-node N] [--daemonsets N]
//
// FILE is a JSON array of {"id", "type", "zone"} (the instances the nodes run on, so the agent maps each node to
// its instance by provider id). Writes DIR/kubeconfig and then DIR/ready (the API's URL), and serves until killed.
import FakeKubernetes
import Foundation

struct Options {
    var instances = ""
    var out = ""
    var podsPerNode = 15
    var daemonSets = 3

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--instances": instances = value
            case "--out": out = value
            case "--pods-per-node": podsPerNode = try Self.count(flag, value)
            case "--daemonsets": daemonSets = try Self.count(flag, value)
            default: throw UsageError("unknown option \(flag)")
            }
        }
        if instances.isEmpty || out.isEmpty { throw UsageError("--instances and --out are required") }
    }

    static func count(_ flag: String, _ value: String) throws -> Int {
        guard let n = Int(value), n >= 0 else { throw UsageError("\(flag) must be a count, is \(value)") }
        return n
    }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct Instance: Decodable {
    var id: String
    var type: String
    var zone: String
}

/// A pod as a real API server lists it: the fake's pod with the labels, annotations and managed fields a
/// Deployment's pod carries, which make up much of a real list's size.
func realisticPod(_ name: String, node: String, app: String, owner: FakeObjects.Owner) -> JSONValue {
    var pod = FakeObjects.pod(
        name,
        namespace: "apps",
        node: node,
        labels: ["app.kubernetes.io/name": app, "pod-template-hash": "7d4b9c6f8", "team": "platform"],
        owner: owner,
        requests: ["cpu": "100m", "memory": "256Mi"]
    )
    pod[path: ["metadata", "annotations"]] = [
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z",
        "prometheus.io/scrape": "true", "prometheus.io/port": "9100",
    ]
    pod[path: ["metadata", "managedFields"]] = [
        [
            "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": [
                "f:metadata": [
                    "f:labels": [".": [:], "f:app.kubernetes.io/name": [:], "f:pod-template-hash": [:]],
                    "f:ownerReferences": [".": [:], "k:{\"uid\":\"rs-uid\"}": [:]],
                ],
                "f:spec": ["f:containers": ["k:{\"name\":\"main\"}": ["f:image": [:], "f:resources": [:]]]],
            ],
        ],
        [
            "manager": "k3s", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:05Z",
            "fieldsType": "FieldsV1", "subresource": "status",
            "fieldsV1": [
                "f:status": [
                    "f:conditions": ["k:{\"type\":\"Ready\"}": [".": [:], "f:status": [:], "f:type": [:]]],
                    "f:containerStatuses": [:], "f:phase": [:], "f:podIP": [:],
                ]
            ],
        ],
    ]
    return pod
}

let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("fake-kube: \(error)\n".utf8))
    exit(64)
}
let instances = try JSONDecoder().decode(
    [Instance].self,
    from: Data(contentsOf: URL(fileURLWithPath: options.instances))
)
let api = FakeKubernetesAPI()
for name in (0..<options.daemonSets).map({ "node-agent-\($0)" }) {
    api.put(.daemonsets, FakeObjects.daemonSet(name))
}
for (index, instance) in instances.enumerated() {
    let node = "ip-10-0-\(index / 250)-\(index % 250 + 1)"
    api.put(
        .nodes,
        FakeObjects.node(
            node,
            labels: [
                "node.kubernetes.io/instance-type": instance.type, "topology.kubernetes.io/zone": instance.zone,
                "ballast.io/market": index % 3 == 0 ? "on-demand" : "spot", "ballast.io/instance-id": instance.id,
            ],
            providerID: "aws:///\(instance.zone)/\(instance.id)",
            cpu: "2",
            memory: "8Gi"
        )
    )
    for pod in 0..<options.podsPerNode {
        let app = "app-\((index * options.podsPerNode + pod) % 40)"
        api.put(
            .pods,
            realisticPod("\(app)-\(node)-\(pod)", node: node, app: app, owner: .replicaSet("\(app)-7d4b9c6f8"))
        )
    }
    for ds in 0..<options.daemonSets {
        var pod = realisticPod(
            "node-agent-\(ds)-\(node)",
            node: node,
            app: "node-agent-\(ds)",
            owner: .daemonSet("node-agent-\(ds)")
        )
        pod[path: ["metadata", "namespace"]] = "kube-system"
        api.put(.pods, pod)
    }
}
api.compactHistory()

let pki = try FakeClusterPKI()
let server = try await FakeKubernetesServer.start(
    api: api,
    configuration: FakeKubernetesServer.Configuration(tls: pki.serverTLS)
)
let out = URL(fileURLWithPath: options.out)
try pki.kubeconfig(server: server.url).write(
    to: out.appendingPathComponent("kubeconfig"),
    atomically: true,
    encoding: .utf8
)
try server.url.write(to: out.appendingPathComponent("ready"), atomically: true, encoding: .utf8)
FileHandle.standardOutput.write(
    Data("fake-kube: \(instances.count) nodes, \(api.names(.pods).count) pods at \(server.url)\n".utf8)
)
while true { try await Task.sleep(for: .seconds(3_600)) }
