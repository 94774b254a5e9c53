import BallastTestSupport
import Foundation

/// One of Ballast's own executables (`coordinator`, `cluster-agent`), started from the build folder next to the
/// test bundle (`swift build --build-tests` builds them), its output kept in files for when a test fails.
final class FleetProcess: @unchecked Sendable {
    // Safe: `process` is only read after `run()`, and Foundation's Process is itself thread-safe for these calls.
    let name: String
    let process: Process
    let log: URL

    static func binary(_ product: String) -> URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(product)
    }

    /// `environment` is added to the test's own (AWS credentials for an agent or a lease on moto).
    init(
        _ product: String,
        name: String,
        arguments: [String],
        directory: URL,
        environment: [String: String] = [:]
    ) throws {
        self.name = name
        log = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = Self.binary(product)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var output: String {
        String(decoding: FileManager.default.contents(atPath: log.path) ?? Data(), as: UTF8.self)
    }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Asks it to stop (SIGTERM), then kills it if it has not exited within `timeout`; returns its exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(10)) async -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }
}

/// What one `coordctl` run printed and how it ended.
struct CoordCtlRun: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs `coordctl` with `arguments` to completion.
func runCoordCtl(_ arguments: [String], environment: [String: String] = [:]) async throws -> CoordCtlRun {
    let process = Process()
    process.executableURL = FleetProcess.binary("coordctl")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("coordctl-\(UUID().uuidString)")
    let outURL = base.appendingPathExtension("out")
    let errURL = base.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
    return CoordCtlRun(
        status: process.terminationStatus,
        stdout: String(decoding: FileManager.default.contents(atPath: outURL.path) ?? Data(), as: UTF8.self),
        stderr: String(decoding: FileManager.default.contents(atPath: errURL.path) ?? Data(), as: UTF8.self)
    )
}

/// Where a local fleet's replicas keep their lease and durable state.
enum FleetLeaseStore: Sendable {
    /// One SQLite file in the fleet's folder (the embedded default).
    case sqlite
    /// A DynamoDB table on a moto server, reached with the moto fixture's signed credentials.
    case dynamoDB(MotoServer, table: String)

    /// Creates a lease table on `moto` as deploy/cloudformation/tables.yaml does (partition key `pk`, a string;
    /// on-demand billing) and returns the store naming it.
    static func dynamoDB(on moto: MotoServer) async throws -> FleetLeaseStore {
        let table = "ballast-e2e-\(UUID().uuidString.prefix(8).lowercased())"
        let script = """
            import sys, boto3
            db = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name=sys.argv[2])
            db.create_table(TableName=sys.argv[3], BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            db.get_waiter("table_exists").wait(TableName=sys.argv[3], WaiterConfig={"Delay": 0.2})
            """
        _ = try await runToCompletion(
            "python3",
            ["-c", script, moto.endpoint, moto.region, table],
            environment: credentials(moto).merging(["AWS_SHARED_CREDENTIALS_FILE": "/dev/null"]) { _, new in new }
        )
        return .dynamoDB(moto, table: table)
    }

    /// The environment that gives a process the moto fixture's credentials and nothing else.
    static func credentials(_ moto: MotoServer) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey,
            "AWS_CONFIG_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }
}

/// A fleet on this machine: coordinator replicas sharing one lease (a SQLite file unless told otherwise), and the
/// files they read.
final class LocalFleet: @unchecked Sendable {
    // Safe: the test that owns a fleet uses it from one task at a time.
    let directory: URL
    let clusters: [(id: String, region: String)]
    let leaseStore: FleetLeaseStore
    var coordinators: [String: FleetProcess] = [:]
    var agents: [String: FleetProcess] = [:]
    var ports: [String: Int] = [:]
    var metricsPorts: [String: Int] = [:]
    let adminSecretFile: URL

    init(clusters: [(id: String, region: String)], leaseStore: FleetLeaseStore = .sqlite) throws {
        self.leaseStore = leaseStore
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.clusters = clusters
        adminSecretFile = directory.appendingPathComponent("admin.key")
        try Self.secret().write(to: adminSecretFile)
        for cluster in clusters {
            try Self.secret().write(to: directory.appendingPathComponent("\(cluster.id).key"))
        }
    }

    /// 32 random bytes as 64 hex digits and a newline, as `openssl rand -hex 32` writes a secret file.
    static func secret() -> Data {
        Data((String((0..<64).map { _ in "0123456789abcdef".randomElement()! }) + "\n").utf8)
    }

    /// Starts a coordinator replica named `node` on a free port, with a short lease so takeovers are quick (2 s on
    /// SQLite, 3 s on DynamoDB). `clusterPolicy` is every cluster's policy keys, as YAML flow-mapping entries.
    func startCoordinator(
        _ node: String,
        budget: Double = 5_000,
        clusterPolicy: String = "min-nodes: 2, max-nodes: 30"
    ) throws {
        let port = try FreePort.next()
        ports[node] = port
        let metricsPort = try FreePort.next()
        metricsPorts[node] = metricsPort
        let lease: String
        var environment: [String: String] = [:]
        switch leaseStore {
        case .sqlite:
            lease =
                "{store: sqlite, path: \(directory.appendingPathComponent("lease.sqlite").path), duration: 2s, renew-interval: 400ms, renew-deadline: 1400ms"
        case .dynamoDB(let moto, let table):
            // A store call is an HTTP request to a Python server: the renew deadline leaves room for a slow one.
            lease =
                "{store: dynamodb, table: \(table), region: \(moto.region), endpoint: \"\(moto.endpoint)\", duration: 3s, renew-interval: 500ms, renew-deadline: 2s"
            environment = FleetLeaseStore.credentials(moto)
        }
        var yaml = """
            node-id: \(node)
            listen: {host: 127.0.0.1, port: \(port)}
            metrics: {host: 127.0.0.1, port: \(metricsPort)}
            admin-secret: {file: \(adminSecretFile.path)}
            plan-interval: 1s
            cluster-lost-after: 30s
            state-directory: \(directory.path)
            spot-prices: simulated
            lease: \(lease), fleet: e2e, poll-interval: 100ms}
            budget: {monthly-usd: \(budget)}
            clusters:

            """
        for cluster in clusters {
            yaml +=
                "  - {id: \(cluster.id), region: \(cluster.region), secret: {file: \(directory.appendingPathComponent("\(cluster.id).key").path)}, \(clusterPolicy)}\n"
        }
        let config = directory.appendingPathComponent("\(node).yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        coordinators[node] = try FleetProcess(
            "coordinator",
            name: node,
            arguments: ["--config", config.path],
            directory: directory,
            environment: environment
        )
    }

    /// Starts the agent of `cluster`, observing a simulated cluster playing `trace`, reporting to every replica.
    /// `metricsPort` is where its /metrics listens (a free port when nil).
    func startAgent(_ cluster: String, trace: URL, startMinute: Int = 0, metricsPort: Int? = nil) throws {
        let region = clusters.first { $0.id == cluster }?.region ?? "eu-west-1"
        let addresses = ports.values.sorted().map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ")
        let yaml = """
            cluster-id: \(cluster)
            region: \(region)
            coordinators: [\(addresses)]
            secret: {file: \(directory.appendingPathComponent("\(cluster).key").path)}
            report-interval: 1s
            state-directory: \(directory.appendingPathComponent("\(cluster)-state").path)
            metrics: {host: 127.0.0.1, port: \(try metricsPort ?? FreePort.next())}
            simulation:
              trace: \(trace.path)
              minutes-per-second: 2
              start-minute: \(startMinute)
              nodes: 3

            """
        let config = directory.appendingPathComponent("\(cluster).yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        agents[cluster] = try FleetProcess(
            "cluster-agent",
            name: cluster,
            arguments: ["--config", config.path],
            directory: directory
        )
    }

    /// Starts the agent of `cluster` on a real cluster: `sources` is its `kubernetes:`, `prometheus:`, `ec2:` and
    /// `interruptions:` sections (YAML), `environment` what it needs beyond the test's own (AWS credentials).
    /// Autonomous launches are off, so every launch it makes was commanded by a leader.
    func startRealAgent(
        _ cluster: String,
        sources: String,
        environment: [String: String],
        metricsPort: Int
    ) throws {
        let region = clusters.first { $0.id == cluster }?.region ?? "us-east-1"
        let addresses = ports.values.sorted().map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ")
        let yaml = """
            cluster-id: \(cluster)
            region: \(region)
            coordinators: [\(addresses)]
            secret: {file: \(directory.appendingPathComponent("\(cluster).key").path)}
            report-interval: 1s
            state-directory: \(directory.appendingPathComponent("\(cluster)-state").path)
            metrics: {host: 127.0.0.1, port: \(metricsPort)}
            autonomous-max-nodes: 0

            """ + sources
        let config = directory.appendingPathComponent("\(cluster).yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        agents[cluster] = try FleetProcess(
            "cluster-agent",
            name: cluster,
            arguments: ["--config", config.path],
            directory: directory,
            environment: environment
        )
    }

    func coordctl(_ node: String, _ arguments: [String]) async throws -> CoordCtlRun {
        try await runCoordCtl(
            arguments + ["--coordinator", "127.0.0.1:\(ports[node] ?? 1)", "--admin-secret-file", adminSecretFile.path]
        )
    }

    /// Waits until `condition` holds, polling every 100 ms; false after `timeout`.
    func eventually(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await BallastTestSupport.eventually(timeout: timeout, condition)
    }

    /// Every process's output, for a failed expectation.
    var logs: String {
        (coordinators.values.sorted { $0.name < $1.name } + agents.values.sorted { $0.name < $1.name })
            .map { "== \($0.name)\n\($0.output.suffix(3000))" }.joined(separator: "\n")
    }

    /// Stops every process before returning (SIGTERM, then SIGKILL after 10 s) and removes the folder: for a
    /// `defer`, which cannot await, so no process outlives its test.
    func stopAllNow() {
        let processes = Array(agents.values) + Array(coordinators.values)
        for process in processes where process.isRunning { process.send(SIGCONT) }
        for process in processes where process.isRunning { process.send(SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while processes.contains(where: \.isRunning), Date() < deadline { usleep(20_000) }
        for process in processes where process.isRunning {
            process.send(SIGKILL)
            process.process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    func stopAll() async {
        for process in Array(agents.values) + Array(coordinators.values) { await process.stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// GETs `path` from a process's metrics endpoint: the status and the body.
func httpGet(port: Int, _ path: String) async throws -> (status: Int, body: String) {
    let run = try await runToCompletionAllowingFailure(
        "curl",
        ["-s", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
    )
    let lines = run.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

private func runToCompletionAllowingFailure(_ executable: String, _ arguments: [String]) async throws -> String {
    String(decoding: try await runToCompletion(executable, arguments), as: UTF8.self)
}
