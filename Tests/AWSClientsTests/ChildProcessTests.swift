import BallastTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shared child-process fixture, proven here because every server-backed suite relies on it.
@Suite("ChildProcess fixture")
struct ChildProcessTests {
    /// A command that prints its pid and then sleeps, so the test can check it is gone afterwards.
    static let sleeper = ["-c", "import os, time; print(os.getpid(), flush=True); time.sleep(120)"]

    func commandPID(_ child: ChildProcess) async throws -> Int32 {
        for _ in 0..<200 {
            if let pid = Int32(await child.outputTail().trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
            try await Task.sleep(for: .milliseconds(10))
        }
        struct NoPID: Error {}
        throw NoPID()
    }

    func isAlive(_ pid: Int32) -> Bool {
        // A zombie still answers kill(0); check /proc for the state too.
        guard kill(pid, 0) == 0 else { return false }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !status.contains(") Z ")
    }

    func waitGone(_ pid: Int32) async throws -> Bool {
        for _ in 0..<300 {
            if !isAlive(pid) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test("stop terminates the command, not only its supervisor")
    func stopTerminatesCommand() async throws {
        let child = try await ChildProcess.start("python3", Self.sleeper, isReady: { true })
        let pid = try await commandPID(child)
        #expect(isAlive(pid))
        await child.stop()
        #expect(try await waitGone(pid))
        #expect(await !child.isRunning)
    }

    @Test("the command dies with its supervisor even when the supervisor is killed outright")
    func diesWithSupervisor() async throws {
        let child = try await ChildProcess.start("python3", Self.sleeper, isReady: { true })
        let pid = try await commandPID(child)
        kill(await child.supervisorID, SIGKILL)
        #expect(try await waitGone(pid))
        await child.stop()
    }

    @Test("a command that exits before it is ready fails with its output")
    func exitsEarly() async throws {
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.start("python3", ["-c", "print('boom'); raise SystemExit(3)"], isReady: { false })
        }
        #expect(error?.code == .exitedBeforeReady)
        #expect(error?.outputTail.contains("boom") == true)
    }

    @Test("a command that never becomes ready is stopped after the timeout")
    func notReady() async throws {
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.start("python3", Self.sleeper, timeout: .milliseconds(300), isReady: { false })
        }
        #expect(error?.code == .notReadyInTime)
        let pid = Int32(error?.outputTail.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        if let pid { #expect(try await waitGone(pid)) }
    }

    @Test("a free port is reported and nothing accepts on it before a server starts")
    func freePorts() throws {
        let a = try FreePort.next()
        let b = try FreePort.next()
        #expect(a > 0 && b > 0)
        #expect(!FreePort.isAccepting(a))
    }
}
