import Foundation

/// A Prometheus exporter with known values, for tests that check what PromQL computes from them: counters that
/// grow at a fixed rate and gauges that hold a fixed value, each sample stamped with the time it was computed,
/// so `rate()` over them is exact.
///
/// Serves each configured path (`/worker-a`) as Prometheus text; every series is
/// `name{labels} value timestamp-ms`, a counter's value being `rate × seconds since the exporter started`.
public struct SyntheticExporter: Sendable {
    /// One series.
    public struct Series: Encodable, Sendable {
        public var name: String
        public var labels: [String: String]
        /// Per second, for a counter; nil for a gauge.
        public var rate: Double?
        /// The gauge's value; ignored for a counter.
        public var value: Double

        public static func counter(_ name: String, _ labels: [String: String] = [:], rate: Double) -> Series {
            Series(name: name, labels: labels, rate: rate, value: 0)
        }

        public static func gauge(_ name: String, _ labels: [String: String] = [:], value: Double) -> Series {
            Series(name: name, labels: labels, rate: nil, value: value)
        }
    }

    public let port: Int
    private let process: ChildProcess

    private static let script = """
        import json, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        paths = json.loads(sys.argv[2])
        start = time.time()
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                series = paths.get(self.path.split("?")[0])
                if series is None:
                    self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
                now_ms = int(time.time() * 1000)
                lines = []
                for s in series:
                    value = s["rate"] * (now_ms / 1000.0 - start) if s.get("rate") is not None else s["value"]
                    labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s["labels"].items()))
                    lines.append("%s{%s} %r %d" % (s["name"], labels, float(value), now_ms))
                body = ("\\n".join(lines) + "\\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """

    /// Starts the exporter with the series to serve per path.
    public static func start(paths: [String: [Series]]) async throws -> SyntheticExporter {
        let port = try FreePort.next()
        let json = String(decoding: try JSONEncoder().encode(paths), as: UTF8.self)
        let process = try await ChildProcess.start(
            "python3",
            ["-c", script, String(port), json],
            timeout: .seconds(20),
            isReady: { FreePort.isAccepting(port) }
        )
        return SyntheticExporter(port: port, process: process)
    }

    public func stop() async { await process.stop() }
}

/// A real Prometheus (Debian's `prometheus` package, installed by scripts/bootstrap) on a free loopback port,
/// with a configuration the test writes and its TSDB in a temporary directory removed on stop.
public struct PrometheusServer: Sendable {
    public let port: Int
    /// `http://127.0.0.1:<port>`, or `https://` when started with TLS in its web configuration.
    public let endpoint: String
    public let directory: URL
    private let process: ChildProcess

    /// Starts `prometheus` with `configuration` (prometheus.yml) and, when given, `webConfiguration` (its
    /// `--web.config.file`, for TLS and basic auth; set `https` to match). Ready once it accepts connections.
    public static func start(
        configuration: String,
        webConfiguration: String? = nil,
        https: Bool = false
    ) async throws -> PrometheusServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballast-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configFile = directory.appendingPathComponent("prometheus.yml")
        try configuration.write(to: configFile, atomically: true, encoding: .utf8)
        let port = try FreePort.next()
        var arguments = [
            "--config.file=\(configFile.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--log.level=warn",
        ]
        if let webConfiguration {
            let webFile = directory.appendingPathComponent("web.yml")
            try webConfiguration.write(to: webFile, atomically: true, encoding: .utf8)
            arguments.append("--web.config.file=\(webFile.path)")
        }
        do {
            let process = try await ChildProcess.start(
                "prometheus",
                arguments,
                timeout: .seconds(60),
                isReady: { FreePort.isAccepting(port) }
            )
            return PrometheusServer(
                port: port,
                endpoint: "\(https ? "https" : "http")://127.0.0.1:\(port)",
                directory: directory,
                process: process
            )
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Stops Prometheus and removes its directory.
    public func stop() async {
        await process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The last lines Prometheus wrote, for failure messages.
    public func outputTail() async -> String { await process.outputTail() }

    /// A scrape configuration: one job per `(job, path, labels)` on the exporter at `port`, every `interval`.
    public static func scrapeConfiguration(
        exporterPort: Int,
        jobs: [(job: String, path: String, labels: [String: String])],
        interval: String = "1s"
    ) -> String {
        var yaml = "global:\n  scrape_interval: \(interval)\n  evaluation_interval: \(interval)\nscrape_configs:\n"
        for job in jobs {
            yaml += "  - job_name: \"\(job.job)\"\n    metrics_path: \"\(job.path)\"\n"
            yaml += "    static_configs:\n      - targets: [\"127.0.0.1:\(exporterPort)\"]\n"
            if !job.labels.isEmpty {
                yaml += "        labels:\n"
                for (key, value) in job.labels.sorted(by: { $0.key < $1.key }) {
                    yaml += "          \(key): \"\(value)\"\n"
                }
            }
        }
        return yaml
    }
}
