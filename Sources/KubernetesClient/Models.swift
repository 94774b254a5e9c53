import Foundation

/// An object the client reads through the API: its metadata and where its collection lives.
public protocol KubernetesObject: Decodable, Sendable {
    /// The collection path segment (`nodes`, `pods`).
    static var resource: String { get }
    /// Whether objects live in a namespace.
    static var namespaced: Bool { get }
    var metadata: ObjectMeta { get }
}

extension KubernetesObject {
    /// `namespace/name` for namespaced objects, `name` otherwise: the key of a cache.
    public var key: String {
        if let namespace = metadata.namespace, Self.namespaced { return "\(namespace)/\(metadata.name)" }
        return metadata.name
    }
}

/// The metadata fields the agent reads.
public struct ObjectMeta: Sendable, Hashable, Decodable {
    public var name: String
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    public var creationTimestamp: Date?
    public var deletionTimestamp: Date?
    public var ownerReferences: [OwnerReference]

    public init(
        name: String,
        namespace: String? = nil,
        uid: String? = nil,
        resourceVersion: String? = nil,
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        creationTimestamp: Date? = nil,
        deletionTimestamp: Date? = nil,
        ownerReferences: [OwnerReference] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.annotations = annotations
        self.creationTimestamp = creationTimestamp
        self.deletionTimestamp = deletionTimestamp
        self.ownerReferences = ownerReferences
    }

    enum CodingKeys: String, CodingKey {
        case name, namespace, uid, resourceVersion, labels, annotations, creationTimestamp, deletionTimestamp
        case ownerReferences
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace)
        uid = try container.decodeIfPresent(String.self, forKey: .uid)
        resourceVersion = try container.decodeIfPresent(String.self, forKey: .resourceVersion)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        creationTimestamp = try container.decodeIfPresent(Date.self, forKey: .creationTimestamp)
        deletionTimestamp = try container.decodeIfPresent(Date.self, forKey: .deletionTimestamp)
        ownerReferences = try container.decodeIfPresent([OwnerReference].self, forKey: .ownerReferences) ?? []
    }
}

/// A reference to the object that owns this one (a ReplicaSet, a DaemonSet, …).
public struct OwnerReference: Sendable, Hashable, Decodable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String?
    public var controller: Bool?
}

/// A condition as nodes and pods report them: a type, a status `True`/`False`/`Unknown`, why, and since when.
public struct Condition: Sendable, Hashable, Decodable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: Date?

    public init(
        type: String,
        status: String,
        reason: String? = nil,
        message: String? = nil,
        lastTransitionTime: Date? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }

    public var isTrue: Bool { status == "True" }
}

/// A node: what the agent needs to know to count, cordon and retire it.
public struct Node: KubernetesObject, Hashable {
    public static let resource = "nodes"
    public static let namespaced = false

    public struct Spec: Sendable, Hashable, Decodable {
        public var unschedulable: Bool?
        public var providerID: String?
    }

    public struct Address: Sendable, Hashable, Decodable {
        /// `InternalIP`, `ExternalIP`, `Hostname`, ...
        public var type: String
        public var address: String
    }

    public struct Status: Sendable, Hashable, Decodable {
        public var allocatable: [String: Quantity]?
        public var capacity: [String: Quantity]?
        public var conditions: [Condition]?
        public var addresses: [Address]?
    }

    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public var name: String { metadata.name }
    /// The node's `InternalIP` address, when the kubelet reports one.
    public var internalIP: String? { status?.addresses?.first { $0.type == "InternalIP" }?.address }
    /// Whether new pods are kept off the node (cordoned).
    public var isUnschedulable: Bool { spec?.unschedulable ?? false }
    /// The cloud's id of the machine, `aws:///us-east-1a/i-0abc…` on EC2.
    public var providerID: String? { spec?.providerID }
    public var allocatable: [String: Quantity] { status?.allocatable ?? [:] }
    public var readyCondition: Condition? { status?.conditions?.first { $0.type == "Ready" } }
    /// Whether the kubelet reports the node Ready.
    public var isReady: Bool { readyCondition?.isTrue ?? false }
    /// Since when the node has been Ready: the Ready condition's last transition, nil while not Ready.
    public var readySince: Date? { isReady ? readyCondition?.lastTransitionTime : nil }
}

/// A pod: where it runs, its phase and conditions, what it requests and who owns it.
public struct Pod: KubernetesObject, Hashable {
    public static let resource = "pods"
    public static let namespaced = true

    /// The annotation the kubelet puts on mirror pods of static manifests.
    public static let mirrorAnnotation = "kubernetes.io/config.mirror"

    public struct Container: Sendable, Hashable, Decodable {
        public struct Resources: Sendable, Hashable, Decodable {
            public var requests: [String: Quantity]?
            public var limits: [String: Quantity]?
        }
        public var name: String
        public var resources: Resources?
    }

    public struct Volume: Sendable, Hashable, Decodable {
        public struct EmptyDir: Sendable, Hashable, Decodable {}
        public var name: String
        public var emptyDir: EmptyDir?
    }

    public struct Spec: Sendable, Hashable, Decodable {
        public var nodeName: String?
        public var containers: [Container]?
        public var initContainers: [Container]?
        public var volumes: [Volume]?
        public var priority: Int?
    }

    public struct Status: Sendable, Hashable, Decodable {
        public var phase: String?
        public var conditions: [Condition]?
    }

    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public var namespace: String { metadata.namespace ?? "default" }
    public var name: String { metadata.name }
    public var uid: String? { metadata.uid }
    public var nodeName: String? { spec?.nodeName }
    public var phase: String? { status?.phase }

    /// Whether the pod waits for the scheduler because no node fits it: phase Pending with the condition
    /// PodScheduled=False, reason Unschedulable.
    public var isUnschedulable: Bool {
        guard phase == "Pending" else { return false }
        return status?.conditions?.contains {
            $0.type == "PodScheduled" && $0.status == "False" && $0.reason == "Unschedulable"
        } ?? false
    }

    /// Whether a DaemonSet controls the pod (drains leave these alone).
    public var isDaemonSetPod: Bool {
        metadata.ownerReferences.contains { $0.kind == "DaemonSet" && $0.controller == true }
    }

    /// Whether the pod mirrors a static manifest on the node (it cannot be evicted through the API).
    public var isMirrorPod: Bool { metadata.annotations[Self.mirrorAnnotation] != nil }

    /// Whether the pod is being deleted.
    public var isTerminating: Bool { metadata.deletionTimestamp != nil }

    /// Whether the pod has finished (Succeeded or Failed) and holds no resources.
    public var isFinished: Bool { phase == "Succeeded" || phase == "Failed" }

    /// The pod's effective request of `resource` as the scheduler counts it: the larger of the sum over its
    /// containers and the largest single init container.
    public func request(_ resource: String) -> Decimal {
        let containers = (spec?.containers ?? []).reduce(Decimal(0)) {
            $0 + ($1.resources?.requests?[resource]?.amount ?? 0)
        }
        let initContainers = (spec?.initContainers ?? []).map { $0.resources?.requests?[resource]?.amount ?? 0 }
        return max(containers, initContainers.max() ?? 0)
    }

    /// Requested cpu in millicores.
    public var cpuRequestMillis: Int64 { Quantity(request("cpu")).milliValue }
    /// Requested memory in bytes.
    public var memoryRequestBytes: Int64 { Quantity(request("memory")).value }
}

/// One page of a list, or the whole list once every page was read.
public struct ObjectList<Item: KubernetesObject>: Sendable, Decodable {
    public struct Metadata: Sendable, Decodable {
        public var resourceVersion: String?
        public var `continue`: String?
    }
    public var metadata: Metadata
    public var items: [Item]

    /// The resourceVersion a watch starts from to see every change after this list.
    public var resourceVersion: String { metadata.resourceVersion ?? "" }
}

/// A `Status` document: what the API server answers when a request fails (and for some that succeed).
public struct APIStatus: Sendable, Hashable, Decodable {
    public struct Details: Sendable, Hashable, Decodable {
        public struct Cause: Sendable, Hashable, Decodable {
            public var reason: String?
            public var message: String?
            public var field: String?
        }
        public var name: String?
        public var kind: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }
    public var status: String?
    public var message: String?
    public var reason: String?
    public var code: Int?
    public var details: Details?
}
