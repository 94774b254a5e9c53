@_exported import AWSTestSupport
import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging

@testable import AWSClients

/// An `AWSClient` for the moto fixture (AWSTestSupport's), under the name these suites have always used.
func withClient<T: Sendable>(
    for moto: MotoServer,
    secret: String? = nil,
    configure: (inout AWSClient.Configuration) -> Void = { _ in },
    _ body: (AWSClient) async throws -> T
) async throws -> T {
    try await withAWSClient(for: moto, secret: secret, configure: configure, body)
}
