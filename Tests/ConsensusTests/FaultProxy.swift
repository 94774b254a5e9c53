import BallastTestSupport
import Foundation

/// A loopback HTTP proxy in front of moto that injects the faults of a real network path, controlled through a
/// JSON file the test rewrites: `drop` (forward, then close without replying: the write happened but the reply
/// is lost), `before503` (answer 503 without forwarding), `after503` (forward, then answer 503), `late` (hold the
/// request `lateSeconds` before forwarding it, so it lands after the client gave up), and `blackhole` (hold every
/// request unanswered: DynamoDB unreachable). Host and signature headers pass through unchanged, so
/// moto still checks every signature.
struct FaultProxy: Sendable {
    struct Faults: Encodable, Sendable {
        var drop = 0.0
        var before503 = 0.0
        var after503 = 0.0
        var late = 0.0
        var lateSeconds = 0.6
        var blackhole = false
    }

    let endpoint: String
    private let controlFile: URL
    private let process: ChildProcess

    private static let script = """
        import http.client, json, random, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        upstream, control, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        UNAVAILABLE = b'{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailableException","message":"injected 503"}'
        def faults():
            try:
                with open(control) as f:
                    return json.load(f)
            except Exception:
                return {}
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                f = faults()
                if f.get("blackhole"):
                    while faults().get("blackhole"):
                        time.sleep(0.05)
                    self.close_connection = True
                    return
                x = random.random()
                before, drop, after = f.get("before503", 0), f.get("drop", 0), f.get("after503", 0)
                if x < before:
                    return self.reply(503, UNAVAILABLE, {"Content-Type": "application/x-amz-json-1.0"})
                if x >= before + drop + after and x < before + drop + after + f.get("late", 0):
                    time.sleep(f.get("lateSeconds", 0.6))
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                conn.request("POST", self.path, body, dict(self.headers.items()))
                response = conn.getresponse()
                data = response.read()
                headers = {k: v for k, v in response.getheaders()
                           if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server")}
                conn.close()
                if x < before + drop:
                    self.close_connection = True
                    return
                if x < before + drop + after:
                    return self.reply(503, UNAVAILABLE, {"Content-Type": "application/x-amz-json-1.0"})
                self.reply(response.status, data, headers)
            def reply(self, status, data, headers):
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client gave up on a late reply
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """

    static func start(upstreamPort: Int, directory: URL) async throws -> FaultProxy {
        let port = try FreePort.next()
        let control = directory.appendingPathComponent("faults-\(port).json")
        try Data("{}".utf8).write(to: control)
        let process = try await ChildProcess.start(
            "python3",
            ["-c", script, String(upstreamPort), control.path, String(port)],
            timeout: .seconds(20),
            isReady: { FreePort.isAccepting(port) }
        )
        return FaultProxy(endpoint: "http://127.0.0.1:\(port)", controlFile: control, process: process)
    }

    /// Replaces the faults in force (atomically: the proxy never reads a half-written file).
    func set(_ faults: Faults) throws {
        try JSONEncoder().encode(faults).write(to: controlFile, options: .atomic)
    }

    func stop() async { await process.stop() }
}
