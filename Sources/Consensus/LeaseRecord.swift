import Foundation

/// The version of a lease record: a random UUID written anew on every change (acquire, renew, release), so an
/// observer that sees the same version twice knows nobody wrote in between (versions are never reused).
public struct RecordVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// A fresh, never-before-used version.
    public static func random() -> RecordVersion { RecordVersion(rawValue: UUID().uuidString.lowercased()) }

    public var description: String { rawValue }
}

/// Who holds (or last held) a lease: an id unique to one process incarnation and the address its peers use
/// to reach it.
public struct LeaseHolder: Hashable, Sendable, CustomStringConvertible {
    /// Unique per process incarnation; two live processes must never share it (see `unique(name:address:)`).
    public var id: String
    /// Where the holder can be reached (host:port), informational for peers.
    public var address: String

    public init(id: String, address: String) {
        self.id = id
        self.address = address
    }

    /// A holder whose id is `name` followed by a random suffix, so a restarted process never shares an id with
    /// a previous incarnation that may still be alive (for example stopped by SIGSTOP).
    public static func unique(name: String, address: String) -> LeaseHolder {
        LeaseHolder(id: "\(name)#\(UUID().uuidString.prefix(8).lowercased())", address: address)
    }

    public var description: String { "\(id)@\(address)" }
}

/// The lease of one fleet as stored: the holder (nil when the lease is free), the record version, the lease
/// duration the holder promised to respect, and the fencing epoch of the holder (or of the last holder when free).
public struct LeaseRecord: Hashable, Sendable {
    public var fleet: String
    /// The current holder, or nil when the lease was released and is free to take.
    public var holder: LeaseHolder?
    public var version: RecordVersion
    /// How long an observer must see `version` unchanged before it may take the lease over.
    public var leaseDuration: Duration
    public var epoch: FencingEpoch

    public init(
        fleet: String,
        holder: LeaseHolder?,
        version: RecordVersion,
        leaseDuration: Duration,
        epoch: FencingEpoch
    ) {
        self.fleet = fleet
        self.holder = holder
        self.version = version
        self.leaseDuration = leaseDuration
        self.epoch = epoch
    }

    /// True when nobody holds the lease (it was released on a graceful shutdown).
    public var isFree: Bool { holder == nil }
}

extension Duration {
    /// Whole milliseconds, rounded down; the unit the stores persist durations in.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
