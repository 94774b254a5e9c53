import NIOCore

/// Runs the jobs of a task on one event loop, so that an incoming call, the default actor it reaches and the
/// reply it writes all stay on the thread that read the call (SE-0417 task executor preference). It promises
/// nothing about order beyond the event loop's own: jobs run in the order they were enqueued.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
