import Foundation

/// The discovery documents of the API server, limited to the groups and resources the fake serves: kubectl reads
/// them to map `nodes`, `po`, `pdb` or `ds` to a path, and drain reads `/api/v1` to find the policy/v1 eviction
/// subresource. They are the legacy (unaggregated) documents; a client that asks for aggregated discovery
/// first gets these with `Content-Type: application/json` and falls back, as it does with older servers.
enum Discovery {
    static func document(for segments: [String]) -> JSONValue? {
        switch segments {
        case ["version"]: return version
        case ["api"]: return apiVersions
        case ["apis"]: return groupList
        case ["api", "v1"]: return coreResources
        case ["apis", "apps"]: return group("apps")
        case ["apis", "policy"]: return group("policy")
        case ["apis", "apps", "v1"]: return appsResources
        case ["apis", "policy", "v1"]: return policyResources
        default: return nil
        }
    }

    static let version: JSONValue = [
        "major": "1", "minor": "37", "gitVersion": "v1.37.0+fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
        "platform": "linux/amd64",
    ]

    static let apiVersions: JSONValue = [
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"]],
    ]

    static func group(_ name: String) -> JSONValue {
        let version: JSONValue = ["groupVersion": .string("\(name)/v1"), "version": "v1"]
        return [
            "kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": [version],
            "preferredVersion": version,
        ]
    }

    static var groupList: JSONValue {
        var apps = group("apps")
        apps["kind"] = nil
        apps["apiVersion"] = nil
        var policy = group("policy")
        policy["kind"] = nil
        policy["apiVersion"] = nil
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": [apps, policy]]
    }

    private static func resource(
        _ name: String,
        singular: String,
        kind: String,
        namespaced: Bool,
        verbs: [String],
        shortNames: [String] = [],
        categories: [String] = []
    ) -> JSONValue {
        var resource: JSONValue = [
            "name": .string(name), "singularName": .string(singular), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(verbs.map(JSONValue.string)),
        ]
        if !shortNames.isEmpty { resource["shortNames"] = .array(shortNames.map(JSONValue.string)) }
        if !categories.isEmpty { resource["categories"] = .array(categories.map(JSONValue.string)) }
        return resource
    }

    static let coreResources: JSONValue = [
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [
            resource(
                "nodes",
                singular: "node",
                kind: "Node",
                namespaced: false,
                verbs: ["delete", "get", "list", "patch", "watch"],
                shortNames: ["no"]
            ),
            resource(
                "pods",
                singular: "pod",
                kind: "Pod",
                namespaced: true,
                verbs: ["delete", "get", "list", "patch", "watch"],
                shortNames: ["po"],
                categories: ["all"]
            ),
            [
                "name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1",
                "kind": "Eviction", "verbs": ["create"],
            ],
        ],
    ]

    static let appsResources: JSONValue = [
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
        "resources": [
            resource(
                "daemonsets",
                singular: "daemonset",
                kind: "DaemonSet",
                namespaced: true,
                verbs: ["get", "list", "watch"],
                shortNames: ["ds"],
                categories: ["all"]
            )
        ],
    ]

    static let policyResources: JSONValue = [
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "policy/v1",
        "resources": [
            resource(
                "poddisruptionbudgets",
                singular: "poddisruptionbudget",
                kind: "PodDisruptionBudget",
                namespaced: true,
                verbs: ["get", "list", "watch"],
                shortNames: ["pdb"]
            )
        ],
    ]
}

/// Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for in its Accept header, with
/// the columns the API server prints for nodes and pods.
enum Table {
    static func wanted(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.contains("as=Table")
    }

    static func make(_ resource: FakeKubernetesAPI.Resource, _ items: [JSONValue], metadata: JSONValue) -> JSONValue {
        let columns: [(String, String, Int)]
        switch resource {
        case .nodes:
            columns = [
                ("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0), ("Age", "string", 0),
                ("Version", "string", 0),
            ]
        default:
            columns = [
                ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
                ("Age", "string", 0), ("IP", "string", 1), ("Node", "string", 1),
            ]
        }
        let definitions: [JSONValue] = columns.map { name, type, priority in
            [
                "name": .string(name), "type": .string(type), "format": name == "Name" ? "name" : "",
                "description": "", "priority": .int(Int64(priority)),
            ]
        }
        let rows: [JSONValue] = items.map { item in
            var partial: JSONValue = [
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": item["metadata"] ?? [:],
            ]
            partial[path: ["metadata", "managedFields"]] = nil
            return ["cells": .array(cells(resource, item)), "object": partial]
        }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": .array(definitions), "rows": .array(rows),
        ]
    }

    private static func cells(_ resource: FakeKubernetesAPI.Resource, _ item: JSONValue) -> [JSONValue] {
        let name = item[path: ["metadata", "name"]] ?? ""
        let age = JSONValue.string(self.age(item[path: ["metadata", "creationTimestamp"]]?.stringValue))
        switch resource {
        case .nodes:
            let ready = (item[path: ["status", "conditions"]]?.arrayValue ?? []).first {
                $0["type"]?.stringValue == "Ready"
            }
            var status = ready?["status"]?.stringValue == "True" ? "Ready" : "NotReady"
            if ready == nil { status = "Unknown" }
            if item[path: ["spec", "unschedulable"]]?.boolValue == true { status += ",SchedulingDisabled" }
            let roles = FakeKubernetesAPI.labels(of: item).keys
                .filter { $0.hasPrefix("node-role.kubernetes.io/") }
                .map { String($0.dropFirst("node-role.kubernetes.io/".count)) }
                .sorted()
            return [
                name, .string(status), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")), age,
                item[path: ["status", "nodeInfo", "kubeletVersion"]] ?? "",
            ]
        default:
            let containers = item[path: ["spec", "containers"]]?.arrayValue ?? []
            let statuses = item[path: ["status", "containerStatuses"]]?.arrayValue ?? []
            let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
            let restarts = statuses.reduce(Int64(0)) { $0 + ($1["restartCount"]?.intValue ?? 0) }
            var phase = item[path: ["status", "phase"]]?.stringValue ?? "Pending"
            if item[path: ["metadata", "deletionTimestamp"]] != nil { phase = "Terminating" }
            return [
                name, .string("\(ready)/\(containers.count)"), .string(phase), .string(String(restarts)), age,
                item[path: ["status", "podIP"]] ?? "<none>", item[path: ["spec", "nodeName"]] ?? "<none>",
            ]
        }
    }

    private static func age(_ timestamp: String?) -> String {
        guard let timestamp, let date = ISO8601DateFormatter().date(from: timestamp) else { return "<unknown>" }
        let seconds = max(0, Int(Date().timeIntervalSince(date)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<(120 * 60): return "\(seconds / 60)m"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }
}
