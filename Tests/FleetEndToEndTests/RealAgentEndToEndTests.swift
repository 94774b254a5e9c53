import AWSClients
import AWSTestSupport
import BallastTestSupport
import FakeKubernetes
import Foundation
import Testing

/// The `cluster-agent` process on real sources, not simulated ones: the fake Kubernetes API server over TLS with a
/// K3s kubeconfig (client certificate), a real Prometheus scraping a node exporter's series, EC2 and SQS on moto
/// with signatures checked, and a `coordinator` process on SQLite leading it. Everything talks over loopback.
@Suite("the real cluster agent end to end", .serialized)
struct RealAgentEndToEndTests {
    static let cluster = "web"
    static let region = "us-east-1"
    static let instanceType = "m5.large"
    static let pendingPods = ["web-1", "web-2", "web-3"]

    /// What the agent's node exporter serves: two CPUs idle 0.6 of each second (utilisation 0.4), 6000 of 8000
    /// bytes of memory available (0.25).
    static let exporterPaths: [String: [SyntheticExporter.Series]] = [
        "/node": [
            .gauge("node_memory_MemTotal_bytes", value: 8_000),
            .gauge("node_memory_MemAvailable_bytes", value: 6_000),
            .counter("node_cpu_seconds_total", ["cpu": "0", "mode": "idle"], rate: 0.6),
            .counter("node_cpu_seconds_total", ["cpu": "0", "mode": "user"], rate: 0.4),
            .counter("node_cpu_seconds_total", ["cpu": "1", "mode": "idle"], rate: 0.6),
            .counter("node_cpu_seconds_total", ["cpu": "1", "mode": "user"], rate: 0.4),
        ]
    ]

    /// The spot interruption warning as EventBridge's rule delivers it to the queue (its sample, with this
    /// instance and the time it was sent).
    static func spotWarning(instanceID: String, at time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return """
            {"version":"0","id":"\(UUID().uuidString.lowercased())","detail-type":"EC2 Spot Instance Interruption Warning",\
            "source":"aws.ec2","account":"123456789012","time":"\(formatter.string(from: time))","region":"\(region)",\
            "resources":["arn:aws:ec2:\(region):123456789012:instance/\(instanceID)"],\
            "detail":{"instance-id":"\(instanceID)","instance-action":"terminate"}}
            """
    }

    /// The servers the agent reads its cluster from, started on free loopback ports and stopped together.
    struct Peers {
        let moto: MotoServer
        let exporter: SyntheticExporter
        let prometheus: PrometheusServer
        let pki: FakeClusterPKI
        let kube: FakeKubernetesServer
        let kubeconfig: String

        static func start() async throws -> Peers {
            let moto = try await MotoServer.start()
            var exporter: SyntheticExporter?
            var prometheus: PrometheusServer?
            var pki: FakeClusterPKI?
            do {
                exporter = try await SyntheticExporter.start(paths: exporterPaths)
                prometheus = try await PrometheusServer.start(
                    configuration: PrometheusServer.scrapeConfiguration(
                        exporterPort: exporter!.port,
                        jobs: [("node-exporter", "/node", ["role": "worker"])]
                    )
                )
                pki = try FakeClusterPKI()
                let kube = try await FakeKubernetesServer.start(
                    configuration: .init(tls: pki!.serverTLS, token: nil)
                )
                let kubeconfig = try pki!.write(try pki!.kubeconfig(server: kube.url), to: "k3s.yaml")
                return Peers(
                    moto: moto,
                    exporter: exporter!,
                    prometheus: prometheus!,
                    pki: pki!,
                    kube: kube,
                    kubeconfig: kubeconfig
                )
            } catch {
                await prometheus?.stop()
                await exporter?.stop()
                pki?.remove()
                await moto.stop()
                throw error
            }
        }

        func stop() async {
            try? await kube.stop()
            pki.remove()
            await prometheus.stop()
            await exporter.stop()
            await moto.stop()
        }
    }

    /// A launch template from one of moto's images, and the default VPC's first subnet in each zone.
    static func launchTemplateAndSubnets(_ ec2: EC2) async throws -> (template: String, subnets: [String: String]) {
        let images = try await ec2.call("DescribeImages", [("Owner.1", "amazon")])
        let image = try #require(images.items("imagesSet").first?.string("imageId"))
        let template = try await ec2.call(
            "CreateLaunchTemplate",
            [
                ("LaunchTemplateName", uniqueName("ballast-workers")), ("LaunchTemplateData.ImageId", image),
                ("LaunchTemplateData.InstanceType", "t3.micro"),
            ]
        )
        let templateID = try #require(template.child("launchTemplate")?.string("launchTemplateId"))
        var subnets: [String: String] = [:]
        for subnet in try await ec2.call("DescribeSubnets", []).items("subnetSet") {
            if let zone = subnet.string("availabilityZone"), let id = subnet.string("subnetId"), subnets[zone] == nil {
                subnets[zone] = id
            }
        }
        return (templateID, subnets)
    }

    /// The cluster's instances in EC2 (by the agent's cluster tag), in every state.
    static func clusterInstances(_ ec2: EC2) async throws -> [EC2.Instance] {
        try await ec2.describeAllInstances(.init(filters: [EC2.Filter("tag:ballast:cluster", [cluster])]))
    }

    /// The cluster's line of `coordctl status --json` asked of `node`; nil while there is none.
    static func statusLine(_ fleet: LocalFleet, _ node: String) async throws -> [String: Any]? {
        let run = try await fleet.coordctl(node, ["status", "--json"])
        guard run.status == 0,
            let status = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        else { return nil }
        let clusters = status["clusters"] as? [[String: Any]] ?? []
        return clusters.first { $0["cluster"] as? String == cluster }
    }

    /// The value of the series `name` whose labels include `label`, in Prometheus text; nil when there is none.
    static func sample(_ text: String, _ name: String, label: String) -> Double? {
        text.split(separator: "\n")
            .first { $0.hasPrefix("\(name){") && $0.contains(label) }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test(
        "pending pods bring a leader's launch into EC2; the node that joins is reported Ready; a spot warning cordons, evicts, terminates and deletes it, and the leader replaces it",
        .timeLimit(.minutes(6))
    )
    func launchJoinAndInterruption() async throws {
        let peers = try await Peers.start()
        do {
            try await withAWSClient(for: peers.moto) { client in
                try await run(peers, ec2: EC2(client: client), sqs: SQS(client: client))
            }
        } catch {
            Issue.record("moto:\n\(await peers.moto.outputTail())\nprometheus:\n\(await peers.prometheus.outputTail())")
            await peers.stop()
            throw error
        }
        await peers.stop()
    }

    func run(_ peers: Peers, ec2: EC2, sqs: SQS) async throws {
        let (template, subnets) = try await Self.launchTemplateAndSubnets(ec2)
        let zones = subnets.keys.sorted()
        try #require(zones.count >= 2, "moto's default VPC has subnets in \(zones)")
        // The planner may use one zone only, not the first: the instance must land where the leader said.
        let zone = zones[1]
        let queue = try await sqs.createQueue(name: uniqueName("interruptions"), attributes: ["VisibilityTimeout": "5"])

        let api = peers.kube.api
        api.put(.daemonsets, FakeObjects.daemonSet("node-exporter"))
        for name in Self.pendingPods {
            api.put(
                .pods,
                FakeObjects.pod(
                    name,
                    phase: "Pending",
                    unschedulable: true,
                    requests: ["cpu": "500m", "memory": "512Mi"]
                )
            )
        }

        let fleet = try LocalFleet(clusters: [(id: Self.cluster, region: Self.region)])
        defer { fleet.stopAllNow() }
        // At most one node, all of it spot, in one zone: what the leader may do is pinned down, and nothing but the
        // pending pods asks for it (no floor).
        try fleet.startCoordinator(
            "coord-1",
            clusterPolicy:
                "min-nodes: 0, max-nodes: 1, on-demand-base: 0, target-spot-share: 1, instance-types: [\(Self.instanceType)], zones: [\(zone)]"
        )
        let subnetMap = subnets.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        let agentMetrics = try FreePort.next()
        try fleet.startRealAgent(
            Self.cluster,
            sources: """
                kubernetes: {kubeconfig: \(peers.kubeconfig)}
                prometheus: {url: "\(peers.prometheus.endpoint)", worker-selector: 'role="worker"'}
                ec2:
                  launch-template: \(template)
                  launch-template-version: "$Latest"
                  subnets: {\(subnetMap)}
                  endpoint: "\(peers.moto.endpoint)"
                interruptions: {queue-url: "\(queue)", endpoint: "\(peers.moto.endpoint)"}

                """,
            environment: [
                "AWS_ACCESS_KEY_ID": peers.moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": peers.moto.secretAccessKey,
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true",
            ],
            metricsPort: agentMetrics
        )

        // (1) The agent reports the pending pods; the leader commands a launch; the instance is in EC2 as asked.
        var launched: [EC2.Instance] = []
        let appeared = try await fleet.eventually(timeout: .seconds(90)) {
            launched = try await Self.clusterInstances(ec2)
            return !launched.isEmpty
        }
        try #require(appeared, "no instance launched\n\(fleet.logs)")
        try #require(launched.count == 1, "\(launched)\n\(fleet.logs)")
        let instance = launched[0]
        let token = try #require(instance.tags["ballast:token"], "\(instance.tags)")
        #expect(token.hasPrefix("bl-"), "\(token)")
        #expect(instance.clientToken == token)
        #expect(instance.tags["ballast:cluster"] == Self.cluster)
        #expect(UInt64(instance.tags["ballast:generation"] ?? "") ?? 0 > 0, "\(instance.tags)")
        #expect(instance.isSpot)
        #expect(instance.instanceType == Self.instanceType)
        #expect(instance.availabilityZone == zone)
        #expect(instance.subnetID == subnets[zone])
        // Commanded by the leader: its journal has the launch, and the agent logged it under the leader's epoch.
        let journal = try await fleet.coordctl("coord-1", ["events", "--json", "--cluster", Self.cluster])
        #expect(journal.status == 0, "\(journal)")
        let entries = try JSONSerialization.jsonObject(with: Data(journal.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(entries.contains { $0["kind"] as? String == "launch" }, "\(journal.stdout)")
        let agentLog = fleet.agents[Self.cluster]?.output ?? ""
        let launchLine = agentLog.split(separator: "\n").first { $0.contains("launched") && $0.contains(token) }
        #expect(launchLine?.contains(instance.instanceID) == true, "\(agentLog.suffix(3000))")
        #expect(launchLine?.contains("ballast.epoch=0") == false, "\(launchLine ?? "")")
        var bootingLine: [String: Any]?
        let booting = try await fleet.eventually(timeout: .seconds(20)) {
            bootingLine = try await Self.statusLine(fleet, "coord-1")
            return bootingLine?["spotNodes"] as? Int == 1 && bootingLine?["readyNodes"] as? Int == 0
                && bootingLine?["pendingPods"] as? Int == Self.pendingPods.count
        }
        #expect(booting, "\(String(describing: bootingLine))\n\(fleet.logs)")

        // (2) The instance joins as a node, labelled with its instance id by the launch template's user-data, first
        // NotReady, then Ready; the scheduler binds the pods to it and a DaemonSet pod starts there.
        let nodeName = "ip-\((instance.privateIPAddress ?? "10.0.1.10").replacingOccurrences(of: ".", with: "-"))"
        let labels = [
            "ballast.io/instance-id": instance.instanceID, "node.kubernetes.io/instance-type": Self.instanceType,
            "topology.kubernetes.io/zone": zone, "ballast.io/market": "spot",
        ]
        api.put(.nodes, FakeObjects.node(nodeName, ready: false, labels: labels, cpu: "2", memory: "8Gi"))
        // A few reports later the node counts as the same spot worker, still not Ready.
        try await Task.sleep(for: .seconds(3))
        let notReady = try await Self.statusLine(fleet, "coord-1")
        #expect(
            notReady?["spotNodes"] as? Int == 1 && notReady?["readyNodes"] as? Int == 0,
            "\(String(describing: notReady))"
        )
        api.put(
            .nodes,
            FakeObjects.node(nodeName, ready: true, labels: labels, cpu: "2", memory: "8Gi", readySince: Date())
        )
        for name in Self.pendingPods {
            api.put(.pods, FakeObjects.pod(name, node: nodeName, requests: ["cpu": "500m", "memory": "512Mi"]))
        }
        let daemonPod = "node-exporter-\(nodeName)"
        api.put(
            .pods,
            FakeObjects.pod(daemonPod, namespace: "kube-system", node: nodeName, owner: .daemonSet("node-exporter"))
        )
        var readyLine: [String: Any]?
        let ready = try await fleet.eventually(timeout: .seconds(30)) {
            readyLine = try await Self.statusLine(fleet, "coord-1")
            return readyLine?["readyNodes"] as? Int == 1 && readyLine?["spotNodes"] as? Int == 1
                && readyLine?["onDemandNodes"] as? Int == 0 && readyLine?["pendingPods"] as? Int == 0
        }
        #expect(ready, "\(String(describing: readyLine))\n\(fleet.logs)")
        // Utilisation comes from Prometheus: the exporter's CPUs are busy 0.4 of each second.
        let cpu = (readyLine?["cpuUtilisation"] as? NSNumber)?.doubleValue ?? -1
        #expect(abs(cpu - 0.4) < 0.05, "cpu \(cpu)")
        let sources = try await httpGet(port: agentMetrics, "/metrics").body
        for source in ["kubernetes", "ec2", "prometheus"] {
            #expect(
                Self.sample(sources, "ballast_source_healthy", label: "source=\"\(source)\"") == 1,
                "\(source) not healthy:\n\(sources)"
            )
        }

        // (3) A spot interruption warning for the instance, after a message nobody can read.
        let requestsBefore = api.requests.count
        try await sqs.sendMessage(queueURL: queue, body: "{\"not\": an event")
        try await sqs.sendMessage(queueURL: queue, body: Self.spotWarning(instanceID: instance.instanceID, at: Date()))
        var state = EC2.InstanceStateName.running
        let handled = try await fleet.eventually(timeout: .seconds(90)) {
            let described = try await ec2.describeAllInstances(.init(instanceIDs: [instance.instanceID]))
            state = described.first?.state ?? state
            return (state == .terminated || state == .shuttingDown) && api.object(.nodes, name: nodeName) == nil
        }
        #expect(handled, "instance \(state), node \(api.names(.nodes))\n\(fleet.logs)")

        let drainRequests = Array(api.requests.dropFirst(requestsBefore))
        let nodePath = "/api/v1/nodes/\(nodeName)"
        let cordon = drainRequests.firstIndex {
            $0.method == "PATCH" && $0.path == nodePath && $0.status == 200
                && $0.contentType == "application/merge-patch+json"
        }
        let cordonBody = cordon.map { drainRequests[$0].body } ?? ""
        let patch = try? JSONSerialization.jsonObject(with: Data(cordonBody.utf8)) as? [String: Any]
        #expect((patch?["spec"] as? [String: Any])?["unschedulable"] as? Bool == true, "\(cordonBody)")
        let annotations = (patch?["metadata"] as? [String: Any])?["annotations"] as? [String: Any]
        #expect(annotations?["ballast.io/draining-until"] is String, "\(cordonBody)")
        let evictions = drainRequests.enumerated().filter {
            $0.element.method == "POST" && $0.element.path.hasSuffix("/eviction")
        }
        #expect(
            Set(evictions.map(\.element.path))
                == Set(Self.pendingPods.map { "/api/v1/namespaces/default/pods/\($0)/eviction" }),
            "\(evictions.map(\.element.path))"
        )
        #expect(evictions.allSatisfy { $0.element.status == 201 })
        #expect(api.evictions.map(\.name).sorted() == Self.pendingPods)
        #expect(!drainRequests.contains { $0.method == "DELETE" && $0.path.contains("/pods/") })
        let deletion = drainRequests.firstIndex { $0.method == "DELETE" && $0.path == nodePath }
        #expect(deletion != nil)
        if let cordon, let deletion, let first = evictions.first?.offset, let last = evictions.last?.offset {
            #expect(
                cordon < first && last < deletion,
                "cordon \(cordon), evictions \(first)…\(last), delete \(deletion)"
            )
        }
        // The DaemonSet's pod was not evicted: it goes with its node.
        #expect(api.object(.pods, namespace: "kube-system", name: daemonPod) != nil)

        // The leader heard the notice and asked for a replacement at once: another spot instance, another token.
        var replacement: EC2.Instance?
        let replaced = try await fleet.eventually(timeout: .seconds(30)) {
            replacement = try await Self.clusterInstances(ec2).first {
                $0.instanceID != instance.instanceID && ($0.state == .pending || $0.state == .running)
            }
            return replacement != nil
        }
        #expect(replaced, "no replacement\n\(fleet.logs)")
        #expect(replacement?.isSpot == true && replacement?.availabilityZone == zone)
        #expect(replacement?.clientToken != nil && replacement?.clientToken != token)

        let interruptions = try await httpGet(port: agentMetrics, "/metrics").body
        #expect(
            Self.sample(interruptions, "ballast_interruptions_total", label: "kind=\"spot_interruption\"") == 1,
            "\(interruptions)"
        )

        // The warning was deleted once handled; the unreadable message stays for the queue's redrive policy. Counted
        // with the agent stopped and the message visible again, so no receive in flight blurs moto's counts.
        await fleet.agents[Self.cluster]?.stop()
        var left: [String: String] = [:]
        let acknowledged = try await fleet.eventually(timeout: .seconds(30)) {
            left = try await sqs.queueAttributes(
                queueURL: queue,
                names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )
            return left["ApproximateNumberOfMessages"] == "1" && left["ApproximateNumberOfMessagesNotVisible"] == "0"
        }
        #expect(acknowledged, "\(left)\n\(fleet.logs)")
    }
}
