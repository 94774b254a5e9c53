import Foundation

extension AWSClient {
    /// Sends one operation of a service that speaks the AWS JSON 1.0 protocol (DynamoDB, SQS): the input as the
    /// JSON body, the operation in `X-Amz-Target` as `targetPrefix.operation`, and the reply decoded as `Output`
    /// (an empty reply decodes as `{}`). Encoding and decoding failures are `AWSError`s naming the operation.
    func sendJSON<Input: Encodable, Output: Decodable>(
        service: AWSService,
        targetPrefix: String,
        operation: String,
        input: Input,
        extraTimeout: Duration = .zero
    ) async throws -> Output {
        let body: Data
        do {
            body = try Self.jsonEncoder.encode(input)
        } catch {
            throw AWSError(
                code: .invalidRequest,
                service: service.signingName,
                operation: operation,
                message: "cannot encode the request: \(error)"
            )
        }
        let response = try await send(
            service: service,
            operation: operation,
            headers: [
                (name: "Content-Type", value: "application/x-amz-json-1.0"),
                (name: "X-Amz-Target", value: "\(targetPrefix).\(operation)"),
            ],
            body: body,
            extraTimeout: extraTimeout
        )
        do {
            return try JSONDecoder().decode(Output.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
        } catch {
            throw AWSError(
                code: .invalidResponse,
                service: service.signingName,
                operation: operation,
                httpStatus: response.status,
                requestID: response.requestID,
                message: "the reply does not decode: \(error)"
            )
        }
    }

    /// Sorted keys and unescaped slashes: stable bodies, the same bytes for the same request.
    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
