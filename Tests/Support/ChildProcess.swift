import Foundation

/// A server or tool the tests run as a child process: started, waited on until it is ready, stopped at the
/// end, and never left running, even when the test process dies without cleaning up.
///
/// The command runs under a small python3 supervisor whose stdin is a pipe held open by this process; when the
/// test process exits for any reason the pipe closes and the supervisor terminates the command. Output goes to
/// a temporary log file (so a chatty server never blocks on a full pipe); its tail is attached to failures.
public actor ChildProcess {
    /// Why a child process could not be started or did not become ready.
    public struct Failure: Error, CustomStringConvertible {
        public enum Code: Sendable, Equatable {
            /// The executable could not be launched at all.
            case launchFailed
            /// The process exited before its readiness check passed.
            case exitedBeforeReady
            /// The readiness check did not pass within the timeout.
            case notReadyInTime
            /// A setup step the fixture runs against the process failed.
            case setupFailed
        }
        public let code: Code
        public let command: String
        public let message: String
        public let outputTail: String
        public var description: String {
            "\(command): \(message) [\(code)]\n--- last output ---\n\(outputTail)"
        }
    }

    /// The supervisor: runs argv[1:], terminates it on SIGTERM or when stdin reaches EOF (our exit).
    private static let supervisor = """
        import os, signal, subprocess, sys, threading
        # Threads of the test process block signals, and a spawned process inherits that mask: unblock.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
        def die_with_supervisor():
            try:
                import ctypes
                ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed if we die first
            except Exception:
                pass
        child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, preexec_fn=die_with_supervisor)
        def stop(*_):
            # Only signal here: the main thread is in child.wait() and reaps the child when it exits.
            try:
                child.terminate()
            except Exception:
                pass
            escalate = threading.Timer(3, lambda: child.poll() is None and child.kill())
            escalate.daemon = True
            escalate.start()
        def watch():
            sys.stdin.buffer.read()  # EOF: the test process is gone
            stop()
        threading.Thread(target=watch, daemon=True).start()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        sys.exit(child.wait())
        """

    public let command: String
    private let process: Process
    private let stdin: Pipe
    private let logURL: URL
    private var stopped = false

    private init(command: String, process: Process, stdin: Pipe, logURL: URL) {
        self.command = command
        self.process = process
        self.stdin = stdin
        self.logURL = logURL
    }

    /// Starts `executable` (looked up on PATH) with `arguments`, then polls `isReady` every 50 ms until it
    /// returns true, the process exits, or `timeout` passes; on failure the process is stopped before throwing.
    public static func start(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(30),
        isReady: @Sendable () async -> Bool
    ) async throws -> ChildProcess {
        let command = ([executable] + arguments).joined(separator: " ")
        let logURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballast-child-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", supervisor, executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            try? log.close()
            throw Failure(
                code: .launchFailed,
                command: command,
                message: "could not launch: \(error)",
                outputTail: ""
            )
        }
        try? log.close()
        let child = ChildProcess(command: command, process: process, stdin: stdin, logURL: logURL)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if await isReady() { return child }
            if await !child.isRunning {
                let status = await child.terminationStatus
                let tail = await child.outputTail()
                await child.stop()
                throw Failure(
                    code: .exitedBeforeReady,
                    command: command,
                    message: "exited with status \(status) before it was ready",
                    outputTail: tail
                )
            }
            if clock.now >= deadline {
                let tail = await child.outputTail()
                await child.stop()
                throw Failure(
                    code: .notReadyInTime,
                    command: command,
                    message: "not ready within \(timeout)",
                    outputTail: tail
                )
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// The process id of the supervisor (the command runs as its child).
    public var supervisorID: Int32 { process.processIdentifier }

    /// The exit status, meaningful once the process is no longer running.
    public var terminationStatus: Int32 { process.terminationStatus }

    /// The last `limit` bytes the process wrote to stdout and stderr.
    public func outputTail(limit: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: logURL.path) else { return "" }
        return String(decoding: data.suffix(limit), as: UTF8.self)
    }

    /// Terminates the process (SIGTERM to the supervisor, which stops the command) and waits up to five
    /// seconds for it to exit, then kills it. Safe to call more than once.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        if process.isRunning { process.terminate() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        while process.isRunning && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? stdin.fileHandleForWriting.close()
        try? FileManager.default.removeItem(at: logURL)
    }
}

extension ChildProcess {
    /// Runs `body` with a started process and always stops the process afterwards, whether `body` returns
    /// or throws.
    public static func with<T: Sendable>(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(30),
        isReady: @Sendable () async -> Bool,
        _ body: (ChildProcess) async throws -> T
    ) async throws -> T {
        let child = try await start(
            executable,
            arguments,
            environment: environment,
            timeout: timeout,
            isReady: isReady
        )
        do {
            let result = try await body(child)
            await child.stop()
            return result
        } catch {
            await child.stop()
            throw error
        }
    }
}

/// Runs a short command to completion and returns its stdout; throws with its stderr when it fails.
/// For setup steps (a python one-off), not for servers.
public func runToCompletion(
    _ executable: String,
    _ arguments: [String],
    stdin input: Data? = nil,
    environment: [String: String] = [:]
) async throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-run-\(UUID().uuidString)")
    let errURL = outURL.appendingPathExtension("err")
    let inURL = outURL.appendingPathExtension("in")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: input ?? Data())
    defer {
        for url in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: url) }
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inHandle
    let command = ([executable] + arguments.prefix(1)).joined(separator: " ")
    do {
        try process.run()
    } catch {
        throw ChildProcess.Failure(code: .launchFailed, command: command, message: "\(error)", outputTail: "")
    }
    while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    try? out.close()
    try? err.close()
    try? inHandle.close()
    let output = FileManager.default.contents(atPath: outURL.path) ?? Data()
    guard process.terminationStatus == 0 else {
        let errText = String(
            decoding: (FileManager.default.contents(atPath: errURL.path) ?? Data()).suffix(4000),
            as: UTF8.self
        )
        throw ChildProcess.Failure(
            code: .setupFailed,
            command: command,
            message: "exited with status \(process.terminationStatus)",
            outputTail: errText
        )
    }
    return output
}
