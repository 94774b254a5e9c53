import Foundation

/// Builders for the objects tests put into the fake, shaped as a K3s cluster holds them (the fields a kubelet,
/// the scheduler and the controllers would have written).
public enum FakeObjects {
    /// A node, Ready unless `ready` is false, with allocatable cpu and memory.
    public static func node(
        _ name: String,
        ready: Bool = true,
        unschedulable: Bool = false,
        labels: [String: String] = [:],
        providerID: String? = nil,
        cpu: String = "4",
        memory: String = "16Gi",
        readySince: Date = Date(timeIntervalSince1970: 1_700_000_000)
    ) -> JSONValue {
        var node: JSONValue = [
            "metadata": [
                "name": .string(name),
                "labels": .object(
                    ["kubernetes.io/hostname": .string(name)].merging(labels.mapValues(JSONValue.string)) { $1 }
                ),
            ],
            "spec": [:],
            "status": [
                "allocatable": ["cpu": .string(cpu), "memory": .string(memory), "pods": "110"],
                "capacity": ["cpu": .string(cpu), "memory": .string(memory), "pods": "110"],
                "conditions": [
                    [
                        "type": "Ready", "status": ready ? "True" : "False",
                        "reason": ready ? "KubeletReady" : "KubeletNotReady",
                        "lastHeartbeatTime": .string(FakeKubernetesAPI.timestamp()),
                        "lastTransitionTime": .string(FakeKubernetesAPI.timestamp(readySince)),
                    ]
                ],
                "nodeInfo": [
                    "machineID": "ec2a0000000000000000000000000001",
                    "systemUUID": "ec2a0000-0000-0000-0000-000000000001",
                    "bootID": "00000000-0000-4000-8000-000000000001", "kernelVersion": "6.1.0-28-cloud-amd64",
                    "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://2.0.4-k3s2",
                    "kubeletVersion": "v1.37.0+k3s1", "kubeProxyVersion": "v1.37.0+k3s1", "operatingSystem": "linux",
                    "architecture": "amd64",
                ],
                "addresses": [
                    ["type": "InternalIP", "address": "10.0.1.10"], ["type": "Hostname", "address": .string(name)],
                ],
            ],
        ]
        if unschedulable { node[path: ["spec", "unschedulable"]] = true }
        if let providerID { node[path: ["spec", "providerID"]] = .string(providerID) }
        return node
    }

    /// Who owns a pod: a ReplicaSet, a DaemonSet, or nobody.
    public enum Owner: Sendable {
        case replicaSet(String)
        case daemonSet(String)
        case none
    }

    /// A pod; `phase` Running with `ready` makes it count as healthy for a disruption budget. A Pending pod with
    /// `unschedulable` carries the scheduler's PodScheduled=False/Unschedulable condition.
    public static func pod(
        _ name: String,
        namespace: String = "default",
        node: String? = nil,
        phase: String = "Running",
        ready: Bool = true,
        unschedulable: Bool = false,
        labels: [String: String] = [:],
        owner: Owner = .replicaSet("web-7d4b9c"),
        requests: [String: String] = ["cpu": "250m", "memory": "256Mi"],
        emptyDir: Bool = false
    ) -> JSONValue {
        var pod: JSONValue = [
            "metadata": [
                "name": .string(name), "namespace": .string(namespace),
                "labels": .object(labels.mapValues(JSONValue.string)),
            ],
            "spec": [
                "containers": [
                    [
                        "name": "main", "image": "registry.k8s.io/pause:3.10",
                        "resources": ["requests": .object(requests.mapValues(JSONValue.string))],
                    ]
                ],
                "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "terminationGracePeriodSeconds": 30,
            ],
            "status": ["phase": .string(phase)],
        ]
        if let node { pod[path: ["spec", "nodeName"]] = .string(node) }
        if emptyDir { pod[path: ["spec", "volumes"]] = [["name": "scratch", "emptyDir": [:]]] }
        switch owner {
        case .replicaSet(let name):
            pod[path: ["metadata", "ownerReferences"]] = [
                [
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": .string(name), "uid": "rs-uid",
                    "controller": true, "blockOwnerDeletion": true,
                ]
            ]
        case .daemonSet(let name):
            pod[path: ["metadata", "ownerReferences"]] = [
                [
                    "apiVersion": "apps/v1", "kind": "DaemonSet", "name": .string(name), "uid": "ds-uid",
                    "controller": true, "blockOwnerDeletion": true,
                ]
            ]
        case .none:
            break
        }
        var conditions: [JSONValue] = []
        if phase == "Running" {
            conditions.append(["type": "PodScheduled", "status": "True"])
            conditions.append(["type": "Ready", "status": ready ? "True" : "False"])
            pod[path: ["status", "podIP"]] = "10.42.0.10"
            pod[path: ["status", "containerStatuses"]] = [
                [
                    "name": "main", "ready": .bool(ready), "started": true, "restartCount": 0,
                    "image": "registry.k8s.io/pause:3.10",
                    "imageID":
                        "registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a",
                    "containerID": "containerd://0000000000000000000000000000000000000000000000000000000000000001",
                    "state": ["running": ["startedAt": "2026-01-01T00:00:00Z"]],
                ]
            ]
        } else if phase == "Pending" && unschedulable {
            conditions.append(
                [
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    "lastTransitionTime": .string(FakeKubernetesAPI.timestamp()),
                ]
            )
        }
        pod[path: ["status", "conditions"]] = .array(conditions)
        return pod
    }

    /// A policy/v1 PodDisruptionBudget over pods with `matchLabels`: give `minAvailable` or `maxUnavailable`
    /// (a count, or a percentage such as "50%"). `replicas` is the scale of the pods' controller, which the
    /// disruption controller counts as expected pods for maxUnavailable and percentages.
    public static func podDisruptionBudget(
        _ name: String,
        namespace: String = "default",
        matchLabels: [String: String],
        minAvailable: JSONValue? = nil,
        maxUnavailable: JSONValue? = nil,
        replicas: Int? = nil
    ) -> JSONValue {
        var budget: JSONValue = [
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "spec": ["selector": ["matchLabels": .object(matchLabels.mapValues(JSONValue.string))]],
        ]
        if let minAvailable { budget[path: ["spec", "minAvailable"]] = minAvailable }
        if let maxUnavailable { budget[path: ["spec", "maxUnavailable"]] = maxUnavailable }
        if let replicas { budget[path: ["status", "expectedPods"]] = .int(Int64(replicas)) }
        return budget
    }

    /// An apps/v1 DaemonSet, which drain looks up for the pods it owns.
    public static func daemonSet(_ name: String, namespace: String = "kube-system") -> JSONValue {
        [
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "spec": ["selector": ["matchLabels": ["app": .string(name)]]],
            "status": ["desiredNumberScheduled": 1, "numberReady": 1],
        ]
    }
}
