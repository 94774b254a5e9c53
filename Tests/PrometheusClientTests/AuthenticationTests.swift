import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import PrometheusClient

@Suite("PrometheusClient authentication, TLS and error replies")
struct AuthenticationTests {
    static let scalarReply = ScriptedHTTPServer.Reply(
        headers: ["Content-Type": "application/json"],
        body: #"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#
    )

    func recorded(_ server: ScriptedHTTPServer) async throws -> [ScriptedHTTPServer.Recorded] {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let body = try await log.body.collect(upTo: 1 << 20)
            try await http.shutdown()
            return try ScriptedHTTPServer.decodeRecorded(Data(body.readableBytesView))
        } catch {
            try await http.shutdown()
            throw error
        }
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a bearer token is read from its file before every query, so a rotated token is sent next time")
    func bearerTokenFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token")
        try "first-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        try await ScriptedHTTPServer.with(routes: [
            "POST /api/v1/query": [Self.scalarReply], "GET /api/v1/query": [Self.scalarReply],
        ]) { server in
            let post = try PrometheusClient(
                configuration: .init(baseURL: server.endpoint, authentication: .bearerTokenFile(path: tokenFile.path)),
                logger: Logger(label: "test.prometheus")
            )
            let first = try await post.query("sum(up)", at: Date(timeIntervalSince1970: 1_700_000_000.25))
            #expect(first == .scalar(SamplePoint(time: Date(timeIntervalSince1970: 1_700_000_000), value: 42)))
            try "second-token".write(to: tokenFile, atomically: true, encoding: .utf8)
            _ = try await post.query("up")
            try await post.shutdown()
            let get = try PrometheusClient(
                configuration: .init(baseURL: server.endpoint, authentication: .bearer(token: "static"), method: .get),
                logger: Logger(label: "test.prometheus")
            )
            _ = try await get.query("up")
            try await get.shutdown()

            let requests = try await recorded(server)
            #expect(
                requests.map(\.headers["authorization"]) == [
                    "Bearer first-token", "Bearer second-token", "Bearer static",
                ]
            )
            #expect(requests[0].body == "query=sum%28up%29&timeout=10s&time=1700000000.250")
            #expect(requests[0].headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(requests[2].method == "GET")
            #expect(requests[2].path == "/api/v1/query?query=up&timeout=10s")
        }
    }

    @Test("an unreadable token file is a configuration error and sends nothing; the token is never printed")
    func unreadableTokenFile() async throws {
        try await ScriptedHTTPServer.with(routes: ["POST /api/v1/query": [Self.scalarReply]]) { server in
            let client = try PrometheusClient(
                configuration: .init(
                    baseURL: server.endpoint,
                    authentication: .bearerTokenFile(path: "/nonexistent/t")
                ),
                logger: Logger(label: "test.prometheus")
            )
            let error = await #expect(throws: PrometheusError.self) { try await client.query("up") }
            #expect(error?.code == .configuration)
            try await client.shutdown()
            #expect(try await recorded(server).isEmpty)
        }
        #expect("\(PrometheusClient.Authentication.bearer(token: "s3cret"))" == "bearer(redacted)")
        #expect(!"\(PrometheusClient.Authentication.basic(username: "u", password: "s3cret"))".contains("s3cret"))
    }

    @Test("error replies: the API envelope at any status, a proxy's page, and a 200 that is not the API")
    func errorReplies() async throws {
        try await ScriptedHTTPServer.with(routes: [
            "POST /execution/api/v1/query": [
                .init(status: 422, body: #"{"status":"error","errorType":"execution","error":"many-to-many matching"}"#)
            ],
            "POST /proxy/api/v1/query": [.init(status: 502, body: "<html>bad gateway</html>")],
            "POST /html/api/v1/query": [.init(status: 200, body: "<html>login</html>")],
        ]) { server in
            for (prefix, code, status) in [
                ("execution", PrometheusError.Code.api, 422), ("proxy", .http, 502), ("html", .invalidResponse, 200),
            ] {
                let client = try PrometheusClient(
                    configuration: .init(baseURL: server.endpoint + "/" + prefix),
                    logger: Logger(label: "test.prometheus")
                )
                let error = await #expect(throws: PrometheusError.self) { try await client.query("up") }
                #expect(error?.code == code, "\(prefix)")
                #expect(error?.httpStatus == status, "\(prefix)")
                if code == .api {
                    #expect(error?.errorType == "execution")
                    #expect(error?.message == "many-to-many matching")
                }
                try await client.shutdown()
            }
        }
        #expect(throws: PrometheusError.self) {
            try PrometheusClient(configuration: .init(baseURL: "prometheus:9090"), logger: Logger(label: "t"))
        }
    }

    @Test("TLS with a private CA and basic auth against a real Prometheus; a wrong password is HTTP 401")
    func tlsAndBasicAuth() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        _ = try await runToCompletion(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ]
        )
        // Prometheus keeps basic-auth passwords as bcrypt hashes; libxcrypt makes one (lowest cost: a test).
        let hash = String(
            decoding: try await runToCompletion(
                "python3",
                [
                    "-c",
                    "import crypt; print(crypt.crypt('open sesame', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
                ]
            ),
            as: UTF8.self
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let prometheus = try await PrometheusServer.start(
            configuration: "global:\n  scrape_interval: 15s\n",
            webConfiguration: """
                tls_server_config:
                  cert_file: \(cert)
                  key_file: \(key)
                basic_auth_users:
                  ballast: '\(hash)'
                """,
            https: true
        )
        do {
            func query(
                _ authentication: PrometheusClient.Authentication,
                caFile: String?
            ) async throws(PrometheusError)
                -> QueryResult
            {
                let client = try PrometheusClient(
                    configuration: .init(
                        baseURL: prometheus.endpoint,
                        authentication: authentication,
                        tls: .init(caFile: caFile),
                        timeout: .seconds(5)
                    ),
                    logger: Logger(label: "test.prometheus")
                )
                do {
                    let result = try await client.query("41 + 1")
                    try? await client.shutdown()
                    return result
                } catch {
                    try? await client.shutdown()
                    throw error
                }
            }
            let answer = try await query(.basic(username: "ballast", password: "open sesame"), caFile: cert)
            guard case .scalar(let point) = answer else {
                Issue.record("not a scalar: \(answer)")
                await prometheus.stop()
                return
            }
            #expect(point.value == 42)

            let wrong = await #expect(throws: PrometheusError.self) {
                try await query(.basic(username: "ballast", password: "guess"), caFile: cert)
            }
            #expect(wrong?.code == .http)
            #expect(wrong?.httpStatus == 401)

            let untrusted = await #expect(throws: PrometheusError.self) {
                try await query(.basic(username: "ballast", password: "open sesame"), caFile: nil)
            }
            #expect(untrusted?.code == .unreachable)

            #expect(throws: PrometheusError.self) {
                try PrometheusClient(
                    configuration: .init(
                        baseURL: prometheus.endpoint,
                        tls: .init(caFile: directory.path + "/none.pem")
                    ),
                    logger: Logger(label: "t")
                )
            }
            await prometheus.stop()
        } catch {
            await prometheus.stop()
            throw error
        }
    }
}
