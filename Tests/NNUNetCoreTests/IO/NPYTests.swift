import Foundation
import Testing
@testable import NNUNetCore

@Suite struct NPYTests {
    @Test func float32RoundTripThroughFileAndMemoryMap() throws {
        try TestSupport.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("a.npy")
            let values: [Float] = (0..<210).map { (i: Int) -> Float in Float(i) * 0.5 - 3 }
            try NPY.write(float32: values, shape: [2, 3, 5, 7], to: url)
            let read = try NPY.read(url)
            #expect(read.shape == [2, 3, 5, 7])
            #expect(read.dataType == .float32)
            #expect(read.floats() == values)
            let mapped = try MappedNPY(url)
            #expect(mapped.shape == [2, 3, 5, 7])
            let copy = try mapped.withFloat32Buffer { Array($0) }
            #expect(copy == values)
            // numpy's layout: magic, version 1.0, header padded so the data starts at a multiple of 64 bytes.
            let bytes = try Data(contentsOf: url)
            #expect(Array(bytes.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            #expect((10 + headerLength) % 64 == 0)
            let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
            #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 5, 7), }"))
            #expect(header.hasSuffix("\n"))
        }
    }

    @Test(arguments: [NPYDataType.uint8, .int16, .int32, .float64, .int64, .uint16])
    func otherTypesRoundTrip(_ type: NPYDataType) throws {
        try TestSupport.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("b.npy")
            let values: [Double] = [0, 1, 2, 7, 100, 3]
            var bytes = Data()
            for v in values {
                switch type {
                case .uint8: bytes.append(UInt8(v))
                case .int16: withUnsafeBytes(of: Int16(v)) { bytes.append(contentsOf: $0) }
                case .uint16: withUnsafeBytes(of: UInt16(v)) { bytes.append(contentsOf: $0) }
                case .int32: withUnsafeBytes(of: Int32(v)) { bytes.append(contentsOf: $0) }
                case .int64: withUnsafeBytes(of: Int64(v)) { bytes.append(contentsOf: $0) }
                default: withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
                }
            }
            try NPY.write(NPYArray(shape: [6], dataType: type, bytes: bytes), to: url)
            let read = try NPY.read(url)
            #expect(read.shape == [6] && read.dataType == type)
            #expect(read.floats() == values.map(Float.init))
            #expect(try MappedNPY(url).floats() == values.map(Float.init))
        }
    }

    @Test func truncatedAndForeignFilesAreRejectedWithTheirPath() throws {
        try TestSupport.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("c.npy")
            try NPY.write(float32: [1, 2, 3, 4], shape: [4], to: url)
            let data = try Data(contentsOf: url)
            try data.prefix(data.count - 4).write(to: url)
            #expect(throws: CoreError.self) { try NPY.read(url) }
            #expect(throws: CoreError.self) { try MappedNPY(url) }
            try Data("not numpy".utf8).write(to: url)
            do { _ = try NPY.read(url); Issue.record("expected an error") } catch let error as CoreError {
                #expect(error.description.contains(url.path))
            }
        }
    }
}
