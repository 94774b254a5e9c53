import Testing

@testable import Consensus

typealias Campaign = LeaseCampaign<VirtualInstant>

private let me = LeaseHolder(id: "me", address: "10.0.0.1:7400")
private let other = LeaseHolder(id: "other", address: "10.0.0.2:7400")
private let timing = LeaseTiming()  // defaults: lease 10 s, renew 2 s, deadline 7 s, poll 250 ms, timeout 1 s

private func at(_ milliseconds: Int) -> VirtualInstant { VirtualInstant(offset: .milliseconds(milliseconds)) }

private func record(_ holder: LeaseHolder?, version: String, epoch: UInt64) -> LeaseRecord {
    LeaseRecord(
        fleet: "prod",
        holder: holder,
        version: RecordVersion(rawValue: version),
        leaseDuration: .seconds(10),
        epoch: FencingEpoch(epoch)
    )
}

/// A campaign that has just become leader at epoch `epoch`, its acquire sent at t=0 and confirmed at t=10 ms.
private func leader(epoch: UInt64 = 5) throws -> (Campaign, LeaseRecord) {
    var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
    let read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
    let acquire = try #require(
        campaign.readCompleted(read, .success(record(nil, version: "free", epoch: epoch - 1)), now: at(0)).onlyWrite()
            as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
    )
    let actions = campaign.writeCompleted(acquire.0, .success(.written), now: at(10))
    #expect(actions.first == .becomeLeader(FencingEpoch(epoch), validUntil: at(7000)))
    return (campaign, acquire.1)
}

private let ambiguous = LeaseStoreError(.ambiguous, context: "test", message: "reply lost")
private let unavailable503 = LeaseStoreError(.ambiguous, context: "test", message: "HTTP 503")

@Suite("LeaseCampaign")
struct LeaseCampaignTests {
    @Test("an absent record is created with epoch 1 and the creator leads until start + renewDeadline")
    func acquiresAbsent() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        let actions = campaign.start(now: at(0))
        let read = try #require(actions.onlyRead() as Campaign.OperationID?)
        #expect(actions.contains(.scheduleTimer(.operationTimeout, at: at(1000))))

        let writeActions = campaign.readCompleted(read, .success(nil), now: at(5))
        let write = try #require(writeActions.onlyWrite() as (Campaign.OperationID, LeaseRecord, RecordVersion?)?)
        #expect(write.2 == nil)
        #expect(write.1.epoch == FencingEpoch(1))
        #expect(write.1.holder == me)
        #expect(write.1.leaseDuration == .seconds(10))

        let led = campaign.writeCompleted(write.0, .success(.written), now: at(40))
        #expect(
            led == [
                .becomeLeader(FencingEpoch(1), validUntil: at(7005)),
                .scheduleTimer(.deadline, at: at(7005)),
                .scheduleTimer(.renew, at: at(2005)),
            ]
        )
        #expect(campaign.leadership?.epoch == FencingEpoch(1))
    }

    @Test("a released lease is taken at once with the next epoch, conditional on the version read")
    func acquiresFree() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        let read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(record(nil, version: "v9", epoch: 9)), now: at(1)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        #expect(write.1.epoch == FencingEpoch(10))
        #expect(write.2 == RecordVersion(rawValue: "v9"))
    }

    @Test("a held lease is taken only after its version stayed unchanged a full lease duration on our clock")
    func waitsFullLeaseDuration() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        var read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
        let held = record(other, version: "a", epoch: 3)
        // First seen at t=100 ms.
        #expect(campaign.readCompleted(read, .success(held), now: at(100)) == [.scheduleTimer(.poll, at: at(350))])
        // Unchanged at t=10.099 s: not yet; the next poll is armed for the instant the wait ends.
        read = try #require(campaign.timerFired(.poll, now: at(10_099)).onlyRead() as Campaign.OperationID?)
        let early = campaign.readCompleted(read, .success(held), now: at(10_099))
        #expect(early == [.scheduleTimer(.poll, at: at(10_100))])
        // At t=10.1 s, exactly one lease duration after first seeing it: take it over.
        read = try #require(campaign.timerFired(.poll, now: at(10_100)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(held), now: at(10_100)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        #expect(write.1.epoch == FencingEpoch(4))
        #expect(write.2 == RecordVersion(rawValue: "a"))
    }

    @Test("a renewal by the holder restarts the wait")
    func renewalRestartsWait() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        var read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
        _ = campaign.readCompleted(read, .success(record(other, version: "a", epoch: 3)), now: at(0))
        read = try #require(campaign.timerFired(.poll, now: at(9_000)).onlyRead() as Campaign.OperationID?)
        #expect(
            campaign.readCompleted(read, .success(record(other, version: "b", epoch: 3)), now: at(9_000))
                == [.scheduleTimer(.poll, at: at(9_250))]
        )
        read = try #require(campaign.timerFired(.poll, now: at(12_000)).onlyRead() as Campaign.OperationID?)
        let actions = campaign.readCompleted(read, .success(record(other, version: "b", epoch: 3)), now: at(12_000))
        #expect(actions == [.scheduleTimer(.poll, at: at(12_250))])
    }

    @Test("a lost acquire race reads again instead of acting")
    func lostRace() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        let read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(nil), now: at(0)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        let actions = campaign.writeCompleted(write.0, .success(.versionMismatch), now: at(3))
        #expect(actions.onlyRead() as Campaign.OperationID? != nil)
        #expect(campaign.leadership == nil)
    }

    @Test("an acquire whose reply was lost counts only once a read shows it, from when it was sent")
    func ambiguousAcquire() throws {
        var campaign = Campaign(fleet: "prod", holder: me, timing: timing)
        let read = try #require(campaign.start(now: at(0)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(nil), now: at(0)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        let reread = try #require(
            campaign.writeCompleted(write.0, .failure(ambiguous), now: at(500)).onlyRead() as Campaign.OperationID?
        )
        #expect(campaign.leadership == nil)
        let actions = campaign.readCompleted(reread, .success(write.1), now: at(600))
        #expect(actions.first == .becomeLeader(FencingEpoch(1), validUntil: at(7000)))
    }

    @Test("the holder renews every renewInterval with a new version, conditional on the one it wrote last")
    func renews() throws {
        var (campaign, acquired) = try leader()
        let actions = campaign.timerFired(.renew, now: at(2000))
        let write = try #require(actions.onlyWrite() as (Campaign.OperationID, LeaseRecord, RecordVersion?)?)
        #expect(write.2 == acquired.version)
        #expect(write.1.version != acquired.version)
        #expect(write.1.epoch == acquired.epoch)
        let confirmed = campaign.writeCompleted(write.0, .success(.written), now: at(2030))
        #expect(
            confirmed == [
                .extendLeadership(FencingEpoch(5), validUntil: at(9000)),
                .scheduleTimer(.deadline, at: at(9000)),
                .scheduleTimer(.renew, at: at(4000)),
            ]
        )
    }

    @Test("a hanging renewal does not delay the step-down: it happens at the deadline, and a late reply is ignored")
    func hangingRenewalStepsDownAtDeadline() throws {
        var (campaign, _) = try leader()
        let write = try #require(
            campaign.timerFired(.renew, now: at(2000)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        // The deadline timer from the acquire (start 0 + 7 s) fires while the renewal is outstanding.
        #expect(campaign.timerFired(.deadline, now: at(6999)) == [])
        let stepDown = campaign.timerFired(.deadline, now: at(7000))
        #expect(stepDown.first == .stepDown(FencingEpoch(5), .renewDeadlinePassed))
        #expect(campaign.leadership == nil)
        // The renewal's success arrives afterwards: it must not make us leader again.
        #expect(campaign.writeCompleted(write.0, .success(.written), now: at(7100)) == [])
        #expect(campaign.leadership == nil)
    }

    @Test("a timed-out renewal that did land is recognised by re-reading, counted from when it was sent")
    func ambiguousRenewalLanded() throws {
        var (campaign, _) = try leader()
        let write = try #require(
            campaign.timerFired(.renew, now: at(2000)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        // No answer within the operation timeout (1 s): the machine times it out and re-reads.
        let timeout = campaign.timerFired(.operationTimeout, now: at(3000))
        let read = try #require(timeout.onlyRead() as Campaign.OperationID?)
        let actions = campaign.readCompleted(read, .success(write.1), now: at(3010))
        #expect(actions.first == .extendLeadership(FencingEpoch(5), validUntil: at(9000)))
    }

    @Test("a 503 is never taken as a renewal: the holder re-reads, retries, and steps down at the deadline")
    func unavailableIsNotRenewal() throws {
        var (campaign, acquired) = try leader()
        var now = 2000
        var write = try #require(
            campaign.timerFired(.renew, now: at(now)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        while true {
            let read = try #require(
                campaign.writeCompleted(write.0, .failure(unavailable503), now: at(now + 5)).onlyRead()
                    as Campaign.OperationID?
            )
            // The record still shows the last confirmed version: not renewed, validity unchanged, retry soon.
            let retry = campaign.readCompleted(read, .success(acquired), now: at(now + 10))
            #expect(retry == [.scheduleTimer(.renew, at: at(now + 260))])
            #expect(campaign.leadership?.validUntil == at(7000))
            now += 260
            if now >= 7000 { break }
            write = try #require(
                campaign.timerFired(.renew, now: at(now)).onlyWrite()
                    as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
            )
        }
        #expect(campaign.timerFired(.deadline, now: at(7000)).first == .stepDown(FencingEpoch(5), .renewDeadlinePassed))
        #expect(campaign.leadership == nil)
    }

    @Test("a renewal refused because someone else wrote makes the holder step down at once")
    func lostLease() throws {
        var (campaign, _) = try leader()
        let write = try #require(
            campaign.timerFired(.renew, now: at(2000)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        let read = try #require(
            campaign.writeCompleted(write.0, .success(.versionMismatch), now: at(2010)).onlyRead()
                as Campaign.OperationID?
        )
        let usurper = record(other, version: "theirs", epoch: 6)
        let actions = campaign.readCompleted(read, .success(usurper), now: at(2020))
        #expect(actions.first == .stepDown(FencingEpoch(5), .leaseLost(newHolder: other)))
    }

    @Test("a graceful shutdown stops acting first, then releases the lease conditionally, keeping the epoch")
    func releasesOnShutdown() throws {
        var (campaign, acquired) = try leader()
        let actions = campaign.shutdown(now: at(1000))
        #expect(actions.first == .stepDown(FencingEpoch(5), .shutdown))
        let read = try #require(actions.onlyRead() as Campaign.OperationID?)
        let release = try #require(
            campaign.readCompleted(read, .success(acquired), now: at(1001)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        #expect(release.1.holder == nil)
        #expect(release.1.epoch == FencingEpoch(5))
        #expect(release.2 == acquired.version)
        #expect(campaign.writeCompleted(release.0, .success(.written), now: at(1002)) == [.finished])
        #expect(campaign.isFinished)
    }

    @Test("shutdown does not release a lease someone else took meanwhile")
    func shutdownAfterLoss() throws {
        var (campaign, _) = try leader()
        let read = try #require(campaign.shutdown(now: at(1000)).onlyRead() as Campaign.OperationID?)
        #expect(
            campaign.readCompleted(read, .success(record(other, version: "x", epoch: 6)), now: at(1001)) == [.finished]
        )
    }

    @Test("a former holder that stepped down takes its own unchanged record back at once, with a new epoch")
    func retakesOwnRecord() throws {
        var (campaign, acquired) = try leader()
        _ = campaign.timerFired(.renew, now: at(2000))
        _ = campaign.timerFired(.deadline, now: at(7000))
        let read = try #require(campaign.timerFired(.poll, now: at(7250)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(acquired), now: at(7260)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        #expect(write.1.epoch == FencingEpoch(6))
        #expect(write.2 == acquired.version)
    }

    @Test("a record deleted by hand is recreated above every epoch this participant saw")
    func deletedRecordKeepsEpochsRising() throws {
        var (campaign, _) = try leader(epoch: 8)
        _ = campaign.timerFired(.renew, now: at(2000))
        _ = campaign.timerFired(.deadline, now: at(7000))
        let read = try #require(campaign.timerFired(.poll, now: at(7250)).onlyRead() as Campaign.OperationID?)
        let write = try #require(
            campaign.readCompleted(read, .success(nil), now: at(7260)).onlyWrite()
                as (Campaign.OperationID, LeaseRecord, RecordVersion?)?
        )
        #expect(write.1.epoch == FencingEpoch(9))
        #expect(write.2 == nil)
    }

    @Test("timer fires before their armed instant, or after the state moved on, do nothing")
    func staleTimers() throws {
        var (campaign, _) = try leader()
        #expect(campaign.timerFired(.renew, now: at(1999)) == [])
        #expect(campaign.timerFired(.poll, now: at(5000)) == [])
        #expect(campaign.timerFired(.operationTimeout, now: at(5000)) == [])
        #expect(campaign.leadership?.epoch == FencingEpoch(5))
    }
}
