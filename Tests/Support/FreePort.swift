// BallastTestSupport: fixtures shared by the test suites: free loopback ports, managed child processes
// (start, wait until ready, stop, never left running), a moto server with IAM signature checking on, a
// seeded random generator (`SplitMix64`) and a log handler that captures records (`LogCapture`).
//
// Depends on Foundation and swift-log only, so any test target can use it without pulling in the production
// modules.
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP port on 127.0.0.1 that the OS reported free a moment ago.
///
/// The port is found by binding port 0 and reading the port the kernel chose, then closing the socket; a
/// server started right after almost always gets it. Callers that race with other processes should retry
/// their start on `EADDRINUSE`, which ``ChildProcess`` readiness failures surface.
public enum FreePort {
    /// Errors from the socket calls, with the errno that explains them.
    public struct Failure: Error, CustomStringConvertible {
        public let call: String
        public let errno: Int32
        public var description: String { "FreePort: \(call) failed with errno \(errno)" }
    }

    /// Every port handed out in this process. Suites run in parallel and a server binds its port only a moment
    /// after asking, so the kernel may offer one port twice; two servers on one port confuse their fixtures.
    private static let handedOut = Mutex<Set<Int>>([])

    /// Asks the kernel for an unused loopback port that this process has not handed out before.
    public static func next() throws -> Int {
        for _ in 0..<64 {
            let port = try kernelFreePort()
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh { return port }
        }
        throw Failure(call: "bind (64 ports offered, all handed out already)", errno: EADDRINUSE)
    }

    private static func kernelFreePort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(call: "socket", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw Failure(call: "bind", errno: errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure(call: "getsockname", errno: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1 at `port`.
    public static func isAccepting(_ port: Int) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return connected == 0
    }
}
