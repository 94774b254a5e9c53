import FleetAPI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's port for remembering the highest fencing epoch it has seen, across restarts: a deposed leader must
/// stay refused after the agent restarts. `FileEpochStore` in production, `InMemoryEpochStore` in tests.
///
/// Promise: once `store` returns, `load` (in this process or the next) returns that epoch or a higher one.
public protocol EpochStore: Sendable {
    /// The highest epoch stored, `.none` when nothing was ever stored.
    func load() throws(EpochStoreError) -> FencingEpoch
    /// Makes `epoch` durable before returning.
    func store(_ epoch: FencingEpoch) throws(EpochStoreError)
}

/// The epoch could not be read or made durable; the agent refuses commands rather than act unfenced.
public struct EpochStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "epoch file \(path): \(message)" }
}

/// The epoch in a small text file (the decimal number and a newline), replaced atomically: written to a temporary
/// file beside it, fsynced, renamed over the old one, and the directory fsynced, so a crash leaves either the old
/// or the new number, never a torn one.
public struct FileEpochStore: EpochStore {
    public let path: String

    /// - Parameter directory: the agent's `state-directory`; the file is `highest-epoch` inside it.
    public init(directory: String) {
        self.path = directory.hasSuffix("/") ? directory + "highest-epoch" : directory + "/highest-epoch"
    }

    public init(path: String) { self.path = path }

    private var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public func load() throws(EpochStoreError) -> FencingEpoch {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .none }
            throw failure("cannot open")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw failure("cannot read") }
        let text = String(decoding: buffer[..<count], as: UTF8.self).trimmingWhitespace
        guard let value = UInt64(text) else {
            throw EpochStoreError(path: path, message: "does not hold a decimal epoch (found \(count) bytes)")
        }
        return FencingEpoch(value)
    }

    public func store(_ epoch: FencingEpoch) throws(EpochStoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        let bytes = Array("\(epoch.rawValue)\n".utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            close(fd)
            throw failure("cannot write \(temporary)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) over it") }
        // The rename is durable only once the directory entry is.
        let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw failure("cannot open its directory to sync it") }
        defer { close(directoryFD) }
        guard fsync(directoryFD) == 0 else { throw failure("cannot sync its directory") }
    }

    private func failure(_ what: String) -> EpochStoreError {
        EpochStoreError(path: path, message: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// An epoch store in memory, for tests: shared by the "restarted" agents that are handed the same instance.
public final class InMemoryEpochStore: EpochStore {
    private let stored: Mutex<FencingEpoch>
    /// How many times `store` was called.
    public var writes: Int { counter.withLock { $0 } }
    private let counter = Mutex(0)

    public init(_ epoch: FencingEpoch = .none) { stored = Mutex(epoch) }

    public func load() throws(EpochStoreError) -> FencingEpoch { stored.withLock { $0 } }

    public func store(_ epoch: FencingEpoch) throws(EpochStoreError) {
        stored.withLock { $0 = epoch }
        counter.withLock { $0 += 1 }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
