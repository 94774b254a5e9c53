import Clocks
import Cost

extension FleetClock {
    /// The wall time as a `Timestamp` (UTC), for stamping reports, budgets and journals. Planning code takes `now`
    /// as an argument; services read it here, from the clock they were given.
    public var timestamp: Timestamp { Timestamp(sinceEpoch: unixTime) }
}
