import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// Bad raw data: each problem is reported with the case it belongs to, and nothing is left behind that a rerun
/// would take for finished work.
@Suite struct BadInputTests {
    /// A 3-case, 2-modality synthetic task; returns the paths, task name and case identifiers.
    static func makeTask(in root: URL) throws -> (NNUNetPaths, String, [String]) {
        let paths = NNUNetPaths.inside(root)
        var configuration = SyntheticTaskConfiguration()
        configuration.taskID = 611
        configuration.name = "Bad"
        configuration.trainingCases = 3
        configuration.testCases = 0
        configuration.shape = [12, 14, 13]
        configuration.modalities = ["T1", "T2"]
        configuration.seed = 3
        let folder = try SyntheticTaskGenerator.generate(configuration, rawDataFolder: try paths.rawData(), threads: 2)
        let description = try DatasetDescription.load(from: folder.appendingPathComponent("dataset.json"))
        return (paths, folder.lastPathComponent, description.trainingIdentifiers.sorted())
    }

    static func options() -> PlanAndPreprocess.Options {
        var options = PlanAndPreprocess.Options()
        options.threadsFullres = 2
        options.threadsLowres = 2
        return options
    }

    /// Runs the pipeline expecting `problem`; checks the bad case left no cropped files and no fingerprint or plans
    /// exist; then undoes the damage and checks that a rerun completes.
    static func expectFailure(damage: (URL, String) throws -> Void, repair: (URL, String) throws -> Void,
                              matches: (PlanningError, String) -> Bool) throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task, ids) = try makeTask(in: root)
            let raw = try paths.rawData().appendingPathComponent(task)
            let bad = ids[1]
            try damage(raw, bad)
            do {
                try PlanAndPreprocess.run(taskName: task, paths: paths, options: options())
                Issue.record("expected an error for case \(bad)")
            } catch let error as PlanningError {
                #expect(matches(error, bad), "unexpected error: \(error)")
                #expect(error.description.contains(bad), "the message must name the case: \(error)")
            }
            let cropped = try paths.croppedData().appendingPathComponent(task)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: cropped.path)) ?? []
            #expect(!left.contains(bad + ".npy") && !left.contains(bad + ".json"))
            #expect(!left.contains { $0.hasPrefix(".tmp-") })
            #expect(!left.contains("dataset_properties.json"))
            let preprocessed = try paths.preprocessedData().appendingPathComponent(task)
            #expect(!FileManager.default.fileExists(atPath: preprocessed.appendingPathComponent("nnUNetPlansv2.1_plans_3D.json").path))
            try repair(raw, bad)
            try PlanAndPreprocess.run(taskName: task, paths: paths, options: options())
            let stage = preprocessed.appendingPathComponent("nnUNetData_plans_v2.1_stage0")
            for id in ids {
                #expect(FileManager.default.fileExists(atPath: stage.appendingPathComponent(id + ".npy").path))
                #expect(FileManager.default.fileExists(atPath: stage.appendingPathComponent(id + ".json").path))
            }
        }
    }

    static func image(_ raw: URL, _ id: String, _ modality: Int) -> URL {
        raw.appendingPathComponent("imagesTr").appendingPathComponent(RawTask.imageFileName(identifier: id, modality: modality))
    }

    static func label(_ raw: URL, _ id: String) -> URL {
        raw.appendingPathComponent("labelsTr").appendingPathComponent(id + ".nii.gz")
    }

    /// Replaces a file, keeping the original next to it for `restore`.
    static func replace(_ url: URL, with volume: Volume) throws {
        try FileManager.default.copyItem(at: url, to: url.appendingPathExtension("orig"))
        try FileManager.default.removeItem(at: url)
        try NIfTI.write(volume, to: url)
    }

    static func restore(_ url: URL) throws {
        try FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: url.appendingPathExtension("orig"), to: url)
    }

    @Test func imageWithNaN() throws {
        try Self.expectFailure(damage: { raw, id in
            var volume = try NIfTI.read(Self.image(raw, id, 0))
            volume.data[volume.data.count / 2] = .nan
            try Self.replace(Self.image(raw, id, 0), with: volume)
        }, repair: { raw, id in try Self.restore(Self.image(raw, id, 0)) }, matches: { error, id in
            if case let .nonFiniteImage(caseID, _, count) = error { return caseID == id && count == 1 }
            return false
        })
    }

    @Test func emptyLabelMap() throws {
        try Self.expectFailure(damage: { raw, id in
            var volume = try NIfTI.read(Self.label(raw, id))
            volume.data = [Float](repeating: 0, count: volume.data.count)
            try Self.replace(Self.label(raw, id), with: volume)
        }, repair: { raw, id in try Self.restore(Self.label(raw, id)) }, matches: { error, id in
            if case let .emptyLabelMap(caseID, _) = error { return caseID == id }
            return false
        })
    }

    @Test func modalitiesOfDifferentShapes() throws {
        try Self.expectFailure(damage: { raw, id in
            let volume = try NIfTI.read(Self.image(raw, id, 1))
            let smaller = Volume(data: Array(volume.data.prefix(11 * 14 * 13)), shape: [11, 14, 13],
                                 geometry: volume.geometry)
            try Self.replace(Self.image(raw, id, 1), with: smaller)
        }, repair: { raw, id in try Self.restore(Self.image(raw, id, 1)) }, matches: { error, id in
            if case let .shapeMismatch(caseID, path, _, found) = error {
                return caseID == id && path.hasSuffix("_0001.nii.gz") && found == [11, 14, 13]
            }
            return false
        })
    }

    @Test func datasetJSONNamesAMissingFile() throws {
        try Self.expectFailure(damage: { raw, id in
            try FileManager.default.moveItem(at: Self.image(raw, id, 0), to: raw.appendingPathComponent("moved.nii.gz"))
        }, repair: { raw, id in
            try FileManager.default.moveItem(at: raw.appendingPathComponent("moved.nii.gz"), to: Self.image(raw, id, 0))
        }, matches: { error, id in
            if case let .missingFile(caseID, path) = error { return caseID == id && path.hasSuffix(id + "_0000.nii.gz") }
            return false
        })
    }

    /// A case whose array was written but whose properties were not (an interrupted run) is redone; finished cases
    /// are not touched again.
    @Test func interruptedCroppingIsRedoneAndFinishedCasesAreSkipped() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task, ids) = try Self.makeTask(in: root)
            var options = Self.options()
            options.planner2D = nil
            options.preprocess = false
            try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
            let cropped = try paths.croppedData().appendingPathComponent(task)
            let kept = cropped.appendingPathComponent(ids[0] + ".npy")
            let keptDate = try FileManager.default.attributesOfItem(atPath: kept.path)[.modificationDate] as? Date
            let partial = cropped.appendingPathComponent(ids[2] + ".json")
            try FileManager.default.removeItem(at: partial)
            try Data("garbage".utf8).write(to: cropped.appendingPathComponent(ids[2] + ".npy"))
            try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
            #expect(FileManager.default.fileExists(atPath: partial.path))
            #expect(try NPY.read(cropped.appendingPathComponent(ids[2] + ".npy")).shape.count == 4)
            let keptAfter = try FileManager.default.attributesOfItem(atPath: kept.path)[.modificationDate] as? Date
            #expect(keptDate == keptAfter)
        }
    }
}
