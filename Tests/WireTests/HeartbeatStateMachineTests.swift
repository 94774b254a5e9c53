import Testing
import Wire

@Suite("HeartbeatStateMachine")
struct HeartbeatStateMachineTests {
    @Test("each tick sends the next sequence while the peer talks")
    func beats() {
        var machine = HeartbeatStateMachine()
        for sequence in 1...10 as ClosedRange<UInt64> {
            #expect(machine.tick() == .sendHeartbeat(sequence: sequence))
            machine.frameReceived()
        }
    }

    @Test("a peer silent for 3 ticks is closed")
    func silent() {
        var machine = HeartbeatStateMachine(maxMissedBeats: 3)
        #expect(machine.tick() == .sendHeartbeat(sequence: 1))
        #expect(machine.tick() == .sendHeartbeat(sequence: 2))
        #expect(machine.tick() == .closeSilentPeer(missedBeats: 3))
    }

    @Test("any frame resets the silence count")
    func reset() {
        var machine = HeartbeatStateMachine(maxMissedBeats: 3)
        _ = machine.tick()
        _ = machine.tick()
        machine.frameReceived()
        #expect(machine.tick() == .sendHeartbeat(sequence: 3))
        #expect(machine.tick() == .sendHeartbeat(sequence: 4))
    }
}
