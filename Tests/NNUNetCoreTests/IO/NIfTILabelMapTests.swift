import Foundation
import Testing
@testable import NNUNetCore

@Suite("NIfTI label-map reader (gzip decoded straight into the voxel buffer)")
struct NIfTILabelMapTests {
    /// A label map with runs, a few scattered labels and, for wide types, values that do not fit in a byte.
    static func labels(for type: NIfTIDataType, count: Int, fitsInBytes: Bool) -> [Float] {
        (0..<count).map { i in
            var v = Float((i / 97) % 3)
            if i % 211 == 0 { v = Float(i % 5) }
            guard !fitsInBytes else { return v }
            switch type {
            case .uint8: return v
            case .int8: return i % 50 == 0 ? -3 : v
            case .float32, .float64: return i % 50 == 0 ? v + 0.5 : v
            default: return i % 50 == 0 ? 300 + v : v
            }
        }
    }

    @Test("equals NIfTI.read on gzipped and plain files of every datatype; bytes exactly when the values fit",
          arguments: NIfTIDataType.allCases, [".nii", ".nii.gz"])
    func matchesRead(type: NIfTIDataType, suffix: String) throws {
        try TestSupport.withTemporaryFolder { folder in
            for fitsInBytes in [true, false] {
                let shape = [9, 31, 40]
                let volume = Volume(data: Self.labels(for: type, count: 9 * 31 * 40, fitsInBytes: fitsInBytes),
                                    shape: shape, geometry: NIfTITests.oblique)
                let url = folder.appendingPathComponent("labels\(fitsInBytes)" + suffix)
                try NIfTI.write(volume, to: url, dataType: type)
                let expected = try NIfTI.read(url)
                let map = try NIfTI.readLabelMap(url)
                #expect(map.floatValues == expected.data)
                #expect(map.volume == expected)
                #expect(map.shape == shape && map.channels == 1 && map.sourceDataType == type)
                #expect(map.geometry == expected.geometry)
                let isBytes: Bool
                if case .uint8 = map.voxels { isBytes = true } else { isBytes = false }
                #expect(isBytes == (fitsInBytes || type == .uint8), "\(type) \(suffix) fits \(fitsInBytes)")
            }
        }
    }

    @Test("4D files, scl_slope/scl_inter and big-endian files read as NIfTI.read reads them")
    func channelsScalingAndByteOrder() throws {
        try TestSupport.withTemporaryFolder { folder in
            let data = (0..<120).map { Float($0 % 7) }
            let four = folder.appendingPathComponent("four.nii.gz")
            try NIfTI.write(Volume(data: data, channels: 2, shape: [3, 4, 5], geometry: ImageGeometry(spacing: [2, 1, 1])),
                            to: four, dataType: .int16)
            let map = try NIfTI.readLabelMap(four)
            #expect(map.channels == 2 && map.floatValues == data)

            // uint8 with scl_slope 2 and scl_inter -3 (values -3...9: stored as Float), then a big-endian int16 file.
            let plain = folder.appendingPathComponent("plain.nii")
            try NIfTI.write(Volume(data: data, shape: [4, 5, 6], geometry: ImageGeometry(spacing: [1, 1, 1])), to: plain,
                            dataType: .uint8)
            var bytes = try Data(contentsOf: plain)
            withUnsafeBytes(of: Float(2)) { bytes.replaceSubrange(112..<116, with: $0) }
            withUnsafeBytes(of: Float(-3)) { bytes.replaceSubrange(116..<120, with: $0) }
            let scaled = folder.appendingPathComponent("scaled.nii")
            try bytes.write(to: scaled)
            #expect(try NIfTI.readLabelMap(scaled).floatValues == data.map { $0 * 2 - 3 })
            #expect(try NIfTI.readLabelMap(scaled).floatValues == (try NIfTI.read(scaled)).data)

            let wide = folder.appendingPathComponent("wide.nii")
            try NIfTI.write(Volume(data: data, shape: [4, 5, 6], geometry: ImageGeometry(spacing: [1, 1, 1])), to: wide,
                            dataType: .int16)
            var big = try Data(contentsOf: wide)
            func swap(_ range: Range<Int>) { big.replaceSubrange(range, with: big[range].reversed()) }
            swap(0..<4)  // sizeof_hdr
            for i in 0..<8 { swap((40 + 2 * i)..<(42 + 2 * i)) }  // dim
            swap(70..<72); swap(72..<74)  // datatype, bitpix
            for i in 0..<8 { swap((76 + 4 * i)..<(80 + 4 * i)) }  // pixdim
            for offset in [108, 112, 116] { swap(offset..<(offset + 4)) }  // vox_offset, scl_slope, scl_inter
            swap(252..<254); swap(254..<256)  // qform_code, sform_code
            for offset in stride(from: 256, to: 328, by: 4) { swap(offset..<(offset + 4)) }  // quatern_*, qoffset_*, srow_*
            for i in 0..<120 { swap((352 + 2 * i)..<(354 + 2 * i)) }  // voxels
            let bigURL = folder.appendingPathComponent("big.nii")
            try big.write(to: bigURL)
            #expect(try NIfTI.read(bigURL).data == data)
            #expect(try NIfTI.readLabelMap(bigURL).floatValues == data)
        }
    }

    @Test("a gzip stream with data after the voxels falls back to zlib streaming and reads the same")
    func dataAfterVoxels() throws {
        try TestSupport.withTemporaryFolder { folder in
            let data = NIfTILabelMapTests.labels(for: .uint8, count: 5 * 6 * 7, fitsInBytes: true)
            let plain = folder.appendingPathComponent("plain.nii")
            try NIfTI.write(Volume(data: data, shape: [5, 6, 7], geometry: ImageGeometry(spacing: [1, 1, 1])), to: plain,
                            dataType: .uint8)
            let padded = [UInt8](try Data(contentsOf: plain)) + [UInt8](repeating: 9, count: 1000)
            let url = folder.appendingPathComponent("padded.nii.gz")
            try Data(GzipDecoderTests.gzip(padded)).write(to: url)
            #expect(try NIfTI.readLabelMap(url).floatValues == data)
            #expect(try NIfTI.read(url).data == data)
        }
    }

    @Test("truncated, corrupt, empty and non-NIfTI files give an error naming the file")
    func badFiles() throws {
        try TestSupport.withTemporaryFolder { folder in
            let good = folder.appendingPathComponent("good.nii.gz")
            let volume = Volume(data: Self.labels(for: .uint8, count: 10 * 20 * 20, fitsInBytes: true), shape: [10, 20, 20],
                                geometry: ImageGeometry(spacing: [1, 1, 1]))
            try NIfTI.write(volume, to: good, dataType: .uint8)
            let bytes = try Data(contentsOf: good)
            let plain = folder.appendingPathComponent("plain.nii")
            try NIfTI.write(volume, to: plain, dataType: .int16)
            let plainBytes = try Data(contentsOf: plain)
            var badCRC = bytes
            badCRC[bytes.count - 6] ^= 0xFF
            var damaged = bytes
            damaged[bytes.count / 2] ^= 0x5A
            let cases: [(String, Data, String)] = [
                ("truncated-gz.nii.gz", bytes.prefix(bytes.count / 2), "truncated"),
                ("header-only-gz.nii.gz", bytes.prefix(40), "too short"),
                ("crc.nii.gz", badCRC, "corrupt"),
                ("damaged.nii.gz", damaged, ""),
                ("truncated.nii", plainBytes.prefix(plainBytes.count - 100), "truncated: 7900 of 8000 bytes of int16"),
                ("short.nii", plainBytes.prefix(200), "too short"),
                ("empty.nii.gz", Data(), ""),
                ("text.nii", Data(String(repeating: "not an image ", count: 100).utf8), "no NIfTI magic"),
            ]
            for (name, content, reason) in cases {
                let url = folder.appendingPathComponent(name)
                try content.write(to: url)
                do {
                    _ = try NIfTI.readLabelMap(url)
                    Issue.record("\(name) was read without error")
                } catch let error as CoreError {
                    #expect(error.description.contains(url.path), "\(error)")
                    #expect(reason.isEmpty || error.description.contains(reason), "\(name): \(error)")
                }
            }
            #expect(throws: CoreError.self) { try NIfTI.readLabelMap(folder.appendingPathComponent("missing.nii.gz")) }
        }
    }
}
