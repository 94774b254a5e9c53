import Foundation
import Testing

/// A moto server on 127.0.0.1 with IAM authentication on: every request after setup must carry a valid SigV4
/// signature from the fixture's access key, which moto recomputes with botocore and compares.
///
/// Setup: moto starts with `INITIAL_NO_AUTH_ACTION_COUNT=3`, so exactly three unauthenticated actions are
/// allowed; a python/boto3 step spends them on CreateUser, PutUserPolicy (Allow `*` on `*`) and
/// CreateAccessKey. From then on an unsigned or wrongly signed request fails with the service's auth error.
public struct MotoServer: Sendable {
    /// The base URL to use as every service's endpoint override, e.g. `http://127.0.0.1:50123`.
    public let endpoint: String
    public let port: Int
    /// The region the fixture's clients should sign for.
    public let region: String
    /// The access key id moto issued to the fixture's IAM user (allowed everything).
    public let accessKeyID: String
    /// The matching secret.
    public let secretAccessKey: String
    /// The account moto uses for every resource.
    public let accountID: String
    private let process: ChildProcess

    /// The number of unauthenticated actions the setup step spends; must match the setup script.
    static let setupActionCount = 3

    private static let setupScript = """
        import json, sys, boto3
        iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="ballast-test")
        iam.put_user_policy(UserName="ballast-test", PolicyName="allow-all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ballast-test")["AccessKey"]
        print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
        """

    /// Starts moto on a free port and creates the fixture's IAM user and key. Retries, up to three attempts in all,
    /// on a port race.
    public static func start() async throws -> MotoServer {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try FreePort.next()
            let process: ChildProcess
            do {
                process = try await ChildProcess.start(
                    "moto_server",
                    ["-H", "127.0.0.1", "-p", String(port)],
                    environment: ["INITIAL_NO_AUTH_ACTION_COUNT": String(setupActionCount)],
                    timeout: .seconds(60),
                    isReady: { FreePort.isAccepting(port) }
                )
            } catch let failure as ChildProcess.Failure where failure.code == .exitedBeforeReady {
                lastError = failure  // most likely another process took the port; try a new one
                continue
            }
            let endpoint = "http://127.0.0.1:\(port)"
            do {
                let output = try await runToCompletion(
                    "python3",
                    ["-c", setupScript, endpoint],
                    environment: ["AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"]
                )
                struct Key: Decodable {
                    let id: String
                    let secret: String
                }
                let key = try JSONDecoder().decode(Key.self, from: output)
                return MotoServer(
                    endpoint: endpoint,
                    port: port,
                    region: "us-east-1",
                    accessKeyID: key.id,
                    secretAccessKey: key.secret,
                    accountID: "123456789012",
                    process: process
                )
            } catch {
                // Suites start servers in parallel: two can be handed the same free port, and then the one that
                // lost the bind looks ready because the winner accepts, and its set-up spends the winner's
                // unauthenticated calls. Such a failure is retried on a new port; a real one fails every time.
                let tail = await process.outputTail()
                await process.stop()
                lastError = ChildProcess.Failure(
                    code: .setupFailed,
                    command: "moto IAM setup",
                    message: "\(error)",
                    outputTail: tail
                )
                continue
            }
        }
        throw lastError
            ?? ChildProcess.Failure(
                code: .launchFailed,
                command: "moto_server",
                message: "no free port",
                outputTail: ""
            )
    }

    /// Stops the server.
    public func stop() async { await process.stop() }

    /// The last lines moto wrote, for failure messages.
    public func outputTail() async -> String { await process.outputTail() }

    /// Runs `body` with a fresh server and always stops it afterwards.
    public static func with<T: Sendable>(_ body: (MotoServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The server of the enclosing `.moto` suite, started once for the suite and stopped when it ends.
    @TaskLocal public static var suiteServer: MotoServer?

    /// The current suite's server; throws when the test is not inside a suite marked `.moto`.
    public static var current: MotoServer {
        get throws {
            guard let server = suiteServer else {
                throw ChildProcess.Failure(
                    code: .setupFailed,
                    command: "moto",
                    message: "the suite is not marked with the .moto trait",
                    outputTail: ""
                )
            }
            return server
        }
    }
}

/// A suite trait that starts one moto server before the suite's tests and stops it after the last one.
/// Use `@Suite(.moto)` and read `try MotoServer.current` in tests.
public struct MotoSuiteTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await MotoServer.with { server in
            try await MotoServer.$suiteServer.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == MotoSuiteTrait {
    /// Starts a moto server with signature checking for the suite; see ``MotoServer``.
    public static var moto: Self { MotoSuiteTrait() }
}
