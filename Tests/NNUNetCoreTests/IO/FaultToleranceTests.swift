import Foundation
import NNUNetCore
import NNUNetTestSupport
import Testing

/// Issue #21 in NNUNetCore: damaged geometry in NIfTI headers, folder locks, temporary files that are named after
/// their writer and removed on errors and after kills.
@Suite("Faults: geometry, locks, temporary files", .serialized)
struct FaultToleranceTests {
    // MARK: Damaged headers

    /// A plain 2x3x4 NIfTI-1 image written by this package (qform and sform code 1), as bytes to damage.
    static func validImage(in folder: URL) throws -> Data {
        let url = folder.appendingPathComponent("valid.nii")
        try NIfTI.write(Volume(data: (0..<24).map(Float.init), shape: [2, 3, 4],
                               geometry: ImageGeometry(itkSpacing: [0.5, 2, 3], itkOrigin: [1, 2, 3],
                                                       itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1])), to: url)
        return try Data(contentsOf: url)
    }

    static func put<T>(_ value: T, at offset: Int, in data: inout Data) {
        withUnsafeBytes(of: value) { data.replaceSubrange(offset..<(offset + $0.count), with: $0) }
    }

    /// Each damage, the header field the error must name.
    static let damages: [(name: String, field: String, damage: @Sendable (inout Data) -> Void)] = [
        ("srow-x-offset-nan", "srow_x[3]", { put(Float.nan, at: 280 + 12, in: &$0) }),
        ("srow-x-direction-nan", "srow_x[0]", { put(Float.nan, at: 280, in: &$0) }),
        ("srow-z-inf", "srow_z[2]", { put(Float.infinity, at: 312 + 8, in: &$0) }),
        ("quatern-b-nan", "quatern_b", { put(Float.nan, at: 256, in: &$0) }),
        ("quatern-d-nan-qform-only", "quatern_d", {
            put(Int16(0), at: 254, in: &$0)  // sform_code 0: the qform gives the geometry
            put(Float.nan, at: 264, in: &$0)
        }),
        ("qoffset-y-nan", "qoffset_y", { put(Float.nan, at: 272, in: &$0) }),
        ("pixdim-1-zero", "pixdim[1]", { put(Float(0), at: 80, in: &$0) }),
        ("pixdim-2-nan", "pixdim[2]", { put(Float.nan, at: 84, in: &$0) }),
        ("pixdim-3-negative", "pixdim[3]", { put(Float(-1), at: 88, in: &$0) }),
        ("sheared-sform-no-qform", "srow_x/srow_y/srow_z", {
            put(Int16(0), at: 252, in: &$0)  // qform_code 0: nothing to fall back to
            put(Float(0.3), at: 280 + 4, in: &$0)  // srow_x[1]: axis j leans onto x
        }),
        ("zero-sform-no-qform", "srow_x/srow_y/srow_z", {
            put(Int16(0), at: 252, in: &$0)
            for offset in stride(from: 280, to: 328, by: 4) { put(Float(0), at: offset, in: &$0) }
        }),
    ]

    @Test("a NaN, infinite or non-positive geometry field is an error naming the file and the field",
          arguments: 0..<damages.count)
    func damagedGeometry(index: Int) throws {
        let (name, field, damage) = Self.damages[index]
        try TestSupport.withTemporaryFolder { folder in
            var bytes = try Self.validImage(in: folder)
            damage(&bytes)
            let url = folder.appendingPathComponent(name + ".nii")
            try bytes.write(to: url)
            for read in [{ _ = try NIfTI.read(url) }, { _ = try NIfTI.readHeader(url) },
                         { _ = try NIfTI.readLabelMap(url) }] as [() throws -> Void] {
                do {
                    try read()
                    Issue.record("\(name) was read without error")
                } catch let error as CoreError {
                    guard case let .invalidGeometry(path, errorField, _) = error else {
                        Issue.record("\(name): unexpected error \(error)")
                        continue
                    }
                    #expect(path == url.path && errorField == field, "\(error)")
                    #expect(error.description.contains(url.path) && error.description.contains(field))
                }
            }
        }
    }

    @Test("a sheared sform gives way to a valid qform, as in ITK; the written image reads back unchanged")
    func shearedSformFallsBackToQform() throws {
        try TestSupport.withTemporaryFolder { folder in
            var bytes = try Self.validImage(in: folder)
            let reference = try NIfTI.read(folder.appendingPathComponent("valid.nii"))
            Self.put(Float(0.3), at: 280 + 4, in: &bytes)
            let url = folder.appendingPathComponent("sheared.nii")
            try bytes.write(to: url)
            let volume = try NIfTI.read(url)
            #expect(volume.geometry.isClose(to: reference.geometry))
            #expect(reference.geometry.itkSpacing == [0.5, 2, 3] && reference.geometry.itkOrigin == [1, 2, 3])
        }
    }

    @Test("the writer refuses a NaN or non-positive geometry and leaves no temporary file")
    func writerRefusesNonFiniteGeometry() throws {
        try TestSupport.withTemporaryFolder { folder in
            let geometries = [
                ImageGeometry(itkSpacing: [1, 1, 1], itkOrigin: [.nan, 0, 0], itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1]),
                ImageGeometry(itkSpacing: [1, 0, 1], itkOrigin: [0, 0, 0], itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1]),
                ImageGeometry(itkSpacing: [1, 1, 1], itkOrigin: [0, 0, 0], itkDirection: [.nan, 0, 0, 0, 1, 0, 0, 0, 1]),
            ]
            for (index, geometry) in geometries.enumerated() {
                let url = folder.appendingPathComponent("bad\(index).nii.gz")
                #expect(throws: CoreError.self) {
                    try NIfTI.write(Volume(data: [0, 1], shape: [1, 1, 2], geometry: geometry), to: url)
                }
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(left.isEmpty, "\(left)")
        }
    }

    // MARK: Temporary files

    /// The id of a process that has exited.
    static func deadProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test("temporary names carry the writer's pid; the sweep removes those of dead writers and old unnamed ones")
    func temporaryNamesAndSweep() throws {
        try TestSupport.withTemporaryFolder { folder in
            let name = TemporaryFile.name(for: "model_latest.model")
            #expect(name.hasPrefix(".tmp-\(getpid())@\(TemporaryFile.hostTag)-") && name.hasSuffix("-model_latest.model"))
            let writer = try #require(TemporaryFile.writer(ofTemporaryName: name))
            #expect(writer.processID == getpid() && writer.host == TemporaryFile.hostTag)
            // Names of earlier versions (`.tmp-<uuid>-NAME`, `.tmp-<uuid>.nii.gz`) carry no writer, even when the
            // UUID starts with digits.
            #expect(TemporaryFile.writer(ofTemporaryName: ".tmp-12345678-ABCD-4EF0-8123-0123456789AB-x.npy") == nil)
            #expect(TemporaryFile.writer(ofTemporaryName: ".tmp-\(UUID().uuidString).nii.gz") == nil)
            #expect(TemporaryFile.writer(ofTemporaryName: "model.model") == nil)
            let host = TemporaryFile.hostTag

            let dead = try Self.deadProcessID()
            let subfolder = folder.appendingPathComponent("validation_raw")
            try FileManager.default.createDirectory(at: subfolder, withIntermediateDirectories: true)
            let deadFile = folder.appendingPathComponent(".tmp-\(dead)@\(host)-\(UUID().uuidString)-model_latest.model")
            let deadNested = subfolder.appendingPathComponent(".tmp-\(dead)@\(host)-\(UUID().uuidString)-case.nii.gz")
            let live = folder.appendingPathComponent(TemporaryFile.name(for: "model_best.model"))
            let old = folder.appendingPathComponent(".tmp-\(UUID().uuidString)-progress.png")
            let fresh = folder.appendingPathComponent(".tmp-\(UUID().uuidString)-fresh.png")
            let otherHost = folder.appendingPathComponent(".tmp-\(dead)@elsewhere.example-\(UUID().uuidString)-a.npy")
            let kept = folder.appendingPathComponent("model_final_checkpoint.model")
            for url in [deadFile, deadNested, live, old, fresh, otherHost, kept] { try Data("x".utf8).write(to: url) }
            for url in [old, otherHost] {
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)],
                                                      ofItemAtPath: url.path)
            }
            // A folder shared with other runs (not locked): only this machine's dead writers' temporaries go.
            let shared = TemporaryFile.sweepShared(folder, depth: 2)
            #expect(Set(shared.map(\.lastPathComponent)) == [deadFile.lastPathComponent, deadNested.lastPathComponent])
            // A locked folder: also those of other machines and earlier versions older than the lock.
            let removed = TemporaryFile.sweep(folder, startedBefore: Date(timeIntervalSinceNow: -30))
            #expect(Set(removed.map(\.lastPathComponent)) == [old.lastPathComponent, otherHost.lastPathComponent])
            for url in [live, fresh, kept] { #expect(FileManager.default.fileExists(atPath: url.path)) }
        }
    }

    // MARK: Folder locks

    @Test("a folder lock excludes a second holder (also in-process), names the first, and is removed on release")
    func folderLock() throws {
        try TestSupport.withTemporaryFolder { folder in
            let target = folder.appendingPathComponent("fold_0")
            let first = try FolderLock.acquire(target, purpose: "first run")
            let lockFile = FolderLock.lockFile(in: target)
            #expect(try String(contentsOf: lockFile, encoding: .utf8).contains("pid \(getpid())"))
            do {
                _ = try FolderLock.acquire(target, purpose: "second run")
                Issue.record("two holders of one folder lock")
            } catch let error as CoreError {
                guard case let .folderLocked(path, holder) = error else { throw error }
                #expect(path == target.path)
                #expect(holder.contains("pid \(getpid())") && holder.contains("started") && holder.contains("first run"))
                #expect(error.description.contains(target.path))
            }
            first.release()
            #expect(!FileManager.default.fileExists(atPath: lockFile.path))
            let second = try FolderLock.acquire(target, purpose: "second run")
            #expect(second.previousHolder == nil)
            second.release()
        }
    }

    @Test("a lock file left by a killed process is taken over")
    func staleLockIsTakenOver() throws {
        try TestSupport.withTemporaryFolder { folder in
            let dead = try Self.deadProcessID()
            try Data("pid \(dead) on host h, started 2020-01-01T00:00:00Z (killed run)\n".utf8)
                .write(to: FolderLock.lockFile(in: folder))
            let lock = try FolderLock.acquire(folder, purpose: "new run")
            #expect(lock.previousHolder?.contains("pid \(dead)") == true)
            #expect(try String(contentsOf: FolderLock.lockFile(in: folder), encoding: .utf8).contains("pid \(getpid())"))
            lock.release()
        }
    }

    // MARK: Disk full

    @Test("writers on a full disk throw and leave no temporary file", .enabled(if: Tmpfs.isAvailable, Tmpfs.reason))
    func diskFull() throws {
        try Tmpfs.with { folder in
            // 2.4 MB of values that gzip cannot shrink below the 1 MiB of the file system.
            var random = UInt64(7)
            let big: [Float] = (0..<600_000).map { _ in
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(random >> 40)
            }
            let volume = Volume(data: big, shape: [60, 100, 100], geometry: ImageGeometry(spacing: [1, 1, 1]))
            let writes: [(String, () throws -> Void)] = [
                ("AtomicFile", { try AtomicFile.write(Data(count: 2_000_000), to: folder.appendingPathComponent("a.bin")) }),
                ("AtomicFile.copy", {
                    let source = FileManager.default.temporaryDirectory.appendingPathComponent("src-\(UUID().uuidString)")
                    try Data(count: 2_000_000).write(to: source)
                    defer { try? FileManager.default.removeItem(at: source) }
                    try AtomicFile.copy(source, to: folder.appendingPathComponent("copy.bin"))
                }),
                ("NPY", { try NPY.write(float32: big, shape: [big.count], to: folder.appendingPathComponent("a.npy")) }),
                ("NPZ", {
                    try NPZ.write([("softmax", NPYArray(float16: big, shape: [big.count]))],
                                  to: folder.appendingPathComponent("a.npz"), compressed: false)
                }),
                ("NIfTI .nii", { try NIfTI.write(volume, to: folder.appendingPathComponent("a.nii")) }),
                ("NIfTI .nii.gz", { try NIfTI.write(volume, to: folder.appendingPathComponent("a.nii.gz")) }),
                ("Safetensors", {
                    try Safetensors.write([("w", Safetensors.Tensor(shape: [big.count], values: big))],
                                          to: folder.appendingPathComponent("a.model"))
                }),
            ]
            for (name, write) in writes {
                #expect(throws: (any Error).self, "\(name) succeeded on a full disk") { try write() }
                let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                #expect(!left.contains { $0.hasPrefix(".tmp-") }, "\(name) left \(left)")
            }
        }
    }
}

