import Foundation

/// What a message on an EC2 interruption queue says, read from its EventBridge event (`EC2Event`): the notice and
/// the instances it is about, in EC2's own terms. The cluster agent reads its own queue with it and the coordinator
/// leader the account-wide queues it routes from, so both read a message alike.
public enum EC2InterruptionNotice: Sendable, Hashable {
    /// The spot instance will be reclaimed at `deadline`, two minutes after the warning.
    case spotInterruption(instanceID: String, deadline: Date)
    /// The instance is at elevated risk of interruption.
    case rebalanceRecommendation(instanceID: String)
    /// The instance changed state (`stopping`, `shutting-down`, `terminated`…).
    case stateChange(instanceID: String, state: String)
    /// AWS scheduled a retirement, reboot or maintenance of these instances, from `start` if known.
    case scheduledChange(instanceIDs: [String], start: Date?)
    /// The body is not an event Ballast can read; `reason` says why. Such a message is left on the queue for its
    /// redrive policy, never deleted.
    case unreadable(reason: String)

    /// EC2 reclaims a spot instance two minutes after its warning.
    public static let spotNotice: TimeInterval = 120

    /// The notice a message carries; nil for a well-formed event of a kind Ballast does not act on (a rule added
    /// to the queue later), which a reader may delete.
    public static func read(_ message: SQS.Message) -> EC2InterruptionNotice? {
        let event: EC2Event
        do {
            event = try EC2Event.decode(message.body)
        } catch let error as AWSError {
            return .unreadable(reason: error.message)
        } catch {
            return .unreadable(reason: "\(error)")
        }
        switch event.detail {
        case .spotInterruptionWarning(let instanceID, _):
            // The event carries no deadline of its own: EC2 acts two minutes after the warning. EventBridge always
            // stamps `time`; should it be missing, the queue's SentTimestamp stands in, late by the delivery delay.
            guard let warned = event.time ?? sentTime(message) else {
                return .unreadable(reason: "spot interruption \(event.id) has no time")
            }
            return .spotInterruption(instanceID: instanceID, deadline: warned.addingTimeInterval(spotNotice))
        case .rebalanceRecommendation(let instanceID):
            return .rebalanceRecommendation(instanceID: instanceID)
        case .stateChange(let instanceID, let state):
            return .stateChange(instanceID: instanceID, state: state.rawValue)
        case .scheduledChange(_, let instanceIDs, let start, _):
            return .scheduledChange(instanceIDs: instanceIDs, start: start)
        case .other:
            return nil
        }
    }

    /// The instances the notice is about; none for an unreadable one.
    public var instanceIDs: [String] {
        switch self {
        case .spotInterruption(let id, _), .rebalanceRecommendation(let id), .stateChange(let id, _): [id]
        case .scheduledChange(let ids, _): ids
        case .unreadable: []
        }
    }

    /// When the queue received the message (its `SentTimestamp` attribute), if it says.
    static func sentTime(_ message: SQS.Message) -> Date? {
        message.attributes["SentTimestamp"].flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) }
    }
}
