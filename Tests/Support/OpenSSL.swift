import Foundation

/// The `openssl` command, for tests that make a throwaway CA and certificates (mutual TLS on the wire, the fake
/// Kubernetes API server's client certificates).
public enum OpenSSL {
    /// `openssl` exited with a failure.
    public struct Failed: Error, CustomStringConvertible {
        public var arguments: [String]
        public var status: Int32
        public var description: String { "openssl \(arguments.joined(separator: " ")) exited with status \(status)" }
    }

    /// Runs `openssl ARGUMENTS` in `directory`, its output discarded; throws `Failed` unless it exits 0.
    public static func run(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(arguments: arguments, status: process.terminationStatus)
        }
    }
}
