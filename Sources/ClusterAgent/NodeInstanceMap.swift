/// Which cloud instance each Kubernetes node runs on. A node maps to an instance of this cluster by, in order, the
/// instance id from its provider id (`KubeNode.instanceID`), the `ballast.io/instance-id` label its user-data set
/// at join, or its internal IP matched against the instances' private IPs.
///
/// Promise: a node maps only to an instance the cloud lists for this cluster; a node that matches none is
/// unmapped, reported as such and never drained (the agent does not terminate an instance on a guess).
public struct NodeInstanceMap: Sendable {
    /// Instance by node name.
    public private(set) var instanceByNode: [String: CloudInstance] = [:]
    /// Nodes that map to no instance of the cluster.
    public private(set) var unmappedNodes: [String] = []
    /// Instances no node maps to (still booting, or orphans).
    public private(set) var instancesWithoutNode: [CloudInstance] = []

    public init(nodes: [KubeNode], instances: [CloudInstance]) {
        let live = instances.filter { $0.state != .terminated }
        let byID = Dictionary(live.map { ($0.instanceID, $0) }, uniquingKeysWith: { first, _ in first })
        var byIP: [String: CloudInstance] = [:]
        var sharedIPs: Set<String> = []
        for instance in live {
            guard let ip = instance.privateIP else { continue }
            // An address two instances claim (a reused IP) identifies neither.
            if byIP.updateValue(instance, forKey: ip) != nil { sharedIPs.insert(ip) }
        }
        for ip in sharedIPs { byIP[ip] = nil }
        var claimed: Set<String> = []
        for node in nodes {
            let match =
                node.instanceID.flatMap { byID[$0] }
                ?? node.labels[instanceIDLabel].flatMap { byID[$0] }
                ?? node.internalIP.flatMap { byIP[$0] }
            if let match, !claimed.contains(match.instanceID) {
                instanceByNode[node.name] = match
                claimed.insert(match.instanceID)
            } else {
                unmappedNodes.append(node.name)
            }
        }
        instancesWithoutNode = live.filter { !claimed.contains($0.instanceID) }.sorted {
            $0.instanceID < $1.instanceID
        }
    }
}
