import Foundation
import Testing

@testable import Cost

@Suite("Price catalog")
struct PriceCatalogTests {
    @Test("the bundled list has every required family, size and region, with a date and a source")
    func bundledIsComplete() throws {
        let c = try PriceCatalog.bundled()
        #expect(c.date == "2025-06-01")
        #expect(c.source.contains("aws.amazon.com/ec2/pricing/on-demand"))
        let regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]
        #expect(Set(c.regions) == Set(regions))
        for r in regions {
            for f in ["t3", "t3a", "m5", "m6i", "m7i", "c5", "c6i", "r5", "r6i"] {
                for s in ["large", "xlarge", "2xlarge"] {
                    #expect(c.onDemandUSDPerHour(region: r, instanceType: "\(f).\(s)") != nil)
                }
                if !f.hasPrefix("t3") { #expect(c.onDemandUSDPerHour(region: r, instanceType: "\(f).4xlarge") != nil) }
            }
        }
    }

    @Test("known list prices and sizes are right")
    func knownPrices() throws {
        let c = try PriceCatalog.bundled()
        #expect(c.onDemandUSDPerHour(region: "us-east-1", instanceType: "m5.large") == 0.096)
        #expect(c.onDemandUSDPerHour(region: "us-east-1", instanceType: "c5.4xlarge") == 0.68)
        #expect(c.onDemandUSDPerHour(region: "us-east-1", instanceType: "t3.large") == 0.0832)
        #expect(c.onDemandUSDPerHour(region: "eu-west-1", instanceType: "m5.large") == 0.107)
        #expect(c.onDemandUSDPerHour(region: "us-east-1", instanceType: "r6i.large") == 0.126)
        #expect(c.specs["r5.xlarge"] == InstanceSpec(name: "r5.xlarge", vcpus: 4, memoryGiB: 32))
        #expect(c.specs["c6i.2xlarge"] == InstanceSpec(name: "c6i.2xlarge", vcpus: 8, memoryGiB: 16))
        // Every region is at least as expensive as us-east-1.
        for r in c.regions {
            for t in c.instanceTypes(in: r) {
                #expect(
                    c.onDemandUSDPerHour(region: r, instanceType: t.name)! >= c.onDemandUSDPerHour(
                        region: "us-east-1",
                        instanceType: t.name
                    )!
                )
            }
        }
    }

    @Test("the embedded literal is the shipped CSV file, byte for byte")
    func literalMatchesFile() throws {
        let path = String(#filePath).replacingOccurrences(
            of: "Tests/CostTests/PriceCatalogTests.swift",
            with: "Sources/Cost/Resources/aws-on-demand-linux.csv"
        )
        let file = try String(contentsOfFile: path, encoding: .utf8)
        #expect(file == PriceCatalog.bundledCSV)
    }

    @Test("a malformed entry is refused with its line and entry named")
    func malformedEntry() {
        let csv =
            "# date: 2025-01-01\nregion,instance_type,vcpu,memory_gib,usd_per_hour\nus-east-1,m5.large,2,8,0.096\nus-east-1,m5.xlarge,4,16,-1\n"
        #expect {
            try PriceCatalog.parse(csv: csv, name: "p.csv")
        } throws: { e in
            let e = e as! CostError
            return e.code == .invalidPriceEntry && e.context == "p.csv:4 us-east-1/m5.xlarge"
        }
        let noDate = "region,instance_type,vcpu,memory_gib,usd_per_hour\nus-east-1,m5.large,2,8,0.096\n"
        #expect(throws: CostError.self) { try PriceCatalog.parse(csv: noDate, name: "p.csv") }
        let dup =
            "# date: x\nregion,instance_type,vcpu,memory_gib,usd_per_hour\nus-east-1,m5.large,2,8,0.096\nus-east-1,m5.large,2,8,0.096\n"
        #expect(throws: CostError.self) { try PriceCatalog.parse(csv: dup, name: "p.csv") }
        let sizeClash =
            "# date: x\nregion,instance_type,vcpu,memory_gib,usd_per_hour\nus-east-1,m5.large,2,8,0.096\neu-west-1,m5.large,4,8,0.1\n"
        #expect(throws: CostError.self) { try PriceCatalog.parse(csv: sizeClash, name: "p.csv") }
    }

    @Test("an override file replaces negotiated prices and refuses unknown entries")
    func overrides() throws {
        let c = try PriceCatalog.bundled()
        let o = try c.applying(
            overridesCSV: "region,instance_type,usd_per_hour\nus-east-1,m5.large,0.08\n",
            name: "o.csv"
        )
        #expect(o.onDemandUSDPerHour(region: "us-east-1", instanceType: "m5.large") == 0.08)
        #expect(o.onDemandUSDPerHour(region: "us-east-2", instanceType: "m5.large") == 0.096)
        #expect(o.overridden == ["us-east-1/m5.large"])
        #expect {
            try c.applying(overridesCSV: "region,instance_type,usd_per_hour\nus-east-1,m9.large,0.08\n", name: "o.csv")
        } throws: {
            ($0 as? CostError)?.code == .unknownPriceOverride
                && ($0 as? CostError)?.context == "o.csv:2 us-east-1/m9.large"
        }
    }
}
