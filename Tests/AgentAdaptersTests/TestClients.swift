import AWSClients
@_exported import AWSTestSupport
import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging

/// The requests a scripted server recorded.
func recordedRequests(_ server: ScriptedHTTPServer) async throws -> [ScriptedHTTPServer.Recorded] {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let log = try await http.execute(HTTPClientRequest(url: server.endpoint + "/__requests"), timeout: .seconds(5))
        let body = try await log.body.collect(upTo: 1 << 20)
        try await http.shutdown()
        return try ScriptedHTTPServer.decodeRecorded(Data(body.readableBytesView))
    } catch {
        try await http.shutdown()
        throw error
    }
}

/// Decodes a form-encoded body into its pairs.
func formPairs(_ body: String) -> [String: String] {
    var pairs: [String: String] = [:]
    for pair in body.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map {
            String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
        }
        pairs[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return pairs
}
