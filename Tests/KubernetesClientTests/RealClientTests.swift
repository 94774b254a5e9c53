import FakeKubernetes
import Foundation
import Testing

/// kubectl and the official Python client, installed by scripts/bootstrap into their own virtual environment
/// (kubernetes' Python package needs a python-dateutil that moto's botocore refuses, so they cannot share one).
enum KubernetesPeers {
    static var directory: String {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["BALLAST_KUBE_PEERS"], !directory.isEmpty { return directory }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/ballast/kube-peers"
    }
    static var kubectl: String { directory + "/bin/kubectl" }
    static var python: String { directory + "/bin/python" }

    /// The outcome of one run of a tool.
    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` to completion with a time limit (the process is killed past it).
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Missing(path: executable)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("kube-peer-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out")
        let errURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        return Run(
            status: process.terminationStatus,
            output: String(decoding: FileManager.default.contents(atPath: outURL.path) ?? Data(), as: UTF8.self),
            errors: String(decoding: FileManager.default.contents(atPath: errURL.path) ?? Data(), as: UTF8.self)
        )
    }

    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is missing: run scripts/bootstrap to install kubectl and the Python client" }
    }
}

/// The fake over TLS with K3s-style certificates, and a kubeconfig file pointing at it.
struct FakeClusterFiles {
    let api: FakeKubernetesAPI
    let kubeconfig: String
    /// The same cluster with a bearer token instead of the client certificate.
    let tokenKubeconfig: String

    static func with(_ body: (FakeClusterFiles) async throws -> Void) async throws {
        let pki = try FakeClusterPKI()
        defer { pki.remove() }
        let server = try await FakeKubernetesServer.start(
            configuration: .init(tls: pki.serverTLS, token: FakeCluster.token)
        )
        do {
            let path = try pki.write(try pki.kubeconfig(server: server.url), to: "k3s.yaml")
            let tokenPath = try pki.write(
                try pki.kubeconfig(server: server.url, token: FakeCluster.token),
                to: "token.yaml"
            )
            try await body(FakeClusterFiles(api: server.api, kubeconfig: path, tokenKubeconfig: tokenPath))
            try await server.stop()
        } catch {
            try? await server.stop()
            throw error
        }
    }

    func kubectl(_ arguments: String..., timeout: Duration = .seconds(60)) async throws -> KubernetesPeers.Run {
        try await kubectl(arguments, kubeconfig: kubeconfig, timeout: timeout)
    }

    func kubectl(
        _ arguments: [String],
        kubeconfig: String,
        timeout: Duration = .seconds(60)
    ) async throws -> KubernetesPeers.Run {
        // A fresh cache directory per run, so discovery is read from this server and not from an earlier one.
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kube-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        return try await KubernetesPeers.run(
            KubernetesPeers.kubectl,
            ["--kubeconfig", kubeconfig, "--cache-dir", cache.path] + arguments,
            timeout: timeout
        )
    }
}

@Suite("The fake API server against kubectl and the Python client")
struct RealClientTests {
    /// Requests answered with an error other than the ones the command meets by design (`expected`): a path
    /// or a verb the fake does not serve would show here.
    static func unexpectedFailures(
        _ api: FakeKubernetesAPI,
        expected: (FakeKubernetesAPI.RequestRecord) -> Bool = { _ in false }
    ) -> [String] {
        if let dump = ProcessInfo.processInfo.environment["BALLAST_KUBE_DUMP_REQUESTS"] {
            let lines = api.requests.map { "\($0.status) \($0.method) \($0.path)?\($0.query) \($0.contentType ?? "")" }
            try? Data((lines.joined(separator: "\n") + "\n---\n").utf8).write(
                to: URL(fileURLWithPath: dump + "-" + UUID().uuidString)
            )
        }
        return api.requests.filter { $0.status >= 400 && !expected($0) }.map {
            "\($0.status) \($0.method) \($0.path)?\($0.query)"
        }
    }

    @Test("kubectl get nodes -o json reads the fake's nodes")
    func kubectlGetNodes() async throws {
        try await FakeClusterFiles.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1", providerID: "aws:///us-east-1a/i-1"))
            cluster.api.put(.nodes, FakeObjects.node("agent-2", ready: false))
            let run = try await cluster.kubectl("get", "nodes", "-o", "json")
            #expect(run.status == 0, "\(run.errors)")
            let document = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
            let items = try #require(document?["items"] as? [[String: Any]])
            let names = items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
            #expect(names == ["agent-1", "agent-2"])
            #expect(items.allSatisfy { $0["kind"] as? String == "Node" })
            #expect((items[0]["spec"] as? [String: Any])?["providerID"] as? String == "aws:///us-east-1a/i-1")
            #expect(cluster.api.requests.allSatisfy { $0.user?.hasPrefix("certificate:") == true })
            let withToken = try await cluster.kubectl(
                ["get", "nodes", "-o", "name"],
                kubeconfig: cluster.tokenKubeconfig
            )
            #expect(withToken.status == 0, "\(withToken.errors)")
            #expect(withToken.output.split(separator: "\n") == ["node/agent-1", "node/agent-2"])
            #expect(cluster.api.requests.last?.user == "token")
            #expect(Self.unexpectedFailures(cluster.api) == [])
        }
    }

    @Test("kubectl get pods -A prints every pod with its namespace and status")
    func kubectlGetPods() async throws {
        try await FakeClusterFiles.with { cluster in
            cluster.api.put(.pods, FakeObjects.pod("web-0", node: "agent-1"))
            cluster.api.put(
                .pods,
                FakeObjects.pod("coredns-1", namespace: "kube-system", node: "agent-1", labels: ["app": "dns"])
            )
            cluster.api.put(.pods, FakeObjects.pod("big", phase: "Pending", unschedulable: true))
            let run = try await cluster.kubectl("get", "pods", "-A")
            #expect(run.status == 0, "\(run.errors)")
            let lines = run.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(lines.first == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"])
            #expect(lines.contains { $0.prefix(4) == ["default", "web-0", "1/1", "Running"] })
            #expect(lines.contains { $0.prefix(4) == ["kube-system", "coredns-1", "1/1", "Running"] })
            #expect(lines.contains { $0.prefix(4) == ["default", "big", "0/1", "Pending"] })
            #expect(lines.count == 4)
            let selected = try await cluster.kubectl(
                "get",
                "pods",
                "-A",
                "--field-selector",
                "spec.nodeName=agent-1",
                "-l",
                "app!=dns",
                "-o",
                "name"
            )
            #expect(selected.status == 0, "\(selected.errors)")
            #expect(selected.output.split(separator: "\n") == ["pod/web-0"])
            #expect(Self.unexpectedFailures(cluster.api) == [])
        }
    }

    @Test("kubectl cordon marks the node unschedulable in the fake")
    func kubectlCordon() async throws {
        try await FakeClusterFiles.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            let run = try await cluster.kubectl("cordon", "agent-1")
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output.contains("node/agent-1 cordoned"))
            #expect(cluster.api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == true)
            let listed = try await cluster.kubectl("get", "nodes")
            #expect(listed.status == 0, "\(listed.errors)")
            let rows = listed.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.first == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
            #expect(
                rows.dropFirst().first.map { [$0[0], $0[1], $0[2], $0[4]] } == [
                    "agent-1", "Ready,SchedulingDisabled", "<none>", "v1.37.0+k3s1",
                ]
            )
            let patch = cluster.api.requests.first { $0.method == "PATCH" }
            #expect(patch?.contentType?.hasPrefix("application/strategic-merge-patch+json") == true)
            let again = try await cluster.kubectl("uncordon", "agent-1")
            #expect(again.status == 0, "\(again.errors)")
            #expect(cluster.api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == nil)
            #expect(Self.unexpectedFailures(cluster.api) == [])
        }
    }

    @Test("kubectl drain is held by a disruption budget until it allows, skips DaemonSet pods, then empties the node")
    func kubectlDrain() async throws {
        try await FakeClusterFiles.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            cluster.api.put(.nodes, FakeObjects.node("agent-2"))
            cluster.api.put(.daemonsets, FakeObjects.daemonSet("svclb"))
            cluster.api.put(
                .pods,
                FakeObjects.pod("svclb-x", namespace: "kube-system", node: "agent-1", owner: .daemonSet("svclb"))
            )
            for (name, node) in [("web-0", "agent-1"), ("web-1", "agent-1"), ("web-2", "agent-2")] {
                cluster.api.put(.pods, FakeObjects.pod(name, node: node, labels: ["app": "web"]))
            }
            cluster.api.put(
                .pods,
                FakeObjects.pod("cache-0", node: "agent-1", labels: ["app": "cache"], emptyDir: true)
            )
            cluster.api.put(
                .poddisruptionbudgets,
                FakeObjects.podDisruptionBudget("web", matchLabels: ["app": "web"], minAvailable: 3)
            )
            let blocked = try await cluster.kubectl(
                "drain",
                "agent-1",
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                "--timeout=3s"
            )
            #expect(blocked.status != 0)
            #expect(blocked.errors.contains("disruption budget"), "\(blocked.errors)")
            #expect(cluster.api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == true)
            #expect(cluster.api.object(.pods, namespace: "default", name: "web-0") != nil)
            #expect(cluster.api.object(.pods, namespace: "default", name: "web-1") != nil)
            #expect(cluster.api.object(.pods, namespace: "default", name: "cache-0") == nil)
            #expect(cluster.api.evictions.contains { $0.name == "web-0" && $0.status == 429 })

            // Two more replicas elsewhere: the budget now allows both pods on agent-1 to go.
            cluster.api.put(.pods, FakeObjects.pod("web-3", node: "agent-2", labels: ["app": "web"]))
            cluster.api.put(.pods, FakeObjects.pod("web-4", node: "agent-2", labels: ["app": "web"]))
            let drained = try await cluster.kubectl(
                "drain",
                "agent-1",
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                "--timeout=30s"
            )
            #expect(drained.status == 0, "\(drained.errors)")
            #expect(drained.output.contains("node/agent-1 drained"), "\(drained.output)")
            let left = cluster.api.names(.pods)
            #expect(left == ["default/web-2", "default/web-3", "default/web-4", "kube-system/svclb-x"])
            #expect(cluster.api.evictions.contains { $0.name == "web-1" && $0.status == 201 })
            #expect(!cluster.api.evictions.contains { $0.name == "svclb-x" })
            // Refusals by the budget, and 404s while drain waits for evicted pods to be gone, are by design.
            let failures = Self.unexpectedFailures(cluster.api) {
                $0.status == 429 || ($0.status == 404 && $0.method == "GET" && $0.path.contains("/pods/"))
            }
            #expect(failures == [])
        }
    }

    @Test("the Python client lists nodes, watches pods and evicts one")
    func pythonClient() async throws {
        try await FakeClusterFiles.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            cluster.api.put(.pods, FakeObjects.pod("web-0", node: "agent-1", labels: ["app": "web"]))
            cluster.api.put(.pods, FakeObjects.pod("web-1", node: "agent-1", labels: ["app": "web"]))
            cluster.api.put(
                .poddisruptionbudgets,
                FakeObjects.podDisruptionBudget("web", matchLabels: ["app": "web"], maxUnavailable: 1, replicas: 2)
            )
            let script = Self.pythonScript
            let run = try await KubernetesPeers.run(
                KubernetesPeers.python,
                ["-c", script, cluster.kubeconfig],
                timeout: .seconds(60)
            )
            #expect(run.status == 0, "\(run.errors)")
            let result = try #require(
                try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any],
                "\(run.output)\n\(run.errors)"
            )
            #expect(result["nodes"] as? [String] == ["agent-1"])
            #expect(result["ready"] as? [String] == ["True"])
            #expect(result["events"] as? [String] == ["ADDED web-0", "ADDED web-1", "DELETED web-0"])
            #expect(result["second_eviction"] as? Int == 429)
            #expect(cluster.api.names(.pods) == ["default/web-1"])
            #expect(cluster.api.evictions.map(\.status) == [201, 429])
            #expect(Self.unexpectedFailures(cluster.api) { $0.status == 429 } == [])
        }
    }

    static let pythonScript = """
        import json, sys
        from kubernetes import client, config, watch
        config.load_kube_config(config_file=sys.argv[1])
        v1 = client.CoreV1Api()
        nodes = v1.list_node()
        result = {
            "nodes": [n.metadata.name for n in nodes.items],
            "ready": [c.status for n in nodes.items for c in n.status.conditions if c.type == "Ready"],
            "events": [],
        }
        def eviction(name):
            return client.V1Eviction(
                api_version="policy/v1", kind="Eviction",
                metadata=client.V1ObjectMeta(name=name, namespace="default"))
        w = watch.Watch()
        seen = 0
        for event in w.stream(v1.list_namespaced_pod, "default", timeout_seconds=20):
            result["events"].append(event["type"] + " " + event["object"].metadata.name)
            if event["type"] == "ADDED":
                seen += 1
                if seen == 2:
                    v1.create_namespaced_pod_eviction("web-0", "default", eviction("web-0"))
            if event["type"] == "DELETED":
                w.stop()
        try:
            v1.create_namespaced_pod_eviction("web-1", "default", eviction("web-1"))
            result["second_eviction"] = 201
        except client.exceptions.ApiException as error:
            result["second_eviction"] = error.status
        print(json.dumps(result))
        """
}
