import Foundation
import Testing
@testable import NNUNetCore

@Suite("NIfTI reading and writing")
struct NIfTITests {
    static let oblique = ImageGeometry(
        itkSpacing: [0.7, 1.25, 3.0], itkOrigin: [-12.5, 40.25, 7.0],
        itkDirection: [0.8191520442889918, -0.573576436351046, 0, 0.573576436351046, 0.8191520442889918, 0, 0, 0, -1])

    /// Values that every datatype can hold exactly (including negatives only for signed types).
    static func values(for type: NIfTIDataType, count: Int) -> [Float] {
        (0..<count).map { i in
            let v = Float((i * 37) % 200)
            switch type {
            case .uint8, .uint16, .uint32: return v
            case .float32, .float64: return v * 0.25 - 20.125
            default: return v - 100
            }
        }
    }

    @Test("round trip keeps voxels, geometry and datatype", arguments: NIfTIDataType.allCases, [".nii", ".nii.gz"])
    func roundTrip(type: NIfTIDataType, suffix: String) throws {
        try TestSupport.withTemporaryFolder { folder in
            let shape = [5, 7, 9]
            let volume = Volume(data: Self.values(for: type, count: 315), shape: shape, geometry: Self.oblique)
            let url = folder.appendingPathComponent("image" + suffix)
            try NIfTI.write(volume, to: url, dataType: type)
            let back = try NIfTI.read(url)
            #expect(back.shape == shape)
            #expect(back.channels == 1)
            #expect(back.sourceDataType == type)
            #expect(back.data == volume.data)
            #expect(back.geometry.isClose(to: Self.oblique), "\(back.geometry) vs \(Self.oblique)")
            // Float32 header fields: spacing survives to float precision.
            for (a, b) in zip(back.geometry.itkSpacing, Self.oblique.itkSpacing) { #expect(abs(a - b) < 1e-6) }
            // The file is gzipped exactly when the name says so.
            let head = try Data(contentsOf: url).prefix(2)
            #expect((head == Data([0x1f, 0x8b])) == (suffix == ".nii.gz"))
            // Only the final file remains: the temporary was renamed.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["image" + suffix])
        }
    }

    @Test("4D images are read as channels and written back")
    func multiChannel() throws {
        try TestSupport.withTemporaryFolder { folder in
            let shape = [3, 4, 5]
            let data = (0..<120).map { Float($0) }
            let volume = Volume(data: data, channels: 2, shape: shape, geometry: ImageGeometry(spacing: [2, 1, 1]))
            let url = folder.appendingPathComponent("four.nii.gz")
            try NIfTI.write(volume, to: url, dataType: .int16)
            let back = try NIfTI.read(url)
            #expect(back.channels == 2)
            #expect(back.shape == shape)
            #expect(back.channel(1).data == Array(data[60...]))
            #expect(back[1, 2, 3, 4] == Float(60 + (2 * 4 + 3) * 5 + 4))
        }
    }

    /// A NIfTI-1 header built byte by byte: sform (code 2) with a rotation, flipped axes and non-unit spacing, a
    /// different (ignored) qform, int16 data with scl_slope 2 and scl_inter -3.
    @Test("hand-built header: sform preferred, direction, spacing, origin and scaling as ITK reports them")
    func handBuiltHeader() throws {
        var header = Data(count: 352)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { header.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        put(Int32(348), at: 0)
        let dims: [Int16] = [3, 4, 3, 2, 1, 1, 1, 1]
        for (i, d) in dims.enumerated() { put(d, at: 40 + 2 * i) }
        put(Int16(4), at: 70)  // DT_INT16
        put(Int16(16), at: 72)  // bitpix
        let pixdim: [Float] = [1, 0.5, 2.0, 3.0, 1, 1, 1, 1]
        for (i, p) in pixdim.enumerated() { put(p, at: 76 + 4 * i) }
        put(Float(352), at: 108)  // vox_offset
        put(Float(2), at: 112)  // scl_slope
        put(Float(-3), at: 116)  // scl_inter
        put(UInt8(2), at: 123)  // xyzt_units: mm
        put(Int16(1), at: 252)  // qform_code (identity quaternion, must be ignored)
        put(Int16(2), at: 254)  // sform_code
        // sform (RAS): columns are the index axes. i -> +y * 0.5, j -> -x * 2, k -> +z * 3; offset (10, -20, 30).
        let srow: [[Float]] = [[0, -2, 0, 10], [0.5, 0, 0, -20], [0, 0, 3, 30]]
        for (r, row) in srow.enumerated() { for (c, v) in row.enumerated() { put(v, at: 280 + 16 * r + 4 * c) } }
        header.replaceSubrange(344..<348, with: Array("n+1\0".utf8))
        var voxels = Data()
        for i in 0..<24 { withUnsafeBytes(of: Int16(i - 5)) { voxels.append(contentsOf: $0) } }

        try TestSupport.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("hand.nii")
            try (header + voxels).write(to: url)
            let volume = try NIfTI.read(url)
            #expect(volume.shape == [2, 3, 4])
            #expect(volume.geometry.itkSpacing == [0.5, 2.0, 3.0])
            #expect(volume.geometry.spacing == [3.0, 2.0, 0.5])
            // LPS: flip the first two rows of the RAS direction and of the origin.
            #expect(volume.geometry.itkDirection == [0, 1, 0, -1, 0, 0, 0, 0, 1])
            #expect(volume.geometry.itkOrigin == [-10, 20, 30])
            let expected: [Float] = (0..<24).map { (i: Int) -> Float in Float(2 * (i - 5) - 3) }
            #expect(volume.data == expected)
            #expect(volume.sourceDataType == .int16)
        }
    }

    @Test("truncated, empty and non-NIfTI files give an error naming the file")
    func badFiles() throws {
        try TestSupport.withTemporaryFolder { folder in
            let good = folder.appendingPathComponent("good.nii.gz")
            try NIfTI.write(Volume(data: (0..<4000).map { Float($0) }, shape: [10, 20, 20],
                                   geometry: ImageGeometry(spacing: [1, 1, 1])), to: good)
            let bytes = try Data(contentsOf: good)
            let plain = folder.appendingPathComponent("plain.nii")
            try NIfTI.write(try NIfTI.read(good), to: plain)
            let plainBytes = try Data(contentsOf: plain)
            let cases: [(String, Data)] = [
                ("truncated-gz.nii.gz", bytes.prefix(bytes.count / 2)),
                ("header-only-gz.nii.gz", bytes.prefix(40)),
                ("truncated.nii", plainBytes.prefix(plainBytes.count - 100)),
                ("short.nii", plainBytes.prefix(200)),
                ("empty.nii.gz", Data()),
                ("text.nii", Data(String(repeating: "not an image ", count: 100).utf8)),
                ("random.nii.gz", Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })),
            ]
            for (name, content) in cases {
                let url = folder.appendingPathComponent(name)
                try content.write(to: url)
                do {
                    _ = try NIfTI.read(url)
                    Issue.record("\(name) was read without error")
                } catch let error as CoreError {
                    #expect(error.description.contains(url.path), "\(error)")
                }
            }
            #expect(throws: CoreError.self) { try NIfTI.read(folder.appendingPathComponent("missing.nii.gz")) }
            #expect(throws: CoreError.self) { try NIfTI.read(folder) }
        }
    }

    @Test("writing into a missing folder fails cleanly")
    func writeErrors() {
        let volume = Volume(data: [1], shape: [1, 1, 1], geometry: ImageGeometry(spacing: [1, 1, 1]))
        #expect(throws: CoreError.self) {
            try NIfTI.write(volume, to: URL(fileURLWithPath: "/nonexistent-folder-xyz/a.nii.gz"))
        }
        #expect(throws: CoreError.self) { try NIfTI.write(volume, to: URL(fileURLWithPath: "/tmp/a.png")) }
    }
}
