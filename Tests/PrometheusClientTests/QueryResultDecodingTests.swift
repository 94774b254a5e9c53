import Foundation
import Testing

@testable import PrometheusClient

@Suite("Query API replies decoded")
struct QueryResultDecodingTests {
    func decode(_ json: String) throws -> QueryEnvelope {
        try JSONDecoder().decode(QueryEnvelope.self, from: Data(json.utf8))
    }

    @Test("a vector keeps its labels and reads NaN, +Inf and -Inf as the IEEE values")
    func vectorWithSpecialValues() throws {
        let envelope = try decode(
            """
            {"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]},
              {"metric":{"job":"b"},"value":[1700000000.5,"NaN"]},
              {"metric":{"job":"c"},"value":[1700000000.5,"+Inf"]},
              {"metric":{"job":"d"},"value":[1700000000.5,"-Inf"]},
              {"metric":{"job":"e"},"value":[1700000000.5,"1e-3"]}]}}
            """
        )
        guard case .vector(let samples) = envelope.data?.result else {
            Issue.record("not a vector: \(String(describing: envelope.data?.result))")
            return
        }
        #expect(samples.map { $0.labels["job"] } == ["a", "b", "c", "d", "e"])
        #expect(samples[0].labels["__name__"] == "up")
        #expect(samples[0].point.time == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(samples[0].point.value == 1)
        #expect(samples[1].point.value.isNaN)
        #expect(samples[2].point.value == .infinity)
        #expect(samples[3].point.value == -.infinity)
        #expect(samples[4].point.value == 0.001)
        #expect(samples[1].point == SamplePoint(time: samples[1].point.time, value: .nan))
    }

    @Test("scalar, string and matrix results decode to their cases")
    func otherTypes() throws {
        let scalar = try decode(#"{"status":"success","data":{"resultType":"scalar","result":[12.25,"3.5"]}}"#)
        #expect(scalar.data?.result == .scalar(SamplePoint(time: Date(timeIntervalSince1970: 12.25), value: 3.5)))
        let string = try decode(#"{"status":"success","data":{"resultType":"string","result":[1,"hi"]}}"#)
        #expect(string.data?.result == .string(time: Date(timeIntervalSince1970: 1), value: "hi"))
        let matrix = try decode(
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"]]}]}}"#
        )
        #expect(
            matrix.data?.result
                == .matrix([
                    Series(
                        labels: ["a": "1"],
                        points: [
                            SamplePoint(time: Date(timeIntervalSince1970: 1), value: 1),
                            SamplePoint(time: Date(timeIntervalSince1970: 2), value: 2),
                        ]
                    )
                ])
        )
    }

    @Test("the error envelope keeps its type and message; a value that is no number is refused")
    func errorsAndGarbage() throws {
        let error = try decode(#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#)
        #expect(error.status == "error")
        #expect(error.errorType == "bad_data")
        #expect(error.error == "parse error at char 3")
        #expect(throws: DecodingError.self) {
            try decode(#"{"status":"success","data":{"resultType":"scalar","result":[1,"one"]}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#)
        }
    }

    @Test("durations are sent as Prometheus reads them and forms escape all but unreserved characters")
    func encoding() {
        #expect(PrometheusClient.promDuration(.seconds(10)) == "10s")
        #expect(PrometheusClient.promDuration(.milliseconds(1500)) == "1500ms")
        #expect(
            PrometheusClient.formEncode([("query", #"sum(up{job="a b"}) / 2"#), ("time", "1.5")])
                == "query=sum%28up%7Bjob%3D%22a%20b%22%7D%29%20%2F%202&time=1.5"
        )
    }
}
