/// The one error every WireFormat decoder throws: what was wrong, at which byte offset of the payload, and a
/// message a person can act on. Decoders never trap on input, whatever the bytes.
public struct WireFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable reasons a frame or payload is refused.
    public enum Code: String, Hashable, Sendable {
        /// The length prefix is larger than the limit in force (pre-authentication cap or `maxFrameSize`).
        case frameTooLarge
        /// The length prefix reads as an HTTP request line ("GET ", "POST", ...): someone speaks HTTP to us.
        case httpProbe
        /// The stream ended inside a frame.
        case truncatedFrame
        /// A field runs past the end of the payload.
        case truncated
        /// The payload is empty or its first byte is not a message type this version knows.
        case unknownMessageType
        /// A hello does not start with the magic `BLST`.
        case badMagic
        /// A string field is not valid UTF-8 or is outside its length bounds.
        case invalidString
        /// A field holds a value outside its documented range (role, reply status, count).
        case invalidField
    }

    public var code: Code
    /// Byte offset inside the payload (or the stream, for frame errors) where decoding stopped.
    public var offset: Int
    public var message: String

    public init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "WireFormatError.\(code.rawValue) at byte \(offset): \(message)" }
}
