import Testing
import Wire

@Suite("CallTable")
struct CallTableTests {
    @Test("a reply completes its call once; a second reply with that id is unknown")
    func replyCompletes() {
        var table = CallTable<String>()
        let id = table.start("a")!
        guard case .complete("a") = table.reply(callID: id) else {
            Issue.record("expected completion")
            return
        }
        guard case .unknown = table.reply(callID: id) else {
            Issue.record("expected unknown")
            return
        }
    }

    @Test("a timed-out call fails once and its late reply is ignored, not a violation")
    func timeoutThenLateReply() {
        var table = CallTable<String>()
        let id = table.start("a")!
        #expect(table.timeout(callID: id) == "a")
        #expect(table.timeout(callID: id) == nil)
        guard case .late = table.reply(callID: id) else {
            Issue.record("expected late")
            return
        }
    }

    @Test("a reply to an id never issued is unknown")
    func unknownID() {
        var table = CallTable<String>()
        guard case .unknown = table.reply(callID: 99) else {
            Issue.record("expected unknown")
            return
        }
    }

    @Test("calls beyond the in-flight bound are refused; completing one makes room")
    func bound() {
        var table = CallTable<Int>(maxInFlight: 2)
        let first = table.start(1)!
        #expect(table.start(2) != nil)
        #expect(table.start(3) == nil)
        _ = table.reply(callID: first)
        #expect(table.start(4) != nil)
    }

    @Test("removeAll hands back every pending call in call order")
    func removeAll() {
        var table = CallTable<Int>()
        for value in 1...3 { _ = table.start(value) }
        #expect(table.removeAll() == [1, 2, 3])
        #expect(table.count == 0)
    }

    @Test("ids are unique and the timed-out memory is bounded")
    func memoryBounded() {
        var table = CallTable<Int>(maxInFlight: 10, timedOutMemory: 2)
        let ids = (0..<3).map { table.start($0)! }
        #expect(Set(ids).count == 3)
        for id in ids { _ = table.timeout(callID: id) }
        guard case .unknown = table.reply(callID: ids[0]) else {
            Issue.record("oldest should be forgotten")
            return
        }
        guard case .late = table.reply(callID: ids[2]) else {
            Issue.record("newest should be remembered")
            return
        }
    }
}
