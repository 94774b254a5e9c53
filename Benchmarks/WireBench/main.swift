import NIOPosix

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await EchoFloor.startServer(group: group)
let port = server.localAddress!.port!
let samples = try await EchoFloor.measureRoundTrips(group: group, port: port, payload: Array(repeating: 7, count: 1500), count: 20000)
let sorted = samples.sorted()
print("echo p50 \(Double(sorted[sorted.count/2])/1000) us  p99 \(Double(sorted[sorted.count*99/100])/1000) us")
try await server.close()
try await group.shutdownGracefully()
