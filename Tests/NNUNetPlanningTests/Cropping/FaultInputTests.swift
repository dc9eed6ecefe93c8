import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// Issue #21 in planning: what v1 accepts silently without `--verify_dataset_integrity` (undeclared labels, damaged
/// geometry) is an error naming the file, and a second run on the same task is refused while the first runs.
@Suite("Faults in plan-and-preprocess", .serialized)
struct FaultInputTests {
    /// Runs `command` (through `/usr/bin/env`), failing the test when it fails.
    static func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(command) failed")
    }

    /// Writes `value` at byte `offset` of the header of a `.nii.gz` file (ungzip, patch, gzip), keeping the original
    /// as `.orig` for ``BadInputTests/restore(_:)``.
    static func damageHeader(_ url: URL, _ patches: [(offset: Int, value: Float)]) throws {
        try FileManager.default.copyItem(at: url, to: url.appendingPathExtension("orig"))
        let plain = url.deletingPathExtension()
        try shell("gzip -dc '\(url.path)' > '\(plain.path)'")
        var bytes = try Data(contentsOf: plain)
        for (offset, value) in patches {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        }
        try bytes.write(to: plain)
        try shell("gzip -c '\(plain.path)' > '\(url.path)' && rm '\(plain.path)'")
    }

    @Test("a label value that dataset.json does not declare is an error naming the file and the value (always)")
    func undeclaredLabel() throws {
        try BadInputTests.expectFailure(damage: { raw, id in
            var volume = try NIfTI.read(BadInputTests.label(raw, id))
            volume.data[volume.data.count / 2] = 7
            try BadInputTests.replace(BadInputTests.label(raw, id), with: volume)
        }, repair: { raw, id in try BadInputTests.restore(BadInputTests.label(raw, id)) }, matches: { error, id in
            guard case let .undeclaredLabels(caseID, path, values, declared) = error else { return false }
            return caseID == id && path.hasSuffix("labelsTr/\(id).nii.gz") && values == [7] && !declared.contains(7)
                && error.description.contains("[7]") && error.description.contains("--verify_dataset_integrity")
        })
    }

    /// Each damage of the first modality's header (NIfTI-1 offsets) and the field the error must name.
    static let geometryDamages: [(field: String, patches: [(offset: Int, value: Float)])] = [
        ("srow_x[3]", [(292, .nan)]),
        ("quatern_c", [(260, .nan)]),
        ("pixdim[1]", [(80, 0)]),
        ("pixdim[3]", [(88, -1)]),
    ]

    @Test("a NaN or non-positive geometry in a raw image stops plan-and-preprocess naming the file and the field",
          arguments: 0..<geometryDamages.count)
    func damagedGeometry(index: Int) throws {
        let (field, patches) = Self.geometryDamages[index]
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task, ids) = try BadInputTests.makeTask(in: root)
            let raw = try paths.rawData().appendingPathComponent(task)
            let image = BadInputTests.image(raw, ids[1], 0)
            try Self.damageHeader(image, patches)
            do {
                try PlanAndPreprocess.run(taskName: task, paths: paths, options: BadInputTests.options())
                Issue.record("a damaged \(field) was accepted")
            } catch let error as CoreError {
                guard case let .invalidGeometry(path, errorField, _) = error else { throw error }
                #expect(path == image.path && errorField == field, "\(error)")
            }
            let cropped = try paths.croppedData().appendingPathComponent(task)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: cropped.path)) ?? []
            #expect(!left.contains(ids[1] + ".npy") && !left.contains { $0.hasPrefix(".tmp-") } && !left.contains(FolderLock.fileName))
            try BadInputTests.restore(image)
            try PlanAndPreprocess.run(taskName: task, paths: paths, options: BadInputTests.options())
        }
    }

    @Test("a second plan-and-preprocess of a task is refused while the first holds the task's folders")
    func secondRunIsRefused() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task, _) = try BadInputTests.makeTask(in: root)
            let preprocessed = try paths.preprocessedData().appendingPathComponent(task)
            let first = try FolderLock.acquire(preprocessed, purpose: "the first run")
            do {
                try PlanAndPreprocess.run(taskName: task, paths: paths, options: BadInputTests.options())
                Issue.record("two runs on one task")
            } catch let error as CoreError {
                #expect(error.description.contains("pid \(getpid())") && error.description.contains("the first run"))
            }
            first.release()
            // Stray temporaries of a killed run are removed once the folders are locked.
            let cropped = try paths.croppedData().appendingPathComponent(task)
            let deadWriter = "\(Int32.max - 1)@\(TemporaryFile.hostTag)"
            let stray = cropped.appendingPathComponent(".tmp-\(deadWriter)-\(UUID().uuidString)-case.npy")
            try Data(count: 100).write(to: stray)
            try PlanAndPreprocess.run(taskName: task, paths: paths, options: BadInputTests.options())
            #expect(!FileManager.default.fileExists(atPath: stray.path))
        }
    }
}
