import Foundation

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers each `METHOD /path` with a scripted sequence of replies
/// (the last one repeats) and records every request it received; for peers a test must control exactly, such
/// as EC2 instance metadata or a service that throttles twice and then answers.
///
/// `GET /__requests` returns the recorded requests as JSON (`[{"method","path","headers","body"}]`).
public struct ScriptedHTTPServer: Sendable {
    /// One scripted reply. `dropConnection` closes the connection without answering (a transport failure).
    public struct Reply: Encodable, Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var dropConnection: Bool

        public init(status: Int = 200, headers: [String: String] = [:], body: String = "", dropConnection: Bool = false)
        {
            self.status = status
            self.headers = headers
            self.body = body
            self.dropConnection = dropConnection
        }
    }

    /// A request the server received.
    public struct Recorded: Decodable, Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
    }

    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    private let process: ChildProcess

    private static let script = """
        import json, sys, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        routes = json.loads(sys.argv[2])
        log = []
        lock = threading.Lock()
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path == "/__requests":
                    reply = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(log)}
                else:
                    with lock:
                        log.append({"method": self.command, "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body.decode("utf-8", "replace")})
                        queue = routes.get(self.command + " " + self.path.split("?")[0])
                        if not queue:
                            reply = {"status": 404, "headers": {}, "body": "no scripted reply"}
                        elif len(queue) > 1:
                            reply = queue.pop(0)
                        else:
                            reply = queue[0]
                if reply.get("dropConnection"):
                    self.close_connection = True
                    return
                payload = reply.get("body", "").encode()
                self.send_response(reply["status"])
                for name, value in reply.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            do_GET = do_PUT = do_POST = do_DELETE = answer
            def log_message(self, *args):
                pass
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """

    /// Starts the server with replies per `"METHOD /path"` (query ignored).
    public static func start(routes: [String: [Reply]]) async throws -> ScriptedHTTPServer {
        let port = try FreePort.next()
        let routesJSON = String(decoding: try JSONEncoder().encode(routes), as: UTF8.self)
        let process = try await ChildProcess.start(
            "python3",
            ["-c", script, String(port), routesJSON],
            timeout: .seconds(20),
            isReady: { FreePort.isAccepting(port) }
        )
        return ScriptedHTTPServer(port: port, process: process)
    }

    /// Runs `body` with a started server and always stops it afterwards.
    public static func with<T: Sendable>(
        routes: [String: [Reply]],
        _ body: (ScriptedHTTPServer) async throws -> T
    ) async throws -> T {
        let server = try await start(routes: routes)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    public func stop() async { await process.stop() }

    /// Decodes the body of `GET /__requests`.
    public static func decodeRecorded(_ data: Data) throws -> [Recorded] {
        try JSONDecoder().decode([Recorded].self, from: data)
    }
}
