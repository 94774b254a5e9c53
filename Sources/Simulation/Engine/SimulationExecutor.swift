import Foundation

/// The one thread every job of a simulation run executes on, one at a time, in the order the jobs were enqueued.
/// The engine runs a policy under this executor's preference, so the coordinator, the agents, their services and
/// the simulated cluster (default actors and child tasks inherit the preference) all run here: the run no longer
/// depends on how the machine's threads happen to interleave, and the engine can tell when nothing is left to run
/// (`pendingJobs == 0` while it runs itself) before it moves the clock.
final class SimulationExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var stopped = false

    init() {
        let thread = Thread { [self] in loop() }
        thread.name = "ballast-simulation"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Jobs enqueued and not yet started.
    var pendingJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// Ends the thread once the queue is empty.
    func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head >= 4_096 {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
